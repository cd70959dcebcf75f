#!/usr/bin/env bash
# The demo: installs what is missing (scripts/setup.sh), builds everything without running tests,
# then runs examples/demo.sh: the same unmodified Java proxy without and with
# -javaagent:agent/target/sockmap-agent.jar, printing throughput, proxy CPU and the bytes the proxy
# read/wrote through syscalls. Needs root (or CAP_BPF + CAP_NET_ADMIN) for the "with agent" half to
# splice; without them the agent stays off and says why.
# Environment knobs (JAVA, PROXY, STREAMS, DURATION, BYTES, VERIFY, ...) are passed on to
# examples/demo.sh; see its header.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
echo "== building: mvn -B -ntp -q -DskipTests -Dsockmap.it.skip=true install"
mkdir -p target
# Maven 3.8 prints stray colour-reset codes even with -B -q: keep its output for a failure only
if ! mvn -B -ntp -q -DskipTests -Dsockmap.it.skip=true install >target/demo-build.log 2>&1; then
    cat target/demo-build.log >&2
    echo "demo: the build failed (log: target/demo-build.log)" >&2
    exit 1
fi
exec bash examples/demo.sh "$@"
