#!/usr/bin/env bash
# The benchmark, in one command: installs what is missing (scripts/setup.sh, then HAProxy, strace
# and fonts for the chart from Debian), builds without tests, raises the limits that 10,000
# connections need, and runs the harness (bench/, io.sockmap.bench.Bench):
#
#   bash scripts/bench.sh                    the full run (about 22 minutes on 2 cores)
#   bash scripts/bench.sh --quick            validation run (~2 minutes)
#   bash scripts/bench.sh --sweep-min-bytes 16k,64k,256k,1m,4m   how sockmap.minBytes was chosen (~8 min)
#   bash scripts/bench.sh --help             every option (subset of configurations or loads, durations, ...)
#
# Configurations: direct (client -> backend), each example proxy without and with
# -javaagent:agent/target/sockmap-agent.jar, HAProxy (mode tcp) without and with splice. Loads:
# bulk 1 and 8 streams, 1 KiB request/response at 100 and 10,000 connections, short connections.
# Results: bench-results/<UTC time>/results.md (tables), results.csv (raw), chart.png, logs/.
# Needs root (the agent needs CAP_BPF + CAP_NET_ADMIN; the limits below need root to be raised).
# Environment: MVN_ARGS (extra Maven arguments, e.g. -Dmaven.repo.local=...), SKIP_BUILD=1,
# BENCH_JAVA (JVM of the harness and backends; default JDK 25 if present, else java).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh

missing=()
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v strace >/dev/null 2>&1 || missing+=(strace)
command -v fc-list >/dev/null 2>&1 || missing+=(fontconfig)
[ -d /usr/share/fonts/truetype/dejavu ] || missing+=(fonts-dejavu-core)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "== bench: installing ${missing[*]}"
    SUDO=()
    [ "$(id -u)" = 0 ] || SUDO=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${SUDO[@]}" apt-get update -qq
    "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

mkdir -p target
if [ "${SKIP_BUILD:-0}" != 1 ]; then
    echo "== bench: building (mvn -B -ntp -q -DskipTests -Dsockmap.it.skip=true install ${MVN_ARGS:-})"
    # shellcheck disable=SC2086
    if ! mvn -B -ntp -q -DskipTests -Dsockmap.it.skip=true ${MVN_ARGS:-} install >target/bench-build.log 2>&1; then
        cat target/bench-build.log >&2
        echo "bench: the build failed (log: target/bench-build.log)" >&2
        exit 1
    fi
fi

# 10,000 connections: 1 fd each in the client, 2 per connection in a proxy, 1 in the backend, and
# a thread-per-connection proxy needs 20,000 threads (kernel tasks).
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 200000 ]; then
    ulimit -Hn 200000 2>/dev/null || true
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true
ulimit -u unlimited 2>/dev/null || true
if [ "$(id -u)" = 0 ]; then
    [ "$(sysctl -n kernel.pid_max)" -ge 131072 ] || { echo "== bench: sysctl kernel.pid_max=131072 (was $(sysctl -n kernel.pid_max))"; sysctl -qw kernel.pid_max=131072; }
    [ "$(sysctl -n vm.max_map_count)" -ge 262144 ] || { echo "== bench: sysctl vm.max_map_count=262144 (was $(sysctl -n vm.max_map_count))"; sysctl -qw vm.max_map_count=262144; }
    [ "$(sysctl -n net.core.somaxconn)" -ge 4096 ] || { echo "== bench: sysctl net.core.somaxconn=4096"; sysctl -qw net.core.somaxconn=4096; }
fi
read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
echo "== bench: ulimit -n $(ulimit -n), kernel.pid_max $(sysctl -n kernel.pid_max), somaxconn $(sysctl -n net.core.somaxconn)," \
     "ephemeral ports $lo-$hi ($((hi - lo + 1))), tcp_tw_reuse $(sysctl -n net.ipv4.tcp_tw_reuse), load $(cut -d' ' -f1-3 /proc/loadavg)"

JAVA_BENCH=${BENCH_JAVA:-}
if [ -z "$JAVA_BENCH" ]; then
    if [ -x /usr/lib/jvm/temurin-25-jdk-amd64/bin/java ]; then
        JAVA_BENCH=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java
    else
        JAVA_BENCH=java
    fi
fi
exec "$JAVA_BENCH" -Djava.awt.headless=true -Xss512k -jar bench/target/sockmap-bench.jar "$@"
