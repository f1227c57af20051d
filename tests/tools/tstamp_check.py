#!/usr/bin/env python3
"""Check nfprobe's flowStart/End Micro/Nanoseconds against the capture.

  tstamp_check.py wrap IPFIX_FILE OUT.pcap
      Put each IPFIX message of an -o file into a UDP datagram to port 4739
      of a pcap, for tshark's IPFIX dissector.
  tstamp_check.py check CAPTURE [--collector JSONL] [--pdml PDML] [--json JSONL]
                        [--biflow]
      Expected: per direction of each conversation (5-tuple) the first and
      last packet's time, from tshark's frame.time_epoch on CAPTURE (exact
      nanoseconds, or microseconds x 1000 for a microsecond file), and its
      packet count. Then:
        --collector  collector-test's records (libfixbuf): flowStart/End
                     Nanoseconds equal to the nanosecond, Microseconds to
                     ns // 1000, Milliseconds to ns // 10^6;
        --pdml       tshark's decoding of the same messages (tshark -T pdml of
                     the wrapped file): the nanosecond times to the
                     nanosecond, the microsecond times to the microsecond;
        --json       nfprobe's JSON (nfstream's ms fields unchanged);
        --biflow     records are RFC 5103 biflows: the forward times cover
                     the whole flow, the reverse* ones the responder's.
      Prints one line per problem; exit 1 if any."""
import datetime
import json
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET

problems = []


def wrap(ipfix, out):
    data = open(ipfix, "rb").read()
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        off = n = 0
        while off + 4 <= len(data):
            length = struct.unpack("!H", data[off + 2:off + 4])[0]
            if length < 16:
                sys.exit("bad IPFIX message length %d at %d" % (length, off))
            msg = data[off:off + length]
            off += length
            udp = struct.pack("!HHHH", 4739, 4739, 8 + len(msg), 0) + msg
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), n & 0xFFFF, 0, 64, 17, 0,
                             bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
            frame = b"\0" * 12 + b"\x08\x00" + ip + udp
            f.write(struct.pack("<IIII", 1700000000 + n, 0, len(frame), len(frame)) + frame)
            n += 1


def epoch_ns(text):
    """'1700000000.123456789' -> int nanoseconds, exactly."""
    sec, _, frac = text.partition(".")
    return int(sec) * 10**9 + int((frac + "000000000")[:9])


def expected(capture):
    fields = ["frame.time_epoch", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport",
              "udp.srcport", "tcp.dstport", "udp.dstport", "ip.proto", "ipv6.nxt"]
    cmd = ["tshark", "-r", capture, "-T", "fields"] + sum((["-e", f] for f in fields), [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    dirs = {}
    for line in out.splitlines():
        t, s4, s6, d4, d6, ts, us, td, ud, p4, p6 = line.split("\t")
        key = (s4 or s6, d4 or d6, int(ts or us), int(td or ud), int(p4 or p6))
        ns = epoch_ns(t)
        first, last, n = dirs.get(key, (ns, ns, 0))
        dirs[key] = (min(first, ns), max(last, ns), n + 1)
    return dirs


def record_key(r):
    return (r.get("sourceIPv4Address") or r.get("sourceIPv6Address"),
            r.get("destinationIPv4Address") or r.get("destinationIPv6Address"),
            r["sourceTransportPort"], r["destinationTransportPort"], r["protocolIdentifier"])


def reverse(key):
    return (key[1], key[0], key[3], key[2], key[4])


def want_times(dirs, key, biflow):
    """{element: nanoseconds} a record of key should carry (reverse* for biflows)."""
    fwd, rev = dirs.get(key), dirs.get(reverse(key))
    if biflow:
        both = [d for d in (fwd, rev) if d]
        fwd = (min(d[0] for d in both), max(d[1] for d in both), fwd[2] if fwd else 0)
    want = {"flowStart": fwd[0], "flowEnd": fwd[1]}
    if biflow:
        want["reverseFlowStart"] = rev[0] if rev else 0
        want["reverseFlowEnd"] = rev[1] if rev else 0
    return want, fwd[2]


def check_collector(path, dirs, biflow):
    seen = set()
    for line in open(path):
        r = json.loads(line)
        if r.get("_options"):
            continue
        key = record_key(r)
        if key not in dirs:
            problems.append("collector: record of %s, a direction the capture does not have" % (key,))
            continue
        seen.add(key)
        want, packets = want_times(dirs, key, biflow)
        if r.get("packetDeltaCount") != packets:
            problems.append("collector %s: %s packets, capture %d" % (key, r.get("packetDeltaCount"), packets))
        for name, ns in want.items():
            for unit, div in (("Nanoseconds", 1), ("Microseconds", 1000), ("Milliseconds", 10**6)):
                got = r.get(name + unit)
                if got is not None and got != ns // div:
                    problems.append("collector %s: %s%s %d, capture %d" % (key, name, unit, got, ns // div))
    initiators = {k for k in dirs if not biflow or reverse(k) not in dirs or
                  dirs[k][0] < dirs[reverse(k)][0]}
    if seen != initiators:
        problems.append("collector: records for %s, capture has %s" % (sorted(seen), sorted(initiators)))
    return len(seen)


def tshark_time(show):
    """'Nov 14, 2023 22:13:20.500000476 UTC' -> nanoseconds since 1970."""
    stamp, _, frac = show.replace(" UTC", "").partition(".")
    t = datetime.datetime.strptime(stamp, "%b %d, %Y %H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 10**9 + int((frac + "000000000")[:9])


def pdml_flows(path):
    """Each decoded data record: its fields by name, the times per precision."""
    for flow in ET.parse(path).iter("field"):
        if not flow.get("show", "").startswith("Flow ") or flow.get("name"):
            continue
        rec = {"times": {}}
        for f in flow:
            name = f.get("name")
            if name == "cflow.timedelta":
                unit = "ns" if "(nanoseconds)" in f.get("showname", "") else \
                       "us" if "(microseconds)" in f.get("showname", "") else None
                if unit:
                    rec["times"][unit] = [tshark_time(c.get("show")) for c in f]
            elif name:
                rec[name] = f.get("show")
        yield rec


def check_pdml(path, dirs):
    n = 0
    for rec in pdml_flows(path):
        if "cflow.srcport" not in rec:
            continue
        key = (rec.get("cflow.srcaddr") or rec.get("cflow.srcaddrv6"),
               rec.get("cflow.dstaddr") or rec.get("cflow.dstaddrv6"),
               int(rec["cflow.srcport"]), int(rec["cflow.dstport"]), int(rec["cflow.protocol"]))
        if key not in dirs:
            problems.append("tshark: record of %s, a direction the capture does not have" % (key,))
            continue
        n += 1
        first, last, _ = dirs[key]
        ns, us = rec["times"].get("ns"), rec["times"].get("us")
        if ns != [first, last]:
            problems.append("tshark %s: nanosecond start/end %s, capture %s" % (key, ns, [first, last]))
        if us is None or [t // 1000 for t in us] != [first // 1000, last // 1000]:
            problems.append("tshark %s: microsecond start/end %s, capture %s" % (key, us, [first // 1000, last // 1000]))
    if n != len(dirs):
        problems.append("tshark: %d records decoded, capture has %d directions" % (n, len(dirs)))
    return n


def check_json(path, dirs):
    n = 0
    for line in open(path):
        r = json.loads(line)
        key = (r["src_ip"], r["dst_ip"], r["src_port"], r["dst_port"], r["protocol"])
        n += 1
        for d, k in (("src2dst", key), ("dst2src", reverse(key))):
            want = dirs.get(k, (0, 0, 0))
            got = (r[d + "_first_seen_ms"], r[d + "_last_seen_ms"])
            if got != (want[0] // 10**6, want[1] // 10**6):
                problems.append("json %s %s: first/last ms %s, capture %s" % (key, d, got, want[:2]))
    return n


def main():
    if sys.argv[1] == "wrap":
        wrap(sys.argv[2], sys.argv[3])
        return 0
    args = sys.argv[2:]
    capture = args.pop(0)
    opts = {}
    while args:
        a = args.pop(0)
        opts[a] = True if a == "--biflow" else args.pop(0)
    dirs = expected(capture)
    said = []
    if "--collector" in opts:
        said.append("collector %d" % check_collector(opts["--collector"], dirs, "--biflow" in opts))
    if "--pdml" in opts:
        said.append("tshark %d" % check_pdml(opts["--pdml"], dirs))
    if "--json" in opts:
        said.append("json %d" % check_json(opts["--json"], dirs))
    for p in problems:
        print(p)
    print("%d directions in the capture; records checked: %s" % (len(dirs), ", ".join(said)))
    return 1 if problems else 0


sys.exit(main())
