#!/usr/bin/env bash
# nfprobe -> pmacct's nfacctd (1.7.7): the captures of interop_nfcapd.sh and
# a synthetic capture of thousands of flows (bench/gen_pcap.c) are each
# exported over UDP to a fresh nfacctd whose print plugin writes CSV
# (aggregate src_host, dst_host, src_port, dst_port, proto; refresh 1 s).
# Checks, per capture: the CSV's total packets and bytes equal the expected
# totals (both directions of tests/expected/<capture>.flows; the synthetic
# capture's .meta), i.e. nfacctd counts both one-way records of every flow.
#
# nfacctd quirk: datagrams that arrive in its first moments (port bound, log
# says "waiting for NetFlow/IPFIX data") are held by its core process and
# reach the print plugin only when more data arrives. So after each export a
# one-packet marker flow (198.51.100.254 -> 198.51.100.253, see marker_pcap)
# is exported again every 0.2 s until it shows in the CSV: then everything
# sent before it has reached the plugin. Marker rows are left out of the totals.
set -u
. "$(dirname "$0")/lib.sh"

command -v nfacctd > /dev/null || { echo "# nfacctd (pmacct) not installed: skipped"; exit 77; }

CAPTURES=${INTEROP_CAPTURES:-"1kxun.pcap 443-curl.pcap dns_fragmented.pcap http_ipv6.pcap q-in-q.pcap mpls-in-vlan.pcap pppoe.pcap linux_dlt_sll2.pcap icmp6-ping.pcap ip_fragmented_garbage.pcap vxlan.pcap gtp1_gn_normal_incl_fragmentation.pcap teredo.pcap"}

trap 'stop_nfacctd; cleanup' EXIT

marker_pcap "$work/marker.pcap" 9 || fail_setup "cannot write the marker capture"

run_one() {   # name pcap want_packets want_bytes
    local name=$1 pcap=$2 want_p=$3 want_b=$4
    local dir="$work/nfacctd.$name" port rc=0 got marks=0
    mkdir -p "$dir"
    port=$(free_port udp)
    start_nfacctd "$dir" "$port" "src_host, dst_host, src_port, dst_port, proto" || { not_ok "$name: nfacctd not listening on $port: $(tail -3 "$dir/nfacctd.log")"; stop_nfacctd; return; }

    "$NFPROBE" -r "$pcap" -q --export-rate 20000 -c "udp://127.0.0.1:$port" \
        --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER \
        > /dev/null 2> "$dir/nfprobe.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        not_ok "$name: nfprobe exit $rc: $(head -3 "$dir/nfprobe.err")"
        stop_nfacctd
        return
    fi
    # Push everything through to the plugin, then wait for the totals.
    marks=$(push_through_nfacctd "$port" "$dir/print.csv" 20)
    wait_for_nfacctd_totals "$dir/print.csv" "$want_p" "$want_b" 20
    stop_nfacctd
    # Read again after nfacctd stopped: anything written late counts too.
    got=$(python3 "$TOOLS/interop_check.py" pmacct-totals "$dir/print.csv" --exclude-src "$MARKER")
    read -r gp gb rows <<< "$got"
    echo "# $name: nfacctd packets $gp bytes $gb ($rows CSV rows, $marks markers sent); expected $want_p $want_b"
    if [ "$gp" = "$want_p" ] && [ "$gb" = "$want_b" ]; then
        ok "$name: nfacctd totals = expected ($want_p packets, $want_b bytes)"
    else
        not_ok "$name: nfacctd totals $gp packets $gb bytes, expected $want_p packets $want_b bytes"
    fi
}

for name in $CAPTURES; do
    pcap="$DATA/$name" expected="$EXPECTED/$name.flows"
    [ -f "$pcap" ] || { not_ok "$name: no capture $pcap"; continue; }
    [ -f "$expected" ] || { not_ok "$name: no expected file $expected"; continue; }
    read -r p b _ < <(expected_totals "$expected")
    run_one "$name" "$pcap" "$p" "$b"
done

syn="$work/synthetic.pcap"
if synthetic_pcap "$syn" 100000 5000 7 20; then
    run_one synthetic "$syn" "$(meta_value "$syn.meta" packets)" "$(meta_value "$syn.meta" ip_bytes)"
else
    not_ok "synthetic: cannot build or run bench/gen_pcap.c"
fi

finish
