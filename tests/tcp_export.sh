#!/usr/bin/env bash
# IPFIX over TCP when the collector is not there: records wait in the queue
# and arrive once it listens; if it never does, the loss is counted, reported
# and turns the exit status to 1.
set -u
. "$(dirname "$0")/lib.sh"

pcap="$top_srcdir/samples/sample.pcap"
"$NFPROBE" -r "$pcap" -q > "$work/flows.json" || fail_setup "nfprobe --json failed"
# One IPFIX record per direction that saw packets.
want=$(python3 -c '
import json, sys
print(sum((f["src2dst_packets"] > 0) + (f["dst2src_packets"] > 0) for f in map(json.loads, open(sys.argv[1]))))' "$work/flows.json")

# 1. Collector down at start, up later: everything arrives, exit 0.
port=$(free_port tcp)
"$NFPROBE" -r "$pcap" -c "tcp://127.0.0.1:$port" -o "$work/late.ipfix" --drain-timeout 30 \
    > /dev/null 2> "$work/late.err" &
probe=$!
wait_for_line "$work/late.err" "queueing records and retrying" 10 || not_ok "no retry message: $(cat "$work/late.err")"
start_collector tcp "$port" "$work/late.jsonl"
rc=0; wait $probe || rc=$?
check "late collector: nfprobe exit 0" test "$rc" -eq 0
wait_for_records "$work/late.jsonl" "$want" 10
stop_collectors
got=$(grep -vc '"_options"' "$work/late.jsonl" || true)
check "late collector: $want records arrive (got $got)" test "$got" -eq "$want"
check "late collector: reconnect reported" grep -q "collector tcp://127.0.0.1:$port: connected" "$work/late.err"
"$COLLECTOR" -r "$work/late.ipfix" | sort > "$work/file.sorted"
sort "$work/late.jsonl" > "$work/late.sorted"
check "late collector: same records as the file written in the same run" diff -q "$work/file.sorted" "$work/late.sorted"

# 2. Collector goes away mid-run and comes back: nfprobe notices, retries,
# sends templates again on the new connection, and every record that was not
# reported as dropped arrives exactly once (the collector dies when it has
# read all it was sent: kill_collector_between_messages in lib.sh).
port=$(free_port tcp)
start_collector tcp "$port" "$work/first.jsonl"
first_pid=${collector_pids[-1]}
"$NFPROBE" -r "$pcap" -c "tcp://127.0.0.1:$port" --export-rate 40 --drain-timeout 30 \
    -P flowstats > /dev/null 2> "$work/away.err" &
probe=$!
wait_for_records "$work/first.jsonl" 20 30
kill_collector_between_messages "$probe" "$first_pid" "$port"
collector_pids=()
start_collector tcp "$port" "$work/second.jsonl"
rc=0; wait $probe || rc=$?
wait_for_records "$work/second.jsonl" 1 10
dropped=$(sed -n 's/^nfprobe: \([0-9]*\) flow records could not be delivered.*/\1/p' "$work/away.err")
dropped=${dropped:-0}
wait_for_records "$work/second.jsonl" $((want - dropped - $(grep -vc '"_options"' "$work/first.jsonl"))) 10
stop_collectors
got1=$(grep -vc '"_options"' "$work/first.jsonl" || true)
got2=$(grep -vc '"_options"' "$work/second.jsonl" || true)
check "collector restart: reconnected" grep -q "collector tcp://127.0.0.1:$port: connected" "$work/away.err"
check "collector restart: $got1 + $got2 received + $dropped dropped = $want" test $((got1 + got2 + dropped)) -eq "$want"
dups=$(cat "$work/first.jsonl" "$work/second.jsonl" | grep -v '"_options"' | python3 -c '
import json, sys
seen = [(r["flowId"], r["biflowDirection"]) for r in map(json.loads, sys.stdin)]
print(len(seen) - len(set(seen)))')
check "collector restart: no record twice" test "$dups" -eq 0
# What a new connection needs after the templates comes again too: the
# application names (options data, template 259) and every element's name
# (RFC 5610 records that did not fit in the templates message).
apps1=$(grep -c '"_tid":259' "$work/first.jsonl" || true)
apps2=$(grep -c '"_tid":259' "$work/second.jsonl" || true)
check "collector restart: application names sent again ($apps1 then $apps2)" \
    test "$apps1" -gt 0 -a "$apps2" -eq "$apps1"
unnamed=$(grep -v '"_options"' "$work/second.jsonl" | grep -c '"_32473_\|"_35632_' || true)
named=$(grep -v '"_options"' "$work/second.jsonl" | grep -c '"bidirectionalStddevPiatMs":' || true)
check "collector restart: plugin and DPI elements by name on the new connection ($named named, $unnamed not)" \
    test "$unnamed" -eq 0 -a "$named" -eq "$got2"

# 3. A clean end withdraws the templates (RFC 7011 §8.1) on the TCP stream
# (and in the file); the raw stream is kept and read with ipfixDump.
port=$(free_port tcp)
python3 - "$port" "$work/stream.ipfix" > "$work/sink.out" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
with open(sys.argv[2], "wb") as f:
    while True:
        b = c.recv(65536)
        if not b:
            break
        f.write(b)
PY
sink=$!
wait_for_line "$work/sink.out" ready 10 || fail_setup "raw TCP sink did not start"
"$NFPROBE" -r "$pcap" -q -c "tcp://127.0.0.1:$port" -o "$work/end.ipfix" > /dev/null 2>&1 || not_ok "nfprobe to the raw sink failed"
wait "$sink"
for f in stream end; do
    ipfixDump --in "$work/$f.ipfix" > "$work/$f.dump" 2>&1
    # The last message: template records 256-258 with field count 0, nothing else.
    last=$(awk '/^--- Message Header ---/ { m = "" } { m = m $0 "\n" } END { printf "%s", m }' "$work/$f.dump")
    withdrawn=$(printf '%b' "$last" | grep -c 'tid: *25[6-8] .*field count: *0 ')
    check "$f: the last message withdraws templates 256, 257 and 258 ($withdrawn)" test "$withdrawn" -eq 3
done

# 4. Collector never there: every record is counted as dropped, exit 1.
port=$(free_port tcp)
rc=0
"$NFPROBE" -r "$pcap" -c "tcp://127.0.0.1:$port" --drain-timeout 0.5 > /dev/null 2> "$work/down.err" || rc=$?
check "no collector: exit 1" test "$rc" -eq 1
check "no collector: $want records reported dropped" grep -q "^nfprobe: $want flow records could not be delivered" "$work/down.err"
check "no collector: export line counts the drops" grep -q "records sent, $want records dropped" "$work/down.err"

finish
