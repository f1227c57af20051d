#!/usr/bin/env bash
# JSON on stdout behaves as a Unix filter's output: a reader that goes away
# (`nfprobe -r big.pcap | head`, EPIPE) ends nfprobe quietly with status 0,
# having stopped reading and still exported what it metered to its other
# outputs; any other write error (a full disk: /dev/full) is a one-line error
# and status 1.
set -u
. "$(dirname "$0")/lib.sh"

# 200,000 packets of 2,000 flows over 20 s; with 1 s timeouts records are
# exported from the first second of the capture on.
synthetic_pcap "$work/big.pcap" 200000 2000 7 20 || fail_setup "cannot generate the synthetic capture"
total=$(meta_value "$work/big.pcap.meta" packets)
[ "$total" = 200000 ] || fail_setup "synthetic capture has $total packets"
timeouts=(--idle-timeout 1 --active-timeout 1)

# nfprobe with stdout a pipe whose reader is already gone: every write gets
# EPIPE, whatever the machine's speed.
run_reader_gone() {   # nfprobe arguments; stderr in $work/err, exit status returned
    python3 - "$NFPROBE" "$@" 2> "$work/err" <<'PY'
import os, subprocess, sys
r, w = os.pipe()
os.close(r)
sys.exit(subprocess.run(sys.argv[1:], stdout=w).returncode)
PY
}

stat_value() {   # pattern: the number before it in the statistics on stderr
    grep -oE "[0-9]+ $1" "$work/err" | head -1 | cut -d' ' -f1
}
ipfix_records() {   # file: data records in it, as collector-test decodes them
    "$COLLECTOR" -r "$1" 2> /dev/null | grep -vc '"_options"'
}

# -- The README's pipeline, literally.
"$NFPROBE" -q -r "$work/big.pcap" "${timeouts[@]}" 2> "$work/head.err" | head -3 > "$work/head.out"
rc=${PIPESTATUS[0]}
check "nfprobe -r big.pcap | head -3: 3 lines, nfprobe exits 0 (got $rc), nothing on stderr: $(head -2 "$work/head.err")" \
    test "$rc" -eq 0 -a "$(wc -l < "$work/head.out")" -eq 3 -a ! -s "$work/head.err"

# -- Reader gone before the first write: JSON the only output.
rc=0
run_reader_gone -r "$work/big.pcap" "${timeouts[@]}" || rc=$?
seen=$(stat_value "seen")
check "reader gone: exit 0 (got $rc)" test "$rc" -eq 0
check "reader gone: no error message" bash -c "! grep -Eiv '^nfprobe: (packets|flows|DPI|export)[: ]' '$work/err'"
check "reader gone: input no longer read (${seen:-?} of $total packets seen)" test "${seen:-$total}" -lt "$total"

# -- Reader gone, with an IPFIX file as well: the flows metered until then
# are all in the file (the forced end included), and the run still ends early.
rc=0
run_reader_gone -r "$work/big.pcap" "${timeouts[@]}" --json -o "$work/gone.ipfix" || rc=$?
seen=$(stat_value "seen")
exported=$(stat_value "records sent")
in_file=$(ipfix_records "$work/gone.ipfix")
check "reader gone, -o file: exit 0 (got $rc), no error message" \
    bash -c "[ $rc -eq 0 ] && ! grep -Eiv '^nfprobe: (packets|flows|DPI|export)[: ]' '$work/err'"
check "reader gone, -o file: input no longer read (${seen:-?} of $total packets seen)" test "${seen:-$total}" -lt "$total"
check "reader gone, -o file: every record sent is in the file ($exported sent, $in_file in the file)" \
    test -n "$exported" -a "$exported" -gt 0 -a "$exported" = "$in_file"
check "reader gone, -o file: the flows still in the cache were exported at the stop (forced)" \
    bash -c "grep -qE 'forced [1-9][0-9]*' '$work/err'"

# -- A full disk: a one-line error and status 1, with large and small output
# (a single record fits stdio's buffer: only the flush at exit fails).
marker_pcap "$work/one.pcap" 9 || fail_setup "cannot write the one-packet capture"
for what in "many records:$work/big.pcap" "one record:$work/one.pcap"; do
    rc=0
    "$NFPROBE" -q -r "${what#*:}" > /dev/full 2> "$work/err" || rc=$?
    check "stdout on /dev/full, ${what%%:*}: exit 1 (got $rc), one line: $(head -2 "$work/err")" \
        test "$rc" -eq 1 -a "$(grep -c '' "$work/err")" -eq 1 -a \
        "$(cat "$work/err")" = "nfprobe: writing JSON to stdout failed: No space left on device"
done

# -- A full disk with an IPFIX file as well: status 1, and the file still
# gets every record (the run goes on for the other output).
rc=0
"$NFPROBE" -r "$work/big.pcap" "${timeouts[@]}" --json -o "$work/full.ipfix" > /dev/full 2> "$work/err" || rc=$?
seen=$(stat_value "seen")
exported=$(stat_value "records sent")
in_file=$(ipfix_records "$work/full.ipfix")
check "stdout on /dev/full, -o file: exit 1 (got $rc), the error said" \
    bash -c "[ $rc -eq 1 ] && grep -q 'writing JSON to stdout failed: No space left on device' '$work/err'"
check "stdout on /dev/full, -o file: the whole input read ($seen of $total) and every record in the file ($exported sent, $in_file in the file)" \
    test "$seen" = "$total" -a -n "$exported" -a "$exported" = "$in_file"

finish
