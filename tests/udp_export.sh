#!/usr/bin/env bash
# IPFIX over UDP: messages stay within --mtu, templates are re-sent every
# --template-refresh seconds, and --export-rate paces the records. Without
# --mtu, messages to a collector on loopback (MTU 65536) are 8192 bytes at
# most and larger than an Ethernet datagram. Checked on the wire with tshark
# (Wireshark's IPFIX dissector) and with collector-test.
set -u
. "$(dirname "$0")/lib.sh"

command -v tshark > /dev/null || { echo "# tshark not installed: skipped"; exit 77; }
export DEBIAN_FRONTEND=noninteractive

pcap="$DATA/1kxun.pcap"
read -r _ _ records < <(expected_totals "$EXPECTED/1kxun.pcap.flows")
port=$(free_port udp)
start_collector udp "$port" "$work/records.jsonl" --seq-check
start_tshark "$port" "$work/wire.pcapng"

# 164 records at 100 per second: about 1.6 s, so a 0.25 s refresh re-sends
# the templates several times; 512-byte messages hold 6 IPv4 records.
start=$SECONDS
"$NFPROBE" -r "$pcap" -q -c "udp://127.0.0.1:$port" --mtu 512 --template-refresh 0.25 \
    --export-rate 100 --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER \
    2> "$work/nfprobe.err" || not_ok "nfprobe failed: $(head -3 "$work/nfprobe.err")"
elapsed=$((SECONDS - start))
wait_for_records "$work/records.jsonl" "$records" 10
stop_collectors
stop_tshark

check "all $records records arrive" test "$(grep -vc '"_options"' "$work/records.jsonl")" -eq "$records"
check "no sequence gap" grep -q "^sequence gaps: 0$" "$work/records.jsonl.err"
check "--export-rate 100: $records records take at least 1 s (took ${elapsed} s)" test "$elapsed" -ge 1

tshark -r "$work/wire.pcapng" -Y "udp.dstport == $port" -T fields -e udp.length -e cflow.template_id \
    -e cflow.flowset_id -d "udp.port==$port,cflow" > "$work/wire.txt" 2> /dev/null
largest=$(awk '{ if ($1 - 8 > m) m = $1 - 8 } END { print m + 0 }' "$work/wire.txt")
check "--mtu 512: every message fits (largest $largest bytes)" test "$largest" -le 512
check "--mtu 512: messages are filled (largest $largest bytes > 400)" test "$largest" -gt 400
# Template sets have flowset id 2 (data) / 3 (options): count messages carrying one.
template_messages=$(awk -F'\t' '$3 ~ /(^|,)2(,|$)/' "$work/wire.txt" | wc -l)
check "--template-refresh 0.25: templates sent $template_messages times (at least 4)" test "$template_messages" -ge 4
check "tshark finds no missing template or malformed message" \
    bash -c "! tshark -r '$work/wire.pcapng' -Y 'udp.dstport == $port' -d 'udp.port==$port,cflow' -V 2>&1 | grep -qi 'no template found\|malformed'"

# Default message size: the route's MTU (loopback: 65536), capped at 8192.
# A plain UDP socket receives the datagrams and writes each one's size and
# the length its IPFIX header gives.
port=$(free_port udp)
python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("127.0.0.1", int(sys.argv[1])))
print("listening", file=sys.stderr, flush=True)
while True:
    d = s.recv(65535)
    print(len(d), int.from_bytes(d[2:4], "big"))
' "$port" > "$work/auto.sizes" 2> "$work/auto.sizes.err" &
receiver=$!
wait_for_line "$work/auto.sizes.err" "listening" 10 || fail_setup "the UDP receiver did not start"
"$NFPROBE" -r "$pcap" -c "udp://127.0.0.1:$port" \
    --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER \
    2> "$work/auto.err" || not_ok "nfprobe (default --mtu) failed: $(head -3 "$work/auto.err")"
sent=$(sed -n 's/.*export udp:[^ ]*: \([0-9]*\) messages.*/\1/p' "$work/auto.err")
deadline=$(deadline_in 10)
until [ "$(wc -l < "$work/auto.sizes")" -ge "${sent:-1}" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
kill "$receiver" 2> /dev/null
wait "$receiver" 2> /dev/null
largest=$(sort -n "$work/auto.sizes" | tail -1 | cut -d' ' -f1)
check "default --mtu: all ${sent:-?} messages arrive" test "$(wc -l < "$work/auto.sizes")" -eq "${sent:-0}"
check "default --mtu on loopback: messages up to 8192 bytes (largest ${largest:-none})" \
    test "${largest:-99999}" -le 8192
check "default --mtu on loopback: larger than an Ethernet datagram (largest ${largest:-none} > 1472)" \
    test "${largest:-0}" -gt 1472
check "default --mtu: each datagram is one whole IPFIX message" \
    awk '$1 != $2 { exit 1 }' "$work/auto.sizes"

finish
