#!/usr/bin/env bash
# Every way a collector can fail, one after another (README, "When the
# collector fails"). For each: nfprobe meters every packet, its memory stays
# bounded, the loss is counted and reported (export line, exit 1 when
# records were lost), and delivery resumes once the collector is back.
#   1. UDP, port unreachable (ICMP errors): NetFlow v5 so that a plain
#      socket counts what arrives (no templates to wait for); records
#      arriving + records counted dropped = records sent.
#   2. TCP, reset mid-message by a collector with a small receive buffer:
#      what it had not acknowledged is sent again on the next connection;
#      lost uncounted at most what its kernel acknowledged and threw away.
#   3. TCP, a collector that accepts and never reads (send buffer full),
#      on a flood of 200,000 flows: nfprobe's memory stays under its bound,
#      it gives up on the connection after the send timeout, counts what it
#      drops, and delivers again to a collector that reads.
#   4. TLS, the collector's certificate expired: refused, counted; a valid
#      certificate on the same port and delivery resumes.
#   5. DNS: the collector's name stops resolving (a hosts file in a mount
#      namespace of the test, no real DNS) while the collector moves; when
#      the name resolves again, to the new address, delivery resumes.
# TCP refused (collector down at start, back later) and a TCP/TLS collector
# restarted mid-run: tests/tcp_export.sh and tests/tls_export.sh.
set -u
. "$(dirname "$0")/lib.sh"

pcap="$top_srcdir/samples/sample.pcap"
FAKE="$TOOLS/fake_collector.py"
# The records an export line counts sent and dropped, and the packets seen.
# The collector is back: wait for nfprobe, then for the records it counted
# sent; sets rc, got, sent and dropped.
resume_with_collector() {   # jsonl nfprobe-err seconds
    start_collector tcp "$port" "$1"
    rc=0; wait $probe || rc=$?
    wait_for_records "$1" "$(export_sent "$2")" "$3"
    stop_collectors
    got=$(grep -vc '"_options"' "$1")
    sent=$(export_sent "$2") dropped=$(export_dropped "$2")
}
export_sent() { sed -nE 's/^nfprobe: export [^ ]+: [0-9]+ messages, ([0-9]+) records sent.*/\1/p' "$1" | tail -1; }
export_dropped() { sed -nE 's/^nfprobe: export [^ ]+: .*, ([0-9]+) records dropped$/\1/p' "$1" | tail -1; }
packets_seen() { sed -nE 's/^nfprobe: packets: ([0-9]+) seen.*/\1/p' "$1" | tail -1; }
all_packets=$("$NFPROBE" -r "$pcap" --no-dissect -o /dev/null 2>&1 | sed -nE 's/^nfprobe: packets: ([0-9]+) seen.*/\1/p')
[ -n "$all_packets" ] || fail_setup "nfprobe does not run: $NFPROBE"

# ---- 1. UDP: port unreachable ---------------------------------------------------
v5_want=$("$NFPROBE" -r "$pcap" --no-dissect -V 5 -o "$work/v5.bin" 2>&1 | sed -nE 's/^nfprobe: export [^ ]+: [0-9]+ messages, ([0-9]+) records sent.*/\1/p')
port=$(free_port udp)
"$NFPROBE" -r "$pcap" --no-dissect -V 5 -c "udp://127.0.0.1:$port" --export-rate 150 \
    > /dev/null 2> "$work/udp.err" &
probe=$!
if wait_for_line "$work/udp.err" "port unreachable (ICMP)" 20; then ok "UDP: nfprobe warns of the ICMP port unreachable"
else not_ok "UDP: no warning: $(head -3 "$work/udp.err")"; fi
python3 "$FAKE" v5 "$port" > "$work/v5.out" 2> "$work/v5.err" &
listener=$!
collector_pids+=($listener)
wait_for_line "$work/v5.err" "^listening" 10 || fail_setup "v5 listener did not start"
rc=0; wait $probe || rc=$?
kill -TERM $listener; wait $listener 2> /dev/null
read -r _ got _ datagrams _ first_after < "$work/v5.out"
sent=$(export_sent "$work/udp.err") dropped=$(export_dropped "$work/udp.err")
echo "# UDP: $dropped records counted lost, $got arrived; the first datagram $first_after s after the collector listened"
check "UDP: records lost while unreachable are counted ($dropped)" test "${dropped:-0}" -gt 0
check "UDP: delivery resumed ($got records arrived)" test "${got:-0}" -gt 0
check "UDP: records arrived = records counted sent ($got, $sent)" test "$got" = "$sent"
check "UDP: sent + dropped = $v5_want, every record accounted for" test $((sent + dropped)) -eq "$v5_want"
check "UDP: exit 1 and the loss reported" test "$rc" -eq 1 -a -n "$(grep "^nfprobe: $dropped flow records could not be delivered" "$work/udp.err")"
check "UDP: every packet metered ($(packets_seen "$work/udp.err") of $all_packets)" test "$(packets_seen "$work/udp.err")" = "$all_packets"

# ---- 2. TCP: reset mid-message --------------------------------------------------
want=$("$NFPROBE" -r "$pcap" --no-dissect -o "$work/tcp.ipfix" 2>&1 | sed -nE 's/^nfprobe: export [^ ]+: [0-9]+ messages, ([0-9]+) records sent.*/\1/p')
port=$(free_port tcp)
python3 "$FAKE" reset "$port" 3000 > "$work/reset.out" 2> "$work/reset.err" &
collector_pids+=($!)
wait_for_line "$work/reset.err" "^listening" 10 || fail_setup "resetting collector did not start"
"$NFPROBE" -r "$pcap" --no-dissect -c "tcp://127.0.0.1:$port" --export-rate 100 --drain-timeout 30 \
    > /dev/null 2> "$work/tcp.err" &
probe=$!
wait_for_line "$work/reset.out" "^reset after" 20 || fail_setup "the collector did not reset"
resume_with_collector "$work/tcp.jsonl" "$work/tcp.err" 10
dups=$(grep -v '"_options"' "$work/tcp.jsonl" | sort | uniq -d | wc -l)
echo "# TCP reset: $got of $want records arrived, $dropped counted lost, $((want - got - dropped)) lost uncounted"
check "TCP reset: reconnected" grep -q "collector tcp://127.0.0.1:$port: connected" "$work/tcp.err"
check "TCP reset: delivery resumed, exit $rc" test "$got" -gt 0 -a "$rc" -eq 0
check "TCP reset: no record twice" test "$dups" -eq 0
# What the collector's kernel acknowledged but the collector never read is
# gone (no application-level acknowledgement in IPFIX): its receive buffer
# (4.5 KiB) and the message it was reading, a few dozen records.
check "TCP reset: lost uncounted at most 150 records ($((want - got - dropped)))" \
    test $((want - got - dropped)) -ge 0 -a $((want - got - dropped)) -le 150

# ---- 3. TCP: a collector that never reads ---------------------------------------------------
synthetic_pcap "$work/flood.pcap" 600000 200000 7 20 || fail_setup "cannot write the flood capture"
flood_want=$("$NFPROBE" -r "$work/flood.pcap" --no-dissect --biflow --max-flows 1000 -o /dev/null 2>&1 | sed -nE 's/^nfprobe: export [^ ]+: [0-9]+ messages, ([0-9]+) records sent.*/\1/p')
port=$(free_port tcp)
python3 "$FAKE" stall "$port" > "$work/stall.out" 2> "$work/stall.err" &
stall=$!
collector_pids+=($stall)
wait_for_line "$work/stall.err" "^listening" 10 || fail_setup "stalling collector did not start"
queue=$((4 << 20))
/usr/bin/time -f 'maxrss %M' "$NFPROBE" -r "$work/flood.pcap" --no-dissect --biflow --max-flows 1000 \
    -c "tcp://127.0.0.1:$port" --queue-size "$queue" --drain-timeout 60 --stats 1 > /dev/null 2> "$work/stall.nf" &
probe=$!
# The send buffer fills, the send times out: nfprobe gives the connection up.
if wait_for_line "$work/stall.nf" "queueing records and retrying" 30; then ok "stalled collector: nfprobe gives the connection up"
else not_ok "stalled collector: no give-up: $(tail -3 "$work/stall.nf")"; fi
kill -TERM $stall; wait $stall 2> /dev/null
resume_with_collector "$work/stall.jsonl" "$work/stall.nf" 20
behind=$(sed -nE 's/^nfprobe: export: ([0-9]+) flow records lost: the exporter fell behind.*/\1/p' "$work/stall.nf" | tail -1)
rss=$(sed -nE 's/^maxrss ([0-9]+)$/\1/p' "$work/stall.nf")
echo "# stalled collector: $got of $flood_want records arrived, $dropped dropped by the queue, ${behind:-0} lost behind the exporter, $((flood_want - got - dropped - ${behind:-0})) uncounted; max RSS $rss KiB"
check "stalled collector: delivery resumed ($got records)" test "$got" -gt 0
check "stalled collector: the loss is counted and reported (exit $rc)" test "$rc" -eq 1 -a "$((dropped + ${behind:-0}))" -gt 0
check "stalled collector: every packet metered" test "$(packets_seen "$work/stall.nf")" = 600000
check "stalled collector: lost uncounted at most 1,000 records ($((flood_want - got - dropped - ${behind:-0})))" \
    test $((flood_want - got - dropped - ${behind:-0})) -ge 0 -a $((flood_want - got - dropped - ${behind:-0})) -le 1000
if "$top_builddir/config.status" --config 2> /dev/null | grep -q -- '--enable-sanitizers'; then
    echo "# stalled collector: resident memory $rss KiB (sanitizer build: not held to the bound)"
else
    bound=$((32 * 1024 + 1000 + queue / 1024 + 8 * 1024))
    check "stalled collector: resident memory $rss KiB <= $bound KiB (32 MiB + --max-flows KiB + --queue-size + 8 MiB socket buffer)" \
        test "$rss" -le "$bound"
fi

# ---- 4. DNS: the collector's name stops resolving, then resolves elsewhere ------------------------
# nfprobe runs in a mount namespace of its own where /etc/hosts is a file of
# the test and /etc/nsswitch.conf says "files" only: no real DNS is asked.
if [ "$(id -u)" -ne 0 ] || ! command -v unshare > /dev/null; then
    echo "# not root or no unshare: the DNS case is skipped"
    finish; exit
fi
name=collector.nfprobe.test
printf '127.0.0.1 %s\n' "$name" > "$work/hosts"
printf 'hosts: files\n' > "$work/nsswitch.conf"
port=$(free_port tcp)
start_collector tcp "$port" "$work/dns1.jsonl"
first=${collector_pids[-1]}
unshare -m sh -c 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/nsswitch.conf && shift 2 && exec "$@"' sh \
    "$work/hosts" "$work/nsswitch.conf" "$NFPROBE" -r "$pcap" --no-dissect -c "tcp://$name:$port" \
    --export-rate 100 --drain-timeout 30 > /dev/null 2> "$work/dns.err" &
probe=$!
wait_for_records "$work/dns1.jsonl" 50 20
# The name stops resolving (the file is rewritten in place: the bind mount
# shows the same inode) and the collector goes away.
: > "$work/hosts"
kill -TERM "$first"; wait "$first" 2> /dev/null
collector_pids=()
if wait_for_line "$work/dns.err" "cannot resolve '$name'" 20; then ok "DNS: nfprobe says the name does not resolve"
else not_ok "DNS: no message: $(tail -3 "$work/dns.err")"; fi
# It resolves again, to where the collector now listens.
"$COLLECTOR" -l "tcp://127.0.0.2:$port" > "$work/dns2.jsonl" 2> "$work/dns2.err" &
collector_pids+=($!)
wait_for_line "$work/dns2.err" "listening on" 10 || fail_setup "collector on 127.0.0.2 did not start: $(cat "$work/dns2.err")"
printf '127.0.0.2 %s\n' "$name" > "$work/hosts"
back=$SECONDS
rc=0; wait $probe || rc=$?
sent=$(export_sent "$work/dns.err") dropped=$(export_dropped "$work/dns.err")
wait_for_records "$work/dns2.jsonl" $((want - dropped - $(grep -vc '"_options"' "$work/dns1.jsonl"))) 10
stop_collectors
got1=$(grep -vc '"_options"' "$work/dns1.jsonl") got2=$(grep -vc '"_options"' "$work/dns2.jsonl")
echo "# DNS: $got1 records before, $got2 after the move, $dropped counted lost; nfprobe done $((SECONDS - back)) s after the name resolved again"
check "DNS: reconnected to the new address" grep -q "resolves again" "$work/dns.err"
check "DNS: delivery resumed ($got2 records at 127.0.0.2)" test "$got2" -gt 0
check "DNS: $got1 + $got2 received + $dropped dropped = $want" test $((got1 + got2 + dropped)) -eq "$want"
check "DNS: every packet metered" test "$(packets_seen "$work/dns.err")" = "$all_packets"

finish
