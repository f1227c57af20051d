#!/usr/bin/env bash
# --timestamp-type (issue 13): the clock that stamps live packets.
# Without root: refused with -r (also from a --config file), an unknown type
# named with what the interface offers (lo), `list` on lo printing what
# dumpcap --list-time-stamp-types says lo offers. As root, on the host end of
# a veth pair into a namespace made for this run (tests/lib.sh): `list`
# prints what dumpcap says the veth offers; adapter (hardware stamps, which a
# veth has not) is refused with the types it offers, exit 2; with host and
# --workers 2 (a capture handle each) 5 datagrams from the namespace are one
# record of 5 packets whose flowStart/EndNanoseconds agree with its
# milliseconds and carry sub-microsecond digits (live stamps in nanoseconds).
set -u
. "$(dirname "$0")/lib.sh"

# offered_by_dumpcap IFACE: the type names dumpcap lists, one a line
offered_by_dumpcap() {
    dumpcap --list-time-stamp-types -i "$1" 2> /dev/null | sed -n 's/^  \([a-z_]*\) (.*/\1/p' | sort
}

check_list() {   # iface
    local got want
    got=$("$NFPROBE" -i "$1" --timestamp-type list 2> "$work/list.err" | cut -f1 | sort)
    if ! command -v dumpcap > /dev/null; then
        want=host   # lo and veth stamp in software only
    else
        want=$(offered_by_dumpcap "$1")
    fi
    if [ -n "$got" ] && [ "$got" = "$want" ]; then ok "list on $1: $(echo $got) (as dumpcap says)"
    else not_ok "list on $1: '$(echo $got)', dumpcap '$(echo $want)': $(cat "$work/list.err")"; fi
}

echo "ANY" > "$work/cap.pcap"   # never read: the option is refused first
expect_error "-r refuses --timestamp-type" 2 "timestamp-type chooses the clock of a live capture" -- \
    -r "$work/cap.pcap" --timestamp-type host
printf 'timestamp-type = adapter\nread = %s\n' "$work/cap.pcap" > "$work/nfprobe.conf"
expect_error "-r refuses it from --config" 2 "timestamp-type chooses the clock of a live capture" -- \
    --config "$work/nfprobe.conf"
expect_error "an unknown type names what lo offers" 2 \
    "timestamp-type adapter_synced: no such time stamp type; lo offers host (see --timestamp-type list)" -- \
    -i lo --timestamp-type adapter_synced
check_list lo

if [ "$(id -u)" -ne 0 ]; then
    echo "# not root: the veth part skipped"
    finish
    exit
fi
command -v tshark > /dev/null || { echo "# tshark not installed: the veth part skipped"; finish; exit; }
netns_start
check_list "$vh"
expect_error "adapter refused on a veth, naming what it offers" 2 \
    "timestamp-type adapter: not offered; $vh offers host (see --timestamp-type list)" -- \
    -i "$vh" --timestamp-type adapter

port=$(free_port udp) sink=$(free_port udp)
start_collector udp "$port" "$work/live.jsonl"
printf '%s\n' flowStartNanoseconds flowEndNanoseconds flowStartMilliseconds flowEndMilliseconds \
    sourceIPv4Address destinationIPv4Address destinationTransportPort packetDeltaCount > "$work/live.tmpl"
"$NFPROBE" -i "$vh" -f "udp and dst port $sink" --timestamp-type host --workers 2 --no-dissect \
    --idle-timeout 1 -T "$work/live.tmpl" -c "udp://127.0.0.1:$port" > /dev/null 2> "$work/live.err" &
probe_pid=$!
pids+=($probe_pid)
wait_for_line "$work/live.err" "capturing on" 10 || fail_setup "nfprobe did not start: $(cat "$work/live.err")"
inns python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    s.sendto(b"tstamp", (sys.argv[1], int(sys.argv[2])))' "$H4" "$sink"
wait_for_records "$work/live.jsonl" 1 10
kill -TERM "$probe_pid"
wait "$probe_pid" 2> /dev/null
python3 - "$work/live.jsonl" "$N4" "$sink" > "$work/live.check" 2>&1 <<'PY'
import json, sys
recs = [r for r in map(json.loads, open(sys.argv[1])) if not r.get("_options")]
assert len(recs) == 1, "records: %s" % recs
r = recs[0]
assert (r["sourceIPv4Address"], r["destinationTransportPort"], r["packetDeltaCount"]) == \
    (sys.argv[2], int(sys.argv[3]), 5), r
for e in ("Start", "End"):
    assert r["flow%sNanoseconds" % e] // 10**6 == r["flow%sMilliseconds" % e], r
assert r["flowStartNanoseconds"] < r["flowEndNanoseconds"], r
assert any(r["flow%sNanoseconds" % e] % 1000 for e in ("Start", "End")), "no sub-microsecond digits: %s" % r
print("one record of 5 packets, %d .. %d ns" % (r["flowStartNanoseconds"], r["flowEndNanoseconds"]))
PY
if [ $? -eq 0 ]; then ok "--timestamp-type host, --workers 2: $(cat "$work/live.check")"
else not_ok "live capture: $(cat "$work/live.check"; head -3 "$work/live.err")"; fi

finish
