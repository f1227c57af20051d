#!/usr/bin/env python3
"""Write a pcap of a known traffic mix for the live --workers test.

Usage: make_mix_pcap.py OUT.pcap

Flows between many address pairs of the documentation ranges (so a hash
spreads them over the workers): IPv4 and IPv6 UDP, IPv4 TCP conversations
(handshake, data, FIN both ways), ICMP echoes, and UDP flows whose large
datagram is sent as IP fragments (IPv4, and IPv6 with a fragment header)
between unfragmented packets of the same flow. Frames are addressed to a
MAC no host has, so a receiving stack drops them; only a capture sees them.
"""
import struct
import sys

ETH = bytes.fromhex("020000000002" "020000000001")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(src, dst, proto, payload, ident=0, frag=0):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, frag, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return ETH + b"\x08\x00" + h + payload


def ip6(src, dst, nh, payload):
    h = struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, src, dst)
    return ETH + b"\x86\xdd" + h + payload


def udp(sport, dport, data):
    return struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data


def tcp(sport, dport, seq, ack, flags, data=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data


def a4(net, host):
    return bytes(net) + bytes([host])


def a6(net, host):
    return bytes.fromhex("20010db8") + bytes([0, net]) + bytes(9) + bytes([host])


def flows():
    """Yields frames in a time order that interleaves the flows."""
    out = []
    for i in range(1, 25):      # IPv4 UDP
        a, b = a4((192, 0, 2), i), a4((198, 51, 100), i)
        for k in range(3):
            out.append(ip4(a, b, 17, udp(20000 + i, 53, b"q" * (20 + 10 * k))))
        for k in range(2):
            out.append(ip4(b, a, 17, udp(53, 20000 + i, b"r" * (100 + k))))
    for i in range(1, 9):       # IPv4 TCP
        a, b = a4((192, 0, 2), 100 + i), a4((198, 51, 100), 100 + i)
        sp, dp = 40000 + i, 443
        out += [ip4(a, b, 6, tcp(sp, dp, 1, 0, 0x02)), ip4(b, a, 6, tcp(dp, sp, 9, 2, 0x12)),
                ip4(a, b, 6, tcp(sp, dp, 2, 10, 0x10)), ip4(a, b, 6, tcp(sp, dp, 2, 10, 0x18, b"x" * 300)),
                ip4(b, a, 6, tcp(dp, sp, 10, 302, 0x18, b"y" * 1200)), ip4(a, b, 6, tcp(sp, dp, 302, 1210, 0x11)),
                ip4(b, a, 6, tcp(dp, sp, 1210, 303, 0x11)), ip4(a, b, 6, tcp(sp, dp, 303, 1211, 0x10))]
    for i in range(1, 9):       # IPv6 UDP
        a, b = a6(1, i), a6(2, i)
        out += [ip6(a, b, 17, udp(30000 + i, 4739, b"v" * (50 + i))) for _ in range(2)]
        out.append(ip6(b, a, 17, udp(4739, 30000 + i, b"w" * 70)))
    for i in range(1, 3):       # ICMP echo
        a, b = a4((192, 0, 2), 200 + i), a4((198, 51, 100), 200 + i)
        echo = struct.pack("!BBHHH", 8, 0, 0, i, 1) + b"p" * 56
        reply = struct.pack("!BBHHH", 0, 0, 0, i, 1) + b"p" * 56
        out += [ip4(a, b, 1, echo), ip4(b, a, 1, reply)]
    for i in range(1, 5):       # IPv4 UDP with one datagram in three fragments
        a, b = a4((192, 0, 2), 210 + i), a4((198, 51, 100), 210 + i)
        dgram = udp(5000 + i, 5001, b"f" * 2992)
        out.append(ip4(a, b, 17, udp(5000 + i, 5001, b"s" * 10)))
        for off in range(0, len(dgram), 1200):
            more = 0x2000 if off + 1200 < len(dgram) else 0
            out.append(ip4(a, b, 17, dgram[off:off + 1200], ident=100 + i, frag=more | off // 8))
        out.append(ip4(b, a, 17, udp(5001, 5000 + i, b"t" * 10)))
    for i in range(1, 5):       # IPv6 UDP with one datagram in three fragments
        a, b = a6(3, i), a6(4, i)
        dgram = udp(6000 + i, 6001, b"g" * 2992)
        out.append(ip6(a, b, 17, udp(6000 + i, 6001, b"s" * 10)))
        for off in range(0, len(dgram), 1200):
            more = 1 if off + 1200 < len(dgram) else 0
            fh = struct.pack("!BBHI", 17, 0, off | more, 200 + i)
            out.append(ip6(a, b, 44, fh + dgram[off:off + 1200]))
        out.append(ip6(b, a, 17, udp(6001, 6000 + i, b"t" * 10)))
    return out


def main():
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        t = 1700000000 * 1000000
        for frame in flows():
            t += 1000
            f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(frame), len(frame)) + frame)


if __name__ == "__main__":
    main()
