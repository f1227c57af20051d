#!/usr/bin/env python3
"""Check that nfprobe's JSON flows and the IPFIX records a collector decoded
from the same run say the same thing, field by field.

usage: json_vs_ipfix.py FLOWS.json RECORDS.jsonl [--biflow]

FLOWS.json: nfprobe --json lines (one biflow per line, nfstream names).
RECORDS.jsonl: collector-test lines (IPFIX element names). By default each flow
must appear as one record per direction that saw packets (biflowDirection 1
for src->dst, 2 for dst->src, same flowId); with --biflow as one RFC 5103
record with reverse elements. Exit 0 when everything matches.
"""
import ipaddress
import json
import sys


def addr(s):
    return str(ipaddress.ip_address(s))


def one_way(flow, direction):
    """The IPFIX record nfprobe must send for one direction of a JSON flow."""
    fwd = direction == 1
    a, b = ("src", "dst") if fwd else ("dst", "src")
    d = "src2dst" if fwd else "dst2src"
    v6 = flow["ip_version"] == 6
    rec = {
        "flowId": flow["id"],
        "sourceIPv6Address" if v6 else "sourceIPv4Address": addr(flow[a + "_ip"]),
        "destinationIPv6Address" if v6 else "destinationIPv4Address": addr(flow[b + "_ip"]),
        "sourceTransportPort": flow[a + "_port"],
        "destinationTransportPort": flow[b + "_port"],
        "protocolIdentifier": flow["protocol"],
        "ipVersion": flow["ip_version"],
        "vlanId": flow["vlan_id"],
        "packetDeltaCount": flow[d + "_packets"],
        "octetDeltaCount": flow[d + "_bytes"],
        "layer2OctetDeltaCount": flow[d + "_l2_bytes"],
        "tcpControlBits": flow.get(d + "_tcp_flags", 0),
        "flowEndReason": flow["end_reason"],
        "biflowDirection": direction,
        "flowStartMilliseconds": flow[d + "_first_seen_ms"],
        "flowEndMilliseconds": flow[d + "_last_seen_ms"],
        ("icmpTypeCodeIPv6" if v6 else "icmpTypeCodeIPv4"): flow.get(d + "_icmp_type_code", 0),
    }
    return rec


def biflow(flow):
    rec = one_way(flow, 1)
    del rec["biflowDirection"]
    rec["flowStartMilliseconds"] = flow["bidirectional_first_seen_ms"]
    rec["flowEndMilliseconds"] = flow["bidirectional_last_seen_ms"]
    for f, j in (("PacketDeltaCount", "packets"), ("OctetDeltaCount", "bytes"),
                 ("Layer2OctetDeltaCount", "l2_bytes"), ("TcpControlBits", "tcp_flags")):
        rec["reverse" + f] = flow.get("dst2src_" + j, 0)
    return rec


def consistent(flow):
    """nfstream's time and total members agree with the flow's own: a
    direction without packets reads 0, durations are last - first."""
    want = {
        "bidirectional_first_seen_ms": flow["first_seen_ms"],
        "bidirectional_last_seen_ms": flow["last_seen_ms"],
        "bidirectional_duration_ms": flow["last_seen_ms"] - flow["first_seen_ms"],
        "bidirectional_packets": flow["src2dst_packets"] + flow["dst2src_packets"],
        "bidirectional_bytes": flow["src2dst_bytes"] + flow["dst2src_bytes"],
        "expiration_id": 1 if flow["end_reason"] == 2 else 0,   # nfstream's: 1 active timeout
    }
    for d in ("src2dst", "dst2src"):
        first, last = flow[d + "_first_seen_ms"], flow[d + "_last_seen_ms"]
        want[d + "_duration_ms"] = last - first
        if flow[d + "_packets"] == 0:
            want[d + "_first_seen_ms"] = want[d + "_last_seen_ms"] = 0
        elif not flow["first_seen_ms"] <= first <= last <= flow["last_seen_ms"]:
            want[d + "_first_seen_ms"] = "within the flow's times"
    diff = {k: (flow.get(k), v) for k, v in want.items() if flow.get(k) != v}
    if diff:
        print("flow", flow["id"], "times/totals inconsistent (json, want):", diff)
    return not diff


def normalise(rec):
    out = {}
    for k, v in rec.items():
        if k.startswith("_"):
            continue
        if k.endswith("IPv4Address") or k.endswith("IPv6Address"):
            v = addr(v)
        out[k] = v
    return out


def compare(flows_path, records_path, bi):
    """Print what differs; return how many flows and records do."""
    flows = [json.loads(l) for l in open(flows_path) if l.strip()]
    got = {}
    for line in open(records_path):
        if not line.strip():
            continue
        r = json.loads(line)
        if r.get("_options"):
            continue
        key = (r["flowId"], 0 if bi else r["biflowDirection"])
        if key in got:
            print("duplicate record", key)
            return 1
        got[key] = normalise(r)
    bad = sum(not consistent(f) for f in flows)
    want = {}
    for f in flows:
        if bi:
            want[(f["id"], 0)] = biflow(f)
            continue
        for direction, d in ((1, "src2dst"), (2, "dst2src")):
            if f[d + "_packets"] > 0:
                want[(f["id"], direction)] = one_way(f, direction)
    for key, w in sorted(want.items()):
        g = got.get(key)
        if g is None:
            print("missing record", key, w)
            bad += 1
            continue
        diff = {k: (v, g.get(k)) for k, v in w.items() if g.get(k) != v}
        if diff:
            print("record", key, "differs (json, ipfix):", diff)
            bad += 1
    for key in sorted(set(got) - set(want)):
        print("extra record", key, got[key])
        bad += 1
    print(f"{len(want)} records: {len(want) - bad} match, {bad} differ")
    return bad


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    return 1 if compare(args[0], args[1], "--biflow" in sys.argv) else 0


if __name__ == "__main__":
    sys.exit(main())
