#!/usr/bin/env bash
# nfprobe -> Wireshark's IPFIX dissector (tshark 4.0). The UDP export of a few
# captures (IPv4, IPv6, ICMPv6, QinQ) and of a small synthetic capture (many
# messages) is captured on lo with tshark while collector-test receives it,
# then decoded with `tshark -d udp.port==PORT,cflow`. Checks:
#   - every exported datagram was captured (frames = nfprobe's messages);
#   - tshark's expert info has no warnings or errors (no malformed packet),
#     and -V shows no "no template found"/"missing template";
#   - every data record of templates 256/257 decodes with exactly the expected
#     field names (Flow Id ... Biflow Direction), and per observation domain
#     (one per nfprobe run) the record count equals nfprobe's "records sent"
#     and the expected one-way records, and the summed Packets/Octets equal the
#     expected totals (tests/expected/*.flows; the synthetic capture's .meta);
#   - the options record (template 258) decodes, its FlowsExp
#     (exportedFlowRecordTotalCount) equals the records sent and its
#     Permanent Packets (packetTotalCount) nfprobe's "packets: N seen".
# Note: tshark 4.0 prints nothing for `-q -z expert,warn` unless it builds the
# protocol tree, hence `-Y frame`.
set -u
. "$(dirname "$0")/lib.sh"

command -v tshark > /dev/null || { echo "# tshark not installed: skipped"; exit 77; }
export DEBIAN_FRONTEND=noninteractive

CAPTURES=${INTEROP_TSHARK_CAPTURES:-"1kxun.pcap http_ipv6.pcap icmp6-ping.pcap q-in-q.pcap"}

port=$(free_port udp)
start_collector udp "$port" "$work/collector.jsonl"   # something must receive: no ICMP unreachable

start_tshark "$port" "$work/all.pcapng"

declare -A want_p want_b want_r pkts_of
runs=() messages=0 i=0
export_one() {   # name pcap packets bytes records
    local name=$1 rc=0 m
    i=$((i + 1))
    "$NFPROBE" -r "$2" -O "$i" --export-rate 20000 -c "udp://127.0.0.1:$port" \
        --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER \
        > /dev/null 2> "$work/$i.err" || rc=$?
    [ "$rc" -eq 0 ] || { not_ok "$name: nfprobe exit $rc: $(head -3 "$work/$i.err")"; return; }
    m=$(sed -n 's/.*export udp:[^ ]*: \([0-9]*\) messages, \([0-9]*\) records sent.*/\1 \2/p' "$work/$i.err")
    read -r m sent <<< "$m"
    messages=$((messages + m))
    runs+=("$i:$name:$sent")
    want_p[$i]=$3 want_b[$i]=$4 want_r[$i]=$5
    pkts_of[$i]=$(sed -n 's/.*packets: \([0-9]*\) seen.*/\1/p' "$work/$i.err")
}

for name in $CAPTURES; do
    pcap="$DATA/$name" expected="$EXPECTED/$name.flows"
    [ -f "$pcap" ] || { not_ok "$name: no capture $pcap"; continue; }
    [ -f "$expected" ] || { not_ok "$name: no expected file $expected"; continue; }
    read -r p b r < <(expected_totals "$expected")
    export_one "$name" "$pcap" "$p" "$b" "$r"
done
syn="$work/synthetic.pcap"
if synthetic_pcap "$syn" 20000 1000 11 10; then
    export_one synthetic "$syn" "$(meta_value "$syn.meta" packets)" "$(meta_value "$syn.meta" ip_bytes)" \
        "$(meta_value "$syn.meta" flow_directions)"
else
    not_ok "synthetic: cannot build or run bench/gen_pcap.c"
fi

# Stop tshark once every datagram is in its file.
count_export_frames() {   # file
    tshark -r "$1" -Y "udp.dstport == $port" -T fields -e frame.number 2> /dev/null | wc -l
}
deadline=$((SECONDS + 30))
while :; do
    frames=$(count_export_frames "$work/all.pcapng")
    [ "$frames" -ge "$messages" ] && break
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
stop_tshark
tshark -r "$work/all.pcapng" -Y "udp.dstport == $port" -w "$work/export.pcapng" 2> /dev/null
frames=$(count_export_frames "$work/export.pcapng")
if [ "$frames" -eq "$messages" ]; then ok "tshark captured all $messages messages"
else not_ok "tshark captured $frames frames, nfprobe sent $messages messages"; fi

tshark -r "$work/export.pcapng" -d "udp.port==$port,cflow" -q -Y frame -z expert,warn > "$work/expert.txt" 2> /dev/null
if grep -Eq '^(Errors|Warns) \(' "$work/expert.txt"; then
    not_ok "tshark expert info has warnings or errors"; head -20 "$work/expert.txt" | sed 's/^/#   /'
else
    ok "tshark expert info: no warnings, no errors"
fi

tshark -r "$work/export.pcapng" -d "udp.port==$port,cflow" -V > "$work/decoded.txt" 2> /dev/null
python3 "$TOOLS/interop_check.py" tshark-records "$work/decoded.txt" > "$work/summary.txt"
if grep -q '^problem:' "$work/summary.txt"; then
    not_ok "tshark decodes every record with the expected field names ($(grep -c '^problem:' "$work/summary.txt") problems)"
    grep '^problem:' "$work/summary.txt" | head -15 | sed 's/^/#   /'
else
    ok "tshark decodes every record with the expected field names, no missing template"
fi

for run in "${runs[@]}"; do
    IFS=: read -r d name sent <<< "$run"
    line=$(grep "^domain $d " "$work/summary.txt")
    echo "# $name (domain $d): tshark: ${line#domain $d }; expected records ${want_r[$d]} packets ${want_p[$d]} octets ${want_b[$d]}; nfprobe sent $sent"
    read -r _ _ _ recs _ pk _ oc _ nopt _ fexp _ optp <<< "$line"
    if [ "${recs:-x}" = "$sent" ] && [ "$sent" = "${want_r[$d]}" ]; then ok "$name: tshark records = nfprobe's = expected ($sent)"
    else not_ok "$name: tshark decoded ${recs:-no} records, nfprobe sent $sent, expected ${want_r[$d]}"; fi
    if [ "${pk:-x}" = "${want_p[$d]}" ] && [ "${oc:-x}" = "${want_b[$d]}" ]; then ok "$name: tshark Packets/Octets sums = expected"
    else not_ok "$name: tshark sums ${pk:-?} packets ${oc:-?} octets, expected ${want_p[$d]} ${want_b[$d]}"; fi
    if [ "${nopt:-0}" -ge 1 ] && [ "$fexp" = "$sent" ] && [ "$optp" = "${pkts_of[$d]}" ]; then
        ok "$name: options record: exportedFlowRecordTotalCount $fexp, packetTotalCount $optp = packets seen"
    else
        not_ok "$name: options record: ${nopt:-0} decoded, FlowsExp $fexp (want $sent), Permanent Packets $optp (want ${pkts_of[$d]}, nfprobe's packets seen)"
    fi
done

# Layer 7 (dissection is on by default): ntop's elements (PEN 35632) and the
# RFC 6759 application names decode by name.
check "tshark names ntop's layer-7 fields (l7_proto_name, ssl_server_name, http_host, dns_query)" \
    bash -c "grep -q 'Layer 7 protocol name: TLS' '$work/decoded.txt' && grep -q 'SSL server name: ' '$work/decoded.txt' &&
             grep -q 'HTTP Host Name (IXIA Host Name): ' '$work/decoded.txt' && grep -q 'DNS query: ' '$work/decoded.txt'"
check "tshark decodes applicationId (engine 13) and the applicationName options data" \
    bash -c "grep -q 'Classification Engine ID: PANA-L7 (13)' '$work/decoded.txt' && grep -q 'ApplicationName: TLS' '$work/decoded.txt' &&
             grep -q 'Application Category Name: Web' '$work/decoded.txt'"

finish
