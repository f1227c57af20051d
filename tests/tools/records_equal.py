#!/usr/bin/env python3
"""Are two runs' flow records the same set? (nfprobe --workers N against N=1)

Usage: records_equal.py A.json B.json [--allow FILE]

Each file holds JSON lines, one record each. Records are compared as a
multiset of every field but the flow id ("id": unique within a run, given in
export order). With --allow FILE, the flows named there (one per line:
"CAPTURE PROTO SRC:PORT DST:PORT", # comments) may differ in their DPI
fields only: nDPI keeps caches across flows, so a label can depend on which
other flows one module saw. Exit 0 when equal, 1 with the differences listed.
"""
import collections
import json
import sys

DPI_FIELDS = {"master_protocol", "app_protocol", "application_name", "application_category_name",
              "application_is_guessed", "application_confidence", "requested_server_name", "client_fingerprint",
              "server_fingerprint", "user_agent"}


def flow_name(r):
    return "%s %s:%s %s:%s" % (r["protocol"], r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"])


def load(path, allowed):
    recs = collections.Counter()
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            r.pop("id", None)
            if flow_name(r) in allowed:
                for k in DPI_FIELDS:
                    r.pop(k, None)
            recs[json.dumps(r, sort_keys=True)] += 1
    return recs


def read_allowed(path, capture):
    allowed = set()
    if not path:
        return allowed
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].split()
            if len(line) == 4 and line[0] == capture:
                allowed.add(" ".join(line[1:]))
    return allowed


def main():
    args = sys.argv[1:]
    allow = None
    capture = ""
    if "--allow" in args:
        i = args.index("--allow")
        allow, capture = args[i + 1], args[i + 2]
        del args[i:i + 3]
    a_path, b_path = args
    allowed = read_allowed(allow, capture)
    a, b = load(a_path, allowed), load(b_path, allowed)
    if a == b:
        print("equal: %d records" % sum(a.values()))
        return 0
    only_a, only_b = a - b, b - a
    print("differ: %d records only in %s, %d only in %s" % (sum(only_a.values()), a_path,
                                                          sum(only_b.values()), b_path))
    for name, recs in (("-", only_a), ("+", only_b)):
        for r in list(recs)[:10]:
            print(name, r)
    return 1


if __name__ == "__main__":
    sys.exit(main())
