#!/usr/bin/env python3
"""Helpers for the interoperability tests (tests/interop_*.sh).

  interop_check.py nfdump-records EXPECTED.flows NFDUMP.csv
      The one-way records nfdump decoded (`nfdump -o csv`) equal the expected
      table's directions with packets, as a multiset of (source address, port,
      destination address, port, packets, bytes); ports are ignored for ICMP
      and ICMPv6 (nfdump shows type/code there).  Exit 1 and list the
      differences otherwise.
  interop_check.py pmacct-totals PRINT.csv [--exclude-src ADDR]
      Totals of an nfacctd print plugin CSV file: "packets bytes rows".
      Rows from ADDR (markers) are left out; header and torn lines are skipped.
  interop_check.py tshark-records TSHARK-V.txt
      Reads `tshark -V` output of IPFIX messages and prints, per observation
      domain, "domain D records R packets P octets O opt_records N
      opt_flows_exp F opt_packets K worker_packets W" (opt_*: the last options
      record, template 258; W: the packets of the last per-worker records,
      template 263, added up), then a line "problem: ..." for every data record whose field names
      are not exactly the expected ones, and for every message tshark could not
      decode ("no template found", "Malformed", unknown sets).
Python 3 standard library only.
"""
import collections
import ipaddress
import re
import sys

ICMP = {1, 58}


def norm(a):
    return str(ipaddress.ip_address(a.strip()))


def expected_records(path):
    recs = collections.Counter()
    with open(path) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            v = line.split()
            proto, src, sp, dst, dp = int(v[0]), norm(v[2]), int(v[3]), norm(v[4]), int(v[5])
            if proto in ICMP:
                sp = dp = 0
            if int(v[6]) > 0:
                recs[(src, sp, dst, dp, int(v[6]), int(v[7]))] += 1
            if int(v[9]) > 0:
                recs[(dst, dp, src, sp, int(v[9]), int(v[10]))] += 1
    return recs


def nfdump_records(path):
    recs = collections.Counter()
    with open(path) as f:
        for line in f:
            v = line.rstrip("\n").split(",")
            if len(v) < 13 or v[0] == "ts" or not v[11].strip().isdigit():
                continue
            src, dst, sp, dp, pr = norm(v[3]), norm(v[4]), int(v[5]), int(float(v[6])), v[7].strip()
            if pr.upper().startswith("ICMP") or pr in ("1", "58"):
                sp = dp = 0
            recs[(src, sp, dst, dp, int(v[11]), int(v[12]))] += 1
    return recs


NAMES_COMMON = {"Flow Id", "[Duration", "StartTime", "EndTime", "SrcAddr", "DstAddr", "SrcPort",
                "DstPort", "Protocol", "IPVersion", "Vlan Id", "TCP Flags", "Packets", "Octets",
                "Layer2 Octet Delta Count", "Flow End Reason", "Biflow Direction"}
NAMES = {"256": NAMES_COMMON | {"ICMP Type"},
         "257": NAMES_COMMON | {"IPv6 ICMP Type", "IPv6 ICMP Code"},
         "258": {"Observation Domain Id", "System Init Time", "Permanent Packets", "Ignored Packets",
                 "Dropped Total Packets", "Flows", "Not Sent Flows", "PacketsExp", "FlowsExp",
                 "OctetsExp", "Selector Id Total Pkts Observed", "Selector Id Total Pkts Selected",
                 "Selectorid_Total_Flows_Observed", "Selectorid_Total_Flows_Selected"}}
# Layer-7 elements (dissection on, templates/dpi.tmpl): always there, and the
# strings tshark leaves out when they are empty.
DPI_ALWAYS = {"Classification Engine ID", "Selector ID", "Layer 7 protocol (numeric)",
              "Layer 7 protocol name", "Enterprise Private entry", "DNS query type", "DNS return code"}
DPI_WHEN_SET = {"HTTP Host Name (IXIA Host Name)", "HTTP User Agent", "DNS query", "SSL server name",
                "String_len_short"}   # tshark shows the length prefix of a variable-length field
# Tunnel elements (decapsulation on, templates/tunnel.tmpl): nProbe's two ids
# and IANA's layer2SegmentId by name; nfprobe's PEN 32473 ones (type, outer
# addresses) show as "Enterprise Private entry", like the ntop ids tshark
# does not name.
TUNNEL_ALWAYS = {"Upstream tunnel identifier (e.g. GTP TEID, VXLAN VNI) or 0 if unknown",
                 "Downstream tunnel identifier (e.g. GTP TEID, VXLAN VNI) or 0 if unknown",
                 "Layer2 Segment Id"}
for _sid in ("256", "257"):
    NAMES[_sid] = NAMES[_sid] | DPI_ALWAYS | TUNNEL_ALWAYS
# Application names (RFC 6759 options data), template 259.
APP_NAMES = {"Observation Domain Id", "Classification Engine ID", "Selector ID", "ApplicationName",
             "ApplicationDesc", "Application Category Name"}
NAMES["259"] = APP_NAMES
# Each worker's statistics (one metering process each), template 263.
NAMES["263"] = {"Observation Domain Id", "Metering Process Id", "Permanent Packets", "Ignored Packets",
                "Dropped Total Packets", "Flows"}
BITS = re.compile(r"^[01. ]+ = ")
FIELD = re.compile(r"^(\s*)(\[?[^:\[\]]+?): (.*)$")


def tshark_records(path):
    doms = {}
    problems = []
    frame = domain = set_id = None
    rec = None

    def close():
        nonlocal rec
        if rec is None:
            return
        sid, fields, fno = rec
        rec = None
        want = NAMES.get(sid)
        d = doms.setdefault(domain, {"records": 0, "packets": 0, "octets": 0, "opt": 0, "flows_exp": None,
                                     "opt_packets": None})
        if want is None:
            problems.append("frame %s: record of unknown set %s" % (fno, sid))
            return
        names = set(fields)
        if sid in ("256", "257"):
            names -= DPI_WHEN_SET
        if names != want:
            problems.append("frame %s set %s: missing %s, unexpected %s" % (
                fno, sid, sorted(want - names), sorted(names - want)))
        if sid == "259":
            d["app_names"] = d.get("app_names", 0) + 1
        elif sid == "258":
            d["opt"] += 1
            d["flows_exp"] = fields.get("FlowsExp")
            d["opt_packets"] = fields.get("Permanent Packets")
            d["workers"] = {}
        elif sid == "263":
            d.setdefault("workers", {})[fields.get("Metering Process Id")] = int(fields.get("Permanent Packets", "0"))
        else:
            d["records"] += 1
            try:
                d["packets"] += int(fields.get("Packets", "0"))
                d["octets"] += int(fields.get("Octets", "0"))
            except ValueError:
                problems.append("frame %s: bad counter %r %r" % (fno, fields.get("Packets"), fields.get("Octets")))

    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            low = line.lower()
            if "no template found" in low or "missing template" in low or "malformed" in low:
                problems.append("frame %s: %s" % (frame, line.strip()))
            if line.startswith("Frame "):
                close()
                frame = line.split()[1].rstrip(":")
                domain = set_id = None
                continue
            if not line.startswith(" "):
                close()
                continue
            ind = len(line) - len(line.lstrip(" "))
            body = line.strip()
            if ind == 4 and body.startswith("Observation Domain Id:"):
                domain = body.split(":", 1)[1].strip()
            elif ind == 4 and body.startswith("Set "):
                close()
                set_id = None
            elif ind == 8 and body.startswith("FlowSet Id:"):
                m = re.search(r"\(Data\) \((\d+)\)", body)
                set_id = m.group(1) if m else None
            elif ind == 8 and re.match(r"^Flow \d+$", body):
                close()
                if set_id is not None:
                    rec = (set_id, {}, frame)
            elif ind <= 8:
                close()
            elif rec is not None and not BITS.match(body):
                m = FIELD.match(line)
                if m:
                    name = m.group(2).strip()
                    if name not in rec[1]:
                        rec[1][name] = m.group(3).strip().split(" ")[0]
    close()
    return doms, problems


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "tshark-records":
        doms, problems = tshark_records(sys.argv[2])
        for d in sorted(doms, key=lambda x: int(x or 0)):
            v = doms[d]
            print("domain %s records %d packets %d octets %d opt_records %d opt_flows_exp %s opt_packets %s "
                  "worker_packets %s" % (d, v["records"], v["packets"], v["octets"], v["opt"], v["flows_exp"],
                                         v["opt_packets"], sum(v.get("workers", {}).values())))
        for p in problems:
            print("problem: " + p)
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "nfdump-records":
        want, got = expected_records(sys.argv[2]), nfdump_records(sys.argv[3])
        if want == got:
            return 0
        missing, extra = want - got, got - want
        print("%d expected records missing from nfdump, %d records nfdump has beyond them"
              % (sum(missing.values()), sum(extra.values())))
        for r in sorted(missing)[:15]:
            print("missing: %s:%d -> %s:%d %d pkts %d bytes" % r)
        for r in sorted(extra)[:15]:
            print("extra:   %s:%d -> %s:%d %d pkts %d bytes" % r)
        return 1
    if len(sys.argv) >= 3 and sys.argv[1] == "pmacct-totals":
        exclude = None
        if len(sys.argv) >= 5 and sys.argv[3] == "--exclude-src":
            exclude = norm(sys.argv[4])
        p = b = rows = 0
        with open(sys.argv[2]) as f:
            for line in f:
                v = line.rstrip("\n").split(",")
                if len(v) != 7 or not v[5].isdigit() or not v[6].isdigit():
                    continue
                try:
                    if exclude is not None and norm(v[0]) == exclude:
                        continue
                except ValueError:
                    continue
                p += int(v[5])
                b += int(v[6])
                rows += 1
        print(p, b, rows)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
