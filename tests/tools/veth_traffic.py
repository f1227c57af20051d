#!/usr/bin/env python3
"""Known frames into a veth, for tests/service_netns.sh.

veth_traffic.py IFACE PHASE CLIENT4 SERVER4 CLIENT6 SERVER6 [--open]

Sends, through an AF_PACKET socket on IFACE, both directions of a small
traffic mix between CLIENT and SERVER, as forged Ethernet frames whose
destination MAC is nobody's (the peer's kernel drops them as
PACKET_OTHERHOST, so it answers nothing; a capture there sees each frame
once). Ports depend on PHASE, so each phase's flows are new, except ICMP
echo (ports 0: one flow for all phases). Per phase:
  TCP over IPv4 (port 80) and IPv6 (443): handshake, 100 bytes up, 1000
      down, then FIN both ways and the last ACK, or with --open no FIN
  UDP 53: 2 requests (30, 40 bytes), 1 response (200)
  UDP 9: 5 datagrams (10..50 bytes) one way; over IPv6 2 (100, 200)
  ICMP echo request and reply, 56 bytes of data
Prints one JSON line per direction sent: src, dst, sport, dport, proto,
packets, octets (IP header + payload), tcp_closed.
"""
import ipaddress
import json
import socket
import struct
import sys

DST_MAC = bytes.fromhex("020000aa0001")   # no interface has it
SRC_MAC = bytes.fromhex("020000aa0002")


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s >> 16) + (s & 0xffff)
    return ~s & 0xffff


def ip_packet(src, dst, proto, l4):
    """IP header + l4 (whose checksum field, if any, is filled in here)."""
    s, d = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if s.version == 4:
        pseudo = s.packed + d.packed + struct.pack("!BBH", 0, proto, len(l4))
    else:
        pseudo = s.packed + d.packed + struct.pack("!IxxxB", len(l4), proto)
    off = {6: 16, 17: 6, 1: 2}[proto]
    if proto == 1:
        pseudo = b""    # ICMPv4: no pseudo header
    c = csum(pseudo + l4)
    l4 = l4[:off] + struct.pack("!H", c) + l4[off + 2:]
    if s.version == 4:
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, s.packed, d.packed)
        hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
        return b"\x08\x00" + hdr + l4, 20 + len(l4)
    hdr = struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 64, s.packed, d.packed)
    return b"\x86\xdd" + hdr + l4, 40 + len(l4)


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def icmp_echo(typ, ident, seq):
    return struct.pack("!BBHHH", typ, 0, 0, ident, seq) + b"p" * 56


FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16


def main():
    iface, phase = sys.argv[1], int(sys.argv[2])
    c4, s4, c6, s6 = sys.argv[3:7]
    closed = "--open" not in sys.argv
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((iface, 0))
    sent = {}   # (src, dst, sport, dport, proto) -> [packets, octets]

    def send(src, dst, proto, sport, dport, l4):
        frame, octets = ip_packet(src, dst, proto, l4)
        sock.send(DST_MAC + SRC_MAC + frame)
        k = (src, dst, sport, dport, proto)
        sent.setdefault(k, [0, 0])
        sent[k][0] += 1
        sent[k][1] += octets

    def tcp_session(c, s, cport, sport):
        up = lambda fl, seq, ack, p=b"": send(c, s, 6, cport, sport, tcp(cport, sport, seq, ack, fl, p))
        down = lambda fl, seq, ack, p=b"": send(s, c, 6, sport, cport, tcp(sport, cport, seq, ack, fl, p))
        up(SYN, 1000, 0)
        down(SYN | ACK, 5000, 1001)
        up(ACK, 1001, 5001)
        up(PSH | ACK, 1001, 5001, b"q" * 100)
        down(ACK, 5001, 1101)
        down(PSH | ACK, 5001, 1101, b"r" * 1000)
        if closed:
            up(FIN | ACK, 1101, 6001)
            down(ACK, 6001, 1102)
            down(FIN | ACK, 6001, 1102)
            up(ACK, 1102, 6002)

    tcp_session(c4, s4, 20000 + phase, 80)
    tcp_session(c6, s6, 21000 + phase, 443)
    for n in (30, 40):
        send(c4, s4, 17, 22000 + phase, 53, udp(22000 + phase, 53, b"d" * n))
    send(s4, c4, 17, 53, 22000 + phase, udp(53, 22000 + phase, b"D" * 200))
    for n in (10, 20, 30, 40, 50):
        send(c4, s4, 17, 23000 + phase, 9, udp(23000 + phase, 9, b"a" * n))
    for n in (100, 200):
        send(c6, s6, 17, 24000 + phase, 9, udp(24000 + phase, 9, b"c" * n))
    send(c4, s4, 1, 0, 0, icmp_echo(8, 77, phase))
    send(s4, c4, 1, 0, 0, icmp_echo(0, 77, phase))

    for (src, dst, sp, dp, proto), (p, o) in sent.items():
        print(json.dumps({"src": src, "dst": dst, "sport": sp, "dport": dp, "proto": proto,
                          "packets": p, "octets": o, "tcp_closed": proto == 6 and closed}))


main()
