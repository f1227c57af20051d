#!/usr/bin/env bash
# The NetFlow v9 and v5 message stream itself, read by an independent
# receiver (tests/tools/v9_listen.py):
#   - v9: sequence numbers count the messages from 0 without a gap (RFC 3954);
#     templates open the stream and come again every --template-refresh-packets
#     messages; every header count equals its records; every data set has its
#     template; no message exceeds --mtu; no record time after the header's
#     sysUptime; the data records are nfprobe's one-way records; with
#     dissection, the application names arrive as options records;
#   - v5: flow_sequence counts the records before each message; at most 30
#     records per message (1464 bytes: the default message size to loopback,
#     8192, does not raise that) and each message's length is its records';
#     the records are the IPv4 one-way records.
set -u
. "$(dirname "$0")/lib.sh"

LISTEN="$TOOLS/v9_listen.py"
pcap="$DATA/1kxun.pcap"
[ -f "$pcap" ] || fail_setup "no capture $pcap"
TIMEOUTS="--idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER"

listen() {   # port out
    python3 "$LISTEN" "$1" "$2" 2> "$2.err" &
    collector_pids+=($!)
    wait_for_line "$2.err" listening 10 || fail_setup "v9_listen.py did not start"
}

# Messages and records nfprobe says it sent to its UDP collector.
sent_counts() {   # nfprobe's stderr
    sed -n 's/.*export udp:[^ ]*: \([0-9]*\) messages, \([0-9]*\) records sent.*/\1 \2/p' "$1"
}

# Stop the listener once it has a line for each of the MESSAGES nfprobe sent.
stop_listen() {   # out messages
    [ -n "$2" ] && wait_for_records "$1" "$2" 10 || echo "# the listener got fewer datagrams than nfprobe sent"
    stop_collectors
}

# ---- v9 ---------------------------------------------------------------------------
port=$(free_port udp)
listen "$port" "$work/v9.txt"
# shellcheck disable=SC2086
"$NFPROBE" -r "$pcap" -V 9 --mtu 1200 --template-refresh-packets 5 --export-rate 20000 -O 7 \
    -c "udp://127.0.0.1:$port" $TIMEOUTS > /dev/null 2> "$work/v9.err" || not_ok "v9: nfprobe failed: $(head -2 "$work/v9.err")"
read -r msgs recs <<< "$(sent_counts "$work/v9.err")"
stop_listen "$work/v9.txt" "$msgs"
python3 - "$work/v9.txt" "$msgs" "$recs" 5 1200 > "$work/v9.check" <<'PY'
import sys
lines = [dict(kv.split("=", 1) for kv in l.split()[1:]) for l in open(sys.argv[1])]
msgs, recs, every, mtu = map(int, sys.argv[2:6])
bad = []
if len(lines) != msgs:
    bad.append("%d datagrams, nfprobe sent %d" % (len(lines), msgs))
if [int(l["seq"]) for l in lines] != list(range(len(lines))):
    bad.append("sequence numbers are not 0..%d" % (len(lines) - 1))
if sum(int(l["data"]) for l in lines) != recs:
    bad.append("%d data records, nfprobe sent %d" % (sum(int(l["data"]) for l in lines), recs))
if not lines or int(lines[0]["templates"]) < 2:
    bad.append("the stream does not start with the templates")
since = 0
for i, l in enumerate(lines):
    if int(l["len"]) > mtu:
        bad.append("message %d: %s bytes > mtu" % (i, l["len"]))
    if l["problems"] != "-":
        bad.append("message %d: %s" % (i, l["problems"]))
    if l["source"] != "7":
        bad.append("message %d: source id %s" % (i, l["source"]))
    if int(l["templates"]):
        since = 0
    else:
        since += 1
        if since > every:
            bad.append("message %d: more than %d data messages since the templates" % (i, every))
print("%d messages, %d with templates, %d options records; %d problems" % (
    len(lines), sum(1 for l in lines if int(l["templates"])), sum(int(l["options"]) for l in lines), len(bad)))
for b in bad[:15]:
    print(b)
PY
echo "# v9: $(head -1 "$work/v9.check")"
check "v9 stream: sequence, counts, templates every 5 messages, mtu 1200, source id" \
    grep -q '; 0 problems$' "$work/v9.check"

# ---- v5 ---------------------------------------------------------------------------
port=$(free_port udp)
listen "$port" "$work/v5.txt"
# shellcheck disable=SC2086
"$NFPROBE" -r "$pcap" -V 5 --export-rate 20000 -c "udp://127.0.0.1:$port" $TIMEOUTS \
    > /dev/null 2> "$work/v5.err" || not_ok "v5: nfprobe failed: $(head -2 "$work/v5.err")"
read -r msgs recs <<< "$(sent_counts "$work/v5.err")"
stop_listen "$work/v5.txt" "$msgs"
want=$(awk '!/^#/ && NF >= 12 && $3 ~ /\./ { r += ($7 > 0) + ($10 > 0) } END { print r + 0 }' "$EXPECTED/1kxun.pcap.flows")
python3 - "$work/v5.txt" "$msgs" "$recs" "$want" > "$work/v5.check" <<'PY'
import sys
lines = [dict(kv.split("=", 1) for kv in l.split()[1:]) for l in open(sys.argv[1])]
msgs, recs, want = map(int, sys.argv[2:5])
bad = []
if len(lines) != msgs:
    bad.append("%d datagrams, nfprobe sent %d" % (len(lines), msgs))
if recs != want:
    bad.append("nfprobe sent %d records, the capture has %d IPv4 one-way records" % (recs, want))
seq = 0
for i, l in enumerate(lines):
    if int(l["seq"]) != seq:
        bad.append("message %d: flow_sequence %s, want %d" % (i, l["seq"], seq))
    seq += int(l["count"])
    if int(l["count"]) > 30 or int(l["len"]) != 24 + 48 * int(l["count"]):
        bad.append("message %d: %s records, %s bytes" % (i, l["count"], l["len"]))
    if l["problems"] != "-":
        bad.append("message %d: %s" % (i, l["problems"]))
if seq != want:
    bad.append("%d records received, want %d" % (seq, want))
print("%d messages, %d records; %d problems" % (len(lines), seq, len(bad)))
for b in bad[:15]:
    print(b)
PY
echo "# v5: $(head -1 "$work/v5.check")"
check "v5 stream: flow_sequence, at most 30 records a message, $want IPv4 records" \
    grep -q '; 0 problems$' "$work/v5.check"

finish
