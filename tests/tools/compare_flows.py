#!/usr/bin/env python3
"""Compare an expected flow table (tests/expected/*.flows) with probe output.

Usage:
    compare_flows.py EXPECTED.flows ACTUAL.jsonl [--format nfprobe|ipfix|flows]
                     [--totals] [--merge] [--limit N]

Formats of ACTUAL:
  nfprobe  one JSON object per line per biflow (keys protocol, vlan_id, src_ip,
           src_port, dst_ip, dst_port, src2dst_packets, src2dst_bytes,
           src2dst_l2_bytes, dst2src_packets, dst2src_bytes, dst2src_l2_bytes;
           other keys are ignored)
  ipfix    JSON lines from the collector, one object per IPFIX data record,
           keyed by IE name.  Records with "_options": true are ignored.  A
           biflow is either up to two one-way records sharing "flowId" with
           "biflowDirection" 1 (initiator: src->dst) and 2 (reverseInitiator:
           the dst->src direction, so its source address is the flow's dst),
           or one record carrying reversePacketDeltaCount /
           reverseOctetDeltaCount / reverseLayer2OctetDeltaCount (--biflow
           export).
  flows    another .flows file (useful to diff two generated tables)

Flows are compared as multisets of lines
    proto vlan src sport dst dport s2d_pkts s2d_bytes s2d_l2 d2s_pkts d2s_bytes d2s_l2
with addresses normalised through ipaddress.  Exit status 0 only on an exact
match (with --totals: when the totals match).

--merge   sum ACTUAL records that share a key (vlan, proto, the two ends), in
          file order, before comparing.  The expected tables have one flow per
          key for the whole capture; a probe that ends flows on timeouts or
          TCP FIN/RST may export several records for one key.
--totals  only print (and compare) total flows, packets, IP bytes, L2 bytes.
"""

import argparse
import ipaddress
import json
import sys
from collections import Counter, OrderedDict

COUNTERS = ("s2d_pkts", "s2d_bytes", "s2d_l2", "d2s_pkts", "d2s_bytes", "d2s_l2")


class FormatError(Exception):
    pass


def norm_ip(s):
    return ipaddress.ip_address(str(s).strip()).compressed


def as_int(v, default=None):
    if v is None or v == "":
        return default
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v)
    s = str(v).strip()
    return int(s, 0) if s.lower().startswith("0x") else int(s)


def make(proto, vlan, src, sport, dst, dport, c):
    return (as_int(proto, 0), as_int(vlan, 0) or 0, norm_ip(src), as_int(sport, 0) or 0,
            norm_ip(dst), as_int(dport, 0) or 0) + tuple(c)


def fmt(t):
    return " ".join("?" if x is None else str(x) for x in t)


def read_flows(path):
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            p = line.split()
            if len(p) != 12:
                raise FormatError("%s:%d: expected 12 fields, got %d" % (path, n, len(p)))
            out.append(make(p[0], p[1], p[2], p[3], p[4], p[5], [int(x) for x in p[6:]]))
    return out


def json_lines(path):
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield n, json.loads(line)
            except ValueError as e:
                raise FormatError("%s:%d: bad JSON: %s" % (path, n, e))


def read_nfprobe(path):
    out = []
    for n, o in json_lines(path):
        if not isinstance(o, dict):
            raise FormatError("%s:%d: not a JSON object" % (path, n))
        try:
            out.append(make(o["protocol"], o.get("vlan_id"), o["src_ip"], o.get("src_port"),
                            o["dst_ip"], o.get("dst_port"),
                            [as_int(o.get("src2dst_packets"), 0), as_int(o.get("src2dst_bytes"), 0),
                             as_int(o.get("src2dst_l2_bytes")),
                             as_int(o.get("dst2src_packets"), 0), as_int(o.get("dst2src_bytes"), 0),
                             as_int(o.get("dst2src_l2_bytes"))]))
        except KeyError as e:
            raise FormatError("%s:%d: missing key %s" % (path, n, e))
    return out


def ipfix_addrs(o):
    if "sourceIPv4Address" in o or "destinationIPv4Address" in o:
        return o.get("sourceIPv4Address"), o.get("destinationIPv4Address")
    return o.get("sourceIPv6Address"), o.get("destinationIPv6Address")


def read_ipfix(path):
    groups = OrderedDict()      # flowId (or line number) -> list of records
    for n, o in json_lines(path):
        if not isinstance(o, dict) or o.get("_options"):
            continue
        s, d = ipfix_addrs(o)
        if s is None or d is None:
            continue            # not a flow record (no addresses)
        fid = o.get("flowId")
        key = ("id", fid) if fid is not None else ("line", n)
        groups.setdefault(key, []).append(o)
    out = []
    for key, recs in groups.items():
        fwd = [r for r in recs if as_int(r.get("biflowDirection"), 1) != 2]
        rev = [r for r in recs if as_int(r.get("biflowDirection"), 1) == 2]
        c = [0, 0, 0, 0, 0, 0]
        have_l2 = [False, False]
        base = None
        for r in fwd:
            base = base or r
            c[0] += as_int(r.get("packetDeltaCount"), 0)
            c[1] += as_int(r.get("octetDeltaCount"), 0)
            if "layer2OctetDeltaCount" in r:
                have_l2[0] = True
                c[2] += as_int(r["layer2OctetDeltaCount"], 0)
            if "reversePacketDeltaCount" in r or "reverseOctetDeltaCount" in r:
                c[3] += as_int(r.get("reversePacketDeltaCount"), 0)
                c[4] += as_int(r.get("reverseOctetDeltaCount"), 0)
                if "reverseLayer2OctetDeltaCount" in r:
                    have_l2[1] = True
                    c[5] += as_int(r["reverseLayer2OctetDeltaCount"], 0)
        for r in rev:
            c[3] += as_int(r.get("packetDeltaCount"), 0)
            c[4] += as_int(r.get("octetDeltaCount"), 0)
            if "layer2OctetDeltaCount" in r:
                have_l2[1] = True
                c[5] += as_int(r["layer2OctetDeltaCount"], 0)
        if base is not None:
            s, d = ipfix_addrs(base)
            sp, dp = base.get("sourceTransportPort"), base.get("destinationTransportPort")
        else:
            # only a reverse-direction record: its source is the flow's dst
            base = rev[0]
            d, s = ipfix_addrs(base)
            dp, sp = base.get("sourceTransportPort"), base.get("destinationTransportPort")
        if not have_l2[0] and c[0] > 0:
            c[2] = None
        if not have_l2[1] and c[3] > 0:
            c[5] = None
        out.append(make(base.get("protocolIdentifier"), base.get("vlanId"), s, sp, d, dp, c))
    return out


def end_key(t):
    a, b = (t[2], t[3]), (t[4], t[5])
    return (t[0], t[1]) + ((a, b) if a <= b else (b, a))


def reverse(t):
    return t[:2] + (t[4], t[5], t[2], t[3]) + t[9:12] + t[6:9]


def merge(rows):
    acc = OrderedDict()
    for t in rows:
        k = end_key(t)
        if k not in acc:
            acc[k] = list(t)
            continue
        m = acc[k]
        if (t[2], t[3]) != (m[2], m[3]):
            t = reverse(t)
        for i in range(6, 12):
            m[i] = None if (m[i] is None or t[i] is None) else m[i] + t[i]
    return [tuple(v) for v in acc.values()]


def totals(rows):
    s = lambda i: sum(t[i] or 0 for t in rows)
    return (len(rows), s(6) + s(9), s(7) + s(10), s(8) + s(11))


def main():
    ap = argparse.ArgumentParser(description="Compare expected .flows with nfprobe/IPFIX JSON output")
    ap.add_argument("expected")
    ap.add_argument("actual")
    ap.add_argument("--format", choices=("nfprobe", "ipfix", "flows"), default="nfprobe")
    ap.add_argument("--totals", action="store_true", help="compare totals only")
    ap.add_argument("--merge", action="store_true",
                    help="sum actual records with the same key before comparing")
    ap.add_argument("--limit", type=int, default=20, help="lines shown per category (20)")
    a = ap.parse_args()
    try:
        exp = read_flows(a.expected)
        act = {"nfprobe": read_nfprobe, "ipfix": read_ipfix, "flows": read_flows}[a.format](a.actual)
    except (OSError, FormatError, ValueError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    if a.merge:
        act = merge(act)

    if a.totals:
        te, ta = totals(exp), totals(act)
        print("%-9s %8s %10s %12s %12s" % ("", "flows", "packets", "ip_bytes", "l2_bytes"))
        print("%-9s %8d %10d %12d %12d" % (("expected",) + te))
        print("%-9s %8d %10d %12d %12d" % (("actual",) + ta))
        ok = te[1:] == ta[1:]
        print("totals %s" % ("match" if ok else "DIFFER"))
        return 0 if ok else 1

    ce, ca = Counter(exp), Counter(act)
    common = ce & ca
    missing = ce - ca
    extra = ca - ce
    n_match = sum(common.values())
    n_missing = sum(missing.values())
    n_extra = sum(extra.values())

    # pair up missing/extra flows that share a key: those differ in counters
    extra_by_key = {}
    for t in extra.elements():
        extra_by_key.setdefault(end_key(t), []).append(t)
    differ = []
    only_missing = []
    for t in missing.elements():
        cands = extra_by_key.get(end_key(t))
        if cands:
            differ.append((t, cands.pop(0)))
        else:
            only_missing.append(t)
    only_extra = [t for v in extra_by_key.values() for t in v]

    def show(title, rows):
        if not rows:
            return
        print("%s (%d):" % (title, len(rows)))
        for t in sorted(rows, key=lambda x: tuple(str(y) for y in x))[:a.limit]:
            print("  " + fmt(t))
        if len(rows) > a.limit:
            print("  ... %d more" % (len(rows) - a.limit))

    hdr = "  (proto vlan src sport dst dport s2d_pkts s2d_bytes s2d_l2 d2s_pkts d2s_bytes d2s_l2)"
    if differ or only_missing or only_extra:
        print(hdr)
    if differ:
        print("differing (%d), same key:" % len(differ))
        for e, x in differ[:a.limit]:
            note = ""
            if reverse(x) == e:
                note = "   <- same counters, src/dst reversed"
            else:
                xr = x if (x[2], x[3]) == (e[2], e[3]) else reverse(x)
                fields = [COUNTERS[i - 6] for i in range(6, 12) if xr[i] != e[i]]
                note = "   <- " + ",".join(fields) + (" (actual has src/dst reversed)" if xr is not x else "")
            print("  expected " + fmt(e))
            print("  actual   " + fmt(x) + note)
        if len(differ) > a.limit:
            print("  ... %d more" % (len(differ) - a.limit))
    show("missing (in expected, not in actual)", only_missing)
    show("extra (in actual, not in expected)", only_extra)
    print("%d flows: %d match, %d missing, %d extra" % (sum(ce.values()), n_match, n_missing, n_extra))
    if differ:
        print("(%d of the missing/extra pairs share a key and differ only in counters or orientation)"
              % len(differ))
    return 0 if (n_missing == 0 and n_extra == 0) else 1


if __name__ == "__main__":
    sys.exit(main())
