#!/usr/bin/env python3
"""Wrap every frame of an Ethernet pcap in a tunnel, for bench/tunnels.sh.

usage: tunnel_pcap.py vxlan|gtpu IN.pcap OUT.pcap

vxlan: outer Ethernet + IPv4 + UDP (to 4789) + VXLAN + the original frame.
gtpu:  outer Ethernet + IPv4 + UDP 2152 + GTP-U (G-PDU) + the original IP
       packet (its Ethernet header dropped; frames that are not IPv4 or IPv6
       are copied unchanged).
The tunnel of a frame (one of 16 endpoint pairs, one of 16 VNIs or TEIDs)
follows from its inner addresses, the same for both directions, so the
tunnelled capture holds exactly the untunnelled capture's flows. The outer
headers go in front of what was captured: caplen and wire length grow by the
same amount (50 bytes for VXLAN, 50 - 14 = 36 for GTP-U). Standard library
only; the outer IPv4 checksum is 0 (nfprobe does not check it).
"""
import struct
import sys
import zlib

OUTER_MAC = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"


def inner_addresses(frame):
    """The IP addresses of an Ethernet frame, or None."""
    if len(frame) < 14:
        return None
    et = struct.unpack("!H", frame[12:14])[0]
    if et == 0x0800 and len(frame) >= 34:
        return frame[26:30], frame[30:34]
    if et == 0x86DD and len(frame) >= 54:
        return frame[22:38], frame[38:54]
    return None


def tunnel_of(frame):
    """(pair index, id) from the unordered inner address pair."""
    a = inner_addresses(frame)
    h = zlib.crc32(b"".join(sorted(a))) if a else 0
    return h % 16, 100 + (h >> 8) % 16


def outer(pair, udp_sport, udp_dport, payload_len, wire_len):
    src = bytes([10, 255, pair, 1])
    dst = bytes([10, 254, pair, 2])
    udp_len = 8 + payload_len
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 0, 0x4000, 64, 17, 0, src, dst)
    udp = struct.pack("!HHHH", udp_sport, udp_dport, udp_len, 0)
    return OUTER_MAC + b"\x08\x00" + ip + udp


def wrap(kind, frame, wire_len):
    """(new captured bytes, new wire length)."""
    pair, tid = tunnel_of(frame)
    if kind == "vxlan":
        hdr = struct.pack("!II", 0x08000000, tid << 8)
        payload_len = 8 + wire_len
        o = outer(pair, 49152 + pair, 4789, payload_len, wire_len)
        return o + hdr + frame, wire_len + len(o) + 8
    et = struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else 0
    if et not in (0x0800, 0x86DD):
        return frame, wire_len
    ip_wire = wire_len - 14
    hdr = struct.pack("!BBHI", 0x30, 0xFF, ip_wire, tid)
    o = outer(pair, 2152, 2152, 8 + ip_wire, wire_len)
    return o + hdr + frame[14:], ip_wire + len(o) + 8


def main():
    kind, src, dst = sys.argv[1:4]
    if kind not in ("vxlan", "gtpu"):
        sys.exit("usage: tunnel_pcap.py vxlan|gtpu IN.pcap OUT.pcap")
    with open(src, "rb") as f, open(dst, "wb") as out:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        if magic not in (0xA1B2C3D4, 0xA1B23C4D) or struct.unpack("<I", head[20:24])[0] != 1:
            sys.exit("%s: not a little-endian Ethernet pcap" % src)
        snap = struct.unpack("<I", head[16:20])[0]
        out.write(head[:16] + struct.pack("<I", snap + 64) + head[20:])
        rec = struct.Struct("<IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                break
            sec, frac, caplen, wire = rec.unpack(h)
            data, wire2 = wrap(kind, f.read(caplen), wire)
            out.write(rec.pack(sec, frac, len(data), wire2) + data)


if __name__ == "__main__":
    main()
