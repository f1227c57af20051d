#!/usr/bin/env bash
# bench/tunnels.sh — what decapsulation costs: nfprobe on the synthetic
# capture (bench/gen_pcap.c, 2,000,000 packets, 100,000 flows, seed 1) and on
# two tunnelled copies of it (bench/tunnel_pcap.py: every frame inside VXLAN,
# or every IP packet inside GTP-U, over 16 tunnel endpoint pairs), side by
# side, and the tunnelled copies with --no-decode-tunnels (the outer flows).
#
#   bash bench/tunnels.sh       (from the repository root, after a build)
#
# nfprobe --no-dissect writes IPFIX to /dev/null; TUNNELS_RUNS runs each,
# interleaved, median wall and CPU (user + system) time. Checked on every
# run: the tunnelled copies give the untunnelled capture's packets and IP
# bytes in the same number of flows (the "packets:" and "flows:" lines).
#
# Environment: NFPROBE=./nfprobe  TUNNELS_RUNS=5  TUNNELS_OUT=bench/out-tunnels
#              TUNNELS_PACKETS=2000000  TUNNELS_FLOWS=100000  CC=cc
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${TUNNELS_OUT:-bench/out-tunnels}
RUNS=${TUNNELS_RUNS:-5}
NFPROBE=${NFPROBE:-./nfprobe}
PACKETS=${TUNNELS_PACKETS:-2000000}
FLOWS=${TUNNELS_FLOWS:-100000}
CC=${CC:-cc}
TIME_BIN=/usr/bin/time

die() { echo "tunnels.sh: $*" >&2; exit 1; }
[ -x "$NFPROBE" ] || die "$NFPROBE not found (build it, or set NFPROBE=path/to/nfprobe)"
[ -x "$TIME_BIN" ] || die "/usr/bin/time missing (apt-get install time)"
mkdir -p "$OUT"
if [ ! -x "$OUT/gen_pcap" ] || [ bench/gen_pcap.c -nt "$OUT/gen_pcap" ]; then
    "$CC" -std=c11 -O2 -o "$OUT/gen_pcap" bench/gen_pcap.c || die "cannot build gen_pcap"
fi
plain=$OUT/plain.pcap
if [ ! -s "$plain" ] || [ "$(cat "$plain.args" 2>/dev/null)" != "$PACKETS $FLOWS" ]; then
    echo "generating $plain" >&2
    "$OUT/gen_pcap" "$plain" "$PACKETS" "$FLOWS" 1 60 2>/dev/null || die "gen_pcap failed"
    echo "$PACKETS $FLOWS" > "$plain.args"
    rm -f "$OUT"/vxlan.pcap "$OUT"/gtpu.pcap
fi
for kind in vxlan gtpu; do
    [ -s "$OUT/$kind.pcap" ] && [ "$OUT/$kind.pcap" -nt "$plain" ] && continue
    echo "wrapping $plain in $kind" >&2
    python3 bench/tunnel_pcap.py "$kind" "$plain" "$OUT/$kind.pcap" || die "tunnel_pcap.py $kind failed"
done

# one run: prints "wall cpu packets-line flows-line"
run() {   # pcap extra-args...
    local pcap=$1 t0 t1 stats
    shift
    t0=$(date +%s%N)
    stats=$("$TIME_BIN" -f 'TIME %U %S' "$NFPROBE" -r "$pcap" --no-dissect -o /dev/null \
            --max-flows 200000 "$@" 2>&1 >/dev/null)
    t1=$(date +%s%N)
    local cpu
    cpu=$(awk '/^TIME/ {printf "%.3f", $2 + $3}' <<< "$stats")
    printf '%.3f %s|%s|%s\n' "$(echo "($t1 - $t0) / 1000000000" | bc -l)" "$cpu" \
        "$(grep -o 'packets: .*' <<< "$stats" | head -1)" \
        "$(grep -o 'flows: [0-9]* created' <<< "$stats")"
}
median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

declare -A wall cpu check
names=(plain vxlan gtpu vxlan-outer gtpu-outer)
for ((r = 0; r < RUNS; r++)); do
    for n in "${names[@]}"; do
        case $n in
        plain) line=$(run "$plain") ;;
        vxlan|gtpu) line=$(run "$OUT/$n.pcap") ;;
        *-outer) line=$(run "$OUT/${n%-outer}.pcap" --no-decode-tunnels) ;;
        esac
        wall[$n]+="${line%% *}"$'\n'
        rest=${line#* }
        cpu[$n]+="${rest%%|*}"$'\n'
        check[$n]=${rest#*|}
    done
done
base=$(printf '%s' "${cpu[plain]}" | median)
printf '%-12s %8s %8s %8s  %s\n' capture wall_s cpu_s "cpu/plain" "nfprobe's counts"
for n in "${names[@]}"; do
    w=$(printf '%s' "${wall[$n]}" | median)
    c=$(printf '%s' "${cpu[$n]}" | median)
    printf '%-12s %8s %8s %8.2f  %s\n' "$n" "$w" "$c" "$(echo "$c / $base" | bc -l)" "${check[$n]}"
done
for n in vxlan gtpu; do
    [ "${check[$n]%%|*}" = "${check[plain]%%|*}" ] ||
        die "$n: packets differ from the untunnelled capture: ${check[$n]} vs ${check[plain]}"
    [ "${check[$n]#*|}" = "${check[plain]#*|}" ] ||
        die "$n: flows differ from the untunnelled capture: ${check[$n]} vs ${check[plain]}"
done
echo "tunnelled copies: same packets metered and flows as the untunnelled capture" >&2
