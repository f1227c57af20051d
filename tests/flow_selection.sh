#!/usr/bin/env bash
# Flow selection before export (issue 14): --flow-filter EXPR and
# --flow-sample N. For every capture in ../shared/testdata/pcap, the records
# of a run with a filter (five expressions in turn, written out by hand as
# Python in tests/tools/selection.py: ports, prefixes, nDPI and plugin fields,
# and one matching every record; nDPI runs only for the one that needs it) and
# 1-in-2 flow sampling equal the records of the unfiltered run that the
# expression matches and that BOB over the flow key, computed by
# selection.py from README's description, keeps; every record of a kept
# flow goes out (both directions are one JSON record; active-timeout splits
# are checked on a capture split every 2 s). Then every bad expression and
# bad N: one line naming the position, exit 2.
set -u
. "$(dirname "$0")/lib.sh"
SEL=$TOOLS/selection.py
EXPRS=(web-or-dns nets l7 plugin all)
SEED=7

[ -d "$DATA" ] || { echo "# no captures in $DATA: skipped"; exit 77; }
i=0
: > "$work/list"
for pcap in "$DATA"/*.pcap "$DATA"/*.pcapng "$DATA"/*.cap; do
    [ -f "$pcap" ] || continue
    name=$(basename "$pcap")
    expr_name=${EXPRS[$((i % ${#EXPRS[@]}))]}
    expr=$(python3 "$SEL" expression "$expr_name")
    i=$((i + 1))
    rc_all=0 rc_sel=0
    # nDPI only where the expression reads its fields: its start-up is most
    # of a run's time on these small captures (4x under the sanitizers)
    dpi=--no-dissect
    [ "$expr_name" = l7 ] && dpi=
    # shellcheck disable=SC2086
    "$NFPROBE" -r "$pcap" -q $dpi -P flowstats > "$work/all.$i.json" 2> /dev/null || rc_all=$?
    # shellcheck disable=SC2086
    "$NFPROBE" -r "$pcap" -q $dpi -P flowstats --flow-filter "$expr" --flow-sample 2 --sample-seed $SEED \
        > "$work/sel.$i.json" 2> "$work/sel.err" || rc_sel=$?
    # a damaged capture fails both runs alike (exit 1), after its records
    [ "$rc_all" = "$rc_sel" ] || not_ok "$name: exit $rc_sel with the selection, $rc_all without: $(head -2 "$work/sel.err")"
    echo "$expr_name 2 $SEED $work/all.$i.json $work/sel.$i.json $name" >> "$work/list"
done
[ "$i" -gt 0 ] || fail_setup "no captures in $DATA"
if out=$(python3 "$SEL" flow-check-many "$work/list"); then
    read -r n total kept <<< "$(tail -1 <<< "$out")"
    ok "$n captures: filtered and flow-sampled records = the independent selection ($kept of $total)"
    [ "$kept" -gt 0 ] && [ "$kept" -lt "$total" ] && ok "the selection keeps some records and drops others" ||
        not_ok "the selection kept $kept of $total records"
else
    not_ok "records differ from the independent selection"
    echo "$out" | head -20 | sed 's/^/#   /'
fi

# Active-timeout splits of a flow go out or stay out together.
synthetic_pcap "$work/s.pcap" 20000 300 2 20 || fail_setup "cannot build the synthetic capture"
"$NFPROBE" -r "$work/s.pcap" -q --no-dissect --active-timeout 2 > "$work/split.json"
"$NFPROBE" -r "$work/s.pcap" -q --no-dissect --active-timeout 2 --flow-sample 3 --sample-seed $SEED > "$work/split.sel"
check "active-timeout splits: records = the flow-sampled selection" \
    python3 "$SEL" flow-check all 3 $SEED "$work/split.json" "$work/split.sel"
splits=$(python3 -c 'import json, sys, collections
c = collections.Counter((r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["protocol"])
                        for r in map(json.loads, open(sys.argv[1])))
print(sum(1 for v in c.values() if v > 1))' "$work/split.sel")
[ "$splits" -gt 0 ] && ok "flows split by the active timeout among the kept ones: $splits" ||
    not_ok "no split flow among the kept ones: the check above proves nothing"

"$NFPROBE" -r "$work/s.pcap" --no-dissect --flow-filter 'protocol == 6' --flow-sample 3 > /dev/null 2> "$work/stats.err"
check "--stats counts the records not exported, by reason" grep -Eq "selection: [0-9]+ flow records observed, [0-9]+ not exported \(--flow-filter [1-9][0-9]*, --flow-sample [1-9][0-9]*\)" "$work/stats.err"

# ---- bad expressions and N ------------------------------------------------------------
pcap=$work/s.pcap
while IFS='|' read -r expr where; do
    expect_error "--flow-filter '$expr'" 2 "at character $where:" -- -r "$pcap" --flow-filter "$expr"
done <<'BAD'
|1
dst_port ==|12
nosuchfield == 1|1
dst_port == 44x3|13
dst_port == "443"|13
(dst_port == 1|1
dst_port == 1)|14
src_ip == 10.0.0.0/33|11
src_ip > 10.0.0.1|8
dst_port > 1 and|17
dst_port 80|10
application_name == "TLS|21
not|4
port == 1 or or port == 2|14
and == 1|1
BAD
expect_error "--flow-sample 0" 2 "--flow-sample '0'" -- -r "$pcap" --flow-sample 0
expect_error "--flow-sample -3" 2 "--flow-sample '-3'" -- -r "$pcap" --flow-sample -3
expect_error "--flow-sample 1.5" 2 "--flow-sample '1.5'" -- -r "$pcap" --flow-sample 1.5

finish
