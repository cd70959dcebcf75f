#!/usr/bin/env bash
# The soak (its own command, not part of the test suite; loopback only; bounded in time):
# N proxy JVMs, each with -javaagent:agent/target/sockmap-agent.jar, in front of a backend JVM;
# the driver (this JVM) opens 10,000 concurrent connections spread over the proxies (all spliced),
# then churns 100,000 more with random sizes (0 B - 64 MiB, skewed small), half-close orders,
# client/backend resets and slow readers. Every byte is checked by SHA-256 both ways. Afterwards
# the proxies' fds and threads, the engine's map entries, the driver's and the backend's socket
# fds and the kernel's TCP sockets and memory are compared with a baseline (waiting a bounded time
# for the kernel to free closed sockets, saying what it waits for). Progress every 10 s; the RESULT
# lines at the end are the figures for docs/RELIABILITY.md. Exit 0 = no byte lost, no hang, no leak.
#
# Why several processes: a process may hold at most `ulimit -n` fds (20,000 here; the hard limit
# cannot be raised without CAP_SYS_RESOURCE). A thread-per-connection proxy holds 2 per
# connection, so 10,000 connections go over 2 proxies (5,000 each); the client ends and the
# backend ends take 10,000 each, in two processes.
#
#   bash scripts/soak.sh [--minutes N] [--proxy NAME] [--concurrent N] [--churn N] [--proxies N]
#                        [--no-build] [-- any further option of io.sockmap.it.soak.Soak]
#
#   --minutes N     time limit of the churn phase (default 15); it stops early after --churn connections
#   --concurrent N  phase 1: connections open at once (default 10000)
#   --churn N       phase 2: connections churned (default 100000), --parallel at a time (default 200)
#   --proxies N     proxy JVMs (default: as few as the fd limit allows, 2 for 10,000 connections)
#   --settle-seconds N  how long to wait after the run for the kernel to free TCP sockets (default 120)
#   --phase1-window N   phase 1 opens connections with at most N not yet spliced (default 500)
#   --proxy NAME    an example proxy: ThreadPairProxy (default), TransferToProxy, VirtualThreadProxy
#   --main CLASS --cp CP --arg A --arg B ...   any other proxy: a main class and its arguments, where
#                   {target} is the backend's host:port and {port} a free port to listen on (the
#                   proxy must print "listening on <port>" or listen on {port})
#   --agent-args A  agent arguments (default minBytes=16k,maxPairs=16384)
#   --no-agent      the same soak without the agent (a baseline of the proxy itself)
#   MVN_ARGS=-Dmaven.repo.local=/path   passed to the build
#
# Needs root (CAP_BPF + CAP_NET_ADMIN for the agent), JDK 25 for the driver and the backend
# (virtual threads; override with SOAK_JAVA), ~8 GB of free memory for 10,000 connections with a
# thread-per-direction proxy (20,000 proxy threads: mind kernel.pid_max and kernel.threads-max;
# if pid_max is below 65536 it is raised to 65536, printed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MINUTES=15
PROXY=ThreadPairProxy
AGENT_ARGS="minBytes=16k,maxPairs=16384"
BUILD=1
AGENT=1
EXTRA=()
CUSTOM_MAIN=0
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) MINUTES="$2"; shift 2 ;;
        --proxy) PROXY="$2"; shift 2 ;;
        --agent-args) AGENT_ARGS="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-agent) AGENT=0; shift ;;
        --main) CUSTOM_MAIN=1; EXTRA+=("$1" "$2"); shift 2 ;;
        --) shift; EXTRA+=("$@"); break ;;
        *) EXTRA+=("$1" "$2"); shift 2 ;;
    esac
done

SOAK_JAVA="${SOAK_JAVA:-/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}"
PROXY_JAVA="${PROXY_JAVA:-$(command -v java)}"
[ -x "$SOAK_JAVA" ] || { echo "soak: no JDK 21+ at $SOAK_JAVA (set SOAK_JAVA)" >&2; exit 2; }

read -r -a MVN_EXTRA <<< "${MVN_ARGS:-}"   # e.g. MVN_ARGS=-Dmaven.repo.local=/path
if [ "$BUILD" = 1 ]; then
    bash scripts/setup.sh
    echo "== building (mvn -q install -DskipTests -Dsockmap.it.skip=true, then it-tests test-compile)"
    mkdir -p target
    if ! mvn -B -ntp -q -DskipTests -Dsockmap.it.skip=true install ${MVN_EXTRA[@]+"${MVN_EXTRA[@]}"} >target/soak-build.log 2>&1 \
        || ! mvn -B -ntp -q -pl it-tests test-compile -Dsockmap.it.skip=true ${MVN_EXTRA[@]+"${MVN_EXTRA[@]}"} >>target/soak-build.log 2>&1; then
        cat target/soak-build.log >&2
        echo "soak: the build failed (log: target/soak-build.log)" >&2
        exit 1
    fi
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# Every process may hold at most `ulimit -n` fds (20,000 on this machine; raising the hard limit
# needs CAP_SYS_RESOURCE). A thread-per-connection proxy holds 2 fds per connection plus ~100 of
# its own, so the connections are spread over N proxy JVMs; the client ends (this driver) and the
# backend ends (the backend JVM) need one fd per connection each.
FD_LIMIT=$(ulimit -n)
PER_PROXY=$(( (FD_LIMIT - 200) / 2 ))
MAX_CONCURRENT=$(( FD_LIMIT - 500 ))
CONCURRENT=10000
PROXIES=""
for ((i = 0; i < ${#EXTRA[@]}; i++)); do
    if [ "${EXTRA[$i]}" = "--concurrent" ]; then CONCURRENT="${EXTRA[$((i + 1))]}"; fi
    if [ "${EXTRA[$i]}" = "--proxies" ]; then PROXIES="${EXTRA[$((i + 1))]}"; fi
done
if [ "$CONCURRENT" -gt "$MAX_CONCURRENT" ]; then
    echo "== NOTE: ulimit -n is $FD_LIMIT: the driver and the backend hold one fd per connection each, so phase 1" \
         "runs $MAX_CONCURRENT concurrent connections instead of $CONCURRENT"
    CONCURRENT=$MAX_CONCURRENT
    EXTRA+=(--concurrent "$CONCURRENT")
fi
if [ -z "$PROXIES" ]; then
    PROXIES=$(( (CONCURRENT + PER_PROXY - 1) / PER_PROXY ))
    [ "$PROXIES" -ge 1 ] || PROXIES=1
    EXTRA+=(--proxies "$PROXIES")
fi
echo "== $CONCURRENT concurrent connections over $PROXIES proxy JVMs: ulimit -n is $FD_LIMIT per process, a proxy" \
     "holds 2 fds per connection, so one proxy takes at most $PER_PROXY"
if [ "$(cat /proc/sys/kernel/pid_max)" -lt 65536 ] && [ -w /proc/sys/kernel/pid_max ]; then
    echo "== raising kernel.pid_max $(cat /proc/sys/kernel/pid_max) -> 65536 (a thread per direction for 10,000 connections)"
    echo 65536 > /proc/sys/kernel/pid_max
fi
echo "== $(uname -sr), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), ulimit -n $(ulimit -n)," \
     "ephemeral ports $(tr '\t' '-' < /proc/sys/net/ipv4/ip_local_port_range), tcp_tw_reuse $(cat /proc/sys/net/ipv4/tcp_tw_reuse)"

JVM_OPTS=(--jvm-opt -Xss256k --jvm-opt -XX:+UseG1GC --jvm-opt -Xmx2g)
if [ "$AGENT" = 1 ]; then
    JVM_OPTS+=(--jvm-opt "-javaagent:$PWD/agent/target/sockmap-agent.jar=$AGENT_ARGS")
fi
PROXY_ARGS=()
if [ "$CUSTOM_MAIN" = 0 ]; then
    PROXY_ARGS=(--cp "$PWD/examples/target/sockmap-examples.jar" --main "io.sockmap.examples.$PROXY")
fi

read -r -a SOAK_JVM <<< "${SOAK_OPTS:-}"   # e.g. SOAK_OPTS=-Dsoak.proxyLog=/tmp/proxy.log
exec "$SOAK_JAVA" -Xss256k -Xmx3g ${SOAK_JVM[@]+"${SOAK_JVM[@]}"} -cp "${SOAK_CP:-it-tests/target/test-classes}" \
    io.sockmap.it.soak.Soak --java "$PROXY_JAVA" --backend-java "$SOAK_JAVA" --minutes "$MINUTES" "${JVM_OPTS[@]}" "${PROXY_ARGS[@]}" "${EXTRA[@]}"
