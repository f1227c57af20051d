#!/usr/bin/env bash
# bench/workers.sh — nfprobe with one and two metering threads (--workers N)
# against the libpcap read floor, softflowd and ndpiReader, and nfprobe's
# per-packet cost as the flow table grows. A benchmark, not a test: never in
# make check. See bench/README ("workers.sh").
#
#   sudo bash bench/workers.sh                 (from a built tree: ./nfprobe)
#   NFPROBE=build/nfprobe bash bench/workers.sh   (out-of-tree build)
#
# Part 1, throughput: two captures, each with DPI off (--no-dissect) and on,
#   synthetic  gen_pcap, 2,000,000 packets, 100,000 flows (IPv4+IPv6,
#              TCP+UDP, frames cut at 96 bytes, zero payloads)
#   real       bench/dpi.sh's capture (the Ethernet test captures x100,
#              each copy with other addresses; whole frames with payloads)
#   rows: floor (bench/pcap_floor.c: a bare pcap_next_ex loop), softflowd
#   (IPFIX to a UDP sink that never reads), ndpiReader (DPI rows only: it
#   always dissects), nfprobe N=1 and N=2 (IPFIX to -o /dev/null).
# Part 2, flow-table size: gen_pcap --active K (K = 10k, 100k, 1M flows open
#   at once, the same packet count and, after a first round that opens K
#   flows, the same flow creation rate), nfprobe N=1 --no-dissect: ns per
#   packet over the whole capture and over its second half, and the ratio
#   1M / 10k; beside it the flow-table floor (bench/table_floor.c: the read
#   floor plus a minimal table of the same flows, batched and prefetched),
#   whose own ratio is what this machine's memory makes of the same growth.
# Targets are printed with PASS/FAIL next to the numbers.
#
# Environment (all optional):
#   NFPROBE=./nfprobe  SOFTFLOWD=softflowd  NDPIREADER=ndpiReader  CC=cc
#   BENCH_RUNS=3                 runs per row; medians are reported
#   BENCH_OUT=bench/out          captures, helper programs, per-run logs
#   BENCH_WORKERS_PACKETS=2000000 BENCH_WORKERS_FLOWS=100000   synthetic capture
#   BENCH_DPI_PCAP=bench/out/dpi.pcap  BENCH_DPI_COPIES=100    real capture
#   BENCH_ACTIVE="10000 100000 1000000"  BENCH_ACTIVE_PACKETS=3000000   part 2
#   BENCH_PARTS="throughput active"      which parts to run
#   BENCH_N2=2                   the worker count of the "N=2" rows
set -euo pipefail
cd "$(dirname "$0")/.."

NFPROBE=${NFPROBE:-./nfprobe}
SOFTFLOWD=${SOFTFLOWD:-softflowd}
NDPIREADER=${NDPIREADER:-ndpiReader}
CC=${CC:-cc}
RUNS=${BENCH_RUNS:-3}
OUT=${BENCH_OUT:-bench/out}
SYN_PACKETS=${BENCH_WORKERS_PACKETS:-2000000}
SYN_FLOWS=${BENCH_WORKERS_FLOWS:-100000}
DPI_PCAP=${BENCH_DPI_PCAP:-$OUT/dpi.pcap}
DPI_COPIES=${BENCH_DPI_COPIES:-100}
ACTIVE=${BENCH_ACTIVE:-10000 100000 1000000}
ACTIVE_PACKETS=${BENCH_ACTIVE_PACKETS:-3000000}
PARTS=${BENCH_PARTS:-throughput active}
N2=${BENCH_N2:-2}
# the 1M-flow capture needs a table above 1M (closed flows wait 2 s more);
# every part-2 run gets the same size so that only the flows in it differ
ACTIVE_MAX_FLOWS=2000000
PY=/usr/bin/python3
TIME_BIN=/usr/bin/time

log() { printf '%s\n' "$*" >&2; }
die() { log "workers.sh: $*"; exit 1; }

# ------------------------------------------------------------------ tools
missing=()
command -v "$CC" >/dev/null || missing+=("$CC (apt-get install gcc)")
[ -x "$TIME_BIN" ] || missing+=("/usr/bin/time (apt-get install time)")
[ -x "$PY" ] || missing+=("/usr/bin/python3 (apt-get install python3)")
[ -f /usr/include/pcap/pcap.h ] || missing+=("libpcap headers (apt-get install libpcap-dev)")
[ -x "$NFPROBE" ] || missing+=("$NFPROBE (build it; NFPROBE=build/nfprobe for an out-of-tree build)")
if [ ${#missing[@]} -gt 0 ]; then
    log "workers.sh: missing:"
    for m in "${missing[@]}"; do log "  - $m"; done
    exit 1
fi
case $RUNS in ''|*[!0-9]*|0) die "BENCH_RUNS must be a positive integer" ;; esac
HAVE_SOFTFLOWD=1 HAVE_NDPIREADER=1
command -v "$SOFTFLOWD" >/dev/null || { HAVE_SOFTFLOWD=0; log "softflowd rows skipped: $SOFTFLOWD not found (apt-get install softflowd)"; }
command -v "$NDPIREADER" >/dev/null || { HAVE_NDPIREADER=0; log "ndpiReader rows skipped: $NDPIREADER not found (apt-get install libndpi-bin)"; }

# ------------------------------------------------------------------ cleanup
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nfprobe-workers.XXXXXX")
SINK_PID=
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    if [ -n "$SINK_PID" ] && kill -0 "$SINK_PID" 2>/dev/null; then
        kill -TERM "$SINK_PID" 2>/dev/null || true
        wait "$SINK_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --workers may not be in this build yet: its rows then say so
HAVE_WORKERS=1
if ! "$NFPROBE" --workers "$N2" -r samples/sample.pcap --no-dissect -o /dev/null >/dev/null 2>"$WORK/workers.err"; then
    HAVE_WORKERS=0
    log "nfprobe --workers $N2 rows: n/a ($(grep -m 1 -v '^nfprobe: [a-z]*:' "$WORK/workers.err" || head -n 1 "$WORK/workers.err"))"
fi

# softflowd exports to bench/udp_sink.py: bound on 127.0.0.1, never read
start_sink() {
    local i
    "$PY" bench/udp_sink.py > "$WORK/sink.port" &
    SINK_PID=$!
    for i in $(seq 100); do
        [ -s "$WORK/sink.port" ] && break
        kill -0 "$SINK_PID" 2>/dev/null || die "the UDP sink failed to start"
        sleep 0.1
    done
    SINK_PORT=$(cat "$WORK/sink.port")
    [ -n "$SINK_PORT" ] || die "the UDP sink printed no port"
}

# ------------------------------------------------------------------ helpers
mkdir -p "$OUT"
build_helper() {   # name source [libs...]
    local bin=$OUT/$1 src=$2
    shift 2
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
        log "building $bin"
        "$CC" -std=c11 -O2 -Wall -Wextra -o "$bin" "$src" "$@" || die "could not build $bin from $src"
    fi
}
build_helper gen_pcap bench/gen_pcap.c
build_helper pcap_floor bench/pcap_floor.c -lpcap
build_helper table_floor bench/table_floor.c -lpcap

meta() { sed -n "s/^$2=//p" "$1.meta"; }

# gen_capture FILE ARGS...: (re)write FILE with gen_pcap ARGS unless it exists
# with the same arguments (kept in FILE.args)
gen_capture() {
    local file=$1
    shift
    if [ -s "$file" ] && [ -s "$file.meta" ] && [ "$(cat "$file.args" 2>/dev/null)" = "$*" ] &&
       [ "$file" -nt "$OUT/gen_pcap" ]; then
        return 0
    fi
    log "writing $file (gen_pcap $*)"
    rm -f "$file" "$file.meta" "$file.args"
    "$OUT/gen_pcap" "$@" 2>/dev/null || die "gen_pcap $* failed"
    printf '%s\n' "$*" > "$file.args"
}

count_packets() { "$OUT/pcap_floor" "$1" | cut -d' ' -f1; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# runs CMD once (stdout to /dev/null, stderr to ERR) and prints "WALL CPU
# RSS RC": wall seconds around fork to reap, user + system CPU seconds of all
# its threads from wait4()'s rusage (microseconds, where /usr/bin/time prints
# hundredths), peak RSS KB from /usr/bin/time (rusage's own peak would
# include the Python image the child was forked from)
cat > "$WORK/measure.py" <<'PYEOF'
import os, subprocess, sys, time
err = open(sys.argv[1], "wb")
rss_file = sys.argv[1] + ".rss"
t0 = time.perf_counter()
p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_file, "--"] + sys.argv[2:],
                     stdout=subprocess.DEVNULL, stderr=err)
_, status, ru = os.wait4(p.pid, 0)
t1 = time.perf_counter()
with open(rss_file) as f:
    rss = f.read().split()[-1]
print("%.4f %.4f %s %d" % (t1 - t0, ru.ru_utime + ru.ru_stime, rss, os.waitstatus_to_exitcode(status)))
PYEOF

# measure KEY CMD...: run CMD RUNS times; medians of wall s, CPU s (user +
# system, all threads) and peak RSS KB in M_WALL/M_CPU/M_RSS[KEY]; the first
# run's stderr is kept in OUT/runs/KEY.err
declare -A M_WALL M_CPU M_RSS M_NOTE
measure() {
    local key=$1 i wall cpu rss rc walls=() cpus=() rsss=()
    shift
    mkdir -p "$OUT/runs"
    printf '%s\n' "$*" > "$OUT/runs/$key.cmd"
    for i in $(seq "$RUNS"); do
        read -r wall cpu rss rc < <("$PY" "$WORK/measure.py" "$WORK/err" "$@" || echo "0 0 0 127")
        [ "$i" = 1 ] && cp "$WORK/err" "$OUT/runs/$key.err"
        if [ "$rc" != 0 ]; then
            log "$key: exit $rc; $(tail -n 2 "$WORK/err" | tr '\n' ' ')"
            M_NOTE[$key]="FAILED (exit $rc)"
            return 0
        fi
        walls+=("$wall") cpus+=("$cpu") rsss+=("$rss")
    done
    M_WALL[$key]=$(printf '%s\n' "${walls[@]}" | median)
    M_CPU[$key]=$(printf '%s\n' "${cpus[@]}" | median)
    M_RSS[$key]=$(printf '%s\n' "${rsss[@]}" | median)
    log "$key: wall ${walls[*]} s; CPU ${cpus[*]} s; RSS ${rsss[*]} KB"
}

# the packets nfprobe saw, from its first statistics line (summed if there
# is one line per worker): a run that did not read the whole file is no result
nfprobe_seen() { awk '/^nfprobe: packets: / { n += $3 } END { print n + 0 }' "$OUT/runs/$1.err"; }
check_seen() {   # key packets
    local seen
    [ -z "${M_WALL[$1]:-}" ] && return 0
    seen=$(nfprobe_seen "$1")
    if [ "$seen" != "$2" ]; then
        log "$1: nfprobe saw $seen packets, the capture has $2"
        M_NOTE[$1]="saw $seen of $2 packets"
    fi
}

fmt_row() {  # label key packets floor_key n1_key
    local label=$1 key=$2 n=$3 fk=$4 base=0
    [ -n "${5:-}" ] && base=${M_WALL[$5]:-0}
    if [ -n "${M_NOTE[$key]:-}" ] && [ -z "${M_WALL[$key]:-}" ]; then
        printf '  %-30s %s\n' "$label" "${M_NOTE[$key]}"
        return
    fi
    awk -v l="$label" -v w="${M_WALL[$key]}" -v c="${M_CPU[$key]}" -v r="${M_RSS[$key]}" -v n="$n" \
        -v f="${M_WALL[$fk]:-0}" -v fc="${M_CPU[$fk]:-0}" -v b="$base" -v note="${M_NOTE[$key]:-}" 'BEGIN {
        sp = b > 0 ? sprintf("%.2fx", b / w) : "-"
        printf "  %-30s %7.3f %7.2f %6.2f %7s %7.2f %6.2f %8.1f  %s\n", l, w, n / w / 1e6,
               (f > 0 ? f / w : 0), sp, c, (fc > 0 && c > 0 ? fc / c : 0), r / 1024, note }'
}

verdict() {  # value op target label
    awk -v v="$1" -v t="$3" -v op="$2" -v l="$4" 'BEGIN {
        ok = op == ">=" ? v >= t : v <= t
        printf "  %-58s %6.2f (target %s %.2f)  %s\n", l, v, op, t, ok ? "PASS" : "FAIL" }'
}

ratio() { awk -v a="${M_WALL[$1]:-0}" -v b="${M_WALL[$2]:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.4f", a / b }'; }
cpu_ratio() { awk -v a="${M_CPU[$1]:-0}" -v b="${M_CPU[$2]:-0}" 'BEGIN { if (a > 0 && b > 0) printf "%.4f", a / b }'; }

# ------------------------------------------------------------------ part 1
NA_WORKERS="n/a (no --workers)"
throughput() {  # name file
    local name=$1 file=$2 n dpi flag
    n=$(count_packets "$file")
    log "== $name: $file, $n packets"
    measure "$name-floor" "$OUT/pcap_floor" "$file"
    if [ $HAVE_SOFTFLOWD = 1 ]; then
        measure "$name-softflowd" "$SOFTFLOWD" -r "$file" -n "127.0.0.1:$SINK_PORT" -v 10 -A milli -m 2000000
    fi
    [ $HAVE_NDPIREADER = 1 ] && measure "$name-ndpireader" "$NDPIREADER" -q -T 10 -U 16 -i "$file"
    for dpi in nodpi dpi; do
        flag=()
        [ $dpi = nodpi ] && flag=(--no-dissect)
        measure "$name-$dpi-n1" "$NFPROBE" -r "$file" "${flag[@]}" -o /dev/null
        check_seen "$name-$dpi-n1" "$n"
        if [ $HAVE_WORKERS = 1 ]; then
            measure "$name-$dpi-n2" "$NFPROBE" --workers "$N2" -r "$file" "${flag[@]}" -o /dev/null
            check_seen "$name-$dpi-n2" "$n"
            # the machine's own ceiling: N2 copies of the N=1 run at once share
            # nothing but the machine (memory, caches, the host's scheduling)
            measure "$name-$dpi-ceiling" bash -c 'for i in $(seq "$1"); do "${@:2}" & done; wait' \
                ceiling "$N2" "$NFPROBE" -r "$file" "${flag[@]}" -o /dev/null
        else
            M_NOTE[$name-$dpi-n2]=$NA_WORKERS
        fi
    done

    echo
    echo "$name capture: $file, $n packets; medians of $RUNS runs"
    printf '  %-30s %7s %7s %6s %7s %7s %6s %8s\n' program "wall s" Mpps x_floor N2/N1 "CPU s" x_fl_c "RSS MB"
    fmt_row "libpcap read floor" "$name-floor" "$n" "$name-floor"
    [ $HAVE_SOFTFLOWD = 1 ] && fmt_row "softflowd -v 10" "$name-softflowd" "$n" "$name-floor"
    echo "  DPI off:"
    fmt_row "nfprobe --no-dissect N=1" "$name-nodpi-n1" "$n" "$name-floor"
    fmt_row "nfprobe --no-dissect N=$N2" "$name-nodpi-n2" "$n" "$name-floor" "$name-nodpi-n1"
    ceiling_row "$name-nodpi"
    echo "  DPI on:"
    [ $HAVE_NDPIREADER = 1 ] && fmt_row "ndpiReader -T 10 -U 16" "$name-ndpireader" "$n" "$name-floor"
    fmt_row "nfprobe N=1" "$name-dpi-n1" "$n" "$name-floor"
    fmt_row "nfprobe N=$N2" "$name-dpi-n2" "$n" "$name-floor" "$name-dpi-n1"
    ceiling_row "$name-dpi"
}

# N2 runs of N=1 at once did N2 times the work in their wall time: the
# speedup a perfectly parallel N=N2 could reach on this machine
ceiling_row() {  # key prefix
    [ -n "${M_WALL[$1-ceiling]:-}" ] && [ -n "${M_WALL[$1-n1]:-}" ] || return 0
    awk -v n="$N2" -v a="${M_WALL[$1-n1]}" -v b="${M_WALL[$1-ceiling]}" 'BEGIN {
        printf "  %-30s %7.3f %22.2fx  (%d N=1 runs at once: the machine'"'"'s ceiling)\n", "ceiling", b, n * a / b, n }'
}

throughput_targets() {  # name...
    local name r
    echo
    echo "targets:"
    r=$(ratio synthetic-floor synthetic-nodpi-n1)
    [ -n "$r" ] && verdict "$r" ">=" 0.5 "synthetic, DPI off: N=1 packets/s / read floor's (wall)"
    r=$(cpu_ratio synthetic-floor synthetic-nodpi-n1)
    [ -n "$r" ] && verdict "$r" ">=" 0.5 "  the same from CPU time (floor CPU s / N=1 CPU s)"
    for name in "$@"; do
        for dpi in nodpi dpi; do
            local target=1.5 what="DPI off"
            [ $dpi = dpi ] && target=1.7 what="DPI on"
            if [ $HAVE_WORKERS = 0 ]; then
                printf '  %-58s %s\n' "$name, $what: N=$N2 / N=1 speedup" "$NA_WORKERS"
                continue
            fi
            r=$(ratio "$name-$dpi-n1" "$name-$dpi-n2")
            [ -n "$r" ] && verdict "$r" ">=" "$target" "$name, $what: N=$N2 / N=1 speedup"
        done
    done
}

# ------------------------------------------------------------------ part 2
# marginal CPU ns per packet of the second half of active-K: (CPU of the
# whole capture - CPU of its first half) / packets in the second half; the
# first round (K flows opened with K packets), start-up and the flush at the
# end are in both runs and cancel out
marginal_ns() {   # KEY packets half-packets: the runs KEY and KEY-half
    awk -v a="${M_CPU[$1]:-0}" -v b="${M_CPU[$1-half]:-0}" -v n="$2" -v h="$3" \
        'BEGIN { if (a > 0 && b > 0 && n > h) printf "%.1f", (a - b) / (n - h) * 1e9 }'
}

marg_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.4f", a / b }'; }

active_cost() {
    local k file half n nh
    declare -A PEAK CREATED MARG TMARG
    for k in $ACTIVE; do
        file=$OUT/active-$k.pcap
        half=$OUT/active-$k-half.pcap
        gen_capture "$file" --active "$k" "$file" "$ACTIVE_PACKETS"
        gen_capture "$half" --active "$k" "$half" "$((ACTIVE_PACKETS / 2))"
        n=$(meta "$file" packets)
        nh=$(meta "$half" packets)
        log "== $k flows open at once: $file, $n packets (and its first $nh)"
        measure "active-$k-floor" "$OUT/pcap_floor" "$file"
        measure "active-$k-n1" "$NFPROBE" -r "$file" --no-dissect -o /dev/null --max-flows "$ACTIVE_MAX_FLOWS"
        check_seen "active-$k-n1" "$n"
        measure "active-$k-n1-half" "$NFPROBE" -r "$half" --no-dissect -o /dev/null --max-flows "$ACTIVE_MAX_FLOWS"
        check_seen "active-$k-n1-half" "$nh"
        measure "active-$k-table" "$OUT/table_floor" "$file" "$ACTIVE_MAX_FLOWS"
        measure "active-$k-table-half" "$OUT/table_floor" "$half" "$ACTIVE_MAX_FLOWS"
        PEAK[$k]=$(sed -n 's/.*active (peak \([0-9]*\)).*/\1/p' "$OUT/runs/active-$k-n1.err" | head -n 1)
        CREATED[$k]=$(sed -n 's/.*flows: \([0-9]*\) created.*/\1/p' "$OUT/runs/active-$k-n1.err" | head -n 1)
        MARG[$k]=$(marginal_ns "active-$k-n1" "$n" "$nh")
        TMARG[$k]=$(marginal_ns "active-$k-table" "$n" "$nh")
    done
    echo
    echo "per-packet cost against flows open at once: gen_pcap --active K, $ACTIVE_PACKETS packets, 3-packet"
    echo "TCP flows (after a first round that opens K flows, a third of the packets open a flow whatever K:"
    echo "created = nfprobe's flows created); nfprobe N=1 --no-dissect -o /dev/null"
    echo "--max-flows $ACTIVE_MAX_FLOWS; medians of $RUNS runs. 2nd half = CPU ns per packet of the second"
    echo "half alone (whole run's CPU - the CPU of a run over the first half): steady state, first round out."
    echo "floor ns: the read floor's wall ns/pkt; table, table 2: the flow-table floor's CPU ns/pkt (whole,"
    echo "second half)"
    printf '  %-10s %12s %10s %9s %11s %11s %10s %10s %8s %7s %7s\n' "K" "probe peak" "created" "wall s" \
        "wall ns/pkt" "CPU ns/pkt" "2nd half" "floor ns" "RSS MB" "table" "table 2"
    for k in $ACTIVE; do
        n=$(meta "$OUT/active-$k.pcap" packets)
        if [ -z "${M_WALL[active-$k-n1]:-}" ]; then
            printf '  %-10s %s\n' "$k" "${M_NOTE[active-$k-n1]:-no result}"
            continue
        fi
        awk -v k="$k" -v p="${PEAK[$k]:-?}" -v cr="${CREATED[$k]:-?}" -v w="${M_WALL[active-$k-n1]}" \
            -v f="${M_WALL[active-$k-floor]}" -v c="${M_CPU[active-$k-n1]}" -v m="${MARG[$k]:--}" \
            -v r="${M_RSS[active-$k-n1]}" -v n="$n" -v note="${M_NOTE[active-$k-n1]:-}" \
            -v t="${M_CPU[active-$k-table]:-0}" -v tm="${TMARG[$k]:--}" \
            'BEGIN { printf "  %-10s %12s %10s %9.3f %11.1f %11.1f %10s %10.1f %8.1f %7.1f %7s  %s\n", k, p, cr, w,
                     w / n * 1e9, c / n * 1e9, m, f / n * 1e9, r / 1024, t / n * 1e9, tm, note }'
    done
    local lo hi rc rw rm
    # word splitting of BENCH_ACTIVE is intended
    # shellcheck disable=SC2086
    lo=$(printf '%s\n' $ACTIVE | sort -n | head -n 1)
    # shellcheck disable=SC2086
    hi=$(printf '%s\n' $ACTIVE | sort -n | tail -n 1)
    rw=$(ratio "active-$hi-n1" "active-$lo-n1")
    rc=$(cpu_ratio "active-$hi-n1" "active-$lo-n1")
    rm=$(marg_ratio "${MARG[$hi]:-}" "${MARG[$lo]:-}")
    echo
    echo "targets (one thread: its CPU time is the work; wall time adds waiting for a CPU on a busy machine):"
    [ -n "$rc" ] && verdict "$rc" "<=" 1.5 "CPU per packet at $hi flows / at $lo flows"
    [ -n "$rm" ] && verdict "$rm" "<=" 1.5 "  the same, second halves (steady state)"
    [ -n "$rw" ] && verdict "$rw" "<=" 1.5 "wall per packet at $hi flows / at $lo flows"
    # the same growth in the flow-table floor: what the machine's memory
    # alone makes of it (no target: a reference for the lines above)
    rc=$(cpu_ratio "active-$hi-table" "active-$lo-table")
    rm=$(marg_ratio "${TMARG[$hi]:-}" "${TMARG[$lo]:-}")
    echo "the machine (flow-table floor, bench/table_floor.c):"
    [ -n "$rc" ] && printf '  %-58s %6.2f\n' "CPU per packet at $hi flows / at $lo flows" "$rc"
    [ -n "$rm" ] && printf '  %-58s %6.2f\n' "  the same, second halves (steady state)" "$rm"
    return 0
}

# ------------------------------------------------------------------ main
load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
    log "warning: load average $load: other processes compete for the CPU; timings will be noisy"
fi
echo "nfprobe workers benchmark: $NFPROBE; $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
echo "x_floor = packets/s / the read floor's (1 = as fast as a bare libpcap read); N2/N1 = N=$N2 speedup"
echo "CPU s = user + system over all threads; x_fl_c = the floor's CPU s / this CPU s (x_floor from"
echo "CPU time: on a busy machine wall time also counts waiting for a CPU); RSS = peak resident set"
for part in $PARTS; do
    case $part in
        throughput)
            SYN=$OUT/workers-synthetic.pcap
            gen_capture "$SYN" "$SYN" "$SYN_PACKETS" "$SYN_FLOWS"
            if [ ! -s "$DPI_PCAP" ]; then
                log "writing $DPI_PCAP (bench/dpi_pcap.py, $DPI_COPIES copies of the test captures)"
                "$PY" bench/dpi_pcap.py "$DPI_PCAP" "$DPI_COPIES" || die "bench/dpi_pcap.py failed"
            fi
            [ $HAVE_SOFTFLOWD = 1 ] && start_sink
            throughput synthetic "$SYN"
            throughput real "$DPI_PCAP"
            throughput_targets synthetic real
            ;;
        active) active_cost ;;
        *) die "unknown part '$part' in BENCH_PARTS (throughput, active)" ;;
    esac
done
echo
echo "per-run commands and nfprobe's statistics: $OUT/runs/"
