#!/usr/bin/env python3
"""Write a small capture with known, distinct nanosecond time stamps, twice:
OUT.ns.pcap (nanosecond pcap, magic a1b23c4d) and OUT.us.pcap (the same
packets, microsecond pcap: the times truncated to the microsecond).

Four conversations: UDP/IPv4 both ways, TCP/IPv4 both ways, UDP/IPv6 one
way, and a UDP/IPv4 pair of packets one nanosecond apart within one
microsecond. Fractions include .000000000 and .999999999.
usage: ns_pcap.py OUT"""
import struct
import sys

BASE = 1700000000  # 2023-11-14 22:13:20 UTC


def eth(ethertype):
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + struct.pack("!H", ethertype)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                      bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return eth(0x0800) + hdr + payload


def ipv6(src, dst, proto, payload):
    hdr = struct.pack("!IHBB16s16s", 6 << 28, len(payload), proto, 64, bytes(src), bytes(dst))
    return eth(0x86DD) + hdr + payload


def udp(sport, dport, data=b"nfprobe"):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport, flags, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0) + data


A, B = [10, 1, 0, 1], [10, 1, 0, 2]
C, D = [10, 1, 0, 3], [10, 1, 0, 4]
E, F = [10, 1, 0, 5], [10, 1, 0, 6]
V6A = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [1]
V6B = [0x20, 0x01, 0x0d, 0xb8] + [0] * 11 + [2]

# (seconds after BASE, nanoseconds, frame), in time order
PACKETS = [
    (0, 0, ipv4(A, B, 17, udp(40001, 9000))),
    (0, 123456789, ipv4(B, A, 17, udp(9000, 40001))),
    (0, 500000001, ipv4(C, D, 6, tcp(40002, 80, 0x02))),
    (0, 999999999, ipv4(D, C, 6, tcp(80, 40002, 0x12))),
    (1, 1, ipv4(C, D, 6, tcp(40002, 80, 0x10))),
    (1, 271828182, ipv6(V6A, V6B, 17, udp(5000, 6000))),
    (1, 314159265, ipv4(A, B, 17, udp(40001, 9000))),
    (1, 414213562, ipv4(E, F, 17, udp(7000, 8000))),
    (1, 414213563, ipv4(E, F, 17, udp(7000, 8000))),
    (2, 718281828, ipv4(C, D, 6, tcp(40002, 80, 0x18, b"GET / HTTP/1.0\r\n\r\n"))),
    (2, 999999000, ipv4(D, C, 6, tcp(80, 40002, 0x18, b"HTTP/1.0 200 OK\r\n\r\n"))),
    (3, 141421356, ipv6(V6A, V6B, 17, udp(5000, 6000))),
    (3, 577215664, ipv4(A, B, 17, udp(40001, 9000))),
    (4, 999999999, ipv4(B, A, 17, udp(9000, 40001))),
]


def write(path, nano):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for sec, ns, frame in PACKETS:
            frac = ns if nano else ns // 1000
            f.write(struct.pack("<IIII", BASE + sec, frac, len(frame), len(frame)) + frame)


write(sys.argv[1] + ".ns.pcap", True)
write(sys.argv[1] + ".us.pcap", False)
