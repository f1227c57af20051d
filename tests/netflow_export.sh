#!/usr/bin/env bash
# NetFlow v9 (-V 9) and v5 (-V 5) export, read by real collectors. For a set
# of captures and a synthetic capture of thousands of flows, per version:
#   - nfcapd/nfdump 1.7: total packets, bytes and flows equal the expected
#     totals (tests/expected/<capture>.flows: both directions; IPv4 rows only
#     for v5; the synthetic capture's .meta for v9, nfprobe's IPv4 JSON flows
#     for v5, whose packets must equal the .meta's packets_ipv4);
#   - nfdump's start times and durations give, per flow, exactly the JSON
#     first_seen_ms/last_seen_ms of the same run (to the millisecond), none
#     negative, none in the future (tests/tools/netflow_check.py times);
#   - v9 with dissection: nfdump names every record's application (%nbnam,
#     from the v9 options data) as the flow's JSON application_name;
#   - v5: the IPv6 flows are reported as not exportable, with their count;
#   - pmacct's nfacctd: total packets and bytes equal the expected totals;
#     v9 with dissection: its class primitive (application names from the
#     options data) is each flow's JSON application_name;
#   - tshark (v9): every exported datagram decodes with no expert warning or
#     error, no missing template, and the summed Packets/Octets equal the
#     expected totals.
# Timeouts are beyond any capture's length: one flow per key.
set -u
. "$(dirname "$0")/lib.sh"

command -v nfcapd > /dev/null && command -v nfdump > /dev/null || { echo "# nfcapd/nfdump not installed: skipped"; exit 77; }

CAPTURES=${NETFLOW_CAPTURES:-"1kxun.pcap 443-curl.pcap dns_fragmented.pcap http_ipv6.pcap q-in-q.pcap pppoe.pcap icmp6-ping.pcap ip_fragmented_garbage.pcap"}
VERSIONS=${NETFLOW_VERSIONS:-"9 5"}
TIMEOUTS="--idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER"
CHECK="$TOOLS/netflow_check.py"

trap 'stop_nfcapd; stop_nfacctd; stop_tshark; cleanup' EXIT

# Expected "packets bytes records" of a capture for a version (v5: IPv4 only).
want_totals() {   # version name
    local flows="$EXPECTED/$2.flows" syn="$work/synthetic.pcap"
    if [ "$2" = synthetic ]; then
        if [ "$1" = 5 ]; then python3 "$CHECK" totals "$work/synthetic.v5.json" --ipv4-only
        else echo "$(meta_value "$syn.meta" packets) $(meta_value "$syn.meta" ip_bytes) $(meta_value "$syn.meta" flow_directions)"; fi
    elif [ "$1" = 5 ]; then
        awk '!/^#/ && NF >= 12 && $3 ~ /\./ { p += $7 + $10; b += $8 + $11; r += ($7 > 0) + ($10 > 0) }
             END { print p + 0, b + 0, r + 0 }' "$flows"
    else
        expected_totals "$flows"
    fi
}

pcap_of() { if [ "$1" = synthetic ]; then echo "$work/synthetic.pcap"; else echo "$DATA/$1"; fi; }

# ---- nfcapd / nfdump --------------------------------------------------------

run_nfcapd() {   # version name
    local v=$1 name=$2 dir="$work/nfcapd.v$1.$2" port rc=0 want got_p got_b got_r ipv6 reported
    local data="$dir/data"    # nfdump -R reads every file in it
    mkdir -p "$data"
    read -r want_p want_b want_r < <(want_totals "$v" "$name")
    port=$(free_port udp)
    nfcapd -w "$data" -b 127.0.0.1 -p "$port" -t 3600 -B 4194304 -P "$dir/pid" -D > "$dir/nfcapd.log" 2>&1 ||
        { not_ok "v$v $name: nfcapd did not start: $(head -3 "$dir/nfcapd.log")"; return; }
    wait_for_line "$dir/pid" . 10 || { not_ok "v$v $name: nfcapd wrote no pid file"; return; }
    nfcapd_pid=$(cat "$dir/pid")
    wait_udp_bound "$port" 10 || { not_ok "v$v $name: nfcapd not listening on $port"; stop_nfcapd; return; }
    # shellcheck disable=SC2086
    "$NFPROBE" -r "$(pcap_of "$name")" -V "$v" --json --export-rate 20000 -c "udp://127.0.0.1:$port" $TIMEOUTS \
        > "$dir/flows.jsonl" 2> "$dir/nfprobe.err" || rc=$?
    wait_udp_drained "$port" 20 || echo "# v$v $name: nfcapd's socket still has data queued"
    stop_nfcapd
    [ "$rc" -eq 0 ] || { not_ok "v$v $name: nfprobe exit $rc: $(head -3 "$dir/nfprobe.err")"; return; }
    nfdump -R "$data" -q -I > "$dir/stat.txt" 2>&1
    got_p=$(sed -n 's/^Packets: //p' "$dir/stat.txt")
    got_b=$(sed -n 's/^Bytes: //p' "$dir/stat.txt")
    got_r=$(sed -n 's/^Flows: //p' "$dir/stat.txt")
    echo "# v$v $name: nfdump packets $got_p bytes $got_b flows $got_r; expected $want_p $want_b $want_r"
    if [ "$got_p" = "$want_p" ] && [ "$got_b" = "$want_b" ] && [ "$got_r" = "$want_r" ]; then
        ok "v$v $name: nfdump totals = expected ($want_p packets, $want_b bytes, $want_r records)"
    else
        not_ok "v$v $name: nfdump $got_p packets $got_b bytes $got_r records, expected $want_p $want_b $want_r"
    fi
    TZ=UTC nfdump -R "$data" -q -N -6 -o 'fmt:%tsr|%td|%pr|%sa|%sp|%da|%dp' > "$dir/times.txt" 2>&1
    local v4=""; [ "$v" = 5 ] && v4=--ipv4-only
    check "v$v $name: nfdump start times and durations = JSON first/last_seen_ms" \
        python3 "$CHECK" times "$dir/flows.jsonl" "$dir/times.txt" $v4
    if [ "$v" = 9 ] && grep -q '"application_name"' "$dir/flows.jsonl"; then
        nfdump -R "$data" -q -N -6 -o 'fmt:%pr|%sa|%sp|%da|%dp|%nbid|%nbnam' > "$dir/names.txt" 2>&1
        check "v9 $name: nfdump shows each record's application name (%nbnam) from the options data" \
            python3 "$CHECK" appnames "$dir/flows.jsonl" "$dir/names.txt"
    fi
    if [ "$v" = 5 ]; then
        ipv6=$(grep -c '"ip_version":6' "$dir/flows.jsonl")
        reported=$(sed -n 's/^nfprobe: \([0-9]*\) IPv6 flows not exportable in NetFlow v5.*/\1/p' "$dir/nfprobe.err")
        if [ "$ipv6" -eq 0 ] && [ -z "$reported" ] || [ "${reported:-x}" = "$ipv6" ]; then
            ok "v5 $name: $ipv6 IPv6 flows, reported: ${reported:-nothing}"
        else
            not_ok "v5 $name: $ipv6 IPv6 flows, reported as not exportable: ${reported:-nothing}"
        fi
    fi
}

# ---- nfacctd ----------------------------------------------------------------

run_nfacctd() {   # version name
    local v=$1 name=$2 dir="$work/nfacctd.v$1.$2" port rc=0 got deadline marks=0 class=""
    mkdir -p "$dir"
    # v9 with dissection: nfacctd also reads the application names (class)
    [ "$v" = 9 ] && [ -n "$DPI" ] && class=", class"
    read -r want_p want_b _ < <(want_totals "$v" "$name")
    port=$(free_port udp)
    start_nfacctd "$dir" "$port" "src_host, dst_host, src_port, dst_port, proto$class" || { not_ok "v$v $name: nfacctd not listening: $(tail -3 "$dir/nfacctd.log")"; stop_nfacctd; return; }
    # shellcheck disable=SC2086
    "$NFPROBE" -r "$(pcap_of "$name")" -q -V "$v" --json --export-rate 20000 -c "udp://127.0.0.1:$port" $TIMEOUTS \
        > "$dir/flows.jsonl" 2> "$dir/nfprobe.err" || rc=$?
    [ "$rc" -eq 0 ] || { not_ok "v$v $name: nfprobe exit $rc: $(head -3 "$dir/nfprobe.err")"; stop_nfacctd; return; }
    # nfacctd holds early datagrams until more arrive: push a marker flow
    # through until it shows (see interop_nfacctd.sh).
    deadline=$(deadline_in 20)
    marks=$(push_through_nfacctd "$port" "$dir/print.csv" 20 -V "$v")
    while :; do
        read -r gp gb _ <<< "$(python3 "$CHECK" pmacct-sum "$dir/print.csv" "$MARKER" 2> /dev/null)"
        [ "${gp:-0}" -ge "$want_p" ] && [ "${gb:-0}" -ge "$want_b" ] && break
        [ $SECONDS -lt $deadline ] || break
        sleep 0.1
    done
    stop_nfacctd
    read -r gp gb rows <<< "$(python3 "$CHECK" pmacct-sum "$dir/print.csv" "$MARKER")"
    echo "# v$v $name: nfacctd packets $gp bytes $gb ($rows rows, $marks markers); expected $want_p $want_b"
    if [ "$gp" = "$want_p" ] && [ "$gb" = "$want_b" ]; then
        ok "v$v $name: nfacctd totals = expected ($want_p packets, $want_b bytes)"
    else
        not_ok "v$v $name: nfacctd totals $gp packets $gb bytes, expected $want_p $want_b"
    fi
    if [ -n "$class" ]; then
        check "v9 $name: nfacctd's class of every row = the flow's JSON application_name" \
            python3 "$CHECK" pmacct-classes "$dir/flows.jsonl" "$dir/print.csv" "$MARKER"
    fi
}

# ---- tshark (v9) --------------------------------------------------------------

run_tshark_v9() {
    local port i=0 messages=0 name m sum want_p=0 want_b=0 p b
    port=$(free_port udp)
    start_collector udp "$port" "$work/tshark.collector"   # a listener: no ICMP unreachable
    start_tshark "$port" "$work/v9.pcapng"
    for name in $CAPTURES synthetic; do
        i=$((i + 1))
        # shellcheck disable=SC2086
        "$NFPROBE" -r "$(pcap_of "$name")" -O "$i" -V 9 --export-rate 20000 -c "udp://127.0.0.1:$port" $TIMEOUTS \
            > /dev/null 2> "$work/tshark.$i.err" || { not_ok "tshark: nfprobe on $name failed: $(head -2 "$work/tshark.$i.err")"; continue; }
        m=$(sed -n 's/.*export udp:[^ ]*: \([0-9]*\) messages.*/\1/p' "$work/tshark.$i.err")
        messages=$((messages + m))
        read -r p b _ < <(want_totals 9 "$name")
        want_p=$((want_p + p)) want_b=$((want_b + b))
    done
    local deadline=$(deadline_in 30) frames
    while :; do
        frames=$(tshark -r "$work/v9.pcapng" -Y "udp.dstport == $port" -T fields -e frame.number 2> /dev/null | wc -l)
        [ "$frames" -ge "$messages" ] && break
        [ $SECONDS -lt $deadline ] || break
        sleep 0.1
    done
    stop_tshark
    stop_collectors
    tshark -r "$work/v9.pcapng" -Y "udp.dstport == $port" -w "$work/v9only.pcapng" 2> /dev/null
    frames=$(tshark -r "$work/v9only.pcapng" -T fields -e frame.number 2> /dev/null | wc -l)
    check "tshark v9: captured all $messages messages (got $frames)" test "$frames" -eq "$messages"
    tshark -r "$work/v9only.pcapng" -d "udp.port==$port,cflow" -q -Y frame -z expert,warn > "$work/v9.expert" 2> /dev/null
    if grep -Eq '^(Errors|Warns) \(' "$work/v9.expert"; then
        not_ok "tshark v9: expert info has warnings or errors"; head -20 "$work/v9.expert" | sed 's/^/#   /'
    else
        ok "tshark v9: no malformed packet, no expert warning"
    fi
    tshark -r "$work/v9only.pcapng" -d "udp.port==$port,cflow" -V > "$work/v9.decoded" 2> /dev/null
    if grep -Eiq 'no template found|missing template|malformed' "$work/v9.decoded"; then
        not_ok "tshark v9: a message without its template"; grep -Ei 'no template|missing template|malformed' "$work/v9.decoded" | head -5 | sed 's/^/#   /'
    else
        ok "tshark v9: every data set has its template"
    fi
    sum=$(tshark -r "$work/v9only.pcapng" -d "udp.port==$port,cflow" -T fields -e cflow.packets -e cflow.octets 2> /dev/null |
          awk -F'\t' '{ n = split($1, a, ","); for (i = 1; i <= n; i++) p += a[i]; n = split($2, a, ","); for (i = 1; i <= n; i++) b += a[i] }
                      END { print p + 0, b + 0 }')
    echo "# tshark v9: Packets/Octets sums $sum; expected $want_p $want_b"
    check "tshark v9: summed Packets/Octets = expected ($want_p $want_b)" test "$sum" = "$want_p $want_b"
}

# ---- main -----------------------------------------------------------------------

marker_pcap "$work/marker.pcap" 9 || fail_setup "cannot write the marker capture"
# Dissection on (the default) puts application names into the v9 export.
DPI=$("$NFPROBE" -q -r "$work/marker.pcap" | grep -o '"application_name"')
synthetic_pcap "$work/synthetic.pcap" 100000 5000 7 20 || fail_setup "cannot build or run bench/gen_pcap.c"
# shellcheck disable=SC2086
"$NFPROBE" -q -r "$work/synthetic.pcap" $TIMEOUTS > "$work/synthetic.v5.json" || fail_setup "nfprobe --json on the synthetic capture"
read -r p4 _ _ < <(python3 "$CHECK" totals "$work/synthetic.v5.json" --ipv4-only)
check "synthetic: nfprobe's IPv4 packets $p4 = the generator's packets_ipv4" test "$p4" = "$(meta_value "$work/synthetic.pcap.meta" packets_ipv4)"

for v in $VERSIONS; do
    for name in $CAPTURES synthetic; do
        [ "$name" = synthetic ] || [ -f "$DATA/$name" ] || { not_ok "$name: no capture"; continue; }
        run_nfcapd "$v" "$name"
    done
done
if command -v nfacctd > /dev/null; then
    for v in $VERSIONS; do
        for name in $CAPTURES synthetic; do
            [ "$name" = synthetic ] || [ -f "$DATA/$name" ] || continue
            run_nfacctd "$v" "$name"
        done
    done
else
    echo "# nfacctd not installed: its checks skipped"
fi
if command -v tshark > /dev/null && [[ " $VERSIONS " == *" 9 "* ]]; then
    export DEBIAN_FRONTEND=noninteractive
    run_tshark_v9
else
    echo "# tshark not installed: its checks skipped"
fi

finish
