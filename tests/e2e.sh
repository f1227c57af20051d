#!/usr/bin/env bash
# End to end, over every capture in ../shared/testdata/pcap: one nfprobe run
# per capture writes JSON lines, an IPFIX file, and IPFIX over UDP and TCP to
# two collector-test receivers at once. Then:
#   - the JSON flows equal the capture's expected flows (tests/expected/*.flows,
#     computed independently from tshark's per-packet fields);
#   - the records collector-test decodes from the file, UDP and TCP are
#     identical, equal the expected flows as well, and equal the JSON field
#     by field; the same for a second run with --biflow (RFC 5103 records).
# Timeouts are set beyond any capture's length so that a flow is one record
# per key, as in the expected tables (expiry has its own unit tests).
set -u
. "$(dirname "$0")/lib.sh"

pcaps=$(ls "$DATA"/* | sort)
[ -n "$pcaps" ] || fail_setup "no captures in $DATA"

udp_port=$(free_port udp)
tcp_port=$(free_port tcp)
start_collector udp "$udp_port" "$work/udp.jsonl" --seq-check
start_collector tcp "$tcp_port" "$work/tcp.jsonl" --seq-check

NEVER=100000000   # seconds: no timeout inside a capture
# A run failed: an exit other than 0, unless its capture is cut short
# (exit 1 with "truncated": the records read before the cut still count).
run_failed() {  # rc stderr-file
    [ "$1" -ne 0 ] && ! grep -q 'truncated' "$2"
}
i=0
declare -A domain_of
for pcap in $pcaps; do
    name=$(basename "$pcap")
    i=$((i + 1))
    domain_of[$name]=$i
    expected="$EXPECTED/$name.flows"
    if [ ! -f "$expected" ]; then
        not_ok "$name: no expected file $expected"
        continue
    fi
    rc=0
    "$NFPROBE" -r "$pcap" -q --json -O "$i" --export-rate 50000 \
        --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER \
        -c "udp://127.0.0.1:$udp_port" -c "tcp://127.0.0.1:$tcp_port" -o "$work/$i.ipfix" \
        > "$work/$i.json" 2> "$work/$i.err" || rc=$?
    if grep -q '^# unreadable' "$expected"; then
        if [ "$rc" -ne 0 ] && [ "$(wc -l < "$work/$i.err")" -ge 1 ] && grep -q "$name" "$work/$i.err"; then
            ok "$name: unreadable capture rejected: $(head -1 "$work/$i.err")"
        else
            not_ok "$name: unreadable capture gave rc=$rc: $(head -3 "$work/$i.err")"
        fi
        continue
    fi
    if run_failed "$rc" "$work/$i.err"; then
        not_ok "$name: nfprobe exit $rc: $(head -3 "$work/$i.err")"
        continue
    fi
    check_py "$name: JSON flows = tshark's" "$TOOLS/compare_flows.py" "$expected" "$work/$i.json" --format nfprobe
    "$COLLECTOR" -r "$work/$i.ipfix" > "$work/$i.file.jsonl" 2> "$work/$i.file.err" ||
        not_ok "$name: collector-test cannot read the IPFIX file: $(head -2 "$work/$i.file.err")"
    check_py "$name: IPFIX file records = tshark's" "$TOOLS/compare_flows.py" "$expected" "$work/$i.file.jsonl" --format ipfix
    check_py "$name: IPFIX records = JSON, field by field" "$TOOLS/json_vs_ipfix.py" "$work/$i.json" "$work/$i.file.jsonl"

    # RFC 5103 biflow records carry the same flows.
    rc=0
    "$NFPROBE" -r "$pcap" -q --json --biflow -O "$i" \
        --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER \
        -o "$work/$i.bi.ipfix" > "$work/$i.bi.json" 2> "$work/$i.bi.err" || rc=$?
    if run_failed "$rc" "$work/$i.bi.err"; then
        not_ok "$name: nfprobe --biflow exit $rc: $(head -3 "$work/$i.bi.err")"
        continue
    fi
    "$COLLECTOR" -r "$work/$i.bi.ipfix" > "$work/$i.bi.jsonl" 2> "$work/$i.bi.file.err" ||
        not_ok "$name: collector-test cannot read the biflow IPFIX file: $(head -2 "$work/$i.bi.file.err")"
    check_py "$name: --biflow records = tshark's" "$TOOLS/compare_flows.py" "$expected" "$work/$i.bi.jsonl" --format ipfix
    check_py "$name: --biflow records = JSON" "$TOOLS/json_vs_ipfix.py" "$work/$i.bi.json" "$work/$i.bi.jsonl" --biflow
done

# Every record of every run must reach the UDP collector before comparing.
want=$(cat "$work"/[0-9]*.file.jsonl | grep -vc '"_options"' || true)
wait_for_records "$work/udp.jsonl" "$want" 30
wait_for_records "$work/tcp.jsonl" "$want" 30
stop_collectors
for t in udp tcp; do
    check "$t: IPFIX sequence numbers have no gap over $i runs" grep -q "^sequence gaps: 0$" "$work/$t.jsonl.err"
done

for pcap in $pcaps; do
    name=$(basename "$pcap")
    i=${domain_of[$name]}
    [ -f "$work/$i.file.jsonl" ] || continue
    for t in udp tcp; do
        grep "\"_domain\":$i," "$work/$t.jsonl" | sort > "$work/$i.$t.sorted" || true
        sort "$work/$i.file.jsonl" > "$work/$i.file.sorted"
        check "$name: $t records = file records" diff -q "$work/$i.file.sorted" "$work/$i.$t.sorted"
    done
done

finish
