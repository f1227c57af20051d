#!/usr/bin/env bash
# bench/fastpath.sh — nfprobe's single-worker packet path against the floor:
# a bare libpcap loop reading the same capture (bench/pcap_floor.c).
#
#   bash bench/fastpath.sh       (from the repository root, after a build)
#
# 1. The synthetic capture of issue 11: 2,000,000 packets, 100,000 flows
#    (bench/gen_pcap.c, seed 1, 60 s). nfprobe --no-dissect writes IPFIX to
#    /dev/null. Target: nfprobe's time at most 2x the read loop's.
# 2. Scaling: the per-packet cost against the number of flows open at once,
#    with captures of `gen_pcap --active K` (K = 10k, 100k, 1M; 3,000,000
#    packets of three-packet TCP flows: the same creation rate whatever K,
#    only the number open at once differs). Target: the cost at 1M at most
#    1.5x that at 10k. Skipped when this tree's gen_pcap has no --active.
# Every program runs FASTPATH_RUNS times, interleaved (read loop, nfprobe,
# read loop, ...), so a busy machine slows both alike; medians are reported,
# of wall time and of CPU time (user + system: what the process itself
# spent, less sensitive to other processes than wall time). Ratios are
# nfprobe over the read loop of the same capture in the same script.
#
# Environment (all optional):
#   NFPROBE=./nfprobe  NFPROBE_ARGS=        binary and extra arguments
#   FASTPATH_RUNS=5                         runs per program and capture
#   FASTPATH_SCALING=1                      0: only the 2M/100k capture (the
#                                           scaling captures take ~800 MB,
#                                           generated once)
#   FASTPATH_CACHEGRIND=0                   1: also count instructions and
#                                           cache misses with valgrind's
#                                           cachegrind on a 200,000-packet cut
#                                           of the first capture (deterministic)
#   CC=cc  FASTPATH_OUT=bench/out-fastpath
set -euo pipefail

cd "$(dirname "$0")/.."

OUT=${FASTPATH_OUT:-bench/out-fastpath}
RUNS=${FASTPATH_RUNS:-5}
NFPROBE=${NFPROBE:-./nfprobe}
CC=${CC:-cc}
TIME_BIN=/usr/bin/time

log() { printf '%s\n' "$*" >&2; }
die() { log "fastpath.sh: $*"; exit 1; }

[ -x "$NFPROBE" ] || die "$NFPROBE not found (build it, or set NFPROBE=path/to/nfprobe)"
[ -x "$TIME_BIN" ] || die "/usr/bin/time missing (apt-get install time)"
command -v "$CC" >/dev/null || die "$CC missing (apt-get install gcc)"
case $RUNS in ''|*[!0-9]*|0) die "FASTPATH_RUNS must be a positive integer" ;; esac

mkdir -p "$OUT"
build() {   # out source extra-flags...
    local out=$1 src=$2
    shift 2
    if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
        log "building $out"
        "$CC" -std=c11 -O2 -Wall -Wextra -o "$out" "$src" "$@" || die "cannot build $out from $src"
    fi
}
build "$OUT/gen_pcap" bench/gen_pcap.c
build "$OUT/pcap_floor" bench/pcap_floor.c -lpcap

meta() { sed -n "s/^$2=//p" "$1.meta"; }

# capture NAME GEN_PCAP_ARGS... -> path (generated once; OUT.pcap comes first
# or after --active K, as gen_pcap takes it)
capture() {
    local name=$1 pcap=$OUT/$1.pcap
    shift
    local want="$*" args=()
    if [ ! -s "$pcap" ] || [ ! -s "$pcap.args" ] || [ "$(cat "$pcap.args")" != "$want" ] ||
       [ "$OUT/gen_pcap" -nt "$pcap" ]; then
        log "generating $pcap: gen_pcap $want"
        if [ "$1" = --active ]; then args=(--active "$2" "$pcap.tmp" "${@:3}"); else args=("$pcap.tmp" "$@"); fi
        "$OUT/gen_pcap" "${args[@]}" 2>/dev/null || die "gen_pcap failed for $pcap"
        mv "$pcap.tmp.meta" "$pcap.meta"
        mv "$pcap.tmp" "$pcap"
        echo "$want" > "$pcap.args"
    fi
    echo "$pcap"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# timed LOG cmd... : appends "wall cpu rss_kb" of one run to LOG
timed() {
    local log=$1 t0 t1 tf user sys rss
    shift
    tf=$(mktemp)
    t0=$EPOCHREALTIME
    "$TIME_BIN" -f '%U %S %M' -o "$tf" -- "$@" > /dev/null 2> "$log.err" ||
        { cat "$log.err" >&2; rm -f "$tf"; die "failed: $*"; }
    t1=$EPOCHREALTIME
    read -r user sys rss < <(tail -n 1 "$tf")
    rm -f "$tf"
    awk -v a="${t0/,/.}" -v b="${t1/,/.}" -v u="$user" -v s="$sys" -v r="$rss" \
        'BEGIN { printf "%.4f %.2f %d\n", b - a, u + s, r }' >> "$log"
}

# measure NAME PCAP MAXFLOWS: fills WALL, CPU, RSS, PEAK, PKTS for the table
declare -A WALL CPU RSS PEAK PKTS
measure() {
    local name=$1 pcap=$2 maxflows=$3
    local rl=$OUT/runs/$name.read np=$OUT/runs/$name.nfprobe
    mkdir -p "$OUT/runs"
    : > "$rl"
    : > "$np"
    # shellcheck disable=SC2086  # NFPROBE_ARGS is split on purpose
    for _ in $(seq "$RUNS"); do
        timed "$rl" "$OUT/pcap_floor" "$pcap"
        timed "$np" "$NFPROBE" -r "$pcap" --no-dissect -o /dev/null --max-flows "$maxflows" ${NFPROBE_ARGS:-}
    done
    WALL[$name.read]=$(cut -d' ' -f1 "$rl" | median)
    CPU[$name.read]=$(cut -d' ' -f2 "$rl" | median)
    WALL[$name.nfprobe]=$(cut -d' ' -f1 "$np" | median)
    CPU[$name.nfprobe]=$(cut -d' ' -f2 "$np" | median)
    RSS[$name.nfprobe]=$(cut -d' ' -f3 "$np" | median)
    PEAK[$name]=$(sed -n 's/.*active (peak \([0-9]*\)).*/\1/p' "$np.err" | tail -n 1)
    PKTS[$name]=$(meta "$pcap" packets)
    local seen
    seen=$(sed -n 's/.*packets: \([0-9]*\) seen.*/\1/p' "$np.err" | tail -n 1)
    [ "$seen" = "${PKTS[$name]}" ] || die "$name: nfprobe saw $seen packets, the capture has ${PKTS[$name]}"
    log "$name: read loop ${WALL[$name.read]} s (cpu ${CPU[$name.read]}), nfprobe ${WALL[$name.nfprobe]} s (cpu ${CPU[$name.nfprobe]}), peak ${PEAK[$name]} flows"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
per_packet_ns() { awk -v t="$1" -v n="$2" 'BEGIN { printf "%.0f", t * 1e9 / n }'; }

load=$(cut -d' ' -f1 /proc/loadavg)
awk -v l="$load" 'BEGIN { exit !(l > 0.5) }' &&
    log "warning: load average $load: other processes compete for the CPU and caches; timings will be noisy"

main=$(capture fast-2m 2000000 100000 1 60)
measure main "$main" 1000000

names=(main)
SCALES=(10000 100000 1000000)
scaling=${FASTPATH_SCALING:-1}
gen_usage=$("$OUT/gen_pcap" --help 2>&1 || true)
if [ "$scaling" = 1 ] && [[ $gen_usage != *--active* ]]; then
    log "skipping the scaling captures: this gen_pcap has no --active mode"
    scaling=0
fi
if [ "$scaling" = 1 ]; then
    for k in "${SCALES[@]}"; do
        pcap=$(capture "active-$k" --active "$k" 3000000 1)
        measure "active-$k" "$pcap" 2500000
        names+=("active-$k")
    done
fi

echo
echo "nfprobe fast path: --no-dissect, IPFIX to /dev/null; medians of $RUNS interleaved runs"
echo "$(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1), load average at start $load"
echo
fmt='%-15s %9s %10s %8s %7s %8s %7s %7s %7s %7s\n'
# shellcheck disable=SC2059
printf "$fmt" capture packets "peak flows" "read s" "cpu s" "nfprobe" "cpu s" "x read" "cpu x" "ns/pkt"
for n in "${names[@]}"; do
    # shellcheck disable=SC2059
    printf "$fmt" "$n" "${PKTS[$n]}" "${PEAK[$n]}" "${WALL[$n.read]}" "${CPU[$n.read]}" "${WALL[$n.nfprobe]}" \
        "${CPU[$n.nfprobe]}" "$(ratio "${WALL[$n.nfprobe]}" "${WALL[$n.read]}")" \
        "$(ratio "${CPU[$n.nfprobe]}" "${CPU[$n.read]}")" "$(per_packet_ns "${CPU[$n.nfprobe]}" "${PKTS[$n]}")"
done
echo
echo "main: nfprobe / read loop $(ratio "${WALL[main.nfprobe]}" "${WALL[main.read]}")x wall," \
     "$(ratio "${CPU[main.nfprobe]}" "${CPU[main.read]}")x CPU (target <= 2: at least 50% of the read floor)"
if [ "$scaling" = 1 ]; then
    lo=active-${SCALES[0]} hi=active-${SCALES[2]}
    echo "scaling, CPU per packet: $(per_packet_ns "${CPU[$lo.nfprobe]}" "${PKTS[$lo]}") ns at ${PEAK[$lo]} flows open," \
         "$(per_packet_ns "${CPU[active-${SCALES[1]}.nfprobe]}" "${PKTS[active-${SCALES[1]}]}") ns at ${PEAK[active-${SCALES[1]}]}," \
         "$(per_packet_ns "${CPU[$hi.nfprobe]}" "${PKTS[$hi]}") ns at ${PEAK[$hi]}:" \
         "$(ratio "${CPU[$hi.nfprobe]}" "${CPU[$lo.nfprobe]}")x CPU, $(ratio "${WALL[$hi.nfprobe]}" "${WALL[$lo.nfprobe]}")x wall" \
         "from the fewest to the most (target <= 1.5)"
fi
echo "peak RSS nfprobe (main): $(awk -v r="${RSS[main.nfprobe]}" 'BEGIN { printf "%.1f", r / 1024 }') MB"

if [ "${FASTPATH_CACHEGRIND:-0}" = 1 ]; then
    command -v valgrind >/dev/null || die "FASTPATH_CACHEGRIND=1 needs valgrind (apt-get install valgrind)"
    cut=$OUT/fast-200k.pcap
    if [ ! -s "$cut" ] || [ "$main" -nt "$cut" ]; then
        command -v editcap >/dev/null || die "FASTPATH_CACHEGRIND=1 needs editcap (apt-get install wireshark-common)"
        editcap -F pcap -r "$main" "$cut" 1-200000 || die "editcap failed"
    fi
    cg() {  # label cmd...
        local f=$OUT/runs/cachegrind.$1
        shift
        valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file="$f" "$@" > /dev/null 2> "$f.log" ||
            die "cachegrind failed (see $f.log)"
        # totals line: Ir I1mr ILmr Dr D1mr DLmr Dw D1mw DLmw
        awk '/^summary:/ { printf "%.0f instructions/packet, %.2f last-level data misses/packet\n", $2 / 200000, ($7 + $10) / 200000 }' "$f"
    }
    echo "cachegrind, 200,000 packets of the main capture:"
    echo "  read loop  $(cg read "$OUT/pcap_floor" "$cut")"
    # shellcheck disable=SC2086
    echo "  nfprobe    $(cg nfprobe "$NFPROBE" -r "$cut" --no-dissect -o /dev/null -q ${NFPROBE_ARGS:-})"
fi
echo "per-run logs: $OUT/runs/"
