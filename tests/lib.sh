# Shared by the shell tests: paths, free ports, collectors, ok/not ok lines.
# shellcheck shell=bash
top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
NFPROBE=${NFPROBE:-$top_builddir/nfprobe}
COLLECTOR=${COLLECTOR:-$top_builddir/collector-test/collector-test}
DATA=${DATA:-$top_srcdir/../shared/testdata/pcap}
EXPECTED=$top_srcdir/tests/expected
TOOLS=$top_srcdir/tests/tools

work=$(mktemp -d "${TMPDIR:-/tmp}/nfprobe-test.XXXXXX")
collector_pids=()
passed=0
failed=0

cleanup() {
    local p
    for p in "${collector_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "$failed" -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$work"; else echo "# work files kept in $work"; fi
}
trap cleanup EXIT

ok() { passed=$((passed + 1)); echo "ok $((passed + failed)) - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok $((passed + failed)) - $*"; }
fail_setup() { echo "setup failed: $*" >&2; exit 99; }

# check DESCRIPTION COMMAND...: ok when the command succeeds; its output is
# shown only on failure.
check() {
    local what=$1; shift
    local out
    if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what"; echo "$out" | head -30 | sed 's/^/#   /'; fi
}

finish() {
    echo "# $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# A port nobody listens on now (the kernel picks it).
free_port() {   # udp|tcp
    python3 - "$1" <<'EOF'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

# Wait until FILE has a line matching PATTERN (a daemon said it is ready).
wait_for_line() {   # file pattern seconds
    local deadline=$((SECONDS + $3))
    until grep -q "$2" "$1" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

start_collector() {   # udp|tcp port output
    "$COLLECTOR" -l "$1://127.0.0.1:$2" > "$3" 2> "$3.err" &
    collector_pids+=($!)
    wait_for_line "$3.err" "listening on" 10 || fail_setup "collector-test on $1 port $2 did not start: $(cat "$3.err")"
}

stop_collectors() {
    local p
    for p in "${collector_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${collector_pids[@]}"; do wait "$p" 2>/dev/null; done
    collector_pids=()
}

# Wait until FILE holds COUNT data records (options records excluded).
wait_for_records() {   # file count seconds
    local deadline=$((SECONDS + $3)) n
    while :; do
        n=$(grep -vc '"_options"' "$1" 2>/dev/null || true)
        [ "${n:-0}" -ge "$2" ] && return 0
        [ $SECONDS -lt $deadline ] || { echo "# $1: $n of $2 records after $3 s"; return 1; }
        sleep 0.1
    done
}
