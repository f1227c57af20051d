#!/usr/bin/env python3
"""Make a capture fit for replay onto a link (bench/live.sh).

    live_pcap.py IN.pcap OUT.pcap

bench/gen_pcap.c cuts its frames at 96 bytes but records their full length,
so an IP header may announce 1,500 bytes where 82 follow. A replay sends the
captured bytes only, and a probe on the other end would see IP headers that
lie about their length. This writes each frame as captured (wire length =
captured length) with its lengths made to fit: IPv4 total length and header
checksum, IPv6 payload length, UDP length. Ethernet padding (a frame longer
than its IP packet) is kept. Classic pcap, Ethernet, either byte order; the
output is little-endian, microsecond timestamps as in the input.
Prints "PACKETS IP_BYTES" of the output on stdout.
"""
import struct
import sys


def ip_checksum(header):
    total = 0
    for i in range(0, len(header), 2):
        total += header[i] << 8 | header[i + 1]
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def fit_ipv4(frame, ip):
    ihl = (frame[ip] & 0x0f) * 4
    length = struct.unpack_from(">H", frame, ip + 2)[0]
    have = len(frame) - ip
    if have >= length or have < ihl:
        return length
    struct.pack_into(">H", frame, ip + 2, have)
    struct.pack_into(">H", frame, ip + 10, 0)
    struct.pack_into(">H", frame, ip + 10, ip_checksum(frame[ip:ip + ihl]))
    if frame[ip + 9] == 17 and have >= ihl + 8:
        struct.pack_into(">H", frame, ip + ihl + 4, have - ihl)
    return have


def fit_ipv6(frame, ip):
    plen = struct.unpack_from(">H", frame, ip + 4)[0]
    have = len(frame) - ip - 40
    if have < 0 or have >= plen:
        return 40 + plen
    struct.pack_into(">H", frame, ip + 4, have)
    if frame[ip + 6] == 17 and have >= 8:  # UDP right after the fixed header
        struct.pack_into(">H", frame, ip + 40 + 4, have)
    return 40 + have


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: live_pcap.py IN.pcap OUT.pcap")
    src = open(sys.argv[1], "rb")
    head = src.read(24)
    magic = struct.unpack("<I", head[:4])[0] if len(head) == 24 else 0
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        end = "<"
    elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
        end = ">"
    else:
        sys.exit("live_pcap.py: %s is not a classic pcap file" % sys.argv[1])
    if struct.unpack(end + "I", head[20:24])[0] != 1:
        sys.exit("live_pcap.py: %s is not Ethernet" % sys.argv[1])
    out = open(sys.argv[2], "wb")
    out.write(struct.pack("<IHHiIII", struct.unpack(end + "I", head[:4])[0], 2, 4, 0, 0, 65535, 1))
    packets = ip_bytes = 0
    while True:
        rec = src.read(16)
        if len(rec) < 16:
            break
        sec, frac, cap, _ = struct.unpack(end + "IIII", rec)
        frame = bytearray(src.read(cap))
        if len(frame) != cap:
            sys.exit("live_pcap.py: %s is cut short" % sys.argv[1])
        ethertype = struct.unpack_from(">H", frame, 12)[0] if cap >= 14 else 0
        if ethertype == 0x0800 and cap >= 34:
            ip_bytes += fit_ipv4(frame, 14)
        elif ethertype == 0x86dd and cap >= 54:
            ip_bytes += fit_ipv6(frame, 14)
        out.write(struct.pack("<IIII", sec, frac, cap, cap))
        out.write(frame)
        packets += 1
    out.close()
    print(packets, ip_bytes)


if __name__ == "__main__":
    main()
