#!/usr/bin/env bash
# The soak (its own command, not part of the test suite; loopback only; bounded in time):
# a proxy runs with -javaagent:agent/target/sockmap-agent.jar in its own JVM, in front of a
# backend; clients open 10,000 concurrent connections (all spliced), then churn 100,000 more with
# random sizes (0 B - 64 MiB, skewed small), half-close orders, client/backend resets and slow
# readers. Every byte is checked by SHA-256 both ways. Afterwards the proxy's fds and threads, the
# engine's map entries and the kernel's TCP memory are compared with a baseline. Progress every
# 10 s; the RESULT lines at the end are the figures for docs/RELIABILITY.md. Exit 0 = no byte
# lost, no hang, no leak.
#
#   bash scripts/soak.sh [--minutes N] [--proxy NAME] [--concurrent N] [--churn N] [--no-build]
#                        [-- any further option of io.sockmap.it.soak.Soak]
#
#   --minutes N     time limit of the churn phase (default 5); it stops early after --churn connections
#   --proxy NAME    an example proxy: ThreadPairProxy (default), TransferToProxy, VirtualThreadProxy
#   --main CLASS --cp CP --arg A --arg B ...   any other proxy: a main class and its arguments, where
#                   {target} is the backend's host:port and {port} a free port to listen on (the
#                   proxy must print "listening on <port>" or listen on {port})
#   --agent-args A  agent arguments (default minBytes=16k,maxPairs=16384)
#   --no-agent      the same soak without the agent (a baseline of the proxy itself)
#
# Needs root (CAP_BPF + CAP_NET_ADMIN for the agent; raising the fd limit), JDK 25 for the driver
# (virtual threads; override with SOAK_JAVA), ~6 GB of free memory for 10,000 connections with a
# thread-per-direction proxy. It raises `ulimit -n` to 1048576 for itself and its children and, if
# kernel.pid_max is below 65536 (20,000 proxy threads), raises it to 65536 (printed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MINUTES=5
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

ulimit -Hn 1048576 2>/dev/null || true
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# one proxy JVM holds 2 fds per connection (and this driver 2 as well: client + backend end), plus
# its own ~100: without CAP_SYS_RESOURCE the hard limit cannot be raised, so fewer fit
FD_LIMIT=$(ulimit -n)
MAX_CONCURRENT=$(( (FD_LIMIT - 120) / 2 ))
CONCURRENT=10000
for ((i = 0; i < ${#EXTRA[@]}; i++)); do
    if [ "${EXTRA[$i]}" = "--concurrent" ]; then CONCURRENT="${EXTRA[$((i + 1))]}"; fi
done
if [ "$CONCURRENT" -gt "$MAX_CONCURRENT" ]; then
    echo "== NOTE: ulimit -n is $FD_LIMIT and cannot be raised here (no CAP_SYS_RESOURCE): phase 1 runs" \
         "$MAX_CONCURRENT concurrent connections instead of $CONCURRENT"
    EXTRA+=(--concurrent "$MAX_CONCURRENT")
fi
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
exec "$SOAK_JAVA" -Xmx3g ${SOAK_JVM[@]+"${SOAK_JVM[@]}"} -cp "${SOAK_CP:-it-tests/target/test-classes}" io.sockmap.it.soak.Soak \
    --java "$PROXY_JAVA" --minutes "$MINUTES" "${JVM_OPTS[@]}" "${PROXY_ARGS[@]}" "${EXTRA[@]}"
