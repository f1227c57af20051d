#!/usr/bin/python3
"""Compare the flows a ZeroMQ subscriber decoded (zmq_sub.py) with nfprobe's
--json records of the same run, one by one: nProbe's field ids must carry the
record's values (client = src, ports as integers, per-direction counters,
epoch-second times, TCP flags, L7_PROTO "master.app", SNI, DNS fields).

usage: zmq_compare.py RECORDS.json FLOWS.json [--now START END]
--now: the run used --zmq-now: each flow ends between START and END (epoch
seconds of the run) and keeps its duration.
"""
import json
import sys


def expect(r, now):
    v6 = r["ip_version"] == 6
    first, last = r["bidirectional_first_seen_ms"], r["bidirectional_last_seen_ms"]
    e = {"27" if v6 else "8": r["src_ip"], "28" if v6 else "12": r["dst_ip"],
         "7": r["src_port"], "11": r["dst_port"], "4": r["protocol"],
         "1": r["src2dst_bytes"], "2": r["src2dst_packets"],
         "23": r["dst2src_bytes"], "24": r["dst2src_packets"]}
    if not now:
        e["22"], e["21"] = first // 1000, last // 1000
    if r["protocol"] == 6:
        e["57550"], e["57551"] = r["src2dst_tcp_flags"], r["dst2src_tcp_flags"]
    if r.get("vlan_id"):
        e["58"] = r["vlan_id"]
    if "app_protocol" in r:
        m, a = r["master_protocol"], r["app_protocol"]
        e["57590"] = f"{m}.{a}" if m and m != a else str(a)
        e["57591"] = r["application_name"]
    if r.get("requested_server_name") and r.get("tls_version"):
        e["57660"] = r["requested_server_name"]
    if "dns_query_type" in r:
        e["57679"], e["57680"] = r["dns_query_type"], r["dns_rcode"]
        if r.get("requested_server_name"):
            e["57677"] = r["requested_server_name"]
    return e


def main():
    recs = [json.loads(l) for l in open(sys.argv[1])]
    flows = [json.loads(l) for l in open(sys.argv[2])]
    now = sys.argv[3:4] == ["--now"]
    start, end = (int(sys.argv[4]), int(sys.argv[5])) if now else (0, 0)
    if len(recs) != len(flows):
        sys.exit(f"{len(recs)} records, {len(flows)} flows received")
    bad = 0
    for i, (r, f) in enumerate(zip(recs, flows)):
        for k, v in expect(r, now).items():
            if f.get(k) != v or type(f.get(k)) is not type(v):
                print(f"flow {i}: field {k}: {f.get(k)!r}, want {v!r}")
                bad += 1
        if now:
            dur = r["bidirectional_last_seen_ms"] // 1000 - r["bidirectional_first_seen_ms"] // 1000
            if not start <= f["21"] <= end or abs((f["21"] - f["22"]) - dur) > 1:
                print(f"flow {i}: --zmq-now times {f['22']}..{f['21']}, run {start}..{end}, "
                      f"duration {dur}")
                bad += 1
    print(f"{len(flows)} flows compared, {bad} differences")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
