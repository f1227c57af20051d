#!/usr/bin/env bash
# Live capture (nfprobe -i) on the host end of a veth pair whose other end is
# in a network namespace made for this run (.1 on the host end, .2 in the
# namespace, from the first /24 of 192.0.2, 198.51.100, 10.253.77 and /64 of
# 2001:db8:4e46/7 that the host does not already use; IPv6 nodad). From
# inside the namespace, python3 makes known traffic to a python3 server on the
# host end: 3 TCP connections over IPv4 and 1 over IPv6 (request, response,
# FIN both ways), 5 UDP datagrams to one port, 2 to another, 1 over IPv6, and
# one ICMP echo. nfprobe (--idle-timeout 6, --stats 1) exports to
# collector-test; tshark captures the same veth with the same filter.
# Readiness without guessed sleeps: nfprobe's "capturing on" line; tshark gets
# probe datagrams (a port nfprobe's filter leaves out) until one is in its
# file; TCP is done when the server has no LAST-ACK socket left; nfprobe is
# stopped (SIGTERM) once collector-test has all records (they end on the wall
# clock: idle 2 s, TCP close 2 s) or 10 s passed.
# Checks: exactly 13 one-way records, all exported before SIGTERM with
# flowEndReason idle (UDP, ICMP) or TCP close; --stats output while running;
# nfprobe saw as many packets as tshark; the flows equal tshark's capture of the
# veth (tests/tools/tshark_flows.py, every packet and byte per direction); and
# the known facts: UDP packets and IP bytes from the payload sizes, ICMP echo
# 84 bytes each way, TCP SYN and FIN in both directions.
# Needs root and `ip netns`; skipped (77) otherwise.
set -u
. "$(dirname "$0")/lib.sh"

command -v tshark > /dev/null || { echo "# tshark not installed: skipped"; exit 77; }
export DEBIAN_FRONTEND=noninteractive
netns_start

tcp_port=$(free_port tcp) udp_a=$(free_port udp) udp_b=$(free_port udp) udp_6=$(free_port udp) probe_port=$(free_port udp)
HOSTS="((ip and host $N4) or (ip6 and host $N6 and not (icmp6 and ip6[40] >= 133 and ip6[40] <= 137)))"
FILTER="$HOSTS and not udp port $probe_port"   # nfprobe's: no probes, no neighbour discovery

# The server on the host end: TCP (IPv4 and IPv6) answers each request with
# the size it names; UDP ports only receive (no ICMP port unreachable).
python3 - "$H4" "$H6" "$tcp_port" "$udp_a" "$udp_b" "$udp_6" "$probe_port" > "$work/server.out" 2>&1 <<'PY' &
import socket, sys, threading
h4, h6, tp, ua, ub, u6, pp = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
def serve(ls):
    while True:
        c, _ = ls.accept()
        data = b""
        while True:
            d = c.recv(65536)
            if not d:
                break
            data += d
        size = int(data.split(b" ", 1)[0])
        c.sendall(b"r" * size)
        c.close()
for fam, addr in ((socket.AF_INET, h4), (socket.AF_INET6, h6)):
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, tp)); ls.listen(8)
    threading.Thread(target=serve, args=(ls,), daemon=True).start()
udp = []
for fam, addr, port in ((socket.AF_INET, h4, ua), (socket.AF_INET, h4, ub), (socket.AF_INET6, h6, u6), (socket.AF_INET, h4, pp)):
    s = socket.socket(fam, socket.SOCK_DGRAM); s.bind((addr, port)); udp.append(s)
print("ready", flush=True)
threading.Event().wait()
PY
pids+=($!)
wait_for_line "$work/server.out" ready 10 || fail_setup "server did not start: $(cat "$work/server.out")"

send_probe() { echo sent >> "$work/probes.sent"; inns python3 -c 'import socket, sys; socket.socket().close(); s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b"probe", (sys.argv[1], int(sys.argv[2])))' "$H4" "$probe_port"; }
frames_with_probe() { tshark -r "$work/veth.pcapng" -Y "udp.dstport == $probe_port" -T fields -e frame.number 2> /dev/null | wc -l; }

# tshark on the veth, ready once it has a probe in its file.
tshark -i "$vh" -f "$HOSTS" -w "$work/veth.pcapng" > /dev/null 2> "$work/tshark.err" &
tshark_pid=$!
pids+=($tshark_pid)
wait_for_line "$work/tshark.err" "Capturing on" 20 || fail_setup "tshark did not start: $(cat "$work/tshark.err")"
deadline=$(deadline_in 20)
until [ "$(frames_with_probe)" -ge 1 ]; do
    [ $SECONDS -lt $deadline ] || fail_setup "tshark captured no probe on $vh"
    send_probe
    sleep 0.1
done
# Several probes may be in flight when the first shows up: count them all,
# so that the closing probe below is one sent after the traffic.
until [ "$(frames_with_probe)" -ge "$(grep -c . "$work/probes.sent" 2> /dev/null || echo 0)" ]; do
    [ $SECONDS -lt $deadline ] || fail_setup "tshark did not write the probes sent to $vh"
    sleep 0.05
done
probes_before=$(frames_with_probe)

port=$(free_port udp)
start_collector udp "$port" "$work/records.jsonl"
"$NFPROBE" -i "$vh" -f "$FILTER" -c "udp://127.0.0.1:$port" --idle-timeout 6 --stats 1 > "$work/nfprobe.out" 2> "$work/nfprobe.err" &
nfprobe_pid=$!
pids+=($nfprobe_pid)
if wait_for_line "$work/nfprobe.err" "capturing on $vh" 10; then ok "nfprobe says it is capturing on $vh"
else not_ok "nfprobe did not say 'capturing on $vh': $(head -3 "$work/nfprobe.err")"; fi

# The traffic, from inside the namespace. Prints what it sent.
inns python3 - "$H4" "$H6" "$tcp_port" "$udp_a" "$udp_b" "$udp_6" > "$work/client.out" 2>&1 <<'PY'
import os, socket, struct, sys
h4, h6, tp, ua, ub, u6 = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
def tcp(fam, addr, req, resp):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.connect((addr, tp))
    msg = (b"%d " % resp).ljust(req, b"q")
    s.sendall(msg)
    s.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += len(d)
    assert got == resp, (got, resp)
    print("tcp", fam == socket.AF_INET6 and 6 or 4, s.getsockname()[1], tp, req, resp)
    s.close()
for req, resp in ((100, 1000), (200, 5000), (300, 20000)):
    tcp(socket.AF_INET, h4, req, resp)
tcp(socket.AF_INET6, h6, 150, 3000)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("0.0.0.0", 0))
for n in (10, 20, 30, 40, 50):
    u.sendto(b"a" * n, (h4, ua))
for n in (500, 1000):
    u.sendto(b"b" * n, (h4, ub))
print("udp", 4, u.getsockname()[1], ua, "10 20 30 40 50")
print("udp", 4, u.getsockname()[1], ub, "500 1000")
u6s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
u6s.bind(("::", 0))
u6s.sendto(b"c" * 100, (h6, u6))
print("udp", 6, u6s.getsockname()[1], u6, "100")
# ICMP echo, 56 bytes of data: 84-byte IP packets each way.
r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
r.settimeout(600)   # a bound for a hang, not a guess at speed
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b)); s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
ident = os.getpid() & 0xffff
body = struct.pack("!HH", ident, 1) + b"p" * 56
pkt = struct.pack("!BBH", 8, 0, 0) + body
pkt = struct.pack("!BBH", 8, 0, csum(pkt)) + body
r.sendto(pkt, (h4, 0))
while True:
    d, a = r.recvfrom(2048)
    if a[0] == h4 and d[20] == 0 and struct.unpack("!H", d[24:26])[0] == ident:
        break
print("icmp", 4, 0, 0, "56")
PY
client_rc=$?
[ "$client_rc" -eq 0 ] || fail_setup "client failed: $(cat "$work/client.out")"

# TCP is over when the server end has received the last ACK of every connection.
deadline=$(deadline_in 10)
while ss -Htn state last-ack "sport = :$tcp_port" | grep -q .; do
    [ $SECONDS -lt $deadline ] || { echo "# server sockets still in LAST-ACK"; break; }
    sleep 0.05
done
# A closing probe: once tshark has one sent after the traffic, it has
# everything before it.
deadline=$(deadline_in 20)
until [ "$(frames_with_probe)" -gt "$probes_before" ]; do
    [ $SECONDS -lt $deadline ] || { echo "# closing probe not captured"; break; }
    send_probe
    sleep 0.1
done
kill -INT "$tshark_pid"; wait "$tshark_pid" 2> /dev/null
tshark -r "$work/veth.pcapng" -Y "!(udp.port == $probe_port)" -w "$work/traffic.pcapng" 2> /dev/null
want_packets=$(tshark -r "$work/traffic.pcapng" -T fields -e frame.number 2> /dev/null | wc -l)

# Live, flows end on the wall clock: the UDP and ICMP flows after 6 s idle
# (flowEndReason 1), the TCP ones 2 s after their close (3). So all 13
# records arrive while nfprobe still runs; then SIGTERM.
if wait_for_records "$work/records.jsonl" 13 30; then ok "all 13 records exported on the wall clock before SIGTERM"
else not_ok "records not exported on the wall clock (idle/TCP-close timeouts) within 30 s of the traffic"; fi
stats_lines=$(grep -c '^nfprobe: packets:' "$work/nfprobe.err")
kill -TERM "$nfprobe_pid"
wait "$nfprobe_pid"; rc=$?
if [ "$rc" -eq 0 ]; then ok "nfprobe exits 0 on SIGTERM"; else not_ok "nfprobe exit $rc on SIGTERM: $(tail -3 "$work/nfprobe.err")"; fi
if [ "$stats_lines" -ge 1 ]; then ok "--stats 1 printed statistics while running ($stats_lines times)"
else not_ok "--stats 1 printed no statistics while running"; fi
seen=$(sed -n 's/^nfprobe: packets: \([0-9]*\) seen.*/\1/p' "$work/nfprobe.err" | tail -1)
echo "# tshark captured $want_packets packets on $vh; nfprobe saw $seen"
[ "$seen" = "$want_packets" ] && ok "nfprobe saw the $want_packets packets tshark captured" || not_ok "nfprobe saw $seen packets, tshark $want_packets"

wait_for_records "$work/records.jsonl" 13 10
sent=$(sed -n 's/.*export udp:[^ ]*: [0-9]* messages, \([0-9]*\) records sent.*/\1/p' "$work/nfprobe.err" | tail -1)
stop_collectors
got=$(grep -vc '"_options"' "$work/records.jsonl")
[ "$got" -eq 13 ] && [ "$sent" = 13 ] && ok "13 one-way records exported and received" ||
    not_ok "collector-test received $got data records, nfprobe sent $sent, want 13"
reasons=$(python3 -c '
import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if not r.get("_options"):
        print(r["protocolIdentifier"], r["flowEndReason"])' "$work/records.jsonl" | sort | uniq -c | awk '{printf "%s proto %s reason %s; ", $1, $2, $3}')
echo "# flowEndReason: $reasons"
[ "$reasons" = "2 proto 1 reason 1; 3 proto 17 reason 1; 8 proto 6 reason 3; " ] && ok "flowEndReason: idle (1) for UDP/ICMP, TCP close (3) for TCP" ||
    not_ok "flowEndReason: $reasons want UDP/ICMP idle (1), TCP close (3)"

python3 "$TOOLS/tshark_flows.py" "$work/traffic.pcapng" > "$work/traffic.flows" 2> "$work/traffic.flows.err" ||
    not_ok "tshark_flows.py failed: $(head -3 "$work/traffic.flows.err")"
check "records = tshark's capture of $vh (packets, bytes per direction)" \
    python3 "$TOOLS/compare_flows.py" "$work/traffic.flows" "$work/records.jsonl" --format ipfix

check "records = the traffic sent (UDP/ICMP sizes, TCP SYN/FIN both ways)" python3 - "$work/records.jsonl" "$work/client.out" "$N4" "$N6" "$H4" "$H6" "$tcp_port" <<'PY'
import ipaddress, json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
recs = [r for r in recs if not r.get("_options")]
n4, n6, h4, h6, tp = sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], int(sys.argv[7])
def src(r): return str(ipaddress.ip_address(r.get("sourceIPv4Address") or r.get("sourceIPv6Address")))
def dst(r): return str(ipaddress.ip_address(r.get("destinationIPv4Address") or r.get("destinationIPv6Address")))
errors = []
def find(**k):
    return [r for r in recs if all((src(r) if a == "src" else dst(r) if a == "dst" else r.get(a)) == v for a, v in k.items())]
for line in open(sys.argv[2]):
    kind, ver, cport, sport, *rest = line.split()
    ver, cport, sport = int(ver), int(cport), int(sport)
    c, s = (n4, h4) if ver == 4 else (n6, h6)
    hdr = 20 if ver == 4 else 40
    if kind == "udp":
        sizes = [int(x) for x in rest[0:]]
        f = find(src=c, dst=s, sourceTransportPort=cport, destinationTransportPort=sport, protocolIdentifier=17)
        want = (len(sizes), sum(hdr + 8 + n for n in sizes))
        if len(f) != 1 or (f[0]["packetDeltaCount"], f[0]["octetDeltaCount"]) != want or f[0]["biflowDirection"] != 1:
            errors.append("udp %s:%d -> %s:%d: want one initiator record %s, got %s" % (c, cport, s, sport, want, f))
        if find(src=s, dst=c, sourceTransportPort=sport, destinationTransportPort=cport):
            errors.append("udp %d: unexpected reverse record" % sport)
    elif kind == "icmp":
        f = find(src=c, dst=s, protocolIdentifier=1)
        b = find(src=s, dst=c, protocolIdentifier=1)
        if len(f) != 1 or (f[0]["packetDeltaCount"], f[0]["octetDeltaCount"], f[0].get("icmpTypeCodeIPv4")) != (1, 84, 0x0800):
            errors.append("icmp echo request record: %s" % f)
        if len(b) != 1 or (b[0]["packetDeltaCount"], b[0]["octetDeltaCount"], b[0]["biflowDirection"]) != (1, 84, 2) or \
                (f and b[0]["flowId"] != f[0]["flowId"]):
            errors.append("icmp echo reply record: %s" % b)
    elif kind == "tcp":
        req, resp = int(rest[0]), int(rest[1])
        f = find(src=c, dst=s, sourceTransportPort=cport, destinationTransportPort=tp, protocolIdentifier=6)
        b = find(src=s, dst=c, sourceTransportPort=tp, destinationTransportPort=cport, protocolIdentifier=6)
        if len(f) != 1 or len(b) != 1:
            errors.append("tcp %d: want one record per direction, got %d and %d" % (cport, len(f), len(b)))
            continue
        f, b = f[0], b[0]
        if (f["tcpControlBits"] & 0x13) != 0x13 or (b["tcpControlBits"] & 0x13) != 0x13:
            errors.append("tcp %d: flags %#x / %#x, want SYN, ACK and FIN both ways" % (cport, f["tcpControlBits"], b["tcpControlBits"]))
        if f["flowId"] != b["flowId"] or (f["biflowDirection"], b["biflowDirection"]) != (1, 2):
            errors.append("tcp %d: flowId/biflowDirection %s" % (cport, [(f["flowId"], f["biflowDirection"]), (b["flowId"], b["biflowDirection"])]))
        if f["octetDeltaCount"] < req + 3 * hdr or b["octetDeltaCount"] < resp + 2 * hdr or f["packetDeltaCount"] < 3:
            errors.append("tcp %d: %d pkts %d bytes / %d pkts %d bytes, too few for %d/%d payload" % (
                cport, f["packetDeltaCount"], f["octetDeltaCount"], b["packetDeltaCount"], b["octetDeltaCount"], req, resp))
if errors:
    print("\n".join(errors)); sys.exit(1)
PY

finish
