#!/usr/bin/env bash
# Default UDP message size (--mtu auto): a message fills the route's MTU to
# the collector, less the IP and UDP headers, and never more than 8192 bytes.
# In a network namespace of the test's own (lib.sh netns_start), a veth pair
# gets MTU 1280, then 9000; a plain UDP socket in the namespace receives
# nfprobe's export of 1kxun.pcap over IPv4 and over IPv6 and writes each
# datagram's size and the length its IPFIX header gives.
# Checks, per MTU and address family: every message nfprobe sent arrives;
# each datagram is one whole IPFIX message; the largest is at most the route
# allows (1280: 1252 over IPv4, 1232 over IPv6; 9000: 8192) and close to it
# (the capture's 164 records fill messages: a message ends when the next
# record, at most ~330 bytes here, does not fit).
# Needs root and `ip netns`; skipped (77) otherwise.
set -u
. "$(dirname "$0")/lib.sh"

netns_start
pcap="$DATA/1kxun.pcap"
TIMEOUTS="--idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER"

# receive MTU FAMILY ADDRESS: nfprobe exports to ADDRESS; checks as above.
receive() {
    local mtu=$1 fam=$2 addr=$3 port out sent largest want receiver deadline
    port=$(free_port udp)
    out="$work/sizes.$mtu.$fam"
    inns python3 -u -c '
import socket, sys
fam = socket.AF_INET6 if sys.argv[1] == "6" else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((sys.argv[2], int(sys.argv[3])))
print("listening", file=sys.stderr, flush=True)
while True:
    d = s.recv(65535)
    print(len(d), int.from_bytes(d[2:4], "big"))
' "$fam" "$addr" "$port" > "$out" 2> "$out.err" &
    receiver=$!
    pids+=("$receiver")
    wait_for_line "$out.err" listening 10 || fail_setup "the UDP receiver in $ns did not start: $(cat "$out.err")"
    local target=$addr
    [ "$fam" = 6 ] && target="[$addr]"
    # shellcheck disable=SC2086
    "$NFPROBE" -r "$pcap" -c "udp://$target:$port" $TIMEOUTS > /dev/null 2> "$out.nfprobe" ||
        not_ok "MTU $mtu, IPv$fam: nfprobe failed: $(head -3 "$out.nfprobe")"
    sent=$(sed -n 's/.*export udp:[^ ]*: \([0-9]*\) messages.*/\1/p' "$out.nfprobe")
    deadline=$(deadline_in 10)
    until [ "$(wc -l < "$out")" -ge "${sent:-1}" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
    kill "$receiver" 2> /dev/null
    wait "$receiver" 2> /dev/null
    largest=$(sort -n "$out" | tail -1 | cut -d' ' -f1)
    if [ "$mtu" -ge 8192 ]; then want=8192; elif [ "$fam" = 6 ]; then want=$((mtu - 48)); else want=$((mtu - 28)); fi
    check "MTU $mtu, IPv$fam: all ${sent:-?} messages arrive" test "$(wc -l < "$out")" -eq "${sent:-0}"
    check "MTU $mtu, IPv$fam: each datagram is one whole IPFIX message" awk '$1 != $2 { exit 1 }' "$out"
    check "MTU $mtu, IPv$fam: largest message ${largest:-none} <= $want" test "${largest:-99999}" -le "$want"
    check "MTU $mtu, IPv$fam: largest message ${largest:-none} > $want - 400 (messages filled)" \
        test "${largest:-0}" -gt $((want - 400))
}

for mtu in 1280 9000; do
    ip link set "$vh" mtu "$mtu" && inns ip link set "$vn" mtu "$mtu" || fail_setup "cannot set MTU $mtu"
    receive "$mtu" 4 "$N4"
    receive "$mtu" 6 "$N6"
done

finish
