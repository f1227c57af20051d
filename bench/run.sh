#!/usr/bin/env bash
# bench/run.sh — pcap replay throughput and memory: nfprobe vs softflowd.
#
#   bash bench/run.sh            (from the repository root, after ./configure && make)
#
# Builds bench/gen_pcap.c, generates bench/out/bench.pcap once (3,000,000
# packets, 120,000 flows, IPv4+IPv6, TCP+UDP, ~60 s), counts the capture
# independently, then for each program runs it BENCH_RUNS times against a
# fresh nfcapd on 127.0.0.1 and prints wall time, packets/s, peak RSS and the
# flows/packets/bytes nfdump received. See bench/README.
#
# Environment (all optional):
#   BENCH_PACKETS=3000000  BENCH_FLOWS=120000  BENCH_SEED=1  BENCH_SECONDS=60
#   BENCH_RUNS=3                       runs per program, the median is reported
#   BENCH_PROGRAMS="softflowd nfprobe nfprobe-json"   which lines to run; also
#                  nfprobe-dpi (nDPI dissection on, IPFIX to nfcapd) and
#                  ndpireader (nDPI's own ndpiReader -T 10 -U 16, no export)
#   BENCH_MAX_FLOWS=200000             flow table size given to both probes
#   BENCH_TSHARK=1                     also sum IP lengths with tshark (slow, cached)
#   NFPROBE=./nfprobe  NFPROBE_ARGS=   binary and extra arguments for nfprobe
#   EXAMPLE_666=examples/packets666.so the trivial plugin of nfprobe-666-file
#   SOFTFLOWD=softflowd SOFTFLOWD_ARGS=
#   BENCH_NFCAPD_NICE=-10              nfcapd's nice value (root only; 0 to disable)
#   BENCH_NFCAPD_BUFFER=4194304        nfcapd -B (more needs net.core.rmem_max raised)
#   CC=cc  BENCH_OUT=bench/out
set -euo pipefail

cd "$(dirname "$0")/.."

OUT=${BENCH_OUT:-bench/out}
PACKETS=${BENCH_PACKETS:-3000000}
FLOWS=${BENCH_FLOWS:-120000}
SEED=${BENCH_SEED:-1}
SPAN=${BENCH_SECONDS:-60}
RUNS=${BENCH_RUNS:-3}
PROGRAMS=${BENCH_PROGRAMS:-softflowd nfprobe nfprobe-json}
MAXFLOWS=${BENCH_MAX_FLOWS:-200000}
NFPROBE=${NFPROBE:-./nfprobe}
EXAMPLE_666=${EXAMPLE_666:-$(dirname "$NFPROBE")/examples/packets666.so}
SOFTFLOWD=${SOFTFLOWD:-softflowd}
CC=${CC:-cc}
PCAP=$OUT/bench.pcap
META=$PCAP.meta
TIME_BIN=/usr/bin/time

log() { printf '%s\n' "$*" >&2; }
die() { log "run.sh: $*"; exit 1; }

# ------------------------------------------------------------------ tools
missing=()
command -v "$CC" >/dev/null || missing+=("$CC (apt-get install gcc)")
[ -x "$TIME_BIN" ] || missing+=("/usr/bin/time (apt-get install time)")
command -v capinfos >/dev/null || missing+=("capinfos (apt-get install wireshark-common)")
command -v nfcapd >/dev/null || missing+=("nfcapd (apt-get install nfdump)")
command -v nfdump >/dev/null || missing+=("nfdump (apt-get install nfdump)")
command -v ss >/dev/null || missing+=("ss (apt-get install iproute2)")
if [ ${#missing[@]} -gt 0 ]; then
    log "run.sh: missing tools:"
    for m in "${missing[@]}"; do log "  - $m"; done
    exit 1
fi
case $RUNS in ''|*[!0-9]*|0) die "BENCH_RUNS must be a positive integer" ;; esac

# ------------------------------------------------------------------ cleanup
DAEMONS=()          # nfcapd pids we started
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    local p i
    for p in "${DAEMONS[@]}"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ capture
mkdir -p "$OUT"
GEN=$OUT/gen_pcap
if [ ! -x "$GEN" ] || [ bench/gen_pcap.c -nt "$GEN" ]; then
    log "building $GEN"
    "$CC" -std=c11 -O2 -Wall -Wextra -o "$GEN" bench/gen_pcap.c
fi

meta() { sed -n "s/^$1=//p" "$META"; }

regen=0
if [ ! -s "$PCAP" ] || [ ! -s "$META" ] || [ "$GEN" -nt "$PCAP" ]; then
    regen=1
elif [ "$(meta packets)" != "$PACKETS" ] || [ "$(meta flows)" != "$FLOWS" ] ||
     [ "$(meta seed)" != "$SEED" ] || [ "$(meta seconds)" != "$SPAN" ]; then
    regen=1
fi
if [ $regen = 1 ]; then
    log "generating $PCAP: $PACKETS packets, $FLOWS flows, seed $SEED, ${SPAN}s"
    rm -f "$PCAP" "$META" "$PCAP.tshark"
    "$GEN" "$PCAP.tmp" "$PACKETS" "$FLOWS" "$SEED" "$SPAN" 2>/dev/null
    mv "$PCAP.tmp.meta" "$META"
    mv "$PCAP.tmp" "$PCAP"
fi

CAP_PKTS=$(meta packets)
CAP_IPBYTES=$(meta ip_bytes)
CAP_WIRE=$(meta wire_bytes)
CAP_PAD=$(meta pad_bytes)
CAP_FLOWS=$(meta flows)
CAP_DIRS=$(meta flow_directions)
CAP_ACTIVE=$(meta max_active_idle30)

# independent count: capinfos reads every record header
ci=$(capinfos -M -c -d "$PCAP")
CI_PKTS=$(printf '%s\n' "$ci" | sed -n 's/^Number of packets: *//p')
CI_DATA=$(printf '%s\n' "$ci" | sed -n 's/^Data size: *\([0-9]*\) bytes.*/\1/p')
[ "$CI_PKTS" = "$CAP_PKTS" ] || die "capinfos counts $CI_PKTS packets, gen_pcap wrote $CAP_PKTS"
[ "$CI_DATA" = "$CAP_WIRE" ] || die "capinfos counts $CI_DATA wire bytes, gen_pcap wrote $CAP_WIRE"
# every frame is untagged Ethernet: IP bytes = wire - 14 per packet - padding
CAP_L2PAY=$((CI_DATA - 14 * CI_PKTS))
[ $((CAP_L2PAY - CAP_PAD)) = "$CAP_IPBYTES" ] || die "wire/IP byte totals inconsistent"
ipcheck="capinfos: packets and wire bytes agree"
if [ "${BENCH_TSHARK:-0}" = 1 ]; then
    command -v tshark >/dev/null || die "BENCH_TSHARK=1 needs tshark"
    if [ ! -s "$PCAP.tshark" ] || [ "$PCAP" -nt "$PCAP.tshark" ]; then
        log "summing IP lengths with tshark (slow)..."
        tshark -r "$PCAP" -n -T fields -E separator=/t -e ip.len -e ipv6.plen 2>/dev/null |
            awk -F'\t' '{ n++; if ($2 != "") b += $2 + 40; else b += $1 } END { printf "%.0f %.0f\n", n, b }' \
            > "$PCAP.tshark"
    fi
    read -r ts_pkts ts_bytes < "$PCAP.tshark"
    [ "$ts_pkts" = "$CAP_PKTS" ] && [ "$ts_bytes" = "$CAP_IPBYTES" ] ||
        die "tshark counts $ts_pkts packets / $ts_bytes IP bytes, gen_pcap $CAP_PKTS / $CAP_IPBYTES"
    ipcheck="$ipcheck; tshark: IP bytes agree"
fi

# ------------------------------------------------------------------ helpers
NFCAPD_BUF=${BENCH_NFCAPD_BUFFER:-4194304}
rmem=$(cat /proc/sys/net/core/rmem_max 2>/dev/null || echo 0)
if [ "$rmem" -lt "$NFCAPD_BUF" ]; then
    log "warning: net.core.rmem_max=$rmem < $NFCAPD_BUF: nfcapd's -B is capped and may drop export"
    log "         datagrams (as root: sysctl -w net.core.rmem_max=$NFCAPD_BUF)"
fi

# nfcapd gets a higher CPU priority (as root) so that it keeps up with the
# export burst on a small machine; the measured program runs at normal priority
NFCAPD_NICE=${BENCH_NFCAPD_NICE:-$([ "$(id -u)" = 0 ] && echo -10 || echo 0)}

load=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load" 'BEGIN { exit !(l > 0.5) }'; then
    log "warning: load average $load: other processes compete for the CPU; timings will be noisy"
    log "         and nfcapd may fall behind (UDP drops)"
fi

udp_rcvbuf_errors() { awk '/^Udp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }

port_in_use() { [ -n "$(ss -Hlun "sport = :$1" 2>/dev/null)" ]; }

free_port() {
    local p i
    for i in $(seq 200); do
        p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
        port_in_use "$p" || { echo "$p"; return 0; }
    done
    die "no free UDP port found"
}

NFCAPD_PID=
start_nfcapd() {   # dir port    (dir holds only nfcapd's files: nfdump -R reads them all)
    local dir=$1 port=$2 i
    mkdir -p "$dir"
    nice -n "$NFCAPD_NICE" nfcapd -w "$dir" -b 127.0.0.1 -p "$port" -t 3600 -B "$NFCAPD_BUF" -P "$dir/pid" -D \
        >"$dir.log" 2>&1 || die "nfcapd failed to start (see $dir.log)"
    for i in $(seq 100); do
        [ -s "$dir/pid" ] && break
        sleep 0.1
    done
    [ -s "$dir/pid" ] || die "nfcapd wrote no pid file $dir/pid"
    NFCAPD_PID=$(cat "$dir/pid")
    DAEMONS+=("$NFCAPD_PID")
    for i in $(seq 50); do
        port_in_use "$port" && return 0
        sleep 0.1
    done
    die "nfcapd is not listening on 127.0.0.1:$port"
}

stop_nfcapd() {    # dir port
    local dir=$1 port=$2 i q
    # let nfcapd drain what is still queued on its socket, then stop it
    for i in $(seq 100); do
        q=$(ss -Hlun "sport = :$port" 2>/dev/null | awk '{ print $2; exit }')
        [ "${q:-0}" = 0 ] && break
        sleep 0.1
    done
    sleep 0.2
    kill -TERM "$NFCAPD_PID" 2>/dev/null || true
    for i in $(seq 300); do
        kill -0 "$NFCAPD_PID" 2>/dev/null || return 0
        sleep 0.1
    done
    log "warning: nfcapd $NFCAPD_PID did not exit in 30 s, killing it"
    kill -KILL "$NFCAPD_PID" 2>/dev/null || true
}

# nfdump -I summary -> "flows packets bytes seqfail"
nfdump_totals() {
    { nfdump -R "$1" -q -I 2>/dev/null || true; } | awk -F': *' '
        $1 == "Flows" { f = $2 } $1 == "Packets" { p = $2 } $1 == "Bytes" { b = $2 }
        $1 == "Sequence failures" { s = $2 }
        END { printf "%s %s %s %s\n", (f == "" ? 0 : f), (p == "" ? 0 : p), (b == "" ? 0 : b), (s == "" ? 0 : s) }'
}

# verdict on what the collector received
totals_verdict() { # packets bytes
    if [ "$1" != "$CAP_PKTS" ]; then
        echo "MISMATCH pkts $(($1 - CAP_PKTS))"
    elif [ "$2" = "$CAP_IPBYTES" ]; then
        echo "exact"
    elif [ "$2" = "$CAP_L2PAY" ]; then
        echo "pkts ok, bytes +pad"
    else
        echo "MISMATCH bytes $(($2 - CAP_IPBYTES))"
    fi
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# ------------------------------------------------------------------ runs
declare -A R_WALL R_RSS R_FLOWS R_PKTS R_BYTES R_VERDICT R_NOTE
ORDER=()
failed=0

bench_one() {   # name
    local name=$1 collector=1 i dir port cmd=() walls=() rsss=() rc
    local flows=- pkts=- bytes=- verdict=- first_totals='' note='' drops=0
    case $name in
        softflowd)
            command -v "$SOFTFLOWD" >/dev/null || { log "skip softflowd: $SOFTFLOWD not found (apt-get install softflowd)"; return; } ;;
        ndpireader)
            command -v ndpiReader >/dev/null || { log "skip ndpireader: ndpiReader not found (apt-get install libndpi-bin)"; return; } ;;
        nfprobe|nfprobe-json|nfprobe-dpi|nfprobe-plugins|nfprobe-file|nfprobe-plugins-file|nfprobe-666-file)
            [ -x "$NFPROBE" ] || { log "skip $name: $NFPROBE not found (build it: ./configure && make)"; return; }
            [ "$name" != nfprobe-666-file ] || [ -f "$EXAMPLE_666" ] ||
                { log "skip $name: $EXAMPLE_666 not found (make builds it)"; return; } ;;
        *) die "unknown program '$name' in BENCH_PROGRAMS" ;;
    esac
    case $name in nfprobe-json|nfprobe-file|nfprobe-plugins-file|nfprobe-666-file) collector=0 ;; esac
    [ "$name" = ndpireader ] && collector=0
    ORDER+=("$name")

    for i in $(seq "$RUNS"); do
        dir=$OUT/runs/$name-$i
        rm -rf "$dir"
        mkdir -p "$dir"
        port=
        if [ $collector = 1 ]; then
            port=$(free_port)
            start_nfcapd "$dir/nfcapd" "$port"
        fi
        # word splitting of the *_ARGS variables is intended
        # shellcheck disable=SC2206
        case $name in
            softflowd) cmd=("$SOFTFLOWD" -r "$PCAP" -n "127.0.0.1:$port" -v 10 -A milli -m "$MAXFLOWS" ${SOFTFLOWD_ARGS:-}) ;;
            nfprobe) cmd=("$NFPROBE" -r "$PCAP" --no-dissect -c "127.0.0.1:$port" --max-flows "$MAXFLOWS" ${NFPROBE_ARGS:-}) ;;
            nfprobe-json) cmd=("$NFPROBE" -r "$PCAP" --no-dissect --json --max-flows "$MAXFLOWS" ${NFPROBE_ARGS:-}) ;;
            nfprobe-dpi) cmd=("$NFPROBE" -r "$PCAP" -c "127.0.0.1:$port" --max-flows "$MAXFLOWS" ${NFPROBE_ARGS:-}) ;;
            nfprobe-plugins) cmd=("$NFPROBE" -r "$PCAP" --no-dissect -c "127.0.0.1:$port" --max-flows "$MAXFLOWS"
                                  -P splt -P flowstats ${NFPROBE_ARGS:-}) ;;
            nfprobe-file) cmd=("$NFPROBE" -r "$PCAP" --no-dissect -o /dev/null --max-flows "$MAXFLOWS" ${NFPROBE_ARGS:-}) ;;
            nfprobe-plugins-file) cmd=("$NFPROBE" -r "$PCAP" --no-dissect -o /dev/null --max-flows "$MAXFLOWS"
                                       -P splt -P flowstats ${NFPROBE_ARGS:-}) ;;
            nfprobe-666-file) cmd=("$NFPROBE" -r "$PCAP" --no-dissect -o /dev/null --max-flows "$MAXFLOWS"
                                   -P "$EXAMPLE_666" ${NFPROBE_ARGS:-}) ;;
            ndpireader) cmd=(ndpiReader -q -T 10 -U 16 -i "$PCAP") ;;
        esac
        printf '%s\n' "${cmd[*]}" > "$dir/cmd"
        local drops0 drops1
        drops0=$(udp_rcvbuf_errors)
        rc=0
        local t0=$EPOCHREALTIME t1
        if [ $collector = 1 ]; then
            "$TIME_BIN" -f '%e %M' -o "$dir/time" -- "${cmd[@]}" >"$dir/out.log" 2>"$dir/err.log" || rc=$?
        else
            "$TIME_BIN" -f '%e %M' -o "$dir/time" -- "${cmd[@]}" >/dev/null 2>"$dir/err.log" || rc=$?
        fi
        t1=$EPOCHREALTIME
        if [ $collector = 1 ]; then
            stop_nfcapd "$dir/nfcapd" "$port"
        fi
        drops1=$(udp_rcvbuf_errors)
        if [ $rc != 0 ]; then
            log "$name run $i FAILED (exit $rc); last lines of $dir/err.log:"
            tail -n 5 "$dir/err.log" >&2 || true
            failed=1
            note="exit $rc"
            break
        fi
        # /usr/bin/time gives peak RSS; its %e has only 10 ms resolution, so
        # the wall time is taken around it with EPOCHREALTIME (microseconds)
        local wall rss
        read -r _ rss < <(tail -n 1 "$dir/time")
        wall=$(awk -v a="${t0/,/.}" -v b="${t1/,/.}" 'BEGIN { printf "%.3f", b - a }')
        walls+=("$wall")
        rsss+=("$rss")
        local line="$name run $i: ${wall}s, peak RSS ${rss} KB"
        if [ $collector = 1 ]; then
            local t f p b s v
            t=$(nfdump_totals "$dir/nfcapd")
            read -r f p b s <<<"$t"
            v=$(totals_verdict "$p" "$b")
            line="$line; nfdump: $f flows, $p packets, $b bytes ($v)"
            [ "$s" != 0 ] && line="$line, $s sequence failures"
            if [ "$drops1" != "$drops0" ]; then
                # the collector lost datagrams: this run says nothing about the probe
                line="$line, UDP receive-buffer drops on this host: $((drops1 - drops0))"
                drops=$((drops + 1))
            elif [ -z "$first_totals" ]; then
                first_totals="$f $p $b"
                flows=$f pkts=$p bytes=$b verdict=$v
            elif [ "$first_totals" != "$f $p $b" ]; then
                verdict="VARIES"
            fi
        fi
        log "$line"
    done

    R_NOTE[$name]=$note
    if [ ${#walls[@]} -gt 0 ]; then
        R_WALL[$name]=$(printf '%s\n' "${walls[@]}" | median)
        R_RSS[$name]=$(printf '%s\n' "${rsss[@]}" | median)
    fi
    R_FLOWS[$name]=$flows R_PKTS[$name]=$pkts R_BYTES[$name]=$bytes R_VERDICT[$name]=$verdict
    if [ "$drops" != 0 ]; then
        [ -z "$first_totals" ] && R_VERDICT[$name]="no run without UDP drops"
        R_VERDICT[$name]="${R_VERDICT[$name]} (${drops}/${#walls[@]} runs: UDP drops)"
        DROP_NOTE=1
    fi
}
DROP_NOTE=0

log "capture: $PCAP  $CAP_PKTS packets, $CAP_IPBYTES IP bytes ($CAP_WIRE on the wire, $CAP_PAD Ethernet padding)"
log "         $CAP_FLOWS flows ($CAP_DIRS directions), max $CAP_ACTIVE active under a 30 s idle timeout, $(meta duration_s) s"
log "         $ipcheck"
for prog in $PROGRAMS; do
    bench_one "$prog"
done

# ------------------------------------------------------------------ table
echo
echo "nfprobe benchmark: $CAP_PKTS packets, $CAP_FLOWS flows ($CAP_DIRS directions), max active (30 s idle) $CAP_ACTIVE"
echo "capture totals: $CAP_PKTS packets, $CAP_IPBYTES IP bytes; median of $RUNS runs; $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
echo
fmt='%-13s %8s %11s %9s %8s %8s %9s %12s  %s\n'
# shellcheck disable=SC2059
printf "$fmt" program "wall s" packets/s "RSS MB" "B/flow" flows packets bytes totals
for prog in "${ORDER[@]}"; do
    if [ -z "${R_WALL[$prog]:-}" ]; then
        # shellcheck disable=SC2059
        printf "$fmt" "$prog" - - - - - - - "FAILED (${R_NOTE[$prog]})"
        continue
    fi
    read -r pps mb bpf < <(awk -v w="${R_WALL[$prog]}" -v r="${R_RSS[$prog]}" -v n="$CAP_PKTS" -v a="$CAP_ACTIVE" \
        'BEGIN { printf "%.0f %.1f %.0f\n", (w > 0 ? n / w : 0), r / 1024, r * 1024 / a }')
    case $prog in nfprobe-json|nfprobe-file|nfprobe-plugins-file|nfprobe-666-file) R_VERDICT[$prog]="n/a (no collector)" ;; esac
    [ "$prog" = ndpireader ] && R_VERDICT[$prog]="n/a (no export)"
    # shellcheck disable=SC2059
    printf "$fmt" "$prog" "${R_WALL[$prog]}" "$pps" "$mb" "$bpf" "${R_FLOWS[$prog]}" "${R_PKTS[$prog]}" \
        "${R_BYTES[$prog]}" "${R_VERDICT[$prog]}"
    eval "PPS_${prog//-/_}=$pps"
done
echo
ratio() {  # a b label
    local a=${1:-} b=${2:-}
    [ -n "$a" ] && [ -n "$b" ] && [ "$b" != 0 ] &&
        awk -v a="$a" -v b="$b" -v l="$3" 'BEGIN { printf "%s: %.2fx\n", l, a / b }'
    return 0
}
ratio "${PPS_nfprobe:-}" "${PPS_softflowd:-}" "packets/s nfprobe / softflowd"
ratio "${PPS_nfprobe_json:-}" "${PPS_softflowd:-}" "packets/s nfprobe --json / softflowd"
ratio "${PPS_nfprobe_dpi:-}" "${PPS_nfprobe:-}" "packets/s nfprobe with DPI / --no-dissect"
ratio "${PPS_nfprobe_dpi:-}" "${PPS_ndpireader:-}" "packets/s nfprobe with DPI / ndpiReader (target >= 1.5)"
ratio "${PPS_nfprobe_plugins:-}" "${PPS_nfprobe:-}" "packets/s nfprobe -P splt -P flowstats / without, to nfcapd (target >= 0.85: at most 15% cost)"
ratio "${PPS_nfprobe_plugins_file:-}" "${PPS_nfprobe_file:-}" "packets/s nfprobe -P splt -P flowstats / without, IPFIX to /dev/null (no socket)"
ratio "${PPS_nfprobe_666_file:-}" "${PPS_nfprobe_file:-}" "packets/s nfprobe -P examples/packets666.so / without, IPFIX to /dev/null (the plugin machinery's own cost)"
if [ -n "${R_RSS[nfprobe-dpi]:-}" ] && [ -n "${R_RSS[ndpireader]:-}" ]; then
    awk -v a="${R_RSS[nfprobe-dpi]}" -v b="${R_RSS[ndpireader]}" \
        'BEGIN { printf "peak RSS nfprobe with DPI / ndpiReader: %.2f (target <= 0.25)\n", a / b }'
fi
echo "B/flow = peak RSS / $CAP_ACTIVE (max flows active under a 30 s idle timeout; whole process, not just the cache)"
# nfprobe's own view: memory that grows with the flows, per flow in its cache
# at the busiest moment (its stats line says how many that was).
if [ -n "${R_RSS[nfprobe]:-}" ]; then
    base_rss=$( { /usr/bin/time -f '%M' "$NFPROBE" -r "$(dirname "$0")/../samples/sample.pcap" --no-dissect \
        -o /dev/null -q --max-flows "$MAXFLOWS" ${NFPROBE_ARGS:-} > /dev/null; } 2>&1 | tail -n 1)
    peak=$(sed -n 's/.*active (peak \([0-9]*\)).*/\1/p' "$OUT"/runs/nfprobe-1/err.log 2>/dev/null | tail -n 1)
    if [ -n "$peak" ] && [ "$peak" -gt 0 ] 2>/dev/null; then
        awk -v r="${R_RSS[nfprobe]}" -v b="$base_rss" -v p="$peak" 'BEGIN {
            printf "nfprobe memory per active flow: (%.1f MB peak - %.1f MB with no flows) / %d flows at its peak = %.0f bytes\n",
                   r / 1024, b / 1024, p, (r - b) * 1024 / p }'
    fi
fi
echo "flows/packets/bytes/totals: first run without UDP drops at nfcapd; exact = nfdump packets"
echo "        and bytes equal the capture's packets and IP bytes;"
echo "        'bytes +pad' = bytes counted from the frame length, including $CAP_PAD bytes of Ethernet padding"
if [ "$DROP_NOTE" = 1 ]; then
    echo "UDP drops: the kernel dropped export datagrams at nfcapd's socket (Udp RcvbufErrors in"
    echo "        /proc/net/snmp rose during the run): nfcapd fell behind, so those runs' nfdump"
    echo "        totals say nothing about the probe and are left out of the totals column (their"
    echo "        timings still count). Rerun on an idle machine (see bench/README)."
fi
echo "per-run logs: $OUT/runs/"
exit $failed
