#!/usr/bin/env bash
# Bad input gets a one-line error naming the problem and a non-zero exit, or a
# counted drop; never a crash or a hang.
set -u
. "$(dirname "$0")/lib.sh"

pcap="$top_srcdir/samples/sample.pcap"

# Not bad input, but the command line's other early exit: --version says
# configure's version (it said "dev" while options.c did not see config.h).
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$top_builddir/Makefile")
check "--version says nfprobe $version" test "$("$NFPROBE" --version)" = "nfprobe $version"

expect_error "unknown option" 2 "unknown option '--bogus'" -- -r "$pcap" --bogus
expect_error "missing value" 2 "needs a value" -- -r
expect_error "no input" 2 "exactly one input" -- --json
expect_error "two inputs" 2 "exactly one input" -- -r "$pcap" -i lo
expect_error "bad number" 2 "--max-flows 'lots'" -- -r "$pcap" --max-flows lots
expect_error "negative timeout" 2 "--idle-timeout '-1'" -- -r "$pcap" --idle-timeout -1
expect_error "missing file" 1 "cannot read capture $work/none.pcap" -- -r "$work/none.pcap"
expect_error "not a capture" 1 "cannot read capture $top_srcdir/README" -- -r "$top_srcdir/README"
expect_error "unresolvable collector" 1 "cannot resolve 'no-such-host.invalid'" -- -r "$pcap" -c no-such-host.invalid:4739
expect_error "port out of range" 1 "port '70000' is not a number" -- -r "$pcap" -c 127.0.0.1:70000
expect_error "unknown scheme" 1 "unknown transport 'sctpx'" -- -r "$pcap" -c sctpx://127.0.0.1:4739
expect_error "missing interface" 1 "cannot capture on nfprobe-none0" -- -i nfprobe-none0
expect_error "bad filter" 1 "filter 'tcp port lots'" -- -r "$pcap" -f "tcp port lots"
expect_error "unwritable IPFIX file" 1 "cannot create '/nonexistent/x.ipfix'" -- -r "$pcap" -o /nonexistent/x.ipfix

# A pcap whose link type nobody decodes (147, DLT_USER0).
python3 - "$work/user0.pcap" <<'PY'
import struct, sys
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 147))
    f.write(struct.pack("<IIII", 1, 0, 4, 4) + b"abcd")
PY
expect_error "unknown link type" 1 "user0.pcap: link type 147 is not supported" -- -r "$work/user0.pcap"

# A capture cut in the middle of a packet: the flows before the cut are
# exported, the error says where, exit 1.
full=$(stat -c %s "$pcap")
head -c $((full - 50)) "$pcap" > "$work/cut.pcap"
rc=0
"$NFPROBE" -r "$work/cut.pcap" > "$work/cut.json" 2> "$work/cut.err" || rc=$?
check "truncated capture: exit 1" test "$rc" -eq 1
check "truncated capture: error names the file" grep -q "$work/cut.pcap: truncated" "$work/cut.err"
all=$("$NFPROBE" -r "$pcap" -q | python3 -c 'import json,sys; print(sum(j["src2dst_packets"]+j["dst2src_packets"] for j in map(json.loads, sys.stdin)))')
cut=$(python3 -c 'import json,sys; print(sum(j["src2dst_packets"]+j["dst2src_packets"] for j in map(json.loads, open(sys.argv[1]))))' "$work/cut.json")
check "truncated capture: all but the cut packet metered ($cut of $all)" test "$cut" -eq $((all - 1))
# The same with two workers, each reading the file through a cursor of its
# own: both stop at the cut, one message, the same packets metered.
rc=0
"$NFPROBE" -r "$work/cut.pcap" --workers 2 > "$work/cut2.json" 2> "$work/cut2.err" || rc=$?
check "truncated capture, 2 workers: exit 1" test "$rc" -eq 1
check "truncated capture, 2 workers: one error line" test "$(grep -c "$work/cut.pcap: truncated" "$work/cut2.err")" -eq 1
cut2=$(python3 -c 'import json,sys; print(sum(j["src2dst_packets"]+j["dst2src_packets"] for j in map(json.loads, open(sys.argv[1]))))' "$work/cut2.json")
check "truncated capture, 2 workers: the same packets metered ($cut2 of $cut)" test "$cut2" -eq "$cut"

# Random bytes behind a valid pcap header, as packets: counted, no crash.
python3 - "$work/junk.pcap" <<'PY'
import random, struct, sys
rnd = random.Random(7)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i in range(3000):
        n = rnd.randrange(0, 200)
        body = bytes(rnd.randrange(256) for _ in range(n))
        if i % 3 == 0 and n > 14:    # make some look like IPv4/IPv6 in Ethernet
            body = body[:12] + (b"\x08\x00\x45" if i % 2 else b"\x86\xdd\x60") + body[15:]
        f.write(struct.pack("<IIII", 1000 + i, 0, n, n + rnd.randrange(0, 3000)) + body)
PY
rc=0
timeout "$(bound 20)" "$NFPROBE" -r "$work/junk.pcap" > "$work/junk.json" 2> "$work/junk.err" || rc=$?
check "random packets: exit 0" test "$rc" -eq 0
check "random packets: 3000 seen" grep -q "packets: 3000 seen" "$work/junk.err"

# A capture file another program truncates while nfprobe reads it (read in
# place from a memory mapping, where that would raise SIGBUS): a clear
# error, exit 1, the records of what was read exported. Deterministic: the
# JSON goes to a FIFO nobody reads yet, so nfprobe stops early in the file
# (blocked writing, its only wait reading a file; with workers, they wait
# for room in their full record rings); the file is cut to half, then the
# FIFO is read. The capture closes flows all along (gen_pcap --active), so
# records fill the rings early. With two workers the fault is taken in a
# worker's thread.
stalled() {  # pid: the main thread blocked writing, every worker waiting
    local t w
    for t in /proc/"$1"/task/*; do
        w=$(cat "$t/wchan" 2> /dev/null) || return 1
        if [ "${t##*/}" = "$1" ]; then
            case $w in *pipe_write*) ;; *) return 1 ;; esac
        else
            case $w in *nanosleep*) ;; *) return 1 ;; esac
        fi
    done
}
shrink_test() {  # label nfprobe-options...
    local label=$1
    shift
    "$top_builddir/bench/gen_pcap" --active 1000 "$work/shrink.pcap" 600000 > /dev/null 2>&1 ||
        { not_ok "shrinking file$label: cannot run bench/gen_pcap"; return; }
    rm -f "$work/shrink.fifo"
    mkfifo "$work/shrink.fifo"
    exec 3<> "$work/shrink.fifo"        # a reader exists: nfprobe's open does not wait
    "$NFPROBE" -r "$work/shrink.pcap" --no-dissect --idle-timeout 1 "$@" > "$work/shrink.fifo" \
        2> "$work/shrink.err" &
    shrink_pid=$!
    blocked=no
    for _ in $(seq 1 600); do
        if stalled "$shrink_pid"; then blocked=yes; break; fi
        sleep 0.05
    done
    check "shrinking file$label: nfprobe waits on the full FIFO" test "$blocked" = yes
    [ "$blocked" = yes ] || { kill "$shrink_pid"; exec 3>&-; wait "$shrink_pid"; return; }
    truncate -s $(($(stat -c %s "$work/shrink.pcap") / 2)) "$work/shrink.pcap"
    cat "$work/shrink.fifo" 3>&- > "$work/shrink.json" &
    cat_pid=$!
    exec 3>&-                           # the FIFO ends when nfprobe does
    rc=0
    wait "$shrink_pid" || rc=$?
    wait "$cat_pid"
    check "shrinking file$label: exit 1, not a crash (got $rc)" test "$rc" -eq 1
    check "shrinking file$label: the error says so, once" \
        test "$(grep -c "shrank while it was read" "$work/shrink.err")" -eq 1
    check "shrinking file$label: records of what was read" test "$(grep -c . "$work/shrink.json")" -gt 100
}
shrink_test ""
shrink_test ", 2 workers" --workers 2

finish
