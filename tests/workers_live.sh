#!/usr/bin/env bash
# Live capture with two workers (--workers 2: a socket each in one kernel
# fanout group). Two network namespaces made for this run, joined by a veth
# pair; tcpreplay sends a known traffic mix (tests/tools/make_mix_pcap.py: 50
# flows over IPv4 and IPv6 between many address pairs, TCP, UDP and ICMP, and
# UDP flows whose big datagram is cut in IP fragments, IPv4 and IPv6) from
# one namespace; nfprobe captures on the other end. Frames go to a MAC no
# host has: no stack answers them, only the capture sees them.
# Checks: every frame sent is captured (kernel counters, summed over the
# sockets, and nfprobe's own count), none dropped; both workers received
# packets; each flow is exported exactly once, with exactly the packets and
# bytes per direction that nfprobe reading the same pcap offline counts
# (fragments counted to their flow, whichever worker had it).
# Readiness without guessed sleeps: nfprobe's "capturing on" line, then its
# --stats lines until it has seen every frame tcpreplay sent.
# Needs root, `ip netns` and tcpreplay; skipped (77) otherwise.
set -u
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "# not root: skipped"; exit 77; }
command -v tcpreplay > /dev/null || { echo "# tcpreplay not installed: skipped"; exit 77; }
ip netns list > /dev/null 2>&1 || { echo "# ip netns unavailable: skipped"; exit 77; }

tag=nfpw$$
send_ns=${tag}s cap_ns=${tag}c
pids=()
teardown() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null; done
    wait 2> /dev/null
    ip netns del "$send_ns" 2> /dev/null
    ip netns del "$cap_ns" 2> /dev/null
    cleanup
}
trap teardown EXIT
ip netns add "$send_ns" && ip netns add "$cap_ns" || fail_setup "ip netns add failed"
ip link add vs netns "$send_ns" type veth peer name vc netns "$cap_ns" || fail_setup "cannot create veth"
for ns in "$send_ns" "$cap_ns"; do
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || fail_setup "cannot disable IPv6 in $ns"
done
ip -n "$send_ns" link set vs up && ip -n "$cap_ns" link set vc up || fail_setup "cannot bring the veth up"

python3 "$TOOLS/make_mix_pcap.py" "$work/mix.pcap" || fail_setup "cannot write the traffic mix"
sent=$("$NFPROBE" -r "$work/mix.pcap" --no-dissect --json -q | python3 -c '
import json, sys
print(sum(r["src2dst_packets"] + r["dst2src_packets"] for r in map(json.loads, sys.stdin)))')
"$NFPROBE" -r "$work/mix.pcap" --no-dissect --idle-timeout 3600 -q > "$work/offline.json" || fail_setup "offline run failed"

ip netns exec "$cap_ns" "$NFPROBE" -i vc --workers 2 --no-dissect --idle-timeout 3600 --stats 0.2 \
    > "$work/live.json" 2> "$work/nfprobe.err" &
nfprobe_pid=$!
pids+=($nfprobe_pid)
if wait_for_line "$work/nfprobe.err" "capturing on vc" 20; then ok "nfprobe says it is capturing on vc"
else not_ok "nfprobe did not say 'capturing on vc': $(head -3 "$work/nfprobe.err")"; exit 1; fi

ip netns exec "$send_ns" tcpreplay -q -i vs "$work/mix.pcap" > "$work/tcpreplay.out" 2>&1 \
    || fail_setup "tcpreplay failed: $(cat "$work/tcpreplay.out")"

seen_all() { tail -n 50 "$work/nfprobe.err" | grep -q "packets: $sent seen"; }
deadline=$(deadline_in 60)
until seen_all; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
check "nfprobe saw all $sent frames sent" seen_all
kill -TERM "$nfprobe_pid"
wait "$nfprobe_pid"
check "nfprobe exits 0 after SIGTERM" test $? -eq 0

last_kernel=$(grep "^nfprobe: kernel: " "$work/nfprobe.err" | tail -1)
check "kernel: $sent received, 0 dropped ($last_kernel)" \
    grep -q "^nfprobe: kernel: $sent received, 0 dropped, 0 dropped by interface$" <(echo "$last_kernel")
for w in 0 1; do
    line=$(grep "^nfprobe: kernel (worker $w): " "$work/nfprobe.err" | tail -1)
    check "worker $w's socket received packets ($line)" \
        awk -v l="$line" 'BEGIN { split(l, f, " "); exit !(f[5] > 0) }'
done
check "each flow exported once, with the offline run's packets and bytes" \
    python3 - "$work/offline.json" "$work/live.json" <<'PY'
import collections, json, sys
COUNTS = ("src2dst_packets", "dst2src_packets", "src2dst_bytes", "dst2src_bytes",
          "src2dst_l2_bytes", "dst2src_l2_bytes", "src2dst_tcp_flags", "dst2src_tcp_flags")
def load(path):
    flows = collections.defaultdict(list)
    for r in map(json.loads, open(path)):
        key = (r["protocol"], r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"])
        flows[key].append(tuple(r.get(k) for k in COUNTS))
    return flows
off, live = load(sys.argv[1]), load(sys.argv[2])
bad = [k for k in off.keys() | live.keys() if len(live.get(k, [])) != 1 or live.get(k) != off.get(k)]
for k in bad[:10]:
    print("flow", k, "offline", off.get(k), "live", live.get(k))
print(len(off), "flows offline,", len(live), "live")
sys.exit(1 if bad or len(off) != 50 else 0)
PY

# Kernel drops, per worker: nfprobe is stopped (SIGSTOP) while tcpreplay sends
# more frames than the two sockets' rings (--capture-buffer 1: 1 MiB each)
# hold. The drops each socket's kernel counters show are in --stats per worker
# and in that worker's options record (template 263, scoped by
# meteringProcessId), and every frame sent is metered or counted dropped.
synthetic_pcap "$work/burst.pcap" 60000 2000 5 1 || fail_setup "cannot write the burst capture"
burst=60000
ip netns exec "$cap_ns" "$NFPROBE" -i vc --workers 2 --capture-buffer 1 --no-dissect --stats 0.2 \
    -o "$work/burst.ipfix" > /dev/null 2> "$work/burst.err" &
nfprobe_pid=$!
pids+=($nfprobe_pid)
wait_for_line "$work/burst.err" "capturing on vc" 20 || fail_setup "nfprobe did not start: $(head -3 "$work/burst.err")"
kill -STOP "$nfprobe_pid"
ip netns exec "$send_ns" tcpreplay -q --topspeed -i vs "$work/burst.pcap" > "$work/tcpreplay.out" 2>&1 \
    || fail_setup "tcpreplay failed: $(cat "$work/tcpreplay.out")"
kill -CONT "$nfprobe_pid"
# Done when the kernel's counters (dropped frames included) have every frame
# and nfprobe has metered all that were not dropped.
all_accounted() {
    tail -n 50 "$work/burst.err" | awk -v sent=$burst '
        /^nfprobe: kernel: / { recv = $3; drop = $5 }
        /^nfprobe: packets: / { seen = $3 }
        END { exit !(recv == sent && seen + drop == sent) }'
}
deadline=$(deadline_in 60)
until all_accounted; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
check "burst: every frame metered or counted dropped ($(grep '^nfprobe: kernel: ' "$work/burst.err" | tail -1))" all_accounted
kill -TERM "$nfprobe_pid"
wait "$nfprobe_pid"
check "burst: nfprobe exits 0" test $? -eq 0
"$COLLECTOR" -r "$work/burst.ipfix" 2> /dev/null | grep '"_tid":263' > "$work/workers.jsonl"
check "burst: each worker's last options record has its socket's drops and its packets" \
    python3 - "$work/workers.jsonl" "$work/burst.err" "$burst" <<'PY'
import json, re, sys
last = {}
for r in map(json.loads, open(sys.argv[1])):
    last[r["meteringProcessId"]] = r
kernel = {}
for line in open(sys.argv[2]):
    m = re.match(r"nfprobe: kernel \(worker (\d)\): (\d+) received, (\d+) dropped", line)
    if m:
        kernel[int(m[1])] = (int(m[2]), int(m[3]))
sent = int(sys.argv[3])
for w in sorted(last):
    r = last[w]
    print("worker", w, "record: packets", r["packetTotalCount"], "dropped", r["droppedPacketTotalCount"],
          "kernel:", kernel.get(w))
drops = sum(r["droppedPacketTotalCount"] for r in last.values())
metered = sum(r["packetTotalCount"] for r in last.values())
ok = (sorted(last) == [0, 1] and sorted(kernel) == [0, 1] and drops > 0 and metered + drops == sent
      and all(last[w]["droppedPacketTotalCount"] == kernel[w][1] and
              last[w]["packetTotalCount"] == kernel[w][0] - kernel[w][1] for w in (0, 1)))
sys.exit(0 if ok else 1)
PY

# A stop loses nothing the kernel had received: nfprobe is stopped (SIGSTOP)
# while tcpreplay sends the mix, so the frames wait in the rings; SIGTERM
# comes before SIGCONT, so the probe is told to stop before it reads them.
# Every frame sent must be in its records or counted on its kernel line as
# come after the stop ("not read from the ring": the kernel may still be
# handing the last frames over when the stop comes), for one worker and two.
for n in 1 2; do
    ip netns exec "$cap_ns" "$NFPROBE" -i vc --workers $n --no-dissect --idle-timeout 3600 \
        > "$work/stop$n.json" 2> "$work/stop$n.err" &
    nfprobe_pid=$!
    pids+=($nfprobe_pid)
    wait_for_line "$work/stop$n.err" "capturing on vc" 20 || fail_setup "nfprobe did not start: $(head -3 "$work/stop$n.err")"
    kill -STOP "$nfprobe_pid"
    ip netns exec "$send_ns" tcpreplay -q -i vs "$work/mix.pcap" > "$work/tcpreplay.out" 2>&1 \
        || fail_setup "tcpreplay failed: $(cat "$work/tcpreplay.out")"
    kill -TERM "$nfprobe_pid"
    kill -CONT "$nfprobe_pid"
    wait "$nfprobe_pid"
    check "stop, --workers $n: nfprobe exits 0" test $? -eq 0
    metered=$(python3 -c '
import json, sys
print(sum(r["src2dst_packets"] + r["dst2src_packets"] for r in map(json.loads, open(sys.argv[1]))))' "$work/stop$n.json")
    kernel=$(grep '^nfprobe: kernel: ' "$work/stop$n.err")
    unread=$(sed -nE 's/.*, ([0-9]+) not read from the ring$/\1/p' <<< "$kernel")
    check "stop, --workers $n: $metered frames in the records + ${unread:-0} not read = $sent sent ($kernel)" \
        test $((metered + ${unread:-0})) -eq "$sent"
done
finish
