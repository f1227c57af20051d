#!/usr/bin/env python3
"""Write a capture with real payloads for the DPI benchmark (bench/dpi.sh).

    dpi_pcap.py OUT.pcap [COPIES] [CAPTURE...]

bench/gen_pcap.c's frames carry 96 bytes and zero payloads: nothing for DPI
to read. This takes the Ethernet captures among the test captures
(../shared/testdata/pcap by default: TLS, QUIC, HTTP, DNS, SSH, ...) and
writes COPIES (default 100) copies of all their IPv4/IPv6 frames one after
the other, each copy with its addresses changed (the copy number is added to
the last two bytes of both addresses) and its time shifted past the previous
copy, so every copy is a new set of flows with the same payloads. Fuzzed
captures and captures longer than 10 minutes are left out. Frames are
kept whole (caplen = wire length as captured).
"""
import glob
import os
import struct
import sys


def read_pcap(path):
    """Classic pcap, Ethernet only: (ts_us, frame) tuples, or None."""
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return None
        magic = struct.unpack("<I", head[:4])[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            end = "<"
        elif magic in (0xd4c3b2a1, 0x4d3cb2a1):
            end = ">"
        else:
            return None
        nano = magic in (0xa1b23c4d, 0x4d3cb2a1)
        if struct.unpack(end + "I", head[20:24])[0] != 1:
            return None
        out = []
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                break
            sec, frac, caplen, _ = struct.unpack(end + "IIII", rh)
            data = f.read(caplen)
            if len(data) < caplen:
                break
            out.append((sec * 1000000 + (frac // 1000 if nano else frac), data))
        return out


def retarget(frame, copy):
    """The frame with copy added to the low bytes of both IP addresses, or
    None if it is not plain Ethernet + IPv4/IPv6 (skipped)."""
    if len(frame) < 14:
        return None
    ety = struct.unpack("!H", frame[12:14])[0]
    b = bytearray(frame)
    if ety == 0x0800 and len(b) >= 34:
        spots = (14 + 12, 14 + 16)
    elif ety == 0x86DD and len(b) >= 54:
        spots = (14 + 8 + 14, 14 + 24 + 14)
    else:
        return None
    for at in spots:
        v = (struct.unpack("!H", b[at + 2:at + 4])[0] + copy) & 0xFFFF
        b[at + 2:at + 4] = struct.pack("!H", v)
    return bytes(b)


def main():
    out = sys.argv[1]
    copies = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    here = os.path.dirname(os.path.abspath(__file__))
    caps = sys.argv[3:] or sorted(glob.glob(os.path.join(here, "../../shared/testdata/pcap/*.pcap")))
    frames = []
    for c in caps:
        pk = read_pcap(c)
        if not pk or os.path.basename(c).startswith("fuzz"):
            continue
        t0 = pk[0][0]
        if pk[-1][0] - t0 > 600 * 1000000 or any(ts < t0 for ts, _ in pk):
            continue    # keep copies short: captures spanning hours are left out
        frames += [(ts - t0, fr) for ts, fr in pk if retarget(fr, 0) is not None]
    frames.sort(key=lambda x: x[0])
    span = max(ts for ts, _ in frames) + 1000000 if frames else 0
    n = 0
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1))
        for copy in range(copies):
            base = 1700000000 * 1000000 + copy * span
            for ts, fr in frames:
                t = base + ts
                fr = retarget(fr, copy)
                f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(fr), len(fr)) + fr)
                n += 1
    print("%s: %d frames (%d copies of %d)" % (out, n, copies, len(frames)), file=sys.stderr)


if __name__ == "__main__":
    main()
