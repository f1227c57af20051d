#!/usr/bin/env bash
# --workers N gives the same records as one worker (issue 11): for every
# capture in ../shared/testdata/pcap, the records of N = 2 and N = 4, with
# nDPI and the splt and flowstats plugins, equal N = 1's as a set: every
# field but the flow id (unique in a run, given in export order). The flows
# in tests/workers-dpi-cross-flow.txt may differ in their DPI fields only
# (nDPI labels them from caches that span flows; the file says which and
# why). Then IPFIX over TCP with two workers: collector-test sees gap-free
# sequence numbers and the same records as one worker's file. Then the
# one-line errors for bad --workers and --cpus values.
set -u
. "$(dirname "$0")/lib.sh"

ALLOW="$top_srcdir/tests/workers-dpi-cross-flow.txt"
RUN=(-q -P splt -P flowstats)

# 1. Every capture, N = 1, 2, 4.
ncaps=0
for pcap in "$DATA"/*; do
    name=$(basename "$pcap")
    "$NFPROBE" -r "$pcap" "${RUN[@]}" > "$work/$name.1" 2> /dev/null || true
    ncaps=$((ncaps + 1))
    for n in 2 4; do
        "$NFPROBE" -r "$pcap" "${RUN[@]}" --workers "$n" > "$work/$name.$n" 2> /dev/null || true
        check_py "$name: the records of N = $n equal N = 1's (DPI, splt, flowstats)" \
            "$TOOLS/records_equal.py" "$work/$name.1" "$work/$name.$n" --allow "$ALLOW" "$name"
    done
done
check "$ncaps captures compared (at least 100)" test "$ncaps" -ge 100
# The allowance is needed (the cache effect is real) and used for nothing else.
check "stun_signal.pcapng: without the allowance its DPI labels do differ" \
    bash -c '! python3 "$1" "$2" "$3" > /dev/null' _ "$TOOLS/records_equal.py" \
    "$work/stun_signal.pcapng.1" "$work/stun_signal.pcapng.2"

# 2. IPFIX over TCP from two workers: one stream, gap-free sequence numbers.
"$top_builddir/bench/gen_pcap" "$work/synthetic.pcap" 200000 20000 7 30 2> /dev/null \
    || fail_setup "bench/gen_pcap failed"
"$NFPROBE" -r "$work/synthetic.pcap" -q --no-dissect -o "$work/one.ipfix" || fail_setup "N=1 run failed"
port=$(free_port tcp)
start_collector tcp "$port" "$work/tcp.jsonl" --seq-check
"$NFPROBE" -r "$work/synthetic.pcap" -q --no-dissect --workers 2 -c "tcp://127.0.0.1:$port" \
    2> "$work/tcp.err"
check "TCP, 2 workers: nfprobe exit 0" test $? -eq 0
want=$("$COLLECTOR" -r "$work/one.ipfix" 2>/dev/null | grep -vc '"_options"')
wait_for_records "$work/tcp.jsonl" "$want" 60
stop_collectors
check "TCP, 2 workers: no sequence gap ($(tail -1 "$work/tcp.jsonl.err"))" \
    grep -qx "sequence gaps: 0" "$work/tcp.jsonl.err"
records() { grep -v '"_options"' "$1" | python3 -c '
import json, sys
for r in map(json.loads, sys.stdin):
    r.pop("flowId", None)
    print(json.dumps(r, sort_keys=True))' | sort; }
"$COLLECTOR" -r "$work/one.ipfix" 2>/dev/null > "$work/one.jsonl"
check "TCP, 2 workers: the $want records of one worker's file" \
    diff -q <(records "$work/one.jsonl") <(records "$work/tcp.jsonl")

# 3. Bad values: one line, exit 2.
bad_value() {   # description, arguments...
    local what=$1; shift
    local rc=0
    "$NFPROBE" -r "$top_srcdir/samples/sample.pcap" "$@" > /dev/null 2> "$work/bad.err" || rc=$?
    if [ "$rc" -eq 2 ] && [ "$(wc -l < "$work/bad.err")" -eq 1 ] && grep -q "^nfprobe: $what" "$work/bad.err"
    then ok "$* : $(cat "$work/bad.err")"
    else not_ok "$* : exit $rc, $(cat "$work/bad.err")"; fi
}
bad_value "--workers '0'" --workers 0
bad_value "--workers '65'" --workers 65
bad_value "--workers 'two'" --workers two
bad_value "--cpus '1023'" --cpus 1023
bad_value "--cpus '1-a'" --cpus 1-a
bad_value "--cpus '1-0'" --cpus 1-0
bad_value "--cpus ','" --cpus ,
bad_value "--cpus '99999'" --cpus 99999
"$NFPROBE" -r "$DATA/1kxun.pcap" "${RUN[@]}" --workers 2 --cpus 0 > "$work/pinned.json"
check "--workers 2 --cpus 0: exit 0" test $? -eq 0
check_py "--workers 2 --cpus 0: the same records" \
    "$TOOLS/records_equal.py" "$work/1kxun.pcap.1" "$work/pinned.json"
finish
