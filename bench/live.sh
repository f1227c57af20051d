#!/usr/bin/env bash
# bench/live.sh — live capture: nfprobe (N=1, N=2 workers) and softflowd on
# one end of a veth pair while tcpreplay sends a capture into the other end as
# fast as it can. A benchmark, not a test: never in make check. Root only.
#
#   sudo bash bench/live.sh                    (from a built tree: ./nfprobe)
#   sudo NFPROBE=build/nfprobe bash bench/live.sh
#
# Everything happens in a network namespace of the script's own (both veth
# ends, the probes, the UDP sink softflowd exports to, tcpreplay): no packet
# reaches a real network. The namespace is deleted on exit, also on failure
# or Ctrl-C.
#
# The capture is bench/workers.sh's synthetic one (gen_pcap, 2,000,000
# packets, 100,000 flows), rewritten by bench/live_pcap.py so that every
# frame is whole (gen_pcap cuts frames at 96 bytes; the IP lengths are made to
# fit what is sent). Per probe it reports packets sent (tcpreplay), packets
# the receiving veth took in and dropped (its counters), the probe's own
# kernel report (nfprobe's stderr line "nfprobe: kernel: R received, D
# dropped"; softflowd's statistics through softflowctl), CPU seconds per
# million packets captured (utime + stime of all its threads from
# /proc/PID/stat, once it has drained its buffer), and for nfprobe whether its
# records (IPFIX written with -o, decoded by collector-test) hold every packet
# it did not drop: the sum of packetDeltaCount must equal received - dropped
# (- packets it read but did not meter, which it reports; none here).
#
# Environment (all optional):
#   NFPROBE=./nfprobe  SOFTFLOWD=softflowd  COLLECTOR_TEST=(next to NFPROBE)
#   BENCH_OUT=bench/out            captures and per-run logs (OUT/live/)
#   BENCH_LIVE_PCAP=               replay this capture instead (Ethernet,
#                                  classic pcap; rewritten as above)
#   BENCH_LIVE_PROBES="nfprobe-1 nfprobe-2 softflowd"   which probes
#   BENCH_LIVE_REPLAY="--topspeed" tcpreplay's rate option (e.g. --pps=100000)
#   BENCH_LIVE_LOOPS=1             tcpreplay --loop
set -euo pipefail
cd "$(dirname "$0")/.."

NFPROBE=${NFPROBE:-./nfprobe}
SOFTFLOWD=${SOFTFLOWD:-softflowd}
COLLECTOR_TEST=${COLLECTOR_TEST:-$(dirname "$NFPROBE")/collector-test/collector-test}
OUT=${BENCH_OUT:-bench/out}
PROBES=${BENCH_LIVE_PROBES:-nfprobe-1 nfprobe-2 softflowd}
REPLAY=${BENCH_LIVE_REPLAY:---topspeed}
LOOPS=${BENCH_LIVE_LOOPS:-1}
PY=/usr/bin/python3
LOGDIR=$OUT/live

log() { printf '%s\n' "$*" >&2; }
die() { log "live.sh: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (network namespace, veth pair, packet sockets): sudo bash bench/live.sh"
if ! command -v tcpreplay >/dev/null && command -v apt-get >/dev/null; then
    log "installing tcpreplay (Debian package)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y tcpreplay >/dev/null ||
        log "apt-get install tcpreplay failed (try apt-get update first)"
fi
missing=()
command -v ip >/dev/null || missing+=("ip (apt-get install iproute2)")
command -v tcpreplay >/dev/null || missing+=("tcpreplay (apt-get install tcpreplay)")
[ -x "$PY" ] || missing+=("/usr/bin/python3 (apt-get install python3)")
[ -x "$NFPROBE" ] || missing+=("$NFPROBE (build it; NFPROBE=build/nfprobe for an out-of-tree build)")
[ -x "$COLLECTOR_TEST" ] || missing+=("$COLLECTOR_TEST (make builds it; or set COLLECTOR_TEST)")
case " $PROBES " in *" softflowd "*)
    command -v "$SOFTFLOWD" >/dev/null || missing+=("$SOFTFLOWD (apt-get install softflowd)")
    command -v softflowctl >/dev/null || missing+=("softflowctl (apt-get install softflowd)") ;;
esac
if [ ${#missing[@]} -gt 0 ]; then
    log "live.sh: missing:"
    for m in "${missing[@]}"; do log "  - $m"; done
    exit 1
fi
case $LOOPS in ''|*[!0-9]*|0) die "BENCH_LIVE_LOOPS must be a positive integer" ;; esac

# ------------------------------------------------------------------ cleanup
NS=nfprobe-bench-$$
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nfprobe-live.XXXXXX")
PIDS=()            # processes started here, stopped on exit
# shellcheck disable=SC2317  # called from the EXIT trap
cleanup() {
    local p _
    for p in "${PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null || continue
        kill -TERM "$p" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
    done
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# (background processes are started with ip netns exec itself, so that $! is
# their pid: ip execs the command)
in_ns() { ip netns exec "$NS" "$@"; }

# ------------------------------------------------------------------ capture
mkdir -p "$OUT" "$LOGDIR"
SRC=${BENCH_LIVE_PCAP:-}
if [ -z "$SRC" ]; then
    SRC=$OUT/workers-synthetic.pcap
    if [ ! -s "$SRC" ]; then
        log "$SRC missing: writing it as bench/workers.sh does"
        "${CC:-cc}" -std=c11 -O2 -Wall -Wextra -o "$OUT/gen_pcap" bench/gen_pcap.c || die "could not build gen_pcap"
        "$OUT/gen_pcap" "$SRC" 2000000 100000 2>/dev/null || die "gen_pcap failed"
        printf '%s\n' "$SRC 2000000 100000" > "$SRC.args"
    fi
fi
[ -s "$SRC" ] || die "no capture $SRC"
PCAP=$OUT/live-$(basename "$SRC" .pcap).pcap
if [ ! -s "$PCAP" ] || [ ! -s "$PCAP.totals" ] || [ "$SRC" -nt "$PCAP" ] || [ bench/live_pcap.py -nt "$PCAP" ]; then
    log "writing $PCAP (whole frames, IP lengths to fit: bench/live_pcap.py)"
    "$PY" bench/live_pcap.py "$SRC" "$PCAP.tmp" > "$PCAP.totals.tmp" || die "live_pcap.py failed"
    mv "$PCAP.tmp" "$PCAP"
    mv "$PCAP.totals.tmp" "$PCAP.totals"
fi
read -r CAP_PKTS CAP_IPBYTES < "$PCAP.totals"

# ------------------------------------------------------------------ namespace
# IPv6 off before the veth exists: no router or neighbour solicitations, MLD
# reports or other frames of the kernel's own on the link
ip netns add "$NS" || die "could not create network namespace $NS"
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
ip -n "$NS" link add vsend type veth peer name vcap || die "could not create the veth pair"
for dev in lo vsend vcap; do ip -n "$NS" link set "$dev" up; done
CAP_IFINDEX=$(in_ns cat /sys/class/net/vcap/ifindex)

# rx packets / rx dropped of vcap
veth_counters() {
    in_ns cat /sys/class/net/vcap/statistics/rx_packets /sys/class/net/vcap/statistics/rx_dropped | paste -sd' '
}

# packet sockets of PID bound to vcap (from the namespace's /proc/net/packet)
packet_sockets() {
    local pid=$1 inodes
    # shellcheck disable=SC2016  # awk's own $5, $9
    inodes=$(in_ns awk -v ifx="$CAP_IFINDEX" 'NR > 1 && $5 == ifx { print $9 }' /proc/net/packet)
    [ -n "$inodes" ] || { echo 0; return; }
    find "/proc/$pid/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null | tr -dc '0-9\n' |
        grep -cxF -f <(printf '%s\n' "$inodes") || true
}

# wait_sockets PID COUNT NAME: until PID has COUNT packet sockets on vcap
# (at most 30 s; fewer but some: a warning) and then is idle, done setting up
# (ring, filter) and waiting for packets
wait_sockets() {
    local _ have=0
    for _ in $(seq 300); do
        kill -0 "$1" 2>/dev/null || die "$3 exited before capturing (see $LOGDIR)"
        have=$(packet_sockets "$1")
        [ "$have" -ge "$2" ] && break
        sleep 0.1
    done
    [ "$have" -gt 0 ] || die "$3 opened no packet socket on vcap within 30 s"
    if [ "$have" -lt "$2" ]; then
        log "warning: $3 has $have packet sockets on vcap, $2 expected"
        R_NOTE[$3]="${R_NOTE[$3]:+${R_NOTE[$3]}; }$have of $2 sockets"
    fi
    wait_drained "$1"
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# wait until PID has used no CPU for two half-second samples in a row: it has
# read what the kernel queued for it (at most 120 s)
wait_drained() {
    local pid=$1 a b quiet=0 _
    a=$(cpu_ticks "$pid")
    for _ in $(seq 240); do
        sleep 0.5
        b=$(cpu_ticks "$pid")
        if [ $((b - a)) -le 1 ]; then
            quiet=$((quiet + 1))
            [ $quiet -ge 2 ] && return 0
        else
            quiet=0
        fi
        a=$b
    done
    log "warning: $pid still busy after 120 s"
}

wait_exit() {   # pid what
    local _
    for _ in $(seq 600); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    log "warning: $2 did not exit within 60 s; killing it"
    kill -KILL "$1" 2>/dev/null || true
}

HAVE_WORKERS=1
"$NFPROBE" --workers 2 -r samples/sample.pcap --no-dissect -o /dev/null >/dev/null 2>"$WORK/workers.err" ||
    HAVE_WORKERS=0

# a UDP sink in the namespace for softflowd's export: bound, never read
start_sink() {
    local _
    ip netns exec "$NS" "$PY" bench/udp_sink.py > "$WORK/sink.port" &
    PIDS+=($!)
    for _ in $(seq 100); do
        [ -s "$WORK/sink.port" ] && break
        sleep 0.1
    done
    SINK_PORT=$(cat "$WORK/sink.port")
    [ -n "$SINK_PORT" ] || die "the UDP sink did not start"
}

replay() {   # log file
    in_ns tcpreplay -i vsend "$REPLAY" --loop="$LOOPS" "$PCAP" > "$1" 2>&1 || die "tcpreplay failed (see $1)"
    sed -n 's/.*Successful packets: *\([0-9]*\).*/\1/p' "$1" | tail -n 1
}

# replay_to NAME PID SOCKETS DIR: once PID has SOCKETS packet sockets on vcap
# and is idle, replay the capture and wait until PID has drained; sets
# R_SENT, R_RATE (tcpreplay), R_VRX, R_VDROP (vcap's counters) and R_CPU
# (PID's CPU seconds up to then)
replay_to() {
    local name=$1 pid=$2 dir=$4 v0 v1 vd0 vd1 ticks
    wait_sockets "$pid" "$3" "$name"
    read -r v0 vd0 < <(veth_counters)
    R_SENT[$name]=$(replay "$dir/tcpreplay.log")
    R_RATE[$name]=$(sed -n 's/.*Rated: .*, \([0-9.]*\) pps.*/\1/p' "$dir/tcpreplay.log" | tail -n 1)
    wait_drained "$pid"
    read -r v1 vd1 < <(veth_counters)
    ticks=$(cpu_ticks "$pid")
    R_VRX[$name]=$((v1 - v0))
    R_VDROP[$name]=$((vd1 - vd0))
    R_CPU[$name]=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
}

declare -A R_SENT R_VRX R_VDROP R_RECV R_DROP R_CPU R_RECORDS R_CHECK R_RATE R_NOTE
ORDER=()

run_nfprobe() {   # name workers
    local name=$1 n=$2 dir=$LOGDIR/$1 pid args=()
    ORDER+=("$name")
    if [ "$n" -gt 1 ] && [ $HAVE_WORKERS = 0 ]; then
        R_NOTE[$name]="n/a (no --workers)"
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$n" -gt 1 ] && args=(--workers "$n")
    ip netns exec "$NS" "$NFPROBE" -i vcap "${args[@]}" --no-dissect -o "$dir/flows.ipfix" > "$dir/out.log" 2> "$dir/err.log" &
    pid=$!
    PIDS+=("$pid")
    replay_to "$name" "$pid" "$n" "$dir"
    kill -INT "$pid"
    wait_exit "$pid" "$name"
    wait "$pid" 2>/dev/null || R_NOTE[$name]="${R_NOTE[$name]:+${R_NOTE[$name]}; }exit status $?"
    # the kernel's counts as nfprobe reports them: its total line, or the sum
    # of its per-worker lines ("nfprobe: kernel (worker I): R received, D dropped")
    local recv drop split
    read -r recv drop < <(awk '/^nfprobe: kernel: / { t = 1; r = $3; d = $5 }
        /^nfprobe: kernel \(worker [0-9]+\): / && !t { wr += $5; wd += $7 }
        END { if (t) print r + 0, d + 0; else print wr + 0, wd + 0 }' "$dir/err.log")
    R_RECV[$name]=$recv R_DROP[$name]=$drop
    split=$(awk '/^nfprobe: kernel \(worker [0-9]+\): / { printf "%s%s", sep, $5; sep = "/" }' "$dir/err.log")
    [ -n "$split" ] && R_NOTE[$name]="${R_NOTE[$name]:+${R_NOTE[$name]}; }received per worker $split"
    local seen metered
    read -r seen metered < <(awk '/^nfprobe: packets: / { s += $3; m += $5 } END { print s + 0, m + 0 }' "$dir/err.log")
    R_RECORDS[$name]=$("$COLLECTOR_TEST" -r "$dir/flows.ipfix" 2>"$dir/collector.err" | "$PY" -c 'import json, sys
n = 0
for line in sys.stdin:
    r = json.loads(line)
    if not r.get("_options"):
        n += r.get("packetDeltaCount", 0)
print(n)')
    local expect=$((R_RECV[$name] - R_DROP[$name] - (seen - metered)))
    if [ "${R_RECORDS[$name]}" = "$expect" ]; then
        R_CHECK[$name]="ok: records = received - dropped"
    else
        R_CHECK[$name]="MISMATCH: records ${R_RECORDS[$name]}, received - dropped - not metered $expect"
    fi
    [ "$seen" = "$((R_RECV[$name] - R_DROP[$name]))" ] ||
        R_CHECK[$name]="${R_CHECK[$name]}; read $seen"
}

run_softflowd() {
    local name=softflowd dir=$LOGDIR/softflowd pid
    ORDER+=("$name")
    rm -rf "$dir"
    mkdir -p "$dir"
    start_sink
    ip netns exec "$NS" "$SOFTFLOWD" -i vcap -n "127.0.0.1:$SINK_PORT" -v 10 -A milli -m 2000000 -d \
        -c "$dir/ctl" -p "$dir/pid" > "$dir/out.log" 2> "$dir/err.log" &
    pid=$!
    PIDS+=("$pid")
    replay_to "$name" "$pid" 1 "$dir"
    in_ns softflowctl -c "$dir/ctl" statistics > "$dir/statistics" 2>&1 || true
    kill -TERM "$pid"
    wait_exit "$pid" softflowd
    wait "$pid" 2>/dev/null || true
    # softflowd's statistics (softflowctl): "Packets received by libpcap: N",
    # "Packets dropped by libpcap: N", "Packets processed: N"
    R_RECV[$name]=$(sed -n 's/^Packets received by libpcap: *\([0-9]*\).*/\1/p' "$dir/statistics" | tail -n 1)
    R_DROP[$name]=$(sed -n 's/^Packets dropped by libpcap: *\([0-9]*\).*/\1/p' "$dir/statistics" | tail -n 1)
    R_RECORDS[$name]=-
    R_CHECK[$name]="processed $(sed -n 's/^Packets processed: *\([0-9]*\).*/\1/p' "$dir/statistics" | tail -n 1) (softflowctl statistics; no records check)"
}

for probe in $PROBES; do
    log "== $probe"
    case $probe in
        nfprobe-[0-9]*) run_nfprobe "$probe" "${probe#nfprobe-}" ;;
        softflowd) run_softflowd ;;
        *) die "unknown probe '$probe' in BENCH_LIVE_PROBES (nfprobe-N, softflowd)" ;;
    esac
done

echo "live capture benchmark: $PCAP ($CAP_PKTS packets, $CAP_IPBYTES IP bytes, x$LOOPS), tcpreplay $REPLAY"
echo "into a veth pair in namespace $NS; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
fmt='%-10s %9s %9s %9s %9s %9s %9s %9s %10s  %s\n'
# shellcheck disable=SC2059
printf "$fmt" probe "sent" "send pps" "veth rx" "veth drop" "received" "dropped" "CPU s" "CPU s/Mpkt" "records"
for probe in "${ORDER[@]}"; do
    if [ -n "${R_NOTE[$probe]:-}" ] && [ -z "${R_SENT[$probe]:-}" ]; then
        printf '%-10s %s\n' "$probe" "${R_NOTE[$probe]}"
        continue
    fi
    per=$(awk -v c="${R_CPU[$probe]}" -v r="${R_RECV[$probe]:-0}" -v d="${R_DROP[$probe]:-0}" \
        'BEGIN { n = r - d; if (n > 0) printf "%.2f", c / n * 1e6; else print "-" }')
    # shellcheck disable=SC2059
    printf "$fmt" "$probe" "${R_SENT[$probe]}" "${R_RATE[$probe]%.*}" "${R_VRX[$probe]}" "${R_VDROP[$probe]}" \
        "${R_RECV[$probe]:--}" "${R_DROP[$probe]:--}" "${R_CPU[$probe]}" "$per" \
        "${R_CHECK[$probe]}${R_NOTE[$probe]:+ (${R_NOTE[$probe]})}"
done
echo "sent: tcpreplay's successful packets; veth rx/drop: the capturing end's counters during the replay;"
echo "received/dropped: the probe's own kernel report (libpcap's; dropped = ring full, packets the probe"
echo "never saw); CPU s: utime + stime of the probe's threads once it had drained; CPU s/Mpkt: per"
echo "million packets captured (received - dropped); records: nfprobe's IPFIX (-o) decoded by"
echo "collector-test, sum of packetDeltaCount against received - dropped"
echo "logs: $LOGDIR/"
