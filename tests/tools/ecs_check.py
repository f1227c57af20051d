#!/usr/bin/env python3
"""Check nfprobe's --json-format ecs lines against the ECS field list and
against its nfstream JSON lines of the same capture.

usage: ecs_check.py FIELDS.csv README ECS.jsonl JSON.jsonl [ECS.jsonl JSON.jsonl ...]

- every emitted name outside the custom namespace "nfprobe" is an ECS field
  (FIELDS.csv, ECS 9.4.0) and its value has the field's type (long: an
  integer, ip: an address, date: ISO 8601 UTC, keyword: a string, an array
  of strings where ECS says array); "nfprobe" is no ECS field set;
- every such name is in README's mapping table, and every ECS name that table
  gives is in FIELDS.csv;
- nothing is lost: each JSON field with a value is either mapped (the table)
  or under nfprobe.NAME with the same value; the main values agree (addresses,
  ports, counters, times, transport, server name).

Prints one summary line; exit status 1 on any difference (the first 20 said)."""
import csv
import ipaddress
import json
import re
import sys
from datetime import datetime, timezone

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEXT = {"keyword", "wildcard", "match_only_text", "text", "constant_keyword", "version"}
INTEGER = {"long", "integer", "short", "byte", "unsigned_long"}
NUMBER = INTEGER | {"float", "double", "half_float", "scaled_float"}
TRANSPORT = {1: "icmp", 6: "tcp", 17: "udp", 58: "ipv6-icmp", 132: "sctp"}
CUSTOM = "nfprobe"


def load_fields(path):
    with open(path, newline="", encoding="utf-8") as f:
        return {row["Field"]: (row["Type"], row["Normalization"]) for row in csv.DictReader(f)}


def readme_table(path):
    """JSON name -> ECS names, from README's block under 'JSON name  ECS field'."""
    table, inside = {}, False
    for line in open(path, encoding="utf-8"):
        if re.match(r"^\s+JSON name\s+ECS field", line):
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            mapping = line.split("--")[0].split(None, 1)
            names = mapping[1].split(",") if len(mapping) > 1 else []
            table[mapping[0]] = [n.strip() for n in names if n.strip() and n.strip() != "-"]
    return table


def flatten(doc, prefix=""):
    for key, value in doc.items():
        name = prefix + key
        if isinstance(value, dict):
            yield from flatten(value, name + ".")
        else:
            yield name, value


def type_ok(kind, normalization, value):
    if isinstance(value, list):
        return "array" in normalization and all(type_ok(kind, "", v) for v in value)
    if kind in TEXT:
        return isinstance(value, str)
    if kind in INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "ip":
        try:
            ipaddress.ip_address(value)
            return True
        except (ValueError, TypeError):
            return False
    if kind == "date":
        return isinstance(value, str) and bool(ISO.match(value))
    if kind == "boolean":
        return isinstance(value, bool)
    return False


def iso(ms):
    """None past 9999-12-31 (nfprobe leaves such dates out)."""
    if ms // 1000 > 253402300799:
        return None
    t = datetime.fromtimestamp(ms // 1000, tz=timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def expected_values(rec):
    """ECS name -> value, for the fields the mapping must carry over."""
    want = {
        "source.ip": rec["src_ip"], "destination.ip": rec["dst_ip"],
        "source.port": rec["src_port"], "destination.port": rec["dst_port"],
        "source.packets": rec["src2dst_packets"], "destination.packets": rec["dst2src_packets"],
        "source.bytes": rec["src2dst_bytes"], "destination.bytes": rec["dst2src_bytes"],
        "network.bytes": rec["bidirectional_bytes"], "network.packets": rec["bidirectional_packets"],
        "network.iana_number": str(rec["protocol"]), "event.id": str(rec["id"]),
        "event.start": iso(rec["first_seen_ms"]), "event.end": iso(rec["last_seen_ms"]),
        "@timestamp": iso(rec["last_seen_ms"]),
        "event.duration": rec["bidirectional_duration_ms"] * 1000000,
        "network.type": "ipv%d" % rec["ip_version"],
    }
    if rec["protocol"] in TRANSPORT:
        want["network.transport"] = TRANSPORT[rec["protocol"]]
    if rec.get("client_fingerprint"):
        want["tls.client.ja3"] = rec["client_fingerprint"]
    if rec.get("user_agent"):
        want["user_agent.original"] = rec["user_agent"]
    return want


class Checker:
    def __init__(self, fields, table):
        self.fields, self.table, self.errors, self.names, self.docs = fields, table, [], set(), 0
        self.mapped = set(table)

    def error(self, where, what):
        self.errors.append("%s: %s" % (where, what))

    def check_doc(self, where, doc, rec):
        self.docs += 1
        flat = dict(flatten(doc))
        for name, value in flat.items():
            if name.startswith(CUSTOM + "."):
                continue
            self.names.add(name)
            if name not in self.fields:
                self.error(where, "%s is not an ECS field" % name)
            elif not type_ok(*self.fields[name], value):
                self.error(where, "%s = %r is not of ECS type %s" % (name, value, self.fields[name][0]))
        for name, value in expected_values(rec).items():
            if flat.get(name) != value:
                self.error(where, "%s = %r, JSON says %r" % (name, flat.get(name), value))
        custom = doc.get(CUSTOM, {})
        for key, value in rec.items():
            if value in ("", None) or key in self.mapped:
                continue
            if custom.get(key) != value:
                self.error(where, "%s = %r: neither mapped nor %s.%s (%r)" % (key, value, CUSTOM, key,
                                                                                custom.get(key)))

    def check_table(self):
        if any(f.startswith(CUSTOM + ".") or f == CUSTOM for f in self.fields):
            self.error("fields", "%s is an ECS field set: not a custom namespace" % CUSTOM)
        listed = {n for names in self.table.values() for n in names}
        if not listed:
            self.error("README", "no mapping table found")
        for name in sorted(listed - set(self.fields)):
            self.error("README", "%s (mapping table) is not an ECS field" % name)
        for name in sorted(self.names - listed - {"ecs.version", "event.kind", "event.category",
                                                   "event.type", "@timestamp"}):
            self.error("README", "%s is emitted but not in the mapping table" % name)


def main():
    fields, table = load_fields(sys.argv[1]), readme_table(sys.argv[2])
    c = Checker(fields, table)
    for ecs_path, json_path in zip(sys.argv[3::2], sys.argv[4::2]):
        docs = [json.loads(l) for l in open(ecs_path, encoding="utf-8")]
        recs = [json.loads(l) for l in open(json_path, encoding="utf-8")]
        if len(docs) != len(recs):
            c.error(ecs_path, "%d ECS lines, %d JSON lines" % (len(docs), len(recs)))
        for i, (doc, rec) in enumerate(zip(docs, recs)):
            c.check_doc("%s:%d" % (ecs_path, i + 1), doc, rec)
    c.check_table()
    for e in c.errors[:20]:
        print(e)
    print("%d documents, %d ECS names emitted, %d differences" % (c.docs, len(c.names), len(c.errors)))
    sys.exit(1 if c.errors else 0)


main()
