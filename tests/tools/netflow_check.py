#!/usr/bin/env python3
"""Checks for the NetFlow v9/v5 export tests (tests/netflow_export.sh).

  netflow_check.py times FLOWS.jsonl NFDUMP.txt [--ipv4-only]
      NFDUMP.txt is `nfdump -q -N -o 'fmt:%tsr|%td|%pr|%sa|%sp|%da|%dp'`
      (start in epoch seconds with milliseconds, duration in seconds). For
      every flow of nfprobe's JSON (one per key: the tests use no timeouts),
      the earliest start and latest end (start + duration) of nfdump's records
      of that key must equal first_seen_ms and last_seen_ms exactly; no
      duration may be negative and no time lie in the future. Prints a
      summary; exit 1 with the differences otherwise.
  netflow_check.py appnames FLOWS.jsonl NFDUMP.txt
      NFDUMP.txt is `nfdump -q -N -6 -o 'fmt:%pr|%sa|%sp|%da|%dp|%nbid|%nbnam'`.
      Every record's application name (%nbnam up to its '/') must be the
      last part of its flow's JSON application_name ("TLS.Facebook" ->
      "Facebook"): the names nfdump learnt from the v9 options data.
  netflow_check.py pmacct-classes FLOWS.jsonl PRINT.csv MARKER
      nfacctd print CSV with a CLASS column (aggregate ..., class): every row
      but the marker's has the CLASS of its flow's JSON application_name
      (last part, cut at 15 characters as nfacctd does).
  netflow_check.py pmacct-sum PRINT.csv MARKER
      "packets bytes rows" of an nfacctd print CSV (columns by its header
      lines), the marker's rows left out; torn lines skipped.
  netflow_check.py totals FLOWS.jsonl [--ipv4-only]
      "packets bytes records" of nfprobe's JSON flows (records: directions
      with packets).
Python 3 standard library only.
"""
import ipaddress
import json
import sys
import time

ICMP = {1, 58}


def flow_key(proto, a, ap, b, bp):
    a, b = str(ipaddress.ip_address(a.strip())), str(ipaddress.ip_address(b.strip()))
    if proto in ICMP:
        ap = bp = 0
    ends = sorted([(a, int(ap)), (b, int(bp))])
    return (proto, ends[0], ends[1])


def load_json(path, ipv4_only):
    flows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            j = json.loads(line)
            if ipv4_only and j["ip_version"] != 4:
                continue
            flows.append(j)
    return flows


def proto_number(s):
    s = s.strip()
    names = {"TCP": 6, "UDP": 17, "ICMP": 1, "ICMP6": 58, "IPV6-ICMP": 58, "IPv6-ICMP": 58}
    return int(s) if s.isdigit() else names.get(s, s)


def times(json_path, nfdump_path, ipv4_only):
    want = {}
    for j in load_json(json_path, ipv4_only):
        k = flow_key(j["protocol"], j["src_ip"], j["src_port"], j["dst_ip"], j["dst_port"])
        want[k] = (j["first_seen_ms"], j["last_seen_ms"])
    got = {}
    problems = []
    now_ms = time.time() * 1000 + 2000
    records = 0
    with open(nfdump_path) as f:
        for line in f:
            v = line.rstrip("\n").split("|")
            if len(v) < 7:
                continue
            records += 1
            start = round(float(v[0]) * 1000)
            dur = round(float(v[1]) * 1000)
            if dur < 0:
                problems.append("negative duration: " + line.strip())
            if start + dur > now_ms:
                problems.append("in the future: " + line.strip())
            k = flow_key(proto_number(v[2]), v[3], v[4], v[5], v[6])
            s, e = got.get(k, (start, start + dur))
            got[k] = (min(s, start), max(e, start + dur))
    for k, (s, e) in want.items():
        if k not in got:
            problems.append("flow %s missing from nfdump" % (k,))
        elif got[k] != (s, e):
            problems.append("flow %s: nfdump %d..%d, JSON %d..%d" % (k, got[k][0], got[k][1], s, e))
    for k in set(got) - set(want):
        problems.append("flow %s only in nfdump" % (k,))
    print("%d flows, %d nfdump records, %d problems" % (len(want), records, len(problems)))
    for p in problems[:20]:
        print(p)
    return 1 if problems else 0


def appnames(json_path, nfdump_path):
    want = {}
    for j in load_json(json_path, False):
        k = flow_key(j["protocol"], j["src_ip"], j["src_port"], j["dst_ip"], j["dst_port"])
        want[k] = j.get("application_name", "").split(".")[-1]
    problems, records = [], 0
    with open(nfdump_path) as f:
        for line in f:
            v = line.rstrip("\n").split("|")
            if len(v) < 7:
                continue
            records += 1
            k = flow_key(proto_number(v[0]), v[1], v[2], v[3], v[4])
            name = v[6].split("/")[0].strip()
            if k not in want:
                problems.append("record %s not in JSON" % (k,))
            elif name != want[k]:
                problems.append("%s: nfdump name %r, JSON %r" % (k, name, want[k]))
    print("%d records, %d problems" % (records, len(problems)))
    for p in problems[:20]:
        print(p)
    return 1 if problems or not records else 0


def pmacct_classes(json_path, csv_path, marker):
    want = {}
    for j in load_json(json_path, False):
        k = flow_key(j["protocol"], j["src_ip"], j["src_port"], j["dst_ip"], j["dst_port"])
        want[k] = j.get("application_name", "").split(".")[-1][:15]
    problems, rows, header = [], 0, None
    with open(csv_path) as f:
        for line in f:
            v = line.rstrip("\n").split(",")
            if v and v[0] == "CLASS":
                header = v
                continue
            if header is None or len(v) != len(header):
                continue
            r = dict(zip(header, v))
            if r["SRC_IP"] == marker:
                continue
            rows += 1
            k = flow_key(proto_number(r["PROTOCOL"].upper()), r["SRC_IP"], r["SRC_PORT"], r["DST_IP"], r["DST_PORT"])
            if want.get(k) != r["CLASS"]:
                problems.append("%s: nfacctd class %r, JSON %r" % (k, r["CLASS"], want.get(k)))
    print("%d rows, %d problems" % (rows, len(problems)))
    for p in problems[:20]:
        print(p)
    return 1 if problems or not rows else 0


def pmacct_sum(csv_path, marker):
    p = b = rows = 0
    header = None
    with open(csv_path) as f:
        for line in f:
            v = line.rstrip("\n").split(",")
            if "PACKETS" in v and "BYTES" in v:
                header = v
                continue
            if header is None or len(v) != len(header):
                continue
            r = dict(zip(header, v))
            if r.get("SRC_IP") == marker or not r["PACKETS"].isdigit() or not r["BYTES"].isdigit():
                continue
            p += int(r["PACKETS"])
            b += int(r["BYTES"])
            rows += 1
    print(p, b, rows)
    return 0


def totals(json_path, ipv4_only):
    p = b = r = 0
    for j in load_json(json_path, ipv4_only):
        p += j["src2dst_packets"] + j["dst2src_packets"]
        b += j["src2dst_bytes"] + j["dst2src_bytes"]
        r += (j["src2dst_packets"] > 0) + (j["dst2src_packets"] > 0)
    print(p, b, r)
    return 0


def main():
    v4 = "--ipv4-only" in sys.argv
    args = [a for a in sys.argv[1:] if a != "--ipv4-only"]
    if len(args) == 3 and args[0] == "times":
        return times(args[1], args[2], v4)
    if len(args) == 3 and args[0] == "appnames":
        return appnames(args[1], args[2])
    if len(args) == 4 and args[0] == "pmacct-classes":
        return pmacct_classes(args[1], args[2], args[3])
    if len(args) == 3 and args[0] == "pmacct-sum":
        return pmacct_sum(args[1], args[2])
    if len(args) == 2 and args[0] == "totals":
        return totals(args[1], v4)
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())
