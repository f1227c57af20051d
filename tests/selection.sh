#!/usr/bin/env bash
# Packet selection (issue 14): --sample, --sample-mode, --sample-seed,
# --hash-select, and how collectors scale sampled counts back up.
#   - systematic 1 in 10 on a synthetic capture: the records count exactly
#     the selected packets and bytes (tests/tools/selection.py counts them
#     from the file), with 1 and 2 workers;
#   - nfacctd with nfacctd_renormalize shows exactly 10 times those totals
#     from IPFIX (RFC 5476 selector report), NetFlow v9 (sampler options) and
#     v5 (header); nfdump 1.7.1 does from v5 and leaves IPFIX and v9 unscaled
#     (README: "Selection");
#   - random 1 in 100 on a 2,000,000-packet synthetic capture: nfacctd's
#     renormalized totals within 3 standard deviations of the truth (the
#     bound computed from the capture); the same seed gives the same records,
#     another seed others;
#   - hash selection: two captures sharing 400 packets among different other
#     traffic (B's copies with another TTL, DSCP and checksum) select the
#     same shared packets, which are those selection.py computes with BOB
#     from README's description of the hash input;
#   - tshark decodes the IPFIX selector reports and statistics with no
#     warning or malformed packet; tests/tools/v9_listen.py reads the v9
#     stream with its sampler options record and finds no problem;
#   - bad values: one line, exit 2.
set -u
. "$(dirname "$0")/lib.sh"
SEL=$TOOLS/selection.py
N=10
trap 'stop_nfacctd; stop_nfcapd; cleanup' EXIT

synthetic_pcap "$work/s.pcap" 100000 2000 5 30 || fail_setup "cannot build the synthetic capture"
read -r sel_p sel_b sel_p4 sel_b4 < <(python3 "$SEL" count "$work/s.pcap" $N)

json_totals() {   # file: "packets bytes"
    python3 -c 'import json, sys
p = b = 0
for line in open(sys.argv[1]):
    if line.startswith("{"):
        r = json.loads(line); p += r["bidirectional_packets"]; b += r["bidirectional_bytes"]
print(p, b)' "$1"
}

# ---- systematic: exact counts --------------------------------------------------------
for w in 1 2; do
    "$NFPROBE" -r "$work/s.pcap" -q --no-dissect --workers $w --sample $N --sample-mode count \
        --idle-timeout $NEVER --active-timeout $NEVER > "$work/count.$w.json" 2> "$work/count.$w.err"
    read -r p b < <(json_totals "$work/count.$w.json")
    if [ "$p $b" = "$sel_p $sel_b" ]; then ok "1 in $N by count, $w worker(s): records hold the $sel_p selected packets, $sel_b bytes"
    else not_ok "1 in $N by count, $w worker(s): records hold $p packets $b bytes, selected $sel_p $sel_b"; fi
done
"$NFPROBE" -r "$work/s.pcap" --no-dissect --sample $N --sample-mode count > /dev/null 2> "$work/stats.err"
check "--stats says how many packets were not selected" \
    grep -q "selection: 100000 packets observed, $((100000 - sel_p)) not selected (hash 0, sampling $((100000 - sel_p)))" "$work/stats.err"

# ---- nfacctd renormalization ------------------------------------------------------
nfacctd_totals() {   # name port csv -- nfprobe export options: "packets bytes"
    local name=$1 port=$2 csv=$3; shift 4
    "$NFPROBE" -r "$work/s.pcap" -q --no-dissect --export-rate 20000 -c "udp://127.0.0.1:$port" \
        --sample $N --sample-mode count "$@" > /dev/null 2> "$work/$name.err" || echo "# nfprobe failed: $(head -2 "$work/$name.err")"
    push_through_nfacctd "$port" "$csv" 20 "$@" > /dev/null
    wait_for_nfacctd_totals "$csv" "$want_p" "$want_b" 20
    stop_nfacctd
    python3 "$TOOLS/interop_check.py" pmacct-totals "$csv" --exclude-src "$MARKER" | cut -d' ' -f1,2
}

if command -v nfacctd > /dev/null; then
    for v in 10 9 5; do
        dir="$work/nfacctd.v$v"; mkdir -p "$dir"
        port=$(free_port udp)
        if [ $v = 5 ]; then want_p=$((N * sel_p4)); want_b=$((N * sel_b4)); else want_p=$((N * sel_p)); want_b=$((N * sel_b)); fi
        start_nfacctd "$dir" "$port" "src_host, dst_host, src_port, dst_port, proto" "nfacctd_renormalize: true" ||
            { not_ok "v$v: nfacctd not listening"; stop_nfacctd; continue; }
        read -r gp gb < <(nfacctd_totals "v$v" "$port" "$dir/print.csv" -- -V $v)
        if [ "$gp $gb" = "$want_p $want_b" ]; then ok "v$v: nfacctd renormalizes to $N x the selected: $gp packets, $gb bytes"
        else not_ok "v$v: nfacctd shows $gp packets $gb bytes, wanted $N x selected = $want_p $want_b"; fi
    done
else
    echo "# nfacctd not installed: renormalization not checked"
fi

# ---- nfdump -----------------------------------------------------------------------
nfdump_totals() {   # version: "packets bytes"
    local dir="$work/nfcapd.v$1" port
    mkdir -p "$dir/data"
    port=$(free_port udp)
    nfcapd -w "$dir/data" -b 127.0.0.1 -p "$port" -t 3600 -B 4194304 -P "$dir/pid" -D > "$dir/log" 2>&1 || return
    wait_for_line "$dir/pid" . 10 || return
    nfcapd_pid=$(cat "$dir/pid")
    wait_udp_bound "$port" 10 || return
    "$NFPROBE" -r "$work/s.pcap" -q --no-dissect --export-rate 20000 -c "udp://127.0.0.1:$port" -V "$1" \
        --sample $N --sample-mode count > /dev/null 2>&1
    wait_udp_drained "$port" 20
    stop_nfcapd
    nfdump -R "$dir/data" -q -I > "$dir/stat.txt" 2>&1
    echo "$(sed -n 's/^Packets: //p' "$dir/stat.txt") $(sed -n 's/^Bytes: //p' "$dir/stat.txt")"
}
if command -v nfcapd > /dev/null; then
    read -r gp gb < <(nfdump_totals 5)
    if [ "$gp $gb" = "$((N * sel_p4)) $((N * sel_b4))" ]; then ok "v5: nfdump scales by the header's sampling interval: $gp packets, $gb bytes"
    else not_ok "v5: nfdump shows $gp packets $gb bytes, wanted $((N * sel_p4)) $((N * sel_b4))"; fi
    for v in 10 9; do
        read -r gp gb < <(nfdump_totals $v)
        if [ "$gp $gb" = "$sel_p $sel_b" ]; then ok "v$v: nfdump 1.7.1 leaves the counts unscaled, as README says: $gp packets, $gb bytes"
        else not_ok "v$v: nfdump shows $gp packets $gb bytes; README says unscaled ($sel_p $sel_b): update README"; fi
    done
else
    echo "# nfcapd not installed: nfdump not checked"
fi

# ---- random: within 3 standard deviations; reproducible --------------------------------
R=100
synthetic_pcap "$work/big.pcap" 2000000 20000 9 60 || fail_setup "cannot build the 2M-packet capture"
read -r true_p true_b sd_p sd_b < <(python3 "$SEL" random-bounds "$work/big.pcap" $R)
if command -v nfacctd > /dev/null; then
    dir="$work/nfacctd.random"; mkdir -p "$dir"
    port=$(free_port udp)
    want_p=$((true_p - 3 * sd_p)); want_b=$((true_b - 3 * sd_b))
    if start_nfacctd "$dir" "$port" "src_host, dst_host, src_port, dst_port, proto" "nfacctd_renormalize: true"; then
        "$NFPROBE" -r "$work/big.pcap" -q --no-dissect --export-rate 20000 -c "udp://127.0.0.1:$port" --sample $R --sample-seed 3 \
            --json > "$work/seed3.json" 2> /dev/null
        push_through_nfacctd "$port" "$dir/print.csv" 20 > /dev/null
        wait_for_nfacctd_totals "$dir/print.csv" "$want_p" "$want_b" 20
        stop_nfacctd
        read -r gp gb _ < <(python3 "$TOOLS/interop_check.py" pmacct-totals "$dir/print.csv" --exclude-src "$MARKER")
        echo "# random 1 in $R: truth $true_p packets $true_b bytes (sd $sd_p, $sd_b); nfacctd renormalized $gp $gb"
        if [ $(( (gp - true_p) * (gp - true_p) <= 9 * sd_p * sd_p )) = 1 ] && [ $(( (gb - true_b) * (gb - true_b) <= 9 * sd_b * sd_b )) = 1 ]; then
            ok "random 1 in $R: nfacctd's renormalized totals within 3 sd of the truth (packets $gp vs $true_p, bytes $gb vs $true_b)"
        else
            not_ok "random 1 in $R: nfacctd $gp packets $gb bytes, truth $true_p $true_b, 3 sd = $((3 * sd_p)) $((3 * sd_b))"
        fi
    else
        not_ok "random: nfacctd not listening"; stop_nfacctd
    fi
fi
[ -s "$work/seed3.json" ] || "$NFPROBE" -r "$work/big.pcap" -q --no-dissect --sample $R --sample-seed 3 > "$work/seed3.json"
md5sum < "$work/seed3.json" | cut -d' ' -f1 > "$work/seeds.txt"
for s in 3 4; do
    "$NFPROBE" -r "$work/big.pcap" -q --no-dissect --sample $R --sample-seed $s | md5sum | cut -d' ' -f1
done >> "$work/seeds.txt"
if [ "$(sed -n 1p "$work/seeds.txt")" = "$(sed -n 2p "$work/seeds.txt")" ] && [ "$(sed -n 1p "$work/seeds.txt")" != "$(sed -n 3p "$work/seeds.txt")" ]; then
    ok "random: the same seed gives the same records, another seed others"
else
    not_ok "random: seeds 3, 3, 4 gave $(tr '\n' ' ' < "$work/seeds.txt")"
fi

# ---- hash selection -------------------------------------------------------------------
python3 "$SEL" hash-pcaps "$work/a.pcap" "$work/b.pcap" || fail_setup "cannot build the hash captures"
RANGE_FROM=0 RANGE_TO=2147483647 INIT=11
shared_selected() {   # pcap
    "$NFPROBE" -r "$1" -q --no-dissect --hash-select $RANGE_FROM-$RANGE_TO --sample-seed $INIT |
        python3 -c 'import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["src_ip"].startswith("198.18.200."):
        print(r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["bidirectional_packets"])' | sort
}
shared_selected "$work/a.pcap" > "$work/a.sel"
shared_selected "$work/b.pcap" > "$work/b.sel"
python3 "$SEL" hash-select "$work/a.pcap" $RANGE_FROM $RANGE_TO $INIT | grep '^198\.18\.200\.' | sed 's/$/ 1/' | sort > "$work/a.want"
n=$(grep -c '' "$work/a.sel")
if [ "$n" -gt 0 ] && [ "$n" -lt 400 ] && cmp -s "$work/a.sel" "$work/b.sel"; then
    ok "hash: both captures select the same $n of the 400 shared packets"
else
    not_ok "hash: capture A selects $n shared packets, B $(grep -c '' "$work/b.sel"), differing in $(diff "$work/a.sel" "$work/b.sel" | grep -c '^[<>]')"
fi
check "hash: the selected packets are those BOB over README's hash input selects" cmp "$work/a.sel" "$work/a.want"

# ---- tshark: selector reports -------------------------------------------------------
if command -v tshark > /dev/null; then
    # with DPI: its application names' template follows the selector reports
    "$NFPROBE" -r "$work/s.pcap" -q -o "$work/sel.ipfix" --sample $N --sample-mode count \
        --hash-select 0-3000000000 --sample-seed 5 > /dev/null 2> "$work/sel.err" ||
        not_ok "nfprobe -o with DPI and selection failed: $(head -2 "$work/sel.err")"
    "$NFPROBE" -r "$work/s.pcap" -q --no-dissect -o "$work/rnd.ipfix" --sample $N > /dev/null 2>&1
    for f in sel rnd; do
        python3 "$SEL" ipfix-pcap "$work/$f.ipfix" "$work/$f.pcap"
        tshark -r "$work/$f.pcap" -d udp.port==4739,cflow -q -z expert,warn > "$work/$f.expert" 2>&1
        tshark -r "$work/$f.pcap" -d udp.port==4739,cflow -V > "$work/$f.decoded" 2>&1
        if grep -Eq "Warn|Error|Malformed" "$work/$f.expert"; then
            not_ok "tshark: warnings or errors decoding $f.ipfix"; head -10 "$work/$f.expert" | sed 's/^/#   /'
        else
            ok "tshark: $f.ipfix decodes with no warning and no malformed packet"
        fi
    done
    while IFS='|' read -r f field; do
        check "tshark decodes $f.ipfix's '$field'" grep -qF "$field" "$work/$f.decoded"
    done <<FIELDS
sel|Selector Algorithm: Systematic count-based Sampling (1)
sel|Sampling Packet Interval: 1
sel|Sampling Packet Space: $((N - 1))
sel|Selector Algorithm: Hash based Filtering using BOB (6)
sel|Hash IPPayload Size: 8
sel|Hash Selected Range Max: 3000000000
sel|Hash Initialiser Value: 5
sel|Selector Id: 2
sel|Selector Id Total Pkts Observed: 100000
rnd|Selector Algorithm: Uniform probabilistic Sampling (4)
rnd|Sampling Probability: 0.1
rnd|Sampling interval: $N
rnd|Sampling algorithm: Random sampling (2)
FIELDS
    recs=$(grep -c "^ *Selector Id: 1$" "$work/sel.decoded")
    [ "$recs" -gt 1000 ] && ok "tshark: flow records carry selectorId 1 ($recs)" || not_ok "tshark: $recs records with selectorId 1"
else
    echo "# tshark not installed: selector reports not decoded"
fi

# ---- NetFlow v9 stream: the sampler options, read by an independent receiver ------------
port=$(free_port udp)
python3 "$TOOLS/v9_listen.py" "$port" "$work/v9.lines" 2> "$work/v9.lines.err" &
collector_pids+=($!)
if wait_for_line "$work/v9.lines.err" listening 10; then
    "$NFPROBE" -r "$work/s.pcap" --no-dissect -V 9 -c "udp://127.0.0.1:$port" --export-rate 20000 --sample $N \
        > /dev/null 2> "$work/v9.err"
    msgs=$(sed -n 's/.*export udp:[^ ]*: \([0-9]*\) messages.*/\1/p' "$work/v9.err")
    wait_for_records "$work/v9.lines" "${msgs:-1}" 10 || echo "# the listener got fewer datagrams than nfprobe sent"
    stop_collectors
    opts=$(grep -o 'options=[0-9]*' "$work/v9.lines" | awk -F= '{ n += $2 } END { print n + 0 }')
    bad=$(grep -vc 'problems=-$' "$work/v9.lines")
    if [ "$bad" = 0 ] && [ "$opts" -ge 1 ] && [ "$(grep -c '' "$work/v9.lines")" = "$msgs" ]; then
        ok "v9: $msgs messages with the sampler options ($opts options records), no problem found by v9_listen.py"
    else
        not_ok "v9: $bad messages with problems, $opts options records, $(grep -c '' "$work/v9.lines") of $msgs messages"
        grep -v 'problems=-$' "$work/v9.lines" | head -3 | sed 's/^/#   /'
    fi
else
    not_ok "v9_listen.py did not start"
fi

# ---- bad values ---------------------------------------------------------------------------
expect_error "--sample 0" 2 "--sample '0'" -- -r "$work/s.pcap" --sample 0
expect_error "--sample x" 2 "--sample 'x'" -- -r "$work/s.pcap" --sample x
expect_error "--sample-mode" 2 "--sample-mode 'every'" -- -r "$work/s.pcap" --sample-mode every
expect_error "--sample-seed -1" 2 "--sample-seed '-1'" -- -r "$work/s.pcap" --sample-seed -1
expect_error "--hash-select backwards" 2 "--hash-select '9-3'" -- -r "$work/s.pcap" --hash-select 9-3
expect_error "--hash-select no range" 2 "--hash-select '42'" -- -r "$work/s.pcap" --hash-select 42
expect_error "--hash-select too big" 2 "--hash-select '0-4294967296'" -- -r "$work/s.pcap" --hash-select 0-4294967296
expect_error "v5 interval beyond 14 bits" 2 "16383" -- -r "$work/s.pcap" -V 5 -o "$work/x.nf5" --sample 20000

finish
