#!/usr/bin/env python3
"""Write a pcap whose flows carry DPI strings that CSV must quote: an HTTP
request whose Host and User-Agent hold commas and double quotes, and TLS
ClientHellos whose server name (SNI) holds a comma, a quote, a CR or a LF.

Usage: make_text_pcap.py OUT.pcap"""
import struct
import sys

from make_mix_pcap import csum

ETH = bytes.fromhex("020000000002" "020000000001") + b"\x08\x00"


def tcp_packet(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ETH + ip + tcp


def conversation(client, server, sport, dport, request, response):
    """Handshake, one request and one response, FIN both ways."""
    c, s = 1000, 5000
    return [
        tcp_packet(client, server, sport, dport, c, 0, 0x02),
        tcp_packet(server, client, dport, sport, s, c + 1, 0x12),
        tcp_packet(client, server, sport, dport, c + 1, s + 1, 0x10),
        tcp_packet(client, server, sport, dport, c + 1, s + 1, 0x18, request),
        tcp_packet(server, client, dport, sport, s + 1, c + 1 + len(request), 0x18, response),
        tcp_packet(client, server, sport, dport, c + 1 + len(request), s + 1 + len(response), 0x11),
        tcp_packet(server, client, dport, sport, s + 1 + len(response), c + 2 + len(request), 0x11),
    ]


def client_hello(sni):
    ext_sni = struct.pack("!BH", 0, len(sni)) + sni
    ext_sni = struct.pack("!H", len(ext_sni)) + ext_sni
    extensions = struct.pack("!HH", 0, len(ext_sni)) + ext_sni
    body = (b"\x03\x03" + bytes(range(32)) + b"\x00" + struct.pack("!H", 4) + b"\xc0\x2f\x00\x9c"
            + b"\x01\x00" + struct.pack("!H", len(extensions)) + extensions)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def main():
    client, server = bytes([192, 0, 2, 10]), bytes([198, 51, 100, 20])
    http = (b'GET /a,b HTTP/1.1\r\nHost: quote"comma,host.example\r\n'
            b'User-Agent: Mozilla/5.0 (X11, "quoted", comma) nfprobe-test\r\n\r\n')
    packets = conversation(client, server, 40001, 80, http,
                           b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    for i, sni in enumerate([b'comma,quote".example', b"new\nline.example", b"cr\rlf\r\n.example"]):
        packets += conversation(client, server, 40002 + i, 443, client_hello(sni), b"")
    with open(sys.argv[1], "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, p in enumerate(packets):
            f.write(struct.pack("<IIII", 1700000000 + i // 7, (i % 7) * 1000, len(p), len(p)) + p)


main()
