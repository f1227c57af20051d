#!/usr/bin/env bash
# nDPI flow structs kept packed (probe/meter/dpi.c: only --dpi-hot-flows of them,
# 256 by default, stay expanded; the others waiting for a packet are packed
# and unpacked bit for bit when it comes) must not change any verdict:
#   - every capture in ../shared/testdata/pcap gives the same JSON, byte for
#     byte, with --dpi-hot-flows 1 (pack at every turn) as by default; the
#     stderr statistics are the same too, but for the count of packs;
#   - a synthetic capture with thousands of flows mid-detection at once (the
#     Ethernet test captures, 16 copies with other addresses, their packets
#     interleaved) gives the same JSON with 256 (default), 7 and 1 expanded as
#     with 65535 (nothing packed); packing happened (the DPI line of the exit
#     statistics counts the packs);
#   - a bad --dpi-hot-flows is a one-line error, exit 2.
set -u
. "$(dirname "$0")/lib.sh"

pcaps=$(ls "$DATA"/* | sort)
[ -n "$pcaps" ] || fail_setup "no captures in $DATA"
pcap="$top_srcdir/samples/sample.pcap"

expect_error "--dpi-hot-flows 0" 2 "--dpi-hot-flows '0': expected a whole number from 1 to 65535" -- -r "$pcap" --dpi-hot-flows 0
expect_error "--dpi-hot-flows abc" 2 "--dpi-hot-flows 'abc'" -- -r "$pcap" --dpi-hot-flows abc
expect_error "--dpi-hot-flows 65536" 2 "--dpi-hot-flows '65536'" -- -r "$pcap" --dpi-hot-flows 65536
expect_error "--dpi-hot-flows without a value" 2 "needs a value" -- -r "$pcap" --dpi-hot-flows

# The packs counted in the DPI line of the exit statistics ("" if none).
packs_of() {   # stderr file
    sed -n 's/^nfprobe: DPI: .*, \([0-9]*\) flow states packed (--dpi-hot-flows [0-9]*)$/\1/p' "$1"
}
# Stderr without the packing counters.
stats_without_packs() {   # stderr file
    sed 's/, [0-9]* flow states packed (--dpi-hot-flows [0-9]*)$//' "$1"
}

# One run per setting: JSON in $work/NAME.HOT.json, stderr in .err, exit
# status in .rc. (Not -q: the statistics go to stderr; -q changes only that.)
run() {   # capture name hot-flows|default
    local rc=0 hot=()
    [ "$3" = default ] || hot=(--dpi-hot-flows "$3")
    "$NFPROBE" -r "$1" --json "${hot[@]}" > "$work/$2.$3.json" 2> "$work/$2.$3.err" || rc=$?
    echo "$rc" > "$work/$2.$3.rc"
}

total_packs=0
packed_captures=0
n=0
for cap in $pcaps; do
    name=$(basename "$cap")
    n=$((n + 1))
    run "$cap" "$name" default
    run "$cap" "$name" 1
    if grep -q 'Sanitizer\|runtime error' "$work/$name.default.err" "$work/$name.1.err"; then
        not_ok "$name: sanitizer report: $(grep -h -m3 'Sanitizer\|runtime error' "$work/$name".*.err)"
        continue
    fi
    p=$(packs_of "$work/$name.1.err")
    total_packs=$((total_packs + ${p:-0}))
    [ "${p:-0}" -gt 0 ] && packed_captures=$((packed_captures + 1))
    if ! cmp -s "$work/$name.default.json" "$work/$name.1.json"; then
        not_ok "$name: JSON differs with --dpi-hot-flows 1 ($p packs)"
        diff "$work/$name.default.json" "$work/$name.1.json" | grep '^[<>]' | head -4 | cut -c1-300 | sed 's/^/#   /'
    elif ! cmp -s "$work/$name.default.rc" "$work/$name.1.rc"; then
        not_ok "$name: exit $(cat "$work/$name.default.rc") by default, $(cat "$work/$name.1.rc") with --dpi-hot-flows 1"
    elif ! diff <(stats_without_packs "$work/$name.default.err") <(stats_without_packs "$work/$name.1.err") > /dev/null; then
        not_ok "$name: statistics differ with --dpi-hot-flows 1"
        diff <(stats_without_packs "$work/$name.default.err") <(stats_without_packs "$work/$name.1.err") | head -6 | sed 's/^/#   /'
    else
        ok "$name: same JSON with --dpi-hot-flows 1 ($(grep -c '' < "$work/$name.1.json") flows, ${p:-0} packs)"
    fi
done
check "the test captures packed flows with --dpi-hot-flows 1 ($total_packs packs in $packed_captures of $n captures)" \
    test "$total_packs" -gt 0

# Thousands of flows mid-detection at once: the Ethernet test captures laid
# over each other from their first packet, in 16 copies (the copy number added
# to the low bytes of both addresses, as bench/dpi_pcap.py does), each packet
# followed by its copies 1 us apart.
python3 - "$top_srcdir/bench" "$DATA" "$work/many.pcap" 16 <<'PY' || fail_setup "cannot write the synthetic capture"
import glob, os, struct, sys
sys.path.insert(0, sys.argv[1])
from dpi_pcap import read_pcap, retarget
data, out, copies = sys.argv[2], sys.argv[3], int(sys.argv[4])
frames = []
for c in sorted(glob.glob(os.path.join(data, "*"))):
    pk = read_pcap(c)
    if not pk or os.path.basename(c).startswith("fuzz"):
        continue
    t0 = pk[0][0]
    if pk[-1][0] - t0 > 600 * 1000000 or any(ts < t0 for ts, _ in pk):
        continue    # as dpi_pcap.py: long captures left out
    frames += [(ts - t0, fr) for ts, fr in pk if retarget(fr, 0) is not None]
frames.sort(key=lambda x: x[0])
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
    for ts, fr in frames:
        for copy in range(copies):
            t = 1700000000 * 1000000 + ts + copy
            g = retarget(fr, copy)
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(g), len(g)) + g)
PY

for hot in 65535 default 7 1; do
    run "$work/many.pcap" many "$hot"
done
check "synthetic: every run exits 0" test "$(cat "$work"/many.*.rc | sort -u)" = 0
check "synthetic: no sanitizer report" bash -c "! grep -h -m3 'Sanitizer\|runtime error' \"\$@\"" - "$work"/many.*.err
flows=$(grep -c '' < "$work/many.65535.json")
found=$(grep '"application_is_guessed":0' "$work/many.65535.json" | grep -vc '"application_name":"Unknown"')
check "synthetic: $flows flows, $found found by nDPI" test "$flows" -gt 10000 -a "$found" -gt 1000
p=$(packs_of "$work/many.65535.err")
check "synthetic: nothing packed with --dpi-hot-flows 65535 (${p:-no DPI line})" test "${p:-x}" = 0
for hot in default 7 1; do
    p=$(packs_of "$work/many.$hot.err")
    check "synthetic: flows packed with --dpi-hot-flows $hot (${p:-no DPI line})" test "${p:-0}" -gt 100
    check "synthetic: same JSON with --dpi-hot-flows $hot as with 65535" cmp "$work/many.65535.json" "$work/many.$hot.json"
    check "synthetic: same statistics with --dpi-hot-flows $hot as with 65535" \
        diff <(stats_without_packs "$work/many.65535.err") <(stats_without_packs "$work/many.$hot.err")
done

finish
