#!/usr/bin/env bash
# The packet-loss harness (its own command, not part of the test suite): does a spliced proxy keep
# every byte when TCP retransmits? For each loss rate, in a private network namespace (the loss never
# touches the host's loopback):
#   - a tc classifier (it-tests/src/test/bpf/lossy.c, compiled here with clang) on the namespace's
#     loopback INGRESS drops that fraction of the TCP packets on ports 7000-7001 (data and pure ACKs,
#     not SYN/RST), and by default also takes the link down for 300 ms every second, dropping pure
#     ACKs from 5 ms before each outage: the receiver has the head of a flight the sender never hears
#     of, so the sender's timeout retransmits that head collapsed with the lost rest
#     (net.ipv4.tcp_retrans_collapse=1), a segment overlapping bytes already received. Random loss
#     alone hardly ever does that on loopback (measured: 0 such segments in 24 connections at 5%);
#     the outages do it within seconds (docs/RELIABILITY.md, "Packet loss");
#   - a proxy JVM with -javaagent:agent/target/sockmap-agent.jar listens on 127.0.0.1:7000 and
#     relays to 127.0.0.1:7001;
#   - io.sockmap.it.loss.LossyTransfers (a checking backend on 7001 and the clients, no agent) runs
#     N connections through it: bulk (64 KiB writes, both ways at once), small (TCP_NODELAY, writes of
#     1-1448 bytes, both ways) and rr (TCP_NODELAY ping-pong of 64 B-4 KiB requests, 64 B-16 KiB
#     responses), and checks the byte count and SHA-256 of both directions of every connection.
# Prints each damaged direction (offset of the first difference; for a repeated block, the offset
# it repeats and its length), per rate: connections failed, bytes duplicated/missing, packets
# dropped, segments retransmitted, segments that overlapped bytes the receiver had acknowledged
# (counted by the classifier: "partial N (B bytes)"), and whether the proxy was spliced (the
# agent's exit summary: pairs spliced, kernel bytes). Logs: target/lossy/<time>/.
# Exit 0 = every byte exact at every rate, 1 = some connection damaged, 2 = cannot run here.
#
#   bash scripts/lossy.sh [--rates 0,1,3] [--connections 60] [--parallel 6] [--styles bulk,small,rr]
#                         [--outage-ms 300] [--period-ms 1000] [--ack-lead-ms 5]
#                         [--proxy ThreadPairProxy] [--agent-args minBytes=16k] [--no-agent] [--mtu N]
#                         [--no-build] [-- any further option of io.sockmap.it.loss.LossyTransfers]
#
#   --rates R,...   random loss rates in percent (decimals allowed: 0.5), one namespace and proxy each
#   --outage-ms N   link outage length (0: random loss only), every --period-ms, pure ACKs dropped
#                   from --ack-lead-ms before each outage
#   --no-agent      the same runs with the proxy alone: the control (must be 0 failures)
#   --mtu N         the namespace loopback's MTU (default: the kernel's, 65536)
#   --proxy NAME    an example proxy: ThreadPairProxy (default), TransferToProxy, VirtualThreadProxy
#   -- --small-bytes 8m --rr-rounds 300 --bulk-bytes 16m --seed 1 --timeout 90: LossyTransfers options
#   MVN_ARGS=-Dmaven.repo.local=/path   passed to the build; LOSSY_JAVA / PROXY_JAVA: the JVMs;
#   LOSSY_AGENT_JAR / LOSSY_EXAMPLES_JAR / LOSSY_TEST_CLASSES: other builds (LossyLinkIT sets them)
#
# Needs root (network namespaces, tc, and CAP_BPF + CAP_NET_ADMIN for the agent), iproute2 with tc's
# bpf classifier (clsact qdisc), clang, and bpftool for the overlap counters (optional here).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

RATES="0,1,3"
CONNECTIONS=60
PARALLEL=6
STYLES="bulk,small,rr"
PROXY=ThreadPairProxy
AGENT_ARGS="minBytes=16k"
AGENT=1
BUILD=1
MTU=""
OUTAGE_MS=300
PERIOD_MS=1000
ACK_LEAD_MS=5
EXTRA=()
while [ $# -gt 0 ]; do
    case "$1" in
        --rates) RATES="$2"; shift 2 ;;
        --connections) CONNECTIONS="$2"; shift 2 ;;
        --parallel) PARALLEL="$2"; shift 2 ;;
        --styles) STYLES="$2"; shift 2 ;;
        --proxy) PROXY="$2"; shift 2 ;;
        --agent-args) AGENT_ARGS="$2"; shift 2 ;;
        --no-agent) AGENT=0; shift ;;
        --no-build) BUILD=0; shift ;;
        --mtu) MTU="$2"; shift 2 ;;
        --outage-ms) OUTAGE_MS="$2"; shift 2 ;;
        --period-ms) PERIOD_MS="$2"; shift 2 ;;
        --ack-lead-ms) ACK_LEAD_MS="$2"; shift 2 ;;
        --) shift; EXTRA+=("$@"); break ;;
        *) echo "lossy: unknown option $1 (see the comment at the top of $0)" >&2; exit 2 ;;
    esac
done

LOSSY_JAVA="${LOSSY_JAVA:-$(command -v java)}"
PROXY_JAVA="${PROXY_JAVA:-$(command -v java)}"
missing=()
[ "$(id -u)" = 0 ] || missing+=("root")
for tool in ip tc clang; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
    echo "lossy: missing: ${missing[*]} (needs root, iproute2's ip and tc, clang)" >&2
    exit 2
fi

read -r -a MVN_EXTRA <<< "${MVN_ARGS:-}"
if [ "$BUILD" = 1 ]; then
    echo "== building (mvn -q install -DskipTests -Dsockmap.it.skip=true -pl bpf,agent,examples -am, then it-tests test-compile)"
    mkdir -p target
    if ! mvn -B -ntp -q -DskipTests -Dsockmap.it.skip=true -pl bpf,agent,examples -am install ${MVN_EXTRA[@]+"${MVN_EXTRA[@]}"} >target/lossy-build.log 2>&1 \
        || ! mvn -B -ntp -q -pl it-tests test-compile -Dsockmap.it.skip=true ${MVN_EXTRA[@]+"${MVN_EXTRA[@]}"} >>target/lossy-build.log 2>&1; then
        cat target/lossy-build.log >&2
        echo "lossy: the build failed (log: target/lossy-build.log)" >&2
        exit 1
    fi
fi
AGENT_JAR="${LOSSY_AGENT_JAR:-$PWD/agent/target/sockmap-agent.jar}"
EXAMPLES_JAR="${LOSSY_EXAMPLES_JAR:-$PWD/examples/target/sockmap-examples.jar}"
TEST_CLASSES="${LOSSY_TEST_CLASSES:-$PWD/it-tests/target/test-classes}"
for f in "$AGENT_JAR" "$EXAMPLES_JAR" "$TEST_CLASSES/io/sockmap/it/loss/LossyTransfers.class"; do
    [ -e "$f" ] || { echo "lossy: $f is missing (run without --no-build)" >&2; exit 2; }
done

OUT="$PWD/target/lossy/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"
NS="sockmap-lossy-$$"
PROXY_PID=""
DRIVER_PID=""

cleanup() {
    if [ -n "$DRIVER_PID" ]; then kill -KILL "$DRIVER_PID" 2>/dev/null || true; fi
    DRIVER_PID=""
    if [ -n "$PROXY_PID" ] && kill -0 "$PROXY_PID" 2>/dev/null; then
        kill -TERM "$PROXY_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PROXY_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PROXY_PID" 2>/dev/null || true
    fi
    PROXY_PID=""
    if [ -e "/run/netns/$NS" ]; then   # where ip netns keeps it (not `ip netns list | grep -q`: SIGPIPE under pipefail)
        # whatever still runs in the namespace was started by this script
        for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$NS" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# lossy_stats: the filter's eight counters (see lossy.c), space-separated; empty without bpftool
lossy_stats() {
    command -v bpftool >/dev/null 2>&1 || return 0
    local prog m
    prog=$(ip netns exec "$NS" tc filter show dev lo ingress | sed -n 's/.* id \([0-9]*\) name lossy.*/\1/p' | head -1)
    [ -n "$prog" ] || return 0
    for m in $(bpftool prog show id "$prog" | sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr ',' ' '); do
        # not `bpftool | grep -q`: grep exiting early gives bpftool SIGPIPE, a failure under pipefail
        if [[ "$(bpftool map show id "$m")" == *"name lossy_stats"* ]]; then
            bpftool -j map dump id "$m" | python3 -c '
import json, sys
def value(v):  # formatted with BTF, or raw little-endian bytes
    return v if isinstance(v, int) else int.from_bytes(bytes(int(b, 16) for b in v), "little")
print(" ".join(str(value(e["value"])) for e in json.load(sys.stdin)))'
        fi
    done
}

# counter NAME FILE: a value from `nstat -asz` output
counter() { awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }' "$2"; }

echo "== $(uname -sr), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); proxy $PROXY"\
     "$([ "$AGENT" = 1 ] && echo "with -javaagent:sockmap-agent.jar=$AGENT_ARGS" || echo "WITHOUT the agent (control)");"\
     "$CONNECTIONS connections per rate ($STYLES), $PARALLEL at a time; logs: $OUT"
TOTAL_FAILED=0
SUMMARY=()
IFS=',' read -r -a RATE_LIST <<< "$RATES"
for rate in "${RATE_LIST[@]}"; do
    ppm=$(awk -v r="$rate" 'BEGIN { printf "%d", r * 10000 + 0.5 }')
    dir="$OUT/rate-$rate"
    mkdir -p "$dir"
    clang -target bpf -O2 -g -Wall -Werror -nostdinc -DLOSS_PPM="$ppm" -DPORT_LO=7000 -DPORT_HI=7001 \
        -DOUTAGE_US=$((OUTAGE_MS * 1000)) -DPERIOD_US=$((PERIOD_MS * 1000)) -DACK_LEAD_US=$((ACK_LEAD_MS * 1000)) \
        -c it-tests/src/test/bpf/lossy.c -o "$dir/lossy.o"
    ip netns add "$NS"
    ip netns exec "$NS" ip link set lo up
    [ -z "$MTU" ] || ip netns exec "$NS" ip link set lo mtu "$MTU"
    ip netns exec "$NS" sysctl -q -w net.ipv4.tcp_retrans_collapse=1
    ip netns exec "$NS" tc qdisc add dev lo clsact
    ip netns exec "$NS" tc filter add dev lo ingress bpf da obj "$dir/lossy.o" sec tc/lossy

    JVM=(-Xmx1g)
    [ "$AGENT" = 1 ] && JVM+=("-javaagent:$AGENT_JAR=$AGENT_ARGS" -Dsockmap.logLevel=debug)
    ip netns exec "$NS" "$PROXY_JAVA" "${JVM[@]}" -cp "$EXAMPLES_JAR" "io.sockmap.examples.$PROXY" \
        --listen 7000 --target 127.0.0.1:7001 >"$dir/proxy.out" 2>"$dir/proxy.err" &
    PROXY_PID=$!
    for _ in $(seq 300); do
        grep -q "listening on" "$dir/proxy.out" 2>/dev/null && break
        kill -0 "$PROXY_PID" 2>/dev/null || break
        sleep 0.1
    done
    if ! grep -q "listening on" "$dir/proxy.out"; then
        cat "$dir/proxy.out" "$dir/proxy.err" >&2
        echo "lossy: the proxy did not start" >&2
        exit 1
    fi
    grep -m1 "sockmap-agent " "$dir/proxy.err" || true

    echo "== loss $rate% ($ppm ppm) on ports 7000-7001$([ "$OUTAGE_MS" = 0 ] || echo ", link down ${OUTAGE_MS} ms every ${PERIOD_MS} ms, pure ACKs from ${ACK_LEAD_MS} ms before")"
    # in the background and waited for, so that Ctrl-C reaches the trap (and the cleanup) at once
    ip netns exec "$NS" "$LOSSY_JAVA" -Xmx1g -cp "$TEST_CLASSES" io.sockmap.it.loss.LossyTransfers \
        --proxy 127.0.0.1:7000 --backend-port 7001 --connections "$CONNECTIONS" --parallel "$PARALLEL" \
        --styles "$STYLES" ${EXTRA[@]+"${EXTRA[@]}"} >"$dir/transfers.log" 2>&1 &
    DRIVER_PID=$!
    tail -n +1 --pid="$DRIVER_PID" -f "$dir/transfers.log" &
    tail_pid=$!
    status=0
    wait "$DRIVER_PID" || status=$?
    DRIVER_PID=""
    wait "$tail_pid" || true

    kill -TERM "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=""
    ip netns exec "$NS" tc -s qdisc show dev lo >"$dir/qdisc.txt"
    ip netns exec "$NS" nstat -asz >"$dir/nstat.txt"
    lossy_stats >"$dir/lossy-stats.txt" || true
    cleanup

    result=$(grep "^RESULT" "$dir/transfers.log" || echo "RESULT (none: the transfers ended abnormally, status $status)")
    failed=$(sed -n 's/.* failed \([0-9]*\) .*/\1/p' <<< "$result")
    [ -n "$failed" ] || failed="$CONNECTIONS"
    [ "$status" = 0 ] || [ "$failed" != 0 ] || failed=1
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    dropped=$(sed -n '/clsact/,$ s/.*(dropped \([0-9]*\),.*/\1/p' "$dir/qdisc.txt" | head -1)
    sent_pkts=$(sed -n '/clsact/,$ s/.* bytes \([0-9]*\) pkt.*/\1/p' "$dir/qdisc.txt" | head -1)
    retrans=$(counter TcpRetransSegs "$dir/nstat.txt")
    dsack=$(counter TcpExtTCPDSACKOldSent "$dir/nstat.txt")
    probes=$(counter TcpExtTCPLossProbes "$dir/nstat.txt")
    if [ "$AGENT" = 1 ]; then
        summary=$(grep -o "summary: .*" "$dir/proxy.err" || echo "summary: (none: the proxy did not exit cleanly)")
    else
        summary="no agent"
    fi
    read -r -a st < "$dir/lossy-stats.txt" || true
    overlap=""
    if [ ${#st[@]} -ge 6 ]; then
        overlap=", retransmissions overlapping acknowledged bytes: partial ${st[3]} (${st[4]} bytes), whole ${st[5]}"
    fi
    line="loss $rate%: $result | packets dropped ${dropped:-?} of ${sent_pkts:-?}, segments retransmitted $retrans (tail loss probes $probes), old/partial segments received again (DSACK) $dsack$overlap | $summary"
    echo "== $line"
    SUMMARY+=("$line")
done

echo "== SUMMARY ($([ "$AGENT" = 1 ] && echo "agent $AGENT_ARGS" || echo "no agent: control"), proxy $PROXY, logs $OUT)"
for line in "${SUMMARY[@]}"; do echo "$line"; done
[ "$TOTAL_FAILED" = 0 ]
