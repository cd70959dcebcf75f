#!/usr/bin/env bash
# One bulk stream through an example proxy, with and without the agent, N times each: the
# quickest way to see the spliced single-stream rate and its spread (the benchmark, scripts/bench.sh,
# is the reference; this is for profiling). Uses the built jars (run scripts/test.sh or
# `mvn -DskipTests -Dsockmap.it.skip=true install` first).
#
#   bash scripts/single-stream.sh [runs=3] [seconds=5]
#   PROXY=TransferToProxy SINK_OPTS=--no-hash PROXY_OPTS=-Dsockmap.trace=true bash scripts/single-stream.sh 5
#   ONLY_AGENT=1 AGENT_JAR=/path/to/other/sockmap-agent.jar bash scripts/single-stream.sh   # A/B two builds
#
# SINK_OPTS=--no-hash makes the backend a fast reader (no SHA-256 of what it receives); with the
# hash the backend is the slowest part (about 4-6 Gbit/s here), which is the case that shows
# whether splicing keeps up with a reader slower than the sender.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUNS=${1:-3}
SECONDS_PER_RUN=${2:-5}
PROXY=${PROXY:-ThreadPairProxy}
EX=examples/target/sockmap-examples.jar
AG=${AGENT_JAR:-agent/target/sockmap-agent.jar}
OUT=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$OUT"' EXIT

await_port() { # file -> port printed as "listening on N"
    for _ in $(seq 200); do
        if grep -q "listening on" "$1" 2>/dev/null; then grep -o 'listening on [0-9]*' "$1" | grep -o '[0-9]*$'; return; fi
        sleep 0.05
    done
    echo "no 'listening on' in $1" >&2; cat "$1" >&2; exit 1
}

one() { # agent(0|1) -> Gbit/s
    java -cp "$EX" io.sockmap.examples.Backend --listen 0 --mode sink ${SINK_OPTS:-} > "$OUT/backend.log" 2>&1 &
    local b=$!
    local bp; bp=$(await_port "$OUT/backend.log")
    local agent=()
    [ "$1" = 1 ] && agent=(-javaagent:"$AG")
    # shellcheck disable=SC2086
    java "${agent[@]}" ${PROXY_OPTS:-} -cp "$EX" "io.sockmap.examples.$PROXY" --listen 0 --target "127.0.0.1:$bp" > "$OUT/proxy.log" 2>&1 &
    local p=$!
    local pp; pp=$(await_port "$OUT/proxy.log")
    java -cp "$EX" io.sockmap.examples.LoadClient --target "127.0.0.1:$pp" --mode bulk --streams 1 --bytes 1000G \
        --duration "$SECONDS_PER_RUN" --no-verify --json 2>/dev/null | grep -o '"gbps":[0-9.]*' | cut -d: -f2
    kill "$p" "$b"; wait "$p" "$b" 2>/dev/null || true
    [ "$1" = 1 ] && grep -h "summary" "$OUT/proxy.log" | sed 's/^/    /' >&2
    true
}

echo "== $PROXY, backend sink ${SINK_OPTS:-(with SHA-256)}, $RUNS x $SECONDS_PER_RUN s, Linux $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$RUNS"); do
    [ -z "${ONLY_AGENT:-}" ] && echo "without agent: $(one 0) Gbit/s"
    echo "with agent:    $(one 1) Gbit/s"
done
