#!/usr/bin/env python3
"""Compare nfprobe's flows with a Zeek conn.log baseline, connection by
connection: the same packets and IP bytes per direction (Zeek's orig_pkts,
orig_ip_bytes, resp_pkts, resp_ip_bytes).

usage: zeek_compare.py CAPTURE_NAME CONN.LOG FLOWS.json EXPLAINED.txt

FLOWS.json: nfprobe --json lines. Every difference is printed as one line:
    CAPTURE zeek-only PROTO A:P B:P pkts=N/N ip_bytes=N/N
    CAPTURE nfprobe-only PROTO A:P B:P pkts=N/N ip_bytes=N/N
    CAPTURE differs PROTO A:P B:P zeek=N/N,N/N nfprobe=N/N,N/N
(counts oriented as Zeek's originator -> responder). Exit 0 only when the
differences of this capture are exactly the lines EXPLAINED.txt lists for it
(text after '#' is the explanation). One normalisation, by definition and not
a difference: Zeek keys ICMP by type and code (in the port columns), nfprobe
by the address pair (ports 0); Zeek's ICMP connections of one address pair
are added up, oriented as the first of them.
"""
import json
import sys

PROTOS = {"tcp": 6, "udp": 17, "icmp": 1}


def zeek_conns(path):
    fields, out = None, []
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
            continue
        if not line or line.startswith("#"):
            continue
        r = dict(zip(fields, line.split("\t")))
        proto = PROTOS[r["proto"]]
        a, b = r["id.orig_h"], r["id.resp_h"]
        if proto == 1 and ":" in a:
            proto = 58
        ap, bp = int(r["id.orig_p"]), int(r["id.resp_p"])
        if proto in (1, 58):
            ap = bp = 0
        out.append([proto, (a, ap), (b, bp), [int(r["orig_pkts"]), int(r["orig_ip_bytes"]),
                                              int(r["resp_pkts"]), int(r["resp_ip_bytes"])]])
    return out


def merged(conns):
    """ICMP connections of one address pair added up (see above)."""
    by_key, order = {}, []
    for proto, a, b, c in conns:
        key = (proto, frozenset((a, b)))
        if key not in by_key:
            by_key[key] = [proto, a, b, list(c)]
            order.append(key)
            continue
        m = by_key[key]
        if m[1] == a:
            m[3] = [x + y for x, y in zip(m[3], c)]
        else:
            m[3] = [m[3][0] + c[2], m[3][1] + c[3], m[3][2] + c[0], m[3][3] + c[1]]
    return [by_key[k] for k in order]


def nfprobe_flows(path):
    out = {}
    for line in open(path):
        f = json.loads(line)
        a, b = (f["src_ip"], f["src_port"]), (f["dst_ip"], f["dst_port"])
        c = [f["src2dst_packets"], f["src2dst_bytes"], f["dst2src_packets"], f["dst2src_bytes"]]
        key = (f["protocol"], frozenset((a, b)))
        out.setdefault(key, []).append((a, b, c))
    return out


def end(e):
    return "%s:%d" % e


def differences(name, zeek, flows):
    lines = []
    for proto, a, b, c in merged(zeek):
        key = (proto, frozenset((a, b)))
        hit = flows.get(key)
        if not hit:
            lines.append("%s zeek-only %d %s %s pkts=%d/%d ip_bytes=%d/%d" %
                         (name, proto, end(a), end(b), c[0], c[2], c[1], c[3]))
            continue
        fa, fb, fc = hit.pop(0)
        if not hit:
            del flows[key]
        if fa != a:
            fc = [fc[2], fc[3], fc[0], fc[1]]
        if fc != c:
            lines.append("%s differs %d %s %s zeek=%d/%d,%d/%d nfprobe=%d/%d,%d/%d" %
                         (name, proto, end(a), end(b), c[0], c[1], c[2], c[3],
                          fc[0], fc[1], fc[2], fc[3]))
    for key, rest in flows.items():
        for a, b, c in rest:
            lines.append("%s nfprobe-only %d %s %s pkts=%d/%d ip_bytes=%d/%d" %
                         (name, key[0], end(a), end(b), c[0], c[2], c[1], c[3]))
    return lines


def explained(path, name):
    out = set()
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line.startswith(name + " "):
            out.add(" ".join(line.split()))
    return out


def main():
    name, conn, flows_path, expl = sys.argv[1:5]
    got = set(differences(name, zeek_conns(conn), nfprobe_flows(flows_path)))
    want = explained(expl, name)
    for line in sorted(got - want):
        print("unexplained: " + line)
    for line in sorted(want - got):
        print("explained but not seen: " + line)
    zeek_n = len(zeek_conns(conn))
    print("%s: %d Zeek connections, %d differences, all explained: %s" %
          (name, zeek_n, len(got), "yes" if got == want else "no"))
    return 0 if got == want else 1


if __name__ == "__main__":
    sys.exit(main())
