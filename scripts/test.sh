#!/usr/bin/env bash
# The full test suite: installs what is missing (scripts/setup.sh), then one Maven build from the
# repository root that compiles the BPF program (bpf, clang), runs the unit tests (agent,
# examples) and the kernel tests (it-tests: real BPF, needs root or CAP_BPF + CAP_NET_ADMIN).
#
#   bash scripts/test.sh                         everything
#   bash scripts/test.sh -Dsockmap.it.skip=true  without the kernel tests
#   bash scripts/test.sh -pl agent -am           any other Maven arguments are passed on
#
# With CI=true in the environment the kernel tests fail, instead of skipping, when something they
# need (privileges, kernel support, a JDK, a built jar) is missing. The whole Maven output goes to
# the terminal and to target/test-suite.log; Surefire's totals are repeated at the end.
# Exits non-zero if anything failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh

mkdir -p target
LOG=target/test-suite.log
echo "== $(uname -sr) $(uname -m), uid $(id -u), $(java -version 2>&1 | head -n 1), CI=${CI:-<unset>}"
echo "== mvn -B -ntp verify $* (log: $LOG)"

rc=0
mvn -B -ntp verify "$@" 2>&1 | tee "$LOG" || rc=$?

# Surefire's results per module: the failed or erroneous tests it lists after "Results:", then the
# module's "Tests run:" totals (per-class lines carry "Time elapsed" and are left out).
echo
echo "== test summary (Surefire, per module)"
awk '
    /^\[INFO\] -+< [^ ]+ >-+$/ { module = $3; sub(/^.*:/, "", module) }
    /^\[[A-Z]+\] Results:$/ { inResults = 1; next }
    /Tests run: [0-9]+, Failures: [0-9]+, Errors: [0-9]+, Skipped: [0-9]+$/ {
        line = $0; sub(/^\[[A-Z]+\] /, "", line)
        printf "%-22s %s\n", module, line; found = 1; inResults = 0; next
    }
    inResults && /^\[(ERROR|WARNING)\] +[^ ]/ {
        line = $0; sub(/^\[[A-Z]+\] /, "", line)
        printf "%-22s   %s\n", module, substr(line, 1, 200)
    }
    /Tests are skipped\./ { printf "%-22s tests skipped\n", module; found = 1 }
    END { if (!found) print "(no Surefire results: the build stopped before any test ran)" }
' "$LOG"
grep -E '^\[(INFO|ERROR)\] BUILD (SUCCESS|FAILURE)' "$LOG" | tail -n 1 || true
exit "$rc"
