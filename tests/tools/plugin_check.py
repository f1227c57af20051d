#!/usr/bin/env python3
"""Checks for tests/plugins.sh: nfprobe's plugin fields against values
computed independently from tshark's per-packet fields, and against the IPFIX
records collector-test decoded.

usage:
  plugin_check.py records PCAP EXPECTED.flows FLOWS.json [--splt N] [--no-666]
      Reads every packet of PCAP with `tshark -T fields` (IP lengths, times,
      addresses, ports, VLAN), groups them into flows keyed like nfprobe's
      (VLAN, IP version, protocol, unordered address:port pair) and first
      checks that these flows equal EXPECTED.flows (tests/expected, made by
      tshark_flows.py from PDML): packets and IP bytes per direction. So the
      keying is right. Then it splits each flow's packets, in capture order,
      into nfprobe's records of that flow (FLOWS.json, ordered by
      first_seen_ms then id; one record for the whole flow, or several after
      active-timeout splits) and checks per record: packets and bytes per
      direction, packets_over_666 = its packets with IP length >= 666, and
      with --splt N splt_direction / splt_ps / splt_piat_ms = its first N
      packets (direction relative to the record's src, IP length, whole-ms
      time differences). Captures whose outer IP header or transport ports
      tshark's first-occurrence fields cannot give unambiguously (IP fragments,
      IP-in-IP or UDP tunnels, IPv6 extension headers) are refused.

  plugin_check.py same PLAIN.json PLUGIN.json KEY...
      PLUGIN.json (a run with plugins) equals PLAIN.json (the same run
      without) line by line once the plugin members are removed, and its
      plugin members are exactly KEY... in every line.

  plugin_check.py names FIELDS.txt PLAIN.json PLUGIN.json PEN
      From `nfprobe -P ... --list-fields` output (FIELDS.txt), the rows
      under PEN: prints "ipfixName jsonName" per plugin field. The JSON
      name is the known one (packets666, splt) or the camelCase IPFIX name in
      snake_case (nfstream's names); it must be a member that PLUGIN.json
      has and PLAIN.json does not, and every such member must be named.

  plugin_check.py ipfix FLOWS.json RECORDS.jsonl NAMES.txt [--biflow]
      Every IPFIX record decoded by collector-test (RECORDS.jsonl) of every
      JSON flow carries each plugin field of NAMES.txt under its IPFIX name
      with the JSON value (one-way records: both directions carry the
      whole-flow values; --biflow: one record per flow). No record may carry
      an unnamed enterprise element ("_PEN_ID").

  plugin_check.py elements FILE.ipfix
      The enterprise elements an IPFIX file really carries, decoded from its
      bytes: "field PEN/ID" for each enterprise field of a data template or
      element of a basicList, "announced NAME PEN/ID type=T" for each RFC
      5610 element-type record. PEN 29305 (RFC 5103) left out.
"""
import ipaddress
import json
import re
import struct
import subprocess
import sys
from collections import OrderedDict, defaultdict

FIELDS = ["frame.number", "frame.time_epoch", "frame.protocols", "vlan.id",
          "ip.src", "ip.dst", "ip.proto", "ip.len", "ip.flags.mf", "ip.frag_offset",
          "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.plen",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
          "sctp.srcport", "sctp.dstport", "frame.len", "tcp.flags"]
TUNNEL_LAYERS = {"gre", "gtp", "vxlan", "geneve", "teredo", "capwap", "erspan",
                 "l2tp", "mpls"}   # mpls: not a tunnel, but tshark guesses what follows
V6_EXT = {0, 43, 44, 51, 60, 135}


class Refused(Exception):
    pass


def time_us(s):
    """'1581113120.474123000' -> microseconds, exactly (no float)."""
    sec, _, frac = s.partition(".")
    return int(sec) * 1000000 + int((frac + "000000")[:6])


def tshark_packets(pcap):
    cmd = ["tshark", "-n", "-r", pcap, "-T", "fields", "-E", "occurrence=f",
           "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE"]
    for f in FIELDS:
        cmd += ["-e", f]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    pkts = []
    for line in out.splitlines():
        v = dict(zip(FIELDS, line.split("\t")))
        layers = v["frame.protocols"].split(":")
        ips = [i for i, l in enumerate(layers) if l in ("ip", "ipv6")]
        if not ips:
            continue                    # ARP, LLDP, ...: not metered
        n = v["frame.number"]
        outer = layers[ips[0]]
        if TUNNEL_LAYERS & set(layers[:ips[0]]):
            raise Refused(f"frame {n}: {v['frame.protocols']}")
        if outer == "ip":
            proto = int(v["ip.proto"])
            ip_len = int(v["ip.len"])
            if v["ip.flags.mf"] in ("1", "True") or v["ip.frag_offset"] not in ("", "0"):
                raise Refused(f"frame {n}: IPv4 fragment")
            src, dst, ver = v["ip.src"], v["ip.dst"], 4
        else:
            proto = int(v["ipv6.nxt"])
            ip_len = int(v["ipv6.plen"]) + 40
            if proto in V6_EXT:
                raise Refused(f"frame {n}: IPv6 extension header {proto}")
            src, dst, ver = v["ipv6.src"], v["ipv6.dst"], 6
        # A second IP layer is only unambiguous inside ICMP errors (the quote
        # comes after the outer header's own fields).
        if len(ips) > 1 and proto not in (1, 58):
            raise Refused(f"frame {n}: IP in IP ({v['frame.protocols']})")
        if ip_len > int(v["frame.len"]):
            raise Refused(f"frame {n}: IP length {ip_len} beyond the frame")
        l4 = {6: "tcp", 17: "udp", 132: "sctp"}.get(proto)
        sport = dport = 0
        if l4:
            if l4 not in layers[ips[0] + 1:ips[0] + 2]:
                raise Refused(f"frame {n}: protocol {proto} without its header ({v['frame.protocols']})")
            if len(ips) > 1 or layers.count(l4) > 1:
                raise Refused(f"frame {n}: nested {l4} ({v['frame.protocols']})")
            sport, dport = int(v[l4 + ".srcport"]), int(v[l4 + ".dstport"])
        vlan = int(v["vlan.id"]) if v["vlan.id"] else 0
        pkts.append({"n": int(n), "t": time_us(v["frame.time_epoch"]), "vlan": vlan,
                     "ver": ver, "proto": proto, "src": str(ipaddress.ip_address(src)),
                     "sport": sport, "dst": str(ipaddress.ip_address(dst)), "dport": dport,
                     "len": ip_len, "flags": int(v["tcp.flags"], 16) if l4 == "tcp" else 0})
    return pkts


def key_of(proto, vlan, src, sport, dst, dport):
    a, b = (str(ipaddress.ip_address(src)), sport), (str(ipaddress.ip_address(dst)), dport)
    return (int(proto), int(vlan or 0)) + tuple(sorted([a, b]))


def flows_of(pkts):
    flows = OrderedDict()
    for p in pkts:
        flows.setdefault(key_of(p["proto"], p["vlan"], p["src"], p["sport"], p["dst"], p["dport"]), []).append(p)
    return flows


def conversations(ps):
    """One key's packets as tshark_flows.py's flows: a TCP SYN (no ACK) after
    the conversation closed (RST, or FIN both ways) starts a new one."""
    out, cur, fin, closed = [], [], set(), False
    for p in ps:
        if closed and p["flags"] & 0x12 == 0x02:
            out.append(cur)
            cur, fin, closed = [], set(), False
        cur.append(p)
        if p["flags"] & 0x01:
            fin.add((p["src"], p["sport"]))
        if p["flags"] & 0x04 or len(fin) == 2:
            closed = True
    return out + [cur]


def table_of(flows):
    """Flows as lines of an expected table (orientation: first packet's src)."""
    rows = []
    for ps in (c for f in flows.values() for c in conversations(f)):
        f = ps[0]
        s2d = [p for p in ps if (p["src"], p["sport"]) == (f["src"], f["sport"])]
        d2s = [p for p in ps if (p["src"], p["sport"]) != (f["src"], f["sport"])]
        if (f["src"], f["sport"]) == (f["dst"], f["dport"]):
            s2d, d2s = ps, []
        rows.append((f["proto"], f["vlan"], f["src"], f["sport"], f["dst"], f["dport"],
                     len(s2d), sum(p["len"] for p in s2d), len(d2s), sum(p["len"] for p in d2s)))
    return sorted(rows)


def read_expected(path):
    rows = []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        c = line.split()
        rows.append((int(c[0]), int(c[1]), str(ipaddress.ip_address(c[2])), int(c[3]),
                     str(ipaddress.ip_address(c[4])), int(c[5]), int(c[6]), int(c[7]), int(c[9]), int(c[10])))
    return sorted(rows)


def json_lines(path):
    return [json.loads(l) for l in open(path) if l.strip()]


def cmd_records(argv):
    pcap, expected, flows_json = argv[:3]
    splt = int(argv[argv.index("--splt") + 1]) if "--splt" in argv else 0
    want666 = "--no-666" not in argv
    try:
        pkts = tshark_packets(pcap)
    except Refused as e:
        print(f"{pcap}: tshark's fields are ambiguous here: {e}")
        return 1
    flows = flows_of(pkts)
    mine, exp = table_of(flows), read_expected(expected)
    if mine != exp:
        print(f"tshark per-packet flows differ from {expected}:")
        for r in sorted(set(mine) - set(exp))[:10]:
            print("  fields only:", r)
        for r in sorted(set(exp) - set(mine))[:10]:
            print("  expected only:", r)
        return 1
    recs = defaultdict(list)
    for r in json_lines(flows_json):
        recs[key_of(r["protocol"], r.get("vlan_id"), r["src_ip"], r.get("src_port", 0),
                    r["dst_ip"], r.get("dst_port", 0))].append(r)
    bad = []
    nrec = n666 = nsplit = 0
    for key, ps in flows.items():
        rs = sorted(recs.pop(key, []), key=lambda r: (r["first_seen_ms"], r["id"]))
        if not rs:
            bad.append(f"flow {key}: no record")
            continue
        nsplit += len(rs) > 1
        i = 0
        for r in rs:
            n = r["src2dst_packets"] + r["dst2src_packets"]
            chunk, i = ps[i:i + n], i + n
            nrec += 1
            src = (str(ipaddress.ip_address(r["src_ip"])), r.get("src_port", 0))
            loop = (r["src_ip"], r.get("src_port", 0)) == (r["dst_ip"], r.get("dst_port", 0))
            dirs = [0 if loop or (p["src"], p["sport"]) == src else 1 for p in chunk]
            got = {"packets": (r["src2dst_packets"], r["dst2src_packets"]),
                   "bytes": (r["src2dst_bytes"], r["dst2src_bytes"])}
            want = {"packets": (dirs.count(0), dirs.count(1)),
                    "bytes": (sum(p["len"] for p, d in zip(chunk, dirs) if d == 0),
                              sum(p["len"] for p, d in zip(chunk, dirs) if d == 1))}
            if want666:
                got["packets_over_666"] = r.get("packets_over_666")
                want["packets_over_666"] = sum(p["len"] >= 666 for p in chunk)
                n666 += want["packets_over_666"]
            if splt:
                first = chunk[:splt]
                got["splt_direction"] = r.get("splt_direction")
                got["splt_ps"] = r.get("splt_ps")
                got["splt_piat_ms"] = r.get("splt_piat_ms")
                want["splt_direction"] = dirs[:splt]
                want["splt_ps"] = [min(p["len"], 65535) for p in first]
                want["splt_piat_ms"] = [0] + [max(0, b["t"] // 1000 - a["t"] // 1000)
                                              for a, b in zip(first, first[1:])]
            diff = {k: (v, got[k]) for k, v in want.items() if got[k] != v}
            if diff:
                bad.append(f"flow {key} record id {r['id']} (#{rs.index(r) + 1} of {len(rs)}, "
                           f"frames {chunk[0]['n'] if chunk else '-'}..): (tshark, nfprobe) {diff}")
        if i != len(ps):
            bad.append(f"flow {key}: {len(ps)} packets, records hold {i}")
    for key, rs in recs.items():
        bad.append(f"records of an unknown flow {key}: ids {[r['id'] for r in rs]}")
    for b in bad[:20]:
        print(b)
    print(f"{len(mine)} flows ({len(flows)} keys, {nsplit} in several records), {nrec} records, {len(pkts)} packets "
          f"({n666} >= 666 bytes): {len(bad)} differ")
    return 1 if bad else 0


def cmd_same(argv):
    plain, plug, keys = argv[0], argv[1], set(argv[2:])
    a, b = json_lines(plain), json_lines(plug)
    if len(a) != len(b):
        print(f"{len(a)} flows without plugins, {len(b)} with")
        return 1
    bad = 0
    for i, (x, y) in enumerate(zip(a, b)):
        extra = set(y) - set(x)
        rest = {k: v for k, v in y.items() if k not in keys}
        if extra != keys or rest != x:
            bad += 1
            if bad <= 5:
                print(f"line {i + 1}: plugin members {sorted(extra)}, differences "
                      f"{ {k: (x.get(k), rest.get(k)) for k in set(x) | set(rest) if x.get(k) != rest.get(k)} }")
    print(f"{len(a)} flows: {len(a) - bad} equal without {sorted(keys)}")
    return 1 if bad else 0


KNOWN_JSON = {"packetsOver666": "packets_over_666", "spltDirection": "splt_direction",
              "spltPacketSize": "splt_ps", "spltInterArrivalMs": "splt_piat_ms"}


def snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def cmd_names(argv):
    fields, plain, plug, pen = argv
    names = []
    for line in open(fields):
        c = line.split()
        # nfprobe's own tunnel elements (built-in template "tunnel") share the
        # default PEN with plugins: they are not a plugin's
        if c and not line.startswith("#") and len(c) > 1 and c[1].split("/")[0] == pen and "/" in c[1] \
                and c[-1] != "tunnel":
            names.append(c[0])
    a, b = json_lines(plain), json_lines(plug)
    if not b:
        print("no flows")
        return 1
    new = set(b[0]) - set(a[0])
    out, bad = [], 0
    for n in names:
        j = KNOWN_JSON.get(n, snake(n))
        if j not in new:
            print(f"{n}: no JSON member {j} among the plugin members {sorted(new)}", file=sys.stderr)
            bad += 1
        out.append((n, j))
    left = new - {j for _, j in out}
    if left:
        print(f"JSON plugin members with no IPFIX field under PEN {pen}: {sorted(left)}", file=sys.stderr)
        bad += 1
    for n, j in out:
        print(n, j)
    return 1 if bad or not out else 0


def cmd_ipfix(argv):
    bi = "--biflow" in argv
    args = [x for x in argv if not x.startswith("--")]
    flows = {f["id"]: f for f in json_lines(args[0])}
    names = [l.split() for l in open(args[2]) if l.strip()]
    recs = defaultdict(list)
    unnamed = set()
    for r in json_lines(args[1]):
        if r.get("_options"):
            continue
        unnamed |= {k for k in r if re.match(r"^_\d+_\d+$", k)}
        recs[r.get("flowId")].append(r)
    bad, nval, nrec = [], 0, 0
    missing = defaultdict(int)
    if unnamed:
        bad.append(f"unnamed enterprise elements in the records: {sorted(unnamed)}")
    for fid, f in sorted(flows.items()):
        rs = recs.pop(fid, [])
        want_n = 1 if bi else (f["src2dst_packets"] > 0) + (f["dst2src_packets"] > 0)
        if len(rs) != want_n:
            bad.append(f"flow {fid}: {len(rs)} IPFIX records, wanted {want_n}")
        for r in rs:
            nrec += 1
            for n, j in names:
                nval += 1
                if n not in r:
                    missing[n] += 1
                elif r[n] != f.get(j):
                    bad.append(f"flow {fid} record {r.get('biflowDirection', 'bi')}: {n} = {r[n]!r}, "
                               f"JSON {j} = {f.get(j)!r}")
    for fid in recs:
        bad.append(f"records with flowId {fid}, not in the JSON")
    if missing:
        bad[:0] = [f"records without {n}: {c}" for n, c in missing.items()]
    for b in bad[:15]:
        print(b)
    print(f"{len(flows)} flows, {nrec} records, {nval} plugin values: {len(bad)} problems")
    return 1 if bad else 0


def varlen(data, at):
    n = data[at]
    return (n, at + 1) if n < 255 else (struct.unpack_from("!H", data, at + 1)[0], at + 3)


def cmd_elements(argv):
    """Decodes an IPFIX file from its bytes (RFC 7011, 6313, 5610), for the
    enterprise numbers actually sent. Prints, sorted and unique:
      field PEN/ID          an enterprise field of a data template, or the
                            element of a basicList (RFC 6313) in a data record
      announced NAME PEN/ID type=T
                            an RFC 5610 element-type record
    PEN 29305 (RFC 5103 reverse elements) is left out."""
    data = open(argv[0], "rb").read()
    templates, fields, announced = {}, set(), set()
    pos = 0
    while pos + 16 <= len(data):
        version, mlen, = struct.unpack_from("!HH", data, pos)
        if version != 10 or mlen < 16:
            print(f"not an IPFIX message at byte {pos}")
            return 1
        dom = struct.unpack_from("!I", data, pos + 12)[0]
        s = pos + 16
        while s + 4 <= pos + mlen:
            sid, slen = struct.unpack_from("!HH", data, s)
            if slen < 4:
                break
            t, end = s + 4, s + slen
            if sid in (2, 3):
                while t + 4 <= end:
                    tid, count = struct.unpack_from("!HH", data, t)
                    # a withdrawal (field count 0) has no scope count, even
                    # in an options template set (RFC 7011 §8.1)
                    t += 6 if sid == 3 and count else 4
                    spec = []
                    for _ in range(count):
                        fid, flen = struct.unpack_from("!HH", data, t)
                        t += 4
                        pen = 0
                        if fid & 0x8000:
                            pen = struct.unpack_from("!I", data, t)[0]
                            t += 4
                            if pen != 29305 and sid == 2:
                                fields.add((pen, fid & 0x7fff))
                        spec.append((pen, fid & 0x7fff, flen))
                    templates[(dom, tid)] = spec
            elif sid >= 256 and (dom, sid) in templates:
                spec = templates[(dom, sid)]
                minlen = sum(1 if l == 65535 else l for _, _, l in spec)
                while end - t >= minlen and minlen > 0:
                    rec = {}
                    for pen, fid, flen in spec:
                        if flen == 65535:
                            flen, t = varlen(data, t)
                        v = data[t:t + flen]
                        t += flen
                        rec[(pen, fid)] = v
                        if pen == 0 and fid == 291 and len(v) >= 5:
                            lid, = struct.unpack_from("!H", v, 1)
                            lpen = struct.unpack_from("!I", v, 5)[0] if lid & 0x8000 else 0
                            if lpen != 29305:
                                fields.add((lpen, lid & 0x7fff))
                    if (0, 341) in rec and (0, 346) in rec and (0, 303) in rec:
                        announced.add((rec[(0, 341)].decode(), int.from_bytes(rec[(0, 346)], "big"),
                                       int.from_bytes(rec[(0, 303)], "big"),
                                       int.from_bytes(rec.get((0, 339), b"\0"), "big")))
            s = end
        pos += mlen
    for pen, fid in sorted(fields):
        print(f"field {pen}/{fid}")
    for name, pen, fid, typ in sorted(announced):
        print(f"announced {name} {pen}/{fid} type={typ}")
    return 0


def main():
    cmds = {"records": cmd_records, "same": cmd_same, "names": cmd_names, "ipfix": cmd_ipfix,
            "elements": cmd_elements}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        print(__doc__, file=sys.stderr)
        return 2
    return cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
