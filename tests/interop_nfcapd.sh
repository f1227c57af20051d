#!/usr/bin/env bash
# nfprobe -> nfcapd (nfdump 1.7): for a set of captures with odd link layers,
# fragments, IPv6 and ICMP, and for a synthetic capture of thousands of flows
# (bench/gen_pcap.c: IPv4+IPv6, TCP+UDP, exact totals in its .meta file), one
# nfprobe run exports IPFIX over UDP to a fresh nfcapd, which is then flushed
# (SIGTERM) and read back with nfdump. Checks, per capture:
#   - nfdump's total packets and bytes equal the expected totals (the sums of
#     both directions in tests/expected/<capture>.flows, computed from tshark;
#     nfdump's bytes are IP-level octets = octetDeltaCount);
#   - nfdump's flow count equals the number of one-way records (directions
#     with packets), and equals nfprobe's own "records sent";
#   - the records themselves (addresses, ports, packets, bytes) equal the
#     expected table's directions (real captures).
# Timeouts are beyond any capture's length: one flow per key, as expected.
set -u
. "$(dirname "$0")/lib.sh"

command -v nfcapd > /dev/null && command -v nfdump > /dev/null || { echo "# nfcapd/nfdump not installed: skipped"; exit 77; }

CAPTURES=${INTEROP_CAPTURES:-"1kxun.pcap 443-curl.pcap dns_fragmented.pcap http_ipv6.pcap q-in-q.pcap mpls-in-vlan.pcap pppoe.pcap linux_dlt_sll2.pcap icmp6-ping.pcap ip_fragmented_garbage.pcap vxlan.pcap gtp1_gn_normal_incl_fragmentation.pcap teredo.pcap"}

trap 'stop_nfcapd; cleanup' EXIT

# run_one NAME PCAP WANT_PACKETS WANT_BYTES WANT_RECORDS [EXPECTED.flows]
run_one() {
    local name=$1 pcap=$2 want_p=$3 want_b=$4 want_r=$5 expected=${6:-}
    local dir="$work/nfcapd.$name" port rc=0 drops0 drops1 sent got_p got_b got_r
    mkdir -p "$dir"
    port=$(free_port udp)
    nfcapd -w "$dir" -b 127.0.0.1 -p "$port" -t 3600 -B 4194304 -P "$dir/pid" -D > "$dir/nfcapd.log" 2>&1 ||
        { not_ok "$name: nfcapd did not start: $(head -3 "$dir/nfcapd.log")"; return; }
    wait_for_line "$dir/pid" . 10 || { not_ok "$name: nfcapd wrote no pid file"; return; }
    nfcapd_pid=$(cat "$dir/pid")
    wait_udp_bound "$port" 10 || { not_ok "$name: nfcapd not listening on $port"; stop_nfcapd; return; }

    drops0=$(udp_rcvbuf_errors)
    "$NFPROBE" -r "$pcap" --export-rate 20000 -c "udp://127.0.0.1:$port" \
        --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER \
        > /dev/null 2> "$dir/nfprobe.err" || rc=$?
    # nfcapd must have read every datagram before SIGTERM makes it write its file.
    wait_udp_drained "$port" 20 || echo "# $name: nfcapd's socket still has data queued"
    drops1=$(udp_rcvbuf_errors)
    stop_nfcapd
    if [ "$rc" -ne 0 ]; then
        not_ok "$name: nfprobe exit $rc: $(head -3 "$dir/nfprobe.err")"
        return
    fi
    sent=$(sed -n 's/.*export udp:[^:]*:[0-9]*: [0-9]* messages, \([0-9]*\) records sent.*/\1/p' "$dir/nfprobe.err")

    nfdump -R "$dir" -q -I > "$dir/stat.txt" 2>&1
    got_p=$(sed -n 's/^Packets: //p' "$dir/stat.txt")
    got_b=$(sed -n 's/^Bytes: //p' "$dir/stat.txt")
    got_r=$(sed -n 's/^Flows: //p' "$dir/stat.txt")
    echo "# $name: nfdump packets $got_p bytes $got_b flows $got_r; expected $want_p $want_b $want_r; nfprobe sent $sent records; UDP receive overruns during the run: $((drops1 - drops0))"
    if [ "$got_p" = "$want_p" ] && [ "$got_b" = "$want_b" ]; then
        ok "$name: nfdump totals = expected ($want_p packets, $want_b bytes)"
    else
        not_ok "$name: nfdump totals $got_p packets $got_b bytes, expected $want_p packets $want_b bytes (UDP overruns: $((drops1 - drops0)))"
    fi
    if [ "$got_r" = "$want_r" ] && [ "$sent" = "$want_r" ]; then
        ok "$name: nfdump flows = one-way records ($want_r)"
    else
        not_ok "$name: nfdump shows $got_r flows, nfprobe sent $sent records, expected $want_r one-way records"
    fi
    if [ -n "$expected" ]; then
        # stderr apart: nfdump complains about the nfcapd.log in the
        # directory, and a complaint in the middle of a CSV line breaks it
        nfdump -R "$dir" -q -N -o csv > "$dir/records.csv" 2> "$dir/records.err"
        check "$name: nfdump records = expected directions" python3 "$TOOLS/interop_check.py" nfdump-records "$expected" "$dir/records.csv"
    fi
}

for name in $CAPTURES; do
    pcap="$DATA/$name" expected="$EXPECTED/$name.flows"
    [ -f "$pcap" ] || { not_ok "$name: no capture $pcap"; continue; }
    [ -f "$expected" ] || { not_ok "$name: no expected file $expected"; continue; }
    read -r p b r < <(expected_totals "$expected")
    run_one "$name" "$pcap" "$p" "$b" "$r" "$expected"
done

# Thousands of flows, IPv4 and IPv6, TCP and UDP, with totals known exactly.
syn="$work/synthetic.pcap"
if synthetic_pcap "$syn" 100000 5000 7 20; then
    run_one synthetic "$syn" "$(meta_value "$syn.meta" packets)" "$(meta_value "$syn.meta" ip_bytes)" \
        "$(meta_value "$syn.meta" flow_directions)"
else
    not_ok "synthetic: cannot build or run bench/gen_pcap.c"
fi

finish
