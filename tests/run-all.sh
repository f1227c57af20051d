#!/usr/bin/env bash
# The whole test suite: a warning-free build (-Werror) and `make check`, then
# the same suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Run from the repository root; the shared test data must sit at ../shared.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

[ -x configure ] || autoreconf -fi

run_suite() {   # name, configure flags...
    local name=$1; shift
    local dir="$top/build-$name"
    rm -f "$dir/test-suite.log"
    echo "=== $name: configure $*"
    mkdir -p "$dir"
    (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs" && make -s -j"$jobs" check) || {
        echo "=== $name: FAILED"; for f in "$dir"/tests/*.log; do
            [ -f "$f" ] && case "$f" in */test-suite.log) ;; *) grep -q "^FAIL\|^ERROR" "${f%.log}.trs" 2>/dev/null && { echo "--- $f"; tail -50 "$f"; } ;; esac
        done; return 1; }
    cat "$dir/test-suite.log" 2>/dev/null | sed -n '1,12p'
}

count() {   # field of automake's summary, summed over the suites
    cat "$top"/build-*/test-suite.log 2>/dev/null | sed -n "s/^# $1: *//p" | awk '{s+=$1} END {print s+0}'
}
status=0
run_suite release --enable-werror || status=1
run_suite sanitizers --enable-werror --enable-sanitizers || status=1
echo "$(count PASS) passed, $(( $(count FAIL) + $(count ERROR) + $(count XPASS) )) failed, $(count SKIP) skipped"
exit $status
