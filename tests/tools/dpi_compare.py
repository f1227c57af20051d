#!/usr/bin/env python3
"""Compare nfprobe's layer-7 fields with ndpiReader's, flow by flow.

    dpi_compare.py CAPTURE_NAME NDPIREADER_OUT NFPROBE_JSON

ndpiReader (-v 2) is the reference. Its flows are matched to nfprobe's JSON
flows by (protocol, vlan, the two address:port ends); a flow that matches
nothing with its VLAN is matched without it when exactly one nfprobe flow has
that 5-tuple (ndpiReader prints the inner tag of a double-tagged frame, see
tests/expected/README). Compared per matched flow: the application name
("TLS.Facebook"), the server name (Hostname/SNI), JA3C, JA3S and the HTTP
User-Agent.

Prints one line per finding, tab-separated:
    capture  flow  field  ndpiReader's-value  nfprobe's-value
(field "flow" = an ndpiReader flow nfprobe has no flow for), then a summary
line starting with "#" with the counts: flows, matched, name_agree.
"""
import ipaddress
import json
import re
import sys

PROTO_NAMES = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58, "IGMP": 2, "VRRP": 112,
               "OSPF": 89, "SCTP": 132, "GRE": 47}

FLOW_LINE = re.compile(
    r"^\t\d+\t(?P<proto>\S+) (?P<a>\S+) (?:<->|->) (?P<b>\S+) "
    r"(?:\[VLAN: (?P<vlan>\d+)\])?\[proto: (?:[\d.]+)/(?P<name>[^\]]*)\]")


def endpoint(text):
    """'1.2.3.4:80' or '[::1]:80' -> ('1.2.3.4', 80)."""
    if text.startswith("["):
        addr, _, port = text[1:].rpartition("]:")
    else:
        addr, _, port = text.rpartition(":")
    return addr, int(port)


def field(line, label):
    """The value of '[label: value]' in an ndpiReader flow line, or ''."""
    start = line.find("[" + label + ": ")
    if start < 0:
        return ""
    start += len(label) + 3
    end = line.find("][", start)
    if end < 0:
        end = line.rfind("]")
    return line[start:end]


def hex_hash(value):
    m = re.match(r"[0-9a-f]{32}", value)
    return m.group(0) if m else value


def normal_addr(addr):
    """One spelling per address (ndpiReader and nfprobe compress IPv6 zeros
    differently); a string that is no address stays as it is."""
    try:
        return str(ipaddress.ip_address(addr))
    except ValueError:
        return addr


def flow_key(proto, vlan, a, b):
    ends = sorted([(normal_addr(a[0]), a[1]), (normal_addr(b[0]), b[1])])
    return (proto, vlan, ends[0], ends[1])


def key_text(k):
    proto, vlan, a, b = k
    return "%d vlan%d %s:%d-%s:%d" % (proto, vlan, a[0], a[1], b[0], b[1])


def read_ndpireader(path):
    flows = []
    with open(path, errors="replace") as f:
        for line in f:
            m = FLOW_LINE.match(line)
            if not m:
                continue
            p = m.group("proto")
            proto = PROTO_NAMES.get(p, int(p) if p.isdigit() else -1)
            key = flow_key(proto, int(m.group("vlan") or 0), endpoint(m.group("a")),
                           endpoint(m.group("b")))
            flows.append((key, {
                "name": m.group("name"),
                "sni": field(line, "Hostname/SNI"),
                "ja3c": hex_hash(field(line, "JA3C")),
                "ja3s": hex_hash(field(line, "JA3S")),
                "ua": field(line, "User-Agent"),
            }))
    return flows


def read_nfprobe(path):
    flows = {}
    with open(path, errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            key = flow_key(r["protocol"], r.get("vlan_id", 0), (r["src_ip"], r["src_port"]),
                           (r["dst_ip"], r["dst_port"]))
            flows.setdefault(key, []).append({
                "name": r.get("application_name", ""),
                "sni": r.get("requested_server_name", ""),
                "ja3c": r.get("client_fingerprint", ""),
                "ja3s": r.get("server_fingerprint", ""),
                "ua": r.get("user_agent", ""),
            })
    return flows


def find(ours, key):
    if key in ours:
        return ours[key]
    proto, _, a, b = key
    same = [v for k, v in ours.items() if k[0] == proto and k[2] == a and k[3] == b]
    return same[0] if len(same) == 1 else None


def main():
    capture, ndpi_path, ours_path = sys.argv[1:4]
    theirs = read_ndpireader(ndpi_path)
    ours = read_nfprobe(ours_path)
    matched = agree = 0
    for key, t in theirs:
        o = find(ours, key)
        if o is None:
            print("\t".join([capture, key_text(key), "flow", "present", "missing"]))
            continue
        matched += 1
        o = o[0]
        if o["name"] == t["name"]:
            agree += 1
        for fld in ("name", "sni", "ja3c", "ja3s", "ua"):
            if o[fld] != t[fld]:
                print("\t".join([capture, key_text(key), fld, t[fld], o[fld]]))
    print("# %s flows=%d matched=%d name_agree=%d" % (capture, len(theirs), matched, agree))


if __name__ == "__main__":
    main()
