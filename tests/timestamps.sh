#!/usr/bin/env bash
# Nanosecond time stamps end to end (issue 13). A capture written here with
# known, distinct nanosecond stamps (tests/tools/ns_pcap.py: .000000000,
# .999999999, two packets 1 ns apart within one microsecond), as a
# nanosecond pcap, the same as pcapng (editcap: libpcap reads it, not the
# mapping) and as a microsecond pcap, is exported to an IPFIX file with a -T
# template of flowStart/End Nanoseconds, Microseconds and Milliseconds.
# tests/tools/tstamp_check.py compares, per direction of each conversation,
# with the first and last packet times tshark reads from the capture
# (frame.time_epoch): collector-test's (libfixbuf) values to the nanosecond,
# microsecond and millisecond, and tshark's own decoding of the messages
# (no expert warnings). A microsecond file gives nanoseconds that are its
# microseconds x 1000. Also: --biflow with the reverse (PEN 29305) times,
# --workers 2 gives the same records, JSON's nfstream ms fields unchanged,
# and NetFlow v9 refuses the finer times with a clear error.
set -u
. "$(dirname "$0")/lib.sh"

command -v tshark > /dev/null || { echo "# tshark not installed: skipped"; exit 77; }
command -v editcap > /dev/null || { echo "# editcap not installed: skipped"; exit 77; }
CHECK="python3 $TOOLS/tstamp_check.py"

python3 "$TOOLS/ns_pcap.py" "$work/cap" || fail_setup "cannot write the test capture"
editcap -F pcapng "$work/cap.ns.pcap" "$work/cap.ns.pcapng" || fail_setup "editcap -F pcapng failed"

cat > "$work/fine.tmpl" <<'TMPL'
flowStartNanoseconds
flowEndNanoseconds
flowStartMicroseconds
flowEndMicroseconds
flowStartMilliseconds
flowEndMilliseconds
sourceIPv4Address
sourceIPv6Address
destinationIPv4Address
destinationIPv6Address
sourceTransportPort
destinationTransportPort
protocolIdentifier
packetDeltaCount
TMPL
{ cat "$work/fine.tmpl"; printf '%s\n' reverseFlowStartNanoseconds reverseFlowEndNanoseconds \
    reverseFlowStartMicroseconds reverseFlowEndMicroseconds reversePacketDeltaCount; } > "$work/bi.tmpl"

# export NAME CAPTURE [nfprobe options]: NAME.ipfix, NAME.jsonl (collector-test)
export_file() {
    local name=$1 cap=$2 rc=0; shift 2
    "$NFPROBE" -r "$cap" --no-dissect -q -o "$work/$name.ipfix" "$@" 2> "$work/$name.err" || rc=$?
    [ "$rc" -eq 0 ] || { echo "# nfprobe exit $rc: $(head -3 "$work/$name.err")"; return 1; }
    "$COLLECTOR" -r "$work/$name.ipfix" > "$work/$name.jsonl" 2> "$work/$name.cerr" ||
        { echo "# collector-test: $(cat "$work/$name.cerr")"; return 1; }
}

# tshark's decoding of NAME.ipfix, and the messages with expert info (none
# expected but the last: the file ends with the templates' withdrawal, whose
# options template (id, field count 0: RFC 7011 §8.1) tshark 4.0 calls
# malformed, expecting a scope field count).
tshark_decode() {
    local name=$1 flagged last
    $CHECK wrap "$work/$name.ipfix" "$work/$name.wrapped.pcap" &&
        tshark -r "$work/$name.wrapped.pcap" -T pdml > "$work/$name.pdml" 2> /dev/null || return 1
    last=$(tshark -r "$work/$name.wrapped.pcap" -T fields -e frame.number 2> /dev/null | tail -1)
    flagged=$(tshark -r "$work/$name.wrapped.pcap" -Y "(_ws.malformed || _ws.expert) && frame.number != $last" \
              -T fields -e frame.number 2> /dev/null)
    [ -n "$last" ] && [ -z "$flagged" ] || { echo "# tshark flags messages $flagged (of $last)"; return 1; }
}

for input in cap.ns.pcap cap.ns.pcapng cap.us.pcap; do
    name=${input//./-}
    if export_file "$name" "$work/$input" -T "$work/fine.tmpl" && tshark_decode "$name"; then
        check "$input: collector-test and tshark read each direction's first/last time to the ns, µs and ms" \
            $CHECK check "$work/$input" --collector "$work/$name.jsonl" --pdml "$work/$name.pdml"
    else
        not_ok "$input: export or decoding failed"
    fi
done

# the microsecond file's nanoseconds are the nanosecond file's microseconds x 1000
times() {   # jsonl unit factor: "start end" per record, sorted
    python3 -c 'import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if not r.get("_options"):
        print(*(r["flow%s%s" % (e, sys.argv[2])] * int(sys.argv[3]) for e in ("Start", "End")))' "$@" | sort
}
us_ns=$(times "$work/cap-us-pcap.jsonl" Nanoseconds 1) ns_us=$(times "$work/cap-ns-pcap.jsonl" Microseconds 1000)
if [ -n "$us_ns" ] && [ "$us_ns" = "$ns_us" ]; then
    ok "µs file: flowStart/EndNanoseconds = the ns file's flowStart/EndMicroseconds x 1000"
else
    not_ok "µs file: nanoseconds $us_ns, wanted $ns_us"
fi

if export_file bi "$work/cap.ns.pcap" -T "$work/bi.tmpl" --biflow; then
    check "--biflow: forward times span the flow, reverse* (PEN 29305) the responder's, to the ns" \
        $CHECK check "$work/cap.ns.pcap" --collector "$work/bi.jsonl" --biflow
else
    not_ok "--biflow export failed"
fi

if export_file workers "$work/cap.ns.pcap" -T "$work/fine.tmpl" --workers 2; then
    a=$(grep -v _options "$work/cap-ns-pcap.jsonl" | sort) b=$(grep -v _options "$work/workers.jsonl" | sort)
    if [ -n "$a" ] && [ "$a" = "$b" ]; then ok "--workers 2: the same records, nanoseconds included"
    else not_ok "--workers 2: records differ"; diff <(echo "$a") <(echo "$b") | head -5 | sed 's/^/#   /'; fi
else
    not_ok "--workers 2 export failed"
fi

"$NFPROBE" -r "$work/cap.ns.pcap" --no-dissect -q > "$work/json.jsonl" 2> "$work/json.err"
check "JSON: nfstream's first/last_seen_ms are the capture's times in ms" \
    $CHECK check "$work/cap.ns.pcap" --json "$work/json.jsonl"

expect_error "NetFlow v9 refuses nanoseconds" 1 "NetFlow v9 has no field for flowStartNanoseconds" -- \
    -r "$work/cap.ns.pcap" -q -V 9 -c udp://127.0.0.1:9 -T "$work/fine.tmpl"

finish
