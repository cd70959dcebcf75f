#!/usr/bin/env bash
# sockmap-agent demo: the same unmodified Java proxy, first as is, then with
# -javaagent:agent/target/sockmap-agent.jar, pushing bulk traffic through it on loopback.
#
#   LoadClient --(loopback)--> ThreadPairProxy --(loopback)--> Backend --mode sink
#
# For each run it prints the throughput (bytes the sink received / time), the CPU time the proxy
# process used during the run (/proc/PID/stat utime+stime) and how many bytes the proxy JVM moved
# through read/write syscalls (/proc/PID/io rchar/wchar). Without the agent the proxy reads and
# writes every byte; with the agent the kernel forwards them and rchar/wchar stay near zero.
#
# Usage: examples/demo.sh   (from anywhere; runs `mvn -q -DskipTests install` first if a jar is missing)
# Environment knobs (defaults in brackets):
#   JAVA [java]            the JVM for every process (JDK 17+)
#   PROXY [ThreadPairProxy] TransferToProxy, VirtualThreadProxy (JDK 21+), TransformingProxy,
#                          NioSelectorProxy or NettyProxy
#   PROXY_ARGS [""]        extra proxy options, e.g. "--transport epoll" for NettyProxy
#   STREAMS ["1 4"]        parallel streams per measured run
#   DURATION [8]           seconds per measured run (each stream also stops after BYTES)
#   BYTES [1G]             per-stream cap
#   VERIFY [1]             1: SHA-256 end to end (sink hashes, client checks); 0: counts only (less CPU)
#   AGENT_JAR [agent/target/sockmap-agent.jar]
# Total time: about 20 s per half plus the JVM start-ups (under 2 minutes).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
JAVA=${JAVA:-java}
PROXY=${PROXY:-ThreadPairProxy}
PROXY_ARGS=${PROXY_ARGS:-}
STREAMS=${STREAMS:-"1 4"}
DURATION=${DURATION:-8}
BYTES=${BYTES:-1G}
VERIFY=${VERIFY:-1}
WARMUP=${WARMUP:-2}
AGENT_JAR=${AGENT_JAR:-agent/target/sockmap-agent.jar}
EX_JAR=examples/target/sockmap-examples.jar

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sockmap-demo.XXXXXX")
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]+"${PIDS[@]}"}"; do
        wait "$pid" 2>/dev/null || true
    done
    PIDS=()
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM

die() {
    echo "demo: $*" >&2
    exit 1
}

# ---------------------------------------------------------------- build

"$JAVA" -version >/dev/null 2>&1 || die "cannot run '$JAVA' (set JAVA=/path/to/jdk/bin/java)"
if [ ! -f "$EX_JAR" ] || [ ! -f "$AGENT_JAR" ]; then
    # -Dsockmap.it.skip=true: the kernel tests module ignores -DskipTests on purpose
    echo "== building: mvn -q -DskipTests -Dsockmap.it.skip=true install"
    if ! mvn -q -DskipTests -Dsockmap.it.skip=true install; then
        echo "demo: the full build failed; building only the examples" >&2
        { mvn -q -N install && mvn -q -DskipTests -pl examples install; } || die "cannot build the examples"
    fi
fi
[ -f "$EX_JAR" ] || die "$EX_JAR is missing after the build"
WITH_AGENT=1
if [ ! -f "$AGENT_JAR" ]; then
    WITH_AGENT=0
    echo
    echo "*** $AGENT_JAR does not exist (the agent module has not been built yet)."
    echo "*** Running only the WITHOUT-agent half of the demo."
    echo
fi

# ---------------------------------------------------------------- helpers

CLK_TCK=$(getconf CLK_TCK)
STARTED_PID=
STARTED_PORT=

# start NAME CMD...: runs CMD in the background, waits for "listening on <port>" on its stdout.
start() {
    local name=$1
    shift
    "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
    local pid=$!
    PIDS+=("$pid")
    local i port
    for i in $(seq 1 400); do
        port=$(sed -n 's/^listening on \([0-9][0-9]*\)$/\1/p' "$WORK/$name.out")
        if [ -n "$port" ]; then
            STARTED_PID=$pid
            STARTED_PORT=$port
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "demo: $name exited before listening:" >&2
            cat "$WORK/$name.err" >&2
            exit 1
        fi
        sleep 0.05
    done
    die "$name did not print 'listening on <port>' within 20 s"
}

# stop PID: SIGTERM (shutdown hooks run, e.g. the agent's counters), wait up to 5 s, then SIGKILL.
stop() {
    local pid=$1 i
    kill "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local kept=() p
    for p in "${PIDS[@]+"${PIDS[@]}"}"; do
        [ "$p" = "$pid" ] || kept+=("$p")
    done
    PIDS=("${kept[@]+"${kept[@]}"}")
}

cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }   # utime + stime
io_bytes() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/io" 2>/dev/null || echo ""; }
json_field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }

CLIENT_FLAGS=()
BACKEND_FLAGS=()
if [ "$VERIFY" = 0 ]; then
    CLIENT_FLAGS+=(--no-verify)
    BACKEND_FLAGS+=(--no-hash)
fi

ROWS=()
FAILED=0

# measure LABEL PROXY_PID PROXY_PORT STREAMS
measure() {
    local label=$1 pid=$2 port=$3 streams=$4
    local cpu0 r0 w0 cpu1 r1 w1 json rc=0
    cpu0=$(cpu_ticks "$pid"); r0=$(io_bytes "$pid" rchar); w0=$(io_bytes "$pid" wchar)
    json=$("$JAVA" -cp "$EX_JAR" io.sockmap.examples.LoadClient --target "127.0.0.1:$port" --backend sink \
        --streams "$streams" --bytes "$BYTES" --duration "$DURATION" --json "${CLIENT_FLAGS[@]+"${CLIENT_FLAGS[@]}"}" \
        2>>"$WORK/client.err") || rc=$?
    cpu1=$(cpu_ticks "$pid"); r1=$(io_bytes "$pid" rchar); w1=$(io_bytes "$pid" wchar)
    local gbps payload ok cpu rchar wchar
    gbps=$(json_field gbps "$json"); payload=$(json_field bytes_received "$json"); ok=$(json_field ok "$json")
    [ -n "$gbps" ] || gbps=0
    [ -n "$payload" ] || payload=0
    if [ "$rc" != 0 ] || [ "$ok" != true ]; then
        FAILED=1
        ok="FAILED(exit $rc)"
        tail -n 5 "$WORK/client.err" >&2 || true
    else
        ok=ok
    fi
    cpu=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$CLK_TCK" 'BEGIN {printf "%.2f", (b - a) / t}')
    if [ -n "$r0" ] && [ -n "$r1" ]; then
        rchar=$(awk -v a="$r0" -v b="$r1" 'BEGIN {printf "%.1f", (b - a) / 1048576}')
        wchar=$(awk -v a="$w0" -v b="$w1" 'BEGIN {printf "%.1f", (b - a) / 1048576}')
    else
        rchar=n/a; wchar=n/a
    fi
    local mib
    mib=$(awk -v b="$payload" 'BEGIN {printf "%.1f", b / 1048576}')
    ROWS+=("$(printf '%-14s %7s %8s %12s %11s %15s %15s  %s' "$label" "$streams" "$gbps" "$mib" "$cpu" "$rchar" "$wchar" "$ok")")
    echo "   $label, $streams stream(s): $gbps Gbit/s, proxy CPU ${cpu} s, $ok"
}

# half LABEL JAVA_ARGS...: backend already running; start the proxy, warm up, measure, stop.
half() {
    local label=$1
    shift
    local name=proxy-${label// /-}
    echo "== $label: $PROXY $PROXY_ARGS $*"
    # shellcheck disable=SC2086 # PROXY_ARGS is a list of options
    start "$name" "$JAVA" "$@" -cp "$EX_JAR" "io.sockmap.examples.$PROXY" --listen 0 --target "127.0.0.1:$BACKEND_PORT" $PROXY_ARGS
    local pid=$STARTED_PID port=$STARTED_PORT
    if [ "$WARMUP" != 0 ]; then
        "$JAVA" -cp "$EX_JAR" io.sockmap.examples.LoadClient --target "127.0.0.1:$port" --backend sink \
            --duration "$WARMUP" --json "${CLIENT_FLAGS[@]+"${CLIENT_FLAGS[@]}"}" >/dev/null 2>>"$WORK/client.err" || true
    fi
    local s
    for s in $STREAMS; do
        measure "$label" "$pid" "$port" "$s"
    done
    stop "$pid"
    if [ -s "$WORK/$name.err" ]; then
        echo "   proxy stderr (last 15 lines):"
        tail -n 15 "$WORK/$name.err" | sed 's/^/   | /'
    fi
}

# ---------------------------------------------------------------- run

echo "== $(uname -sr), $(nproc) CPUs, $("$JAVA" -version 2>&1 | head -n 1)"
start backend "$JAVA" -cp "$EX_JAR" io.sockmap.examples.Backend --mode sink "${BACKEND_FLAGS[@]+"${BACKEND_FLAGS[@]}"}"
BACKEND_PORT=$STARTED_PORT
echo "== Backend --mode sink on 127.0.0.1:$BACKEND_PORT"

half "without agent"
if [ "$WITH_AGENT" = 1 ]; then
    half "with agent" "-javaagent:$AGENT_JAR"
fi

echo
echo "$PROXY, loopback, ${DURATION} s per run (or $BYTES per stream), $([ "$VERIFY" = 0 ] && echo "counts verified" || echo "SHA-256 verified end to end")"
printf '%-14s %7s %8s %12s %11s %15s %15s  %s\n' "run" "streams" "Gbit/s" "payload MiB" "proxy CPU s" "proxy rchar MiB" "proxy wchar MiB" "check"
for row in "${ROWS[@]}"; do
    echo "$row"
done
echo "(rchar/wchar: bytes the proxy JVM read/wrote through syscalls during the run; with the agent the kernel moves the payload)"
if [ "$WITH_AGENT" = 0 ]; then
    echo "(no 'with agent' rows: build the agent so that $AGENT_JAR exists, then run this again)"
fi
exit "$FAILED"
