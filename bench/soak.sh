#!/usr/bin/env bash
# bench/soak.sh — a long live run (issue 16; a benchmark, never in make
# check; root only): nfprobe captures on one end of a veth pair in a network
# namespace of the script's own for DURATION seconds while tcpreplay sends
# traffic of changing shape into the other end, and exports IPFIX over TCP to
# a collector (collector-test, in the namespace) that is stopped and started
# again every RESTART seconds.
#
#   sudo bash bench/soak.sh [-b BUILD] [-d DURATION] [-r RESTART]
#        defaults: build/, 3600 s, 120 s
#
# Traffic, in turns until the time is up: a flood of new flows (gen_pcap:
# 200,000 conversations) at 20,000 packets/s; the shared real captures
# (DPI: TLS, QUIC, DNS, HTTP, ...) at 2,000 packets/s; 40 s of silence, so
# that flows idle out and the cache shrinks. nfprobe: --max-flows 20000
# --idle-timeout 10 --biflow (one record per flow, the same unit everywhere),
# DPI on, --stats 10.
#
# Reported (and in OUT/soak-DATE/: rss.csv, nfprobe.err, summary.txt):
#   - resident memory every 10 s, and its trend after the warm-up (the first
#     quarter): least-squares slope in KiB per hour and the growth it
#     predicts over the run; "flat" when that is under 2 MiB;
#   - records: exported by the meter = delivered to the collectors (flowId
#     once) + counted dropped by the transport + counted lost behind the
#     exporter + uncounted (what a stopped collector's kernel had acknowledged
#     but the collector had not read: IPFIX has no application-level
#     acknowledgement); and how many arrived twice (a message acknowledged
#     just before a break is sent again);
#   - packets: sent by tcpreplay, received and dropped by the kernel, metered.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build duration=3600 restart=120
while getopts b:d:r: o; do
    case $o in
        b) build=$(cd "$OPTARG" && pwd) ;;
        d) duration=$OPTARG ;;
        r) restart=$OPTARG ;;
        *) echo "usage: bench/soak.sh [-b BUILD] [-d SECONDS] [-r RESTART-SECONDS]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "soak.sh: needs root (namespace, veth, packet socket)" >&2; exit 1; }
command -v tcpreplay > /dev/null || { echo "soak.sh: needs tcpreplay" >&2; exit 1; }
NFPROBE=$build/nfprobe COLLECTOR=$build/collector-test/collector-test
data=${DATA:-$top/../shared/testdata/pcap}
out=${BENCH_OUT:-$top/bench/out}/soak-$(date -u +%Y%m%dT%H%M%S)
mkdir -p "$out"
NS=nfprobe-soak-$$
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2> /dev/null || true; done
    wait 2> /dev/null || true
    ip netns del "$NS" 2> /dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
in_ns() { ip netns exec "$NS" "$@"; }

# The traffic: a flood of flows, and the real captures (Ethernet ones).
"${CC:-cc}" -std=c11 -O2 -o "$out/gen_pcap" "$top/bench/gen_pcap.c"
"$out/gen_pcap" "$out/flood.pcap" 600000 200000 11 60 2> /dev/null
# Ethernet captures that tcpreplay reads to the end (some shared captures
# are damaged on purpose: tcpreplay stops inside them).
mapfile -t real < <(python3 - "$data"/*.pcap <<'PY'
import struct, sys
for path in sys.argv[1:]:
    b = open(path, "rb").read()
    if len(b) < 24 or b[:4] not in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        continue
    if struct.unpack("<I", b[20:24])[0] != 1:
        continue
    off, ok = 24, True
    while off + 16 <= len(b):
        incl, orig = struct.unpack("<II", b[off + 8:off + 16])
        if incl > 65000 or incl > orig or off + 16 + incl > len(b):
            ok = False
            break
        off += 16 + incl
    if ok and off == len(b):
        print(path)
PY
)

ip netns add "$NS"
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link add vsend type veth peer name vcap
# Big MTU: some real captures hold frames of segmentation offload (up to 64 KiB).
for dev in vsend vcap; do ip -n "$NS" link set "$dev" mtu 65000; done
for dev in lo vsend vcap; do ip -n "$NS" link set "$dev" up; done
port=4739

start_collector() {   # each run its own files, named by its start time
    local run
    run=$(date +%s%N)
    ip netns exec "$NS" "$COLLECTOR" -l "tcp://127.0.0.1:$port" > "$out/collector-$run.jsonl" \
        2> "$out/collector-$run.err" &
    collector=$!
    until grep -q "listening on" "$out/collector-$run.err" 2> /dev/null; do sleep 0.1; done
}
stop_collector() {   # it may be a child of the restarter, not ours: wait for it to go
    kill -TERM "$collector" 2> /dev/null || true
    while kill -0 "$collector" 2> /dev/null; do sleep 0.1; done
}
start_collector
ip netns exec "$NS" "$NFPROBE" -i vcap --biflow --max-flows 20000 --idle-timeout 10 --active-timeout 60 \
    -c "tcp://127.0.0.1:$port" --drain-timeout 30 --stats 10 > /dev/null 2> "$out/nfprobe.err" &
probe=$!
PIDS+=("$probe")
until grep -q "capturing on vcap" "$out/nfprobe.err" 2> /dev/null; do sleep 0.1; done

# Memory every 10 s, as "seconds,rss_kib".
( start=$SECONDS
  while kill -0 "$probe" 2> /dev/null; do
      rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$probe/status" 2> /dev/null) || break
      echo "$((SECONDS - start)),$rss"
      sleep 10
  done ) > "$out/rss.csv" &
PIDS+=($!)

# The collector stops and comes back every $restart seconds (5 s away).
( while :; do
      sleep "$restart"
      stop_collector
      sleep 5
      start_collector
      echo "$collector" > "$out/collector.pid"
  done ) &
restarter=$!
PIDS+=($restarter)

sent=0
replay() {   # tcpreplay options and files: adds what it sent to $sent
    local o n
    o=$(in_ns tcpreplay -i vsend "$@" 2>&1) || true
    printf '%s\n' "$o" >> "$out/tcpreplay.log"
    n=$(sed -nE 's/^Actual: ([0-9]+) packets.*/\1/p' <<< "$o")
    sent=$((sent + ${n:-0}))
}
end=$((SECONDS + duration))
turn=0
while [ $SECONDS -lt "$end" ]; do
    turn=$((turn + 1))
    case $((turn % 3)) in
        1) replay --pps 20000 "$out/flood.pcap" ;;
        2) for f in "${real[@]}"; do replay --pps 2000 "$f"; done ;;
        0) sleep 40 ;;
    esac
    echo "soak: turn $turn, $((end - SECONDS)) s left, $sent packets sent" >&2
done

# The end: flows idle out, the collector is up (not restarted any more),
# nfprobe exports everything and stops.
kill -TERM "$restarter"; wait "$restarter" 2> /dev/null || true
[ -s "$out/collector.pid" ] && collector=$(cat "$out/collector.pid")
kill -0 "$collector" 2> /dev/null || start_collector
sleep 15
kill -TERM "$probe"; wait "$probe" || true
sleep 2
stop_collector

python3 - "$out" "$sent" "$duration" <<'PY' | tee "$out/summary.txt"
import collections, glob, json, re, sys
out, sent, duration = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ids = collections.Counter()
for path in glob.glob(out + "/collector-*.jsonl"):
    for line in open(path):
        if '"_options"' not in line:
            ids[json.loads(line)["flowId"]] += 1
delivered, unique = sum(ids.values()), len(ids)
err = open(out + "/nfprobe.err").read()
def last(pattern, default=0):
    m = re.findall(pattern, err, re.M)
    return int(m[-1]) if m else default
exported = last(r"^nfprobe: flows: .* (\d+) records exported")
tsent = last(r"^nfprobe: export tcp://\S+: \d+ messages, (\d+) records sent")
dropped = last(r"^nfprobe: export tcp://\S+: .*, (\d+) records dropped")
behind = last(r"^nfprobe: export: (\d+) flow records lost: the exporter fell behind")
seen = last(r"^nfprobe: packets: (\d+) seen")
metered = last(r"^nfprobe: packets: \d+ seen, (\d+) metered")
kr = last(r"^nfprobe: kernel: (\d+) received")
kd = last(r"^nfprobe: kernel: \d+ received, (\d+) dropped")
rows = [tuple(map(int, l.split(","))) for l in open(out + "/rss.csv") if l.strip()]
warm = [r for r in rows if r[0] >= rows[-1][0] / 4]
n = len(warm)
mx = sum(t for t, _ in warm) / n
my = sum(v for _, v in warm) / n
sxx = sum((t - mx) ** 2 for t, _ in warm) or 1
slope = sum((t - mx) * (v - my) for t, v in warm) / sxx * 3600     # KiB per hour
growth = slope * (warm[-1][0] - warm[0][0]) / 3600
print("duration %d s, %d RSS samples; after warm-up (%d samples): min %d max %d KiB, slope %.1f KiB/h, "
      "predicted growth over the run %.0f KiB: %s" % (duration, len(rows), n, min(v for _, v in warm),
      max(v for _, v in warm), slope, growth, "flat" if growth < 2048 else "NOT FLAT"))
print("packets: %d sent by tcpreplay, %d received and %d dropped by the kernel, %d seen, %d metered"
      % (sent, kr, kd, seen, metered))
unc = exported - unique - dropped - behind
print("records: %d exported = %d delivered + %d dropped (counted) + %d lost behind the exporter (counted) + %d uncounted;"
      " %d delivered twice (sent again after a break)" % (exported, unique, dropped, behind, unc, delivered - unique))
print("transport: %d records counted sent, %d delivered" % (tsent, delivered))
PY
echo "soak.sh: results in $out" >&2
