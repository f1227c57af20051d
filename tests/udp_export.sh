#!/usr/bin/env bash
# IPFIX over UDP: messages stay within --mtu, templates are re-sent every
# --template-refresh seconds, and --export-rate paces the records. Checked on
# the wire with tshark (Wireshark's IPFIX dissector) and with collector-test.
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

finish
