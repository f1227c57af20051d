#!/usr/bin/env python3
"""Independent computations for the selection tests (issue 14), written from
README's "Selection" section, not from nfprobe's code.

  selection.py count PCAP N
      Systematic 1-in-N (the 1st, N+1th, ... frame of the file): the selected
      IP packets and their IP-level bytes, "packets bytes".
  selection.py random-bounds PCAP N
      Uniform 1-in-N over every frame: "packets bytes sd_packets sd_bytes", the
      truth and the standard deviation of N times a binomial selection's sums
      (N * sqrt(p (1 - p) * sum of x^2), p = 1/N).
  selection.py ipfix-pcap IPFIX-FILE OUT.pcap
      The IPFIX messages of an -o file as UDP datagrams to port 4739, one a
      frame, for tshark; not the template withdrawal at the end, which only
      streams and files carry.
  selection.py hash-pcaps A.pcap B.pcap
      Two captures that share 400 one-packet UDP flows (198.18.200.x) among
      different other traffic (A: 10.1.x.x, B: 10.2.x.x); B's copies of the
      shared packets crossed more routers (other TTL, DSCP and checksum).
  selection.py hash-select PCAP FROM TO INIT
      The frames whose BOB hash (RFC 5475 Appendix A, initval INIT) of the
      documented fields lies in FROM..TO: one "src sport dst dport" a line.
  selection.py flow-check EXPR_NAME N SEED ALL.json SELECTED.json
      The records of SELECTED.json are exactly those of ALL.json that the
      expression named EXPR_NAME (see EXPRESSIONS) matches and that the flow
      sampling hash keeps (N <= 1: all).  Exit 1 with the differences.
  selection.py flow-check-many LIST
      flow-check for every line "EXPR_NAME N SEED ALL.json SELECTED.json NAME"
      of LIST; prints "checked records selected", exit 1 at any difference.
  selection.py flood-pcap OUT.pcap RATE
      100 long UDP flows (10.7.0.x:5000 -> 10.8.0.1:6000+x, a packet each
      second for 60 s, 200 bytes) and from the 3rd second on (the long flows
      have two packets each by then) RATE one-packet flows a second
      (172.16-31.x.x -> 172.31.0.1:9) for 58 s.
  selection.py long-flows JSON
      The 100 long flows' records: "flows records packets bytes" (whole: 100
      100 6000 1200000).
Python 3 standard library only.
"""
import ipaddress
import json
import math
import struct
import sys

# ---- pcap ---------------------------------------------------------------------


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    at, frames = 24, []
    while at + 16 <= len(data):
        _, _, caplen, wirelen = struct.unpack(endian + "IIII", data[at:at + 16])
        frames.append((data[at + 16:at + 16 + caplen], wirelen))
        at += 16 + caplen
    return linktype, frames


def ip_of(frame, linktype):
    """The IP header and what follows, or None (Ethernet, VLAN tags, raw IP)."""
    if linktype == 1:
        off, etype = 14, struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
        while etype in (0x8100, 0x88A8) and len(frame) >= off + 4:
            etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
            off += 4
        if etype not in (0x0800, 0x86DD):
            return None
        return frame[off:]
    if linktype in (12, 14, 101):
        return frame
    return None


def ip_len(ip):
    if len(ip) >= 20 and ip[0] >> 4 == 4:
        return struct.unpack("!H", ip[2:4])[0]
    if len(ip) >= 40 and ip[0] >> 4 == 6:
        return 40 + struct.unpack("!H", ip[4:6])[0]
    return None


def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in frames:
            sec, usec = int(ts), int(round((ts - int(ts)) * 1e6))
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s >> 16) + (s & 0xFFFF)
    return ~s & 0xFFFF


def udp_frame(src, dst, sport, dport, payload, ttl=64, tos=0, ident=0):
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(udp), ident, 0, ttl, 17, 0,
                     ipaddress.ip_address(src).packed, ipaddress.ip_address(dst).packed)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp

# ---- BOB (RFC 5475 Appendix A) ---------------------------------------------------


def bob(k, initval):
    M = 0xFFFFFFFF

    def mix(a, b, c):
        a = (a - b - c) & M; a ^= c >> 13
        b = (b - c - a) & M; b ^= (a << 8) & M
        c = (c - a - b) & M; c ^= b >> 13
        a = (a - b - c) & M; a ^= c >> 12
        b = (b - c - a) & M; b ^= (a << 16) & M
        c = (c - a - b) & M; c ^= b >> 5
        a = (a - b - c) & M; a ^= c >> 3
        b = (b - c - a) & M; b ^= (a << 10) & M
        c = (c - a - b) & M; c ^= b >> 15
        return a, b, c

    a = b_ = 0x9E3779B9
    c = initval & M
    n, i = len(k), 0
    while n - i >= 12:
        a = (a + int.from_bytes(k[i:i + 4], "little")) & M
        b_ = (b_ + int.from_bytes(k[i + 4:i + 8], "little")) & M
        c = (c + int.from_bytes(k[i + 8:i + 12], "little")) & M
        a, b_, c = mix(a, b_, c)
        i += 12
    c = (c + n) & M
    tail = k[i:] + bytes(12 - (n - i))
    a = (a + int.from_bytes(tail[0:4], "little")) & M
    b_ = (b_ + int.from_bytes(tail[4:8], "little")) & M
    c = (c + (int.from_bytes(tail[8:12], "little") << 8)) & M
    return mix(a, b_, c)[2]


def packet_hash_input(ip):
    """README: IPv4 header bytes 2-7 and 12-19, IPv6 bytes 4-5 and 8-39, then
    the first 8 bytes of the IP payload (as far as captured and as long as
    the IP length says)."""
    if ip[0] >> 4 == 4:
        hdr = (ip[0] & 15) * 4
        fixed = ip[2:8] + ip[12:20]
    else:
        hdr = 40
        fixed = ip[4:6] + ip[8:40]
    end = min(len(ip), ip_len(ip))
    return fixed + ip[hdr:min(end, hdr + 8)]


def flow_hash(r, seed):
    """README: the lower (address, port) end first, then the other (16
    address bytes, IPv4 in the first 4; the port big-endian), protocol, VLAN
    id big-endian."""
    def end(ip, port):
        a = ipaddress.ip_address(ip).packed
        return a + bytes(16 - len(a)) + struct.pack("!H", port)
    x, y = end(r["src_ip"], r["src_port"]), end(r["dst_ip"], r["dst_port"])
    lo, hi = (x, y) if x <= y else (y, x)
    return bob(lo + hi + struct.pack("!BH", r["protocol"], r["vlan_id"]), seed)

# ---- flow filter expressions, written out by hand --------------------------------


def in_net(addr, net):
    a = ipaddress.ip_address(addr)
    n = ipaddress.ip_network(net)
    return a.version == n.version and a in n


EXPRESSIONS = {
    # port: either end; "in" a prefix; not; numbers; strings; parentheses
    "web-or-dns": ("(port == 443 or port == 53 or dst_port == 80) and bidirectional_packets >= 2",
                   lambda r: (443 in (r["src_port"], r["dst_port"]) or 53 in (r["src_port"], r["dst_port"])
                              or r["dst_port"] == 80) and r["bidirectional_packets"] >= 2),
    "nets": ("src_ip in 192.168.0.0/16 or dst_ip == 10.0.0.0/8 or ip in fe80::/10 and not protocol == 17",
             lambda r: in_net(r["src_ip"], "192.168.0.0/16") or in_net(r["dst_ip"], "10.0.0.0/8")
             or ((in_net(r["src_ip"], "fe80::/10") or in_net(r["dst_ip"], "fe80::/10")) and r["protocol"] != 17)),
    "l7": ('application_category_name != "Network" && end_reason < 4 || bytes > 10000',
           lambda r: ("application_category_name" in r and r["application_category_name"] != "Network"
                      and r["end_reason"] < 4) or r["bidirectional_bytes"] > 10000),
    # a plugin's field (-P flowstats), a float
    "plugin": ("bidirectional_mean_ps > 300.5 and src2dst_packets > 1",
               lambda r: r["bidirectional_mean_ps"] > 300.5 and r["src2dst_packets"] > 1),
    "all": ("bidirectional_packets >= 1", lambda r: True),
}


def records(path):
    with open(path) as f:
        return [line for line in f if line.startswith("{")]


def flow_check(name, n, seed, all_path, sel_path):
    pred = EXPRESSIONS[name][1]
    want = []
    for line in records(all_path):
        r = json.loads(line)
        if pred(r) and (n <= 1 or (flow_hash(r, seed) * n) >> 32 == 0):
            want.append(line)
    got = records(sel_path)
    if sorted(want) == sorted(got):
        print(len(got))
        return 0
    ws, gs = set(want), set(got)
    for line in sorted(ws - gs)[:5]:
        print("missing:", line.strip())
    for line in sorted(gs - ws)[:5]:
        print("extra:", line.strip())
    print("wanted %d records, got %d" % (len(want), len(got)))
    return 1

def flow_check_many(path):
    rc, checked, total, kept = 0, 0, 0, 0
    for line in open(path):
        name, n, seed, all_path, sel_path, label = line.split()
        pred = EXPRESSIONS[name][1]
        want = [l for l in records(all_path)
                if pred(json.loads(l)) and (int(n) <= 1 or (flow_hash(json.loads(l), int(seed)) * int(n)) >> 32 == 0)]
        got = records(sel_path)
        checked += 1
        total += len(records(all_path))
        kept += len(got)
        if sorted(want) != sorted(got):
            rc = 1
            print("%s (%s): wanted %d records, got %d" % (label, name, len(want), len(got)))
    print(checked, total, kept)
    return rc

# ---- commands ---------------------------------------------------------------------


def cmd_count(path, n):
    """Also the IPv4 share (NetFlow v5 carries IPv4 only)."""
    linktype, frames = read_pcap(path)
    p = b = p4 = b4 = 0
    for i, (frame, _) in enumerate(frames):
        ip = ip_of(frame, linktype)
        if i % n == 0 and ip and ip_len(ip):
            p += 1
            b += ip_len(ip)
            if ip[0] >> 4 == 4:
                p4 += 1
                b4 += ip_len(ip)
    print(p, b, p4, b4)


def cmd_ipfix_pcap(path, out):
    with open(path, "rb") as f:
        data = f.read()
    frames, at = [], 0
    while at + 16 <= len(data):
        n = struct.unpack("!H", data[at + 2:at + 4])[0]
        msg = data[at:at + n]
        at += max(n, 16)
        if len(msg) >= 24 and struct.unpack("!H", msg[16:18])[0] in (2, 3) and msg[22:24] == b"\0\0":
            continue    # a withdrawal: template records with field count 0
        udp = struct.pack("!HHHH", 4739, 4739, 8 + len(msg), 0) + msg
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                         bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        frames.append((1700000000 + len(frames), b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp))
    write_pcap(out, frames)


def cmd_random_bounds(path, n):
    linktype, frames = read_pcap(path)
    p = b = b2 = 0
    for frame, _ in frames:
        ip = ip_of(frame, linktype)
        if ip and ip_len(ip):
            x = ip_len(ip)
            p += 1
            b += x
            b2 += x * x
    q = 1.0 / n
    print(p, b, "%.0f" % (n * math.sqrt(p * q * (1 - q))), "%.0f" % (n * math.sqrt(b2 * q * (1 - q))))


def cmd_hash_pcaps(a_path, b_path):
    shared = [("198.18.200.%d" % (i % 250 + 1), 20000 + i, "198.18.201.1", 7000 + i % 50) for i in range(400)]
    a, b = [], []
    t = 1700000000.0
    for i, (s, sp, d, dp) in enumerate(shared):
        payload = struct.pack("!I", i) * 4
        a.append((t + i * 0.01, udp_frame(s, d, sp, dp, payload, ttl=64, ident=i)))
        b.append((t + 5 + i * 0.01, udp_frame(s, d, sp, dp, payload, ttl=57, tos=0x20, ident=i)))
        a.append((t + i * 0.01 + 0.005, udp_frame("10.1.%d.%d" % (i // 200, i % 200 + 1), "10.1.9.9", 3000 + i, 53, b"a" * (i % 40))))
        b.append((t + 5 + i * 0.01 + 0.003, udp_frame("10.2.%d.%d" % (i // 200, i % 200 + 1), "10.2.9.9", 4000 + i, 123, b"b" * (i % 30))))
        b.append((t + 5 + i * 0.01 + 0.006, udp_frame("10.2.7.%d" % (i % 200 + 1), "10.2.9.8", 5000 + i, 161, b"c" * 12)))
    write_pcap(a_path, a)
    write_pcap(b_path, b)


def cmd_hash_select(path, lo, hi, init):
    linktype, frames = read_pcap(path)
    for frame, _ in frames:
        ip = ip_of(frame, linktype)
        if not ip or not ip_len(ip):
            continue
        if lo <= bob(packet_hash_input(ip), init) <= hi:
            src, dst = ipaddress.ip_address(ip[12:16]), ipaddress.ip_address(ip[16:20])
            sp, dp = struct.unpack("!HH", ip[20:24])
            print(src, sp, dst, dp)


def cmd_flood_pcap(path, rate):
    frames = []
    t = 1700000000.0
    for s in range(60):
        for x in range(100):
            frames.append((t + s + x * 0.001, udp_frame("10.7.0.%d" % (x + 1), "10.8.0.1", 5000, 6000 + x, bytes(172))))
    for i in range(58 * rate):
        frames.append((t + 2 + i / rate + 0.0005, udp_frame("172.%d.%d.%d" % (16 + i // 62500, i // 250 % 250, i % 250 + 1), "172.31.0.1", 1024 + i % 50000, 9, bytes(12))))
    frames.sort(key=lambda f: f[0])
    write_pcap(path, frames)


def cmd_long_flows(path):
    flows, recs, p, b = set(), 0, 0, 0
    for line in records(path):
        r = json.loads(line)
        if r["src_ip"].startswith("10.7.0."):
            flows.add(r["src_ip"])
            recs += 1
            p += r["bidirectional_packets"]
            b += r["bidirectional_bytes"]
    print(len(flows), recs, p, b)


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "count" and len(argv) == 4:
        cmd_count(argv[2], int(argv[3]))
    elif cmd == "random-bounds" and len(argv) == 4:
        cmd_random_bounds(argv[2], int(argv[3]))
    elif cmd == "ipfix-pcap" and len(argv) == 4:
        cmd_ipfix_pcap(argv[2], argv[3])
    elif cmd == "hash-pcaps" and len(argv) == 4:
        cmd_hash_pcaps(argv[2], argv[3])
    elif cmd == "hash-select" and len(argv) == 6:
        cmd_hash_select(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif cmd == "flow-check" and len(argv) == 7:
        return flow_check(argv[2], int(argv[3]), int(argv[4]), argv[5], argv[6])
    elif cmd == "flow-check-many" and len(argv) == 3:
        return flow_check_many(argv[2])
    elif cmd == "expression" and len(argv) == 3:
        print(EXPRESSIONS[argv[2]][0])
    elif cmd == "flood-pcap" and len(argv) == 4:
        cmd_flood_pcap(argv[2], int(argv[3]))
    elif cmd == "long-flows" and len(argv) == 3:
        cmd_long_flows(argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
