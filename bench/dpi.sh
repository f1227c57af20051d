#!/usr/bin/env bash
# bench/dpi.sh — layer-7 cost: nfprobe with dissection on and off, and nDPI's
# own ndpiReader, on the same capture with real payloads.
#
#   bash bench/dpi.sh          (from the repository root, after a build)
#
# bench/gen_pcap.c's frames are cut at 96 bytes with zero payloads, which
# leaves nothing to dissect (nDPI and ndpiReader skip a datagram that was
# not captured whole), so this benchmark builds its own capture with
# bench/dpi_pcap.py: BENCH_DPI_COPIES (100) copies of the Ethernet test
# captures, each copy with other addresses (new flows, same payloads).
# Each program runs BENCH_RUNS (3) times; medians of wall time and peak RSS.
# Also the plugins' cost on this real traffic (-P splt -P flowstats on and
# off, IPFIX to /dev/null, dissection on and off). Two settings:
#   expiring    nfprobe's default timeouts (what a probe does in service);
#   all flows   timeouts beyond the capture, so nfprobe holds every flow
#               until the end as ndpiReader does: memory per flow compares.
# Environment: NFPROBE=./nfprobe BENCH_RUNS=3 BENCH_DPI_COPIES=100
#   BENCH_DPI_PCAP=bench/out/dpi.pcap BENCH_DPI_CAPTURES="..." (default: all
#   Ethernet captures in ../shared/testdata/pcap)
# Two capture sets are measured (the capture is written once per
# BENCH_DPI_PCAP: use another file for the other set):
#   default       as above; synscan.pcap's ~2,000 one-SYN flows per copy are
#                 most of its flows (~214,000 of them), so memory per flow
#                 is mostly flow-table cost;
#   payload-rich  the same without synscan.pcap (~15,000 flows, a third of
#                 them still waiting for nDPI's verdict at the end), where
#                 nDPI's per-flow state dominates:
#     BENCH_DPI_PCAP=bench/out/dpi-rich.pcap BENCH_DPI_CAPTURES="$(ls \
#       ../shared/testdata/pcap/*.pcap | grep -v synscan)" bash bench/dpi.sh
#   (dpi_pcap.py itself leaves out what is not Ethernet, fuzzed captures and
#   captures spanning more than 10 minutes.)
set -euo pipefail
cd "$(dirname "$0")/.."

NFPROBE=${NFPROBE:-./nfprobe}
RUNS=${BENCH_RUNS:-3}
COPIES=${BENCH_DPI_COPIES:-100}
PCAP=${BENCH_DPI_PCAP:-bench/out/dpi.pcap}
NEVER=100000000
mkdir -p "$(dirname "$PCAP")"
[ -x "$NFPROBE" ] || { echo "dpi.sh: $NFPROBE not found (build first)" >&2; exit 1; }
command -v ndpiReader > /dev/null || { echo "dpi.sh: ndpiReader not found (apt-get install libndpi-bin)" >&2; exit 1; }
# word splitting of BENCH_DPI_CAPTURES is intended
# shellcheck disable=SC2086
[ -f "$PCAP" ] || python3 bench/dpi_pcap.py "$PCAP" "$COPIES" ${BENCH_DPI_CAPTURES:-}
packets=$(python3 -c 'import os,struct,sys
f=open(sys.argv[1],"rb"); f.read(24); n=0
while True:
    h=f.read(16)
    if len(h)<16: break
    f.seek(struct.unpack("<IIII",h)[2],1); n+=1
print(n)' "$PCAP")

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# run NAME CMD...: median wall seconds and peak RSS KB over RUNS runs
declare -A WALL RSS
run() {
    local name=$1 walls=() rsss=() i t0 t1 rss; shift
    for i in $(seq "$RUNS"); do
        t0=$EPOCHREALTIME
        /usr/bin/time -f '%M' -o "$PCAP.time" -- "$@" > /dev/null 2> "$PCAP.$name.err"
        t1=$EPOCHREALTIME
        walls+=("$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN { printf "%.3f", b - a }')")
        rsss+=("$(tail -n 1 "$PCAP.time")")
    done
    WALL[$name]=$(printf '%s\n' "${walls[@]}" | median)
    RSS[$name]=$(printf '%s\n' "${rsss[@]}" | median)
}

run nodpi "$NFPROBE" -r "$PCAP" --json --no-dissect
run dpi "$NFPROBE" -r "$PCAP" --json
run nodpi-all "$NFPROBE" -r "$PCAP" --json --no-dissect --max-flows 2000000 \
    --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER
run dpi-all "$NFPROBE" -r "$PCAP" --json --max-flows 2000000 \
    --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER
run ndpireader ndpiReader -q -T 10 -U 16 -i "$PCAP"
# The plugins' cost on real traffic: IPFIX to /dev/null, -P splt -P flowstats
# on and off, with and without dissection.
run ipfix-nodpi "$NFPROBE" -r "$PCAP" -o /dev/null --no-dissect
run ipfix-nodpi-plugins "$NFPROBE" -r "$PCAP" -o /dev/null --no-dissect -P splt -P flowstats
run ipfix-dpi "$NFPROBE" -r "$PCAP" -o /dev/null
run ipfix-dpi-plugins "$NFPROBE" -r "$PCAP" -o /dev/null -P splt -P flowstats
flows=$(sed -n 's/.*flows: \([0-9]*\) created.*/\1/p' "$PCAP.dpi-all.err" | tail -n 1)
# memory with no flows: the same programs on a one-packet capture
base_dpi=$(/usr/bin/time -f '%M' "$NFPROBE" -r samples/sample.pcap --json --max-flows 2000000 2>&1 > /dev/null | tail -n 1)
base_nd=$(/usr/bin/time -f '%M' ndpiReader -q -i samples/sample.pcap 2>&1 > /dev/null | tail -n 1)

echo "DPI benchmark: $PCAP, $packets packets, $flows flows; median of $RUNS runs; $(nproc) CPUs"
printf '%-34s %8s %12s %9s\n' program "wall s" packets/s "RSS MB"
row() { awk -v l="$1" -v w="${WALL[$2]}" -v r="${RSS[$2]}" -v n="$packets" \
        'BEGIN { printf "%-34s %8.3f %12.0f %9.1f\n", l, w, n / w, r / 1024 }'; }
row "nfprobe --no-dissect" nodpi
row "nfprobe (nDPI)" dpi
row "nfprobe --no-dissect, all flows" nodpi-all
row "nfprobe (nDPI), all flows" dpi-all
row "ndpiReader -T 10 -U 16" ndpireader
row "nfprobe --no-dissect -o /dev/null" ipfix-nodpi
row "  with -P splt -P flowstats" ipfix-nodpi-plugins
row "nfprobe (nDPI) -o /dev/null" ipfix-dpi
row "  with -P splt -P flowstats" ipfix-dpi-plugins
awk -v a="${WALL[dpi]}" -v b="${WALL[nodpi]}" -v c="${WALL[ndpireader]}" -v d="${WALL[dpi-all]}" \
    'BEGIN { printf "packets/s: DPI on / off %.2f; nfprobe (nDPI) / ndpiReader %.2fx (all flows kept: %.2fx; target >= 1.5)\n", b / a, c / a, c / d }'
awk -v a="${RSS[dpi-all]}" -v b="$base_dpi" -v c="${RSS[ndpireader]}" -v d="$base_nd" -v f="$flows" \
    'BEGIN { x = (a - b) * 1024 / f; y = (c - d) * 1024 / f;
             printf "memory per flow (peak RSS - RSS with no flows) / %d flows: nfprobe %.0f B, ndpiReader %.0f B, ratio %.2f (target <= 0.25)\n", f, x, y, x / y }'
awk -v a="${WALL[ipfix-dpi]}" -v b="${WALL[ipfix-dpi-plugins]}" -v c="${WALL[ipfix-nodpi]}" -v d="${WALL[ipfix-nodpi-plugins]}" \
    'BEGIN { printf "packets/s with -P splt -P flowstats / without (IPFIX to /dev/null; target >= 0.85): nDPI on %.2fx, --no-dissect %.2fx\n", a / b, c / d }'
