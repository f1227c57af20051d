#!/usr/bin/env bash
# zmq:// export without ntopng: a python3-zmq subscriber reads the messages as
# ntopng 5.2 does (two frames, 24-byte header, message ids, JSON keyed by
# nProbe's field ids) and the flows must equal nfprobe's JSON records of the
# same run; bind and connect modes, --zmq-now, a slow subscriber (drops at the
# high-water mark counted), bad endpoints. tests/ntopng_zmq.sh checks the same
# against a real ntopng.
set -u
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3     # Debian's, which has python3-zmq (REFERENCE.md)
$PY -c 'import zmq' 2> /dev/null || { echo "1..0 # SKIP python3-zmq not installed"; exit 77; }
SUB="$PY $TOOLS/zmq_sub.py"

pcap=$DATA/1kxun.pcap
# (zmq:// caps the active timeout at 30 s: the same here)
"$NFPROBE" -r "$pcap" -q --active-timeout 30 > "$work/plain.json" || fail_setup "nfprobe --json failed"
n=$(grep -c . "$work/plain.json")

# run_mode NAME SUB-MODE SUB-ENDPOINT NFPROBE-COLLECTOR [nfprobe options]
run_mode() {
    local name=$1 mode=$2 endpoint=$3 collector=$4; shift 4
    $SUB "$mode" "$endpoint" "$work/$name.flows" "$n" "$(bound 20)" > "$work/$name.sub" 2>&1 &
    local sub=$!
    [ "$mode" = connect ] || wait_for_line "$work/$name.sub" listening 10 || fail_setup "subscriber: $(cat "$work/$name.sub")"
    local rc=0
    "$NFPROBE" -r "$pcap" -q --json -c "$collector" "$@" > "$work/$name.json" 2> "$work/$name.err" || rc=$?
    check "$name: nfprobe exit 0" test "$rc" -eq 0
    rc=0; wait "$sub" || rc=$?
    check "$name: $n flows in well-framed messages, ids 1, 2, ... ($(tail -1 "$work/$name.sub"))" test "$rc" -eq 0
    check "$name: message ids without gaps" grep -q "gaps 0 " "$work/$name.sub"
}

# 1. nfprobe binds (ntopng -i tcp://HOST:PORT): the subscriber connects; the
# messages wait for its subscription.
port=$(free_port tcp)
run_mode bind connect "tcp://127.0.0.1:$port" "zmq://127.0.0.1:$port"
check "bind: every field equals the JSON record" $PY "$TOOLS/zmq_compare.py" "$work/bind.json" "$work/bind.flows"
check "bind: active timeout capped at 30 s for ntopng" grep -q "lowered to 30 s" <("$NFPROBE" -r "$pcap" -c "zmq://127.0.0.1:$(free_port tcp)" --drain-timeout 0.1 2>&1)

# 2. nfprobe connects (ntopng -i tcp://HOST:PORTc, collector mode), and
# --zmq-now: each flow ends within the run, its duration kept.
port=$(free_port tcp)
start=$(date +%s)
run_mode connect bind "tcp://127.0.0.1:$port" "zmq+connect://127.0.0.1:$port" --zmq-now
end=$(date +%s)
check "connect --zmq-now: fields equal, times moved into the run" \
    $PY "$TOOLS/zmq_compare.py" "$work/connect.json" "$work/connect.flows" --now "$start" "$end"

# 2b. --zmq-compress: every payload a zlib stream (0x00 first) that ntopng
# can unpack, the same flows.
port=$(free_port tcp)
run_mode compress connect "tcp://127.0.0.1:$port" "zmq://127.0.0.1:$port" --zmq-compress
check "compress: every message compressed ($(tail -1 "$work/compress.sub"))" \
    grep -qE "^messages ([0-9]+) .* compressed \1$" "$work/compress.sub"
check "compress: every field equals the JSON record" $PY "$TOOLS/zmq_compare.py" "$work/compress.json" "$work/compress.flows"

# 3. A stalled subscriber (smallest queues, reads nothing): nfprobe reads a
# capture from a FIFO; 150,000 flows expire (marker packets an hour later)
# and go out until the high-water mark, then are dropped and counted. The
# subscriber then reads; once it has read 1000 messages (the mark's 1000 were
# all taken before the first drop, and of what it read, those the kernel's
# socket buffers held, a few hundred, were not in the queue: so more than half
# the queue has gone, and libzmq makes room in steps of half the mark), a
# second marker ends the capture and
# the last flows go out with the next message ids: the ids of the dropped
# messages are a gap the subscriber (as ntopng) counts. Every record is
# received or counted as dropped; the loss makes the exit status 1.
# The marker packet 256 times (nfprobe reads packets in batches: a batch must
# fill for the clock to move), without the file header.
marker_records() {   # out sport epoch-seconds
    marker_pcap "$1.pcap" "$2"
    $PY -c 'import struct, sys
d = open(sys.argv[1], "rb").read()[24:]
open(sys.argv[2], "wb").write((struct.pack("<I", int(sys.argv[3])) + d[4:]) * 256)' "$1.pcap" "$1" "$3"
}
synthetic_pcap "$work/big.pcap" 450000 150000 1 10 || fail_setup "gen_pcap failed"
total=$(( $(meta_value "$work/big.pcap.meta" flows) + 2 ))
marker_records "$work/m1" 1111 1700003600
marker_records "$work/m2" 2222 1700007200
mkfifo "$work/fifo"
port=$(free_port tcp)
$SUB connect "tcp://127.0.0.1:$port" "$work/slow.flows" 100000000 "$(bound 30)" --slow "$work/gate" 2222 \
    > "$work/slow.sub" 2>&1 &
sub=$!
"$NFPROBE" -r "$work/fifo" --no-dissect -c "zmq://127.0.0.1:$port" > /dev/null 2> "$work/slow.err" &
probe=$!
{
    cat "$work/big.pcap" "$work/m1"
    wait_for_line "$work/slow.err" "does not keep up" 30 || echo "no high-water-mark message" >&2
    touch "$work/gate"
    wait_for_line "$work/slow.sub" "received 1000" 30 || echo "subscriber did not read" >&2
    cat "$work/m2"
} > "$work/fifo" 2> "$work/feeder.err"
rc=0; wait "$probe" || rc=$?
wait "$sub"
check "stalled subscriber: the feeder saw every step" test ! -s "$work/feeder.err"
check "stalled subscriber: nfprobe exit 1 (records lost)" test "$rc" -eq 1
read -r sent dropped < <(sed -n 's/.*export zmq:.*: [0-9]* messages, \([0-9]*\) records sent, \([0-9]*\) records dropped/\1 \2/p' "$work/slow.err")
read -r _ msgs _ got _ gaps _ last _ < <(tail -1 "$work/slow.sub")
check "stalled subscriber: drops counted (${dropped:-?} of $total records)" test "${dropped:-0}" -gt 0
check "stalled subscriber: received ($got) = sent (${sent:-?}), sent + dropped = $total" \
    test "$got" -eq "${sent:-x}" -a $((sent + dropped)) -eq "$total"
check "stalled subscriber: $gaps message ids skipped ($msgs received, last id $last)" \
    test "$gaps" -gt 0 -a $((msgs + gaps)) -eq "$last"

# 4. Bad endpoints: a one-line error and exit 1, as for any -c; a collector
# that never comes (connect mode) is no error at start, its records are
# counted as lost at the end.
expect_error "zmq without a port" 1 "give the port" -- -q -r "$pcap" -c zmq://127.0.0.1
expect_error "zmq unresolvable host" 1 "cannot resolve 'no-such-host.invalid'" -- -q -r "$pcap" -c zmq://no-such-host.invalid:5556
expect_error "zmq bind to an address not ours" 1 "cannot bind ZeroMQ socket" -- -q -r "$pcap" -c zmq://192.0.2.1:5556
port=$(free_port tcp)
$PY -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); print("bound",flush=True); time.sleep(600)' \
    "$port" > "$work/holder" &
holder=$!
collector_pids+=("$holder")
wait_for_line "$work/holder" bound 10 || fail_setup "cannot hold port $port"
expect_error "zmq bind to a port in use" 1 "Address already in use" -- -q -r "$pcap" -c "zmq://127.0.0.1:$port"
kill "$holder"
rc=0
"$NFPROBE" -r "$pcap" -q -c "zmq+connect://127.0.0.1:$(free_port tcp)" --drain-timeout 0.5 > /dev/null 2> "$work/absent.err" || rc=$?
check "zmq+connect, nobody there: the records counted as not delivered" \
    grep -q "$n flow records could not be delivered" "$work/absent.err"
check "zmq+connect, nobody there: exit status 1" test "$rc" -eq 1

finish
