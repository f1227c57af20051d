#!/usr/bin/env python3
"""Write damaged captures made from real ones, the same ones for the same seed.

usage: mutate_pcaps.py SOURCE_DIR OUT_DIR COUNT SEED

Each output OUT_DIR/mNNNN.pcap takes a run of 20-400 consecutive packets of a
random *.pcap in SOURCE_DIR (classic pcap, either byte order; pcapng and
unreadable files are skipped) and damages some of them where decoders look:
bit flips, "interesting" bytes and 16-bit lengths in the first bytes, cut
frames; now and then a wrong wire length, a jump in time, or the whole file
relabelled with another link type. Real traffic keeps the damage deep inside
valid-looking headers (IPv6 extension chains, TCP options, fragments,
payloads nDPI parses), which random bytes rarely reach.

Prints one line per file: its name and how many packets it holds.
"""
import glob
import os
import random
import struct
import sys

INTERESTING = [0, 1, 0x06, 0x11, 0x2b, 0x2c, 0x3c, 0x40, 0x45, 0x4f, 0x60, 0x7f, 0x80, 0xff]
LINK_TYPES = [0, 1, 9, 12, 14, 51, 101, 104, 108, 113, 228, 229, 239, 276]


def read_pcap(path, limit=5000):
    data = open(path, "rb").read()
    if len(data) < 24:
        return None
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        return None
    link = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
    packets, off = [], 24
    while off + 16 <= len(data) and len(packets) < limit:
        sec, frac, caplen, wirelen = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            break
        packets.append((sec, frac % 1000000, data[off:off + caplen], wirelen))
        off += caplen
    return (link, packets) if packets else None


def damage(rnd, frame):
    b = bytearray(frame)
    for _ in range(rnd.randrange(1, 6)):
        if not b:
            break
        kind = rnd.randrange(5)
        reach = min(len(b), rnd.choice([64, 96, 160, len(b)]))
        i = rnd.randrange(reach)
        if kind == 0:
            b[i] ^= 1 << rnd.randrange(8)
        elif kind == 1:
            b[i] = rnd.choice(INTERESTING)
        elif kind == 2:
            b[i] = rnd.randrange(256)
        elif kind == 3 and i + 1 < len(b):
            v = rnd.choice([0, 1, 0xFFFF, 0x7FFF, len(b), len(b) + 1, len(b) - 1, rnd.randrange(65536)])
            b[i:i + 2] = struct.pack(">H", v & 0xFFFF)
        elif kind == 4:
            del b[rnd.randrange(len(b)):]
    return bytes(b)


def write_one(rnd, sources, path):
    link, packets = rnd.choice(sources)
    start = rnd.randrange(len(packets))
    run = packets[start:start + rnd.randrange(20, 400)]
    if rnd.random() < 0.2:
        link = rnd.choice(LINK_TYPES)
    rate = rnd.choice([0.02, 0.1, 0.3, 1.0])
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, link))
        for sec, usec, frame, wirelen in run:
            if rnd.random() < rate:
                frame = damage(rnd, frame)
            if rnd.random() < 0.05:
                wirelen = rnd.choice([0, len(frame), max(len(frame) - 1, 0), rnd.randrange(70000)])
            if rnd.random() < 0.03:
                sec = rnd.randrange(1 << 32)
            f.write(struct.pack("<IIII", sec, usec, len(frame), wirelen) + frame)
    return len(run)


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    src, out, count, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    sources = [p for p in (read_pcap(f) for f in sorted(glob.glob(os.path.join(src, "*.pcap")))) if p]
    if not sources:
        sys.exit(f"mutate_pcaps.py: no readable pcap in {src}")
    rnd = random.Random(seed)
    os.makedirs(out, exist_ok=True)
    for n in range(count):
        name = f"m{n:04d}.pcap"
        print(name, write_one(rnd, sources, os.path.join(out, name)))


if __name__ == "__main__":
    main()
