#!/usr/bin/python3
"""Compare what nfprobe exported to ntopng with what ntopng shows.

usage: ntopng_check.py URL IFID RECORDS.json...

RECORDS: nfprobe's --json lines of the runs that fed interface IFID (records of
the same flow key add up, as ntopng adds the deltas). ntopng's REST API
(/lua/rest/v2/get/flow/active.lua, per direction /lua/flow_stats.lua) must show
every flow with the same client, server, ports, packets and bytes per direction
and the application nDPI found. ntopng 5.2 swaps client and server when the
client's port is the lower one, unless a TCP flow's client flags are SYN alone
and the server's are none (ParserInterface / Flow::check_swap): expected here.
Prints one line per mismatch; exit 1 on any, 0 with a summary line otherwise.
"""
import json
import sys
import urllib.error
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

PROTO = {1: "ICMP", 6: "TCP", 17: "UDP", 58: "IPv6-ICMP", 47: "GRE", 50: "ESP", 132: "SCTP"}


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.loads(r.read().decode("utf-8", "replace"))


def switch_interface(base, ifid):
    """flow_stats.lua reads the session's interface, which a POST sets (login
    disabled: the CSRF token is the fixed no-session one)."""
    data = b"switch_interface=1&csrf=CSRF_TOKEN_NO_SESSION"
    req = urllib.request.Request(f"{base}/lua/flow_stats.lua?ifid={ifid}", data=data)
    try:
        urllib.request.urlopen(req, timeout=60).read()
    except urllib.error.HTTPError:
        pass    # the redirect that follows a switch


def active_flows(base, ifid):
    flows, page = [], 1
    while True:
        d = get(f"{base}/lua/rest/v2/get/flow/active.lua?ifid={ifid}&verbose=true"
                f"&perPage=1000&currentPage={page}")["rsp"]
        flows += d["data"]
        if not d["data"] or len(flows) >= d["totalRows"]:
            return flows
        page += 1


def expected_flows(paths):
    """Flow key -> summed counters, oriented as ntopng will show them."""
    want = defaultdict(lambda: {"c2s_p": 0, "c2s_b": 0, "s2c_p": 0, "s2c_b": 0, "apps": set()})
    for path in paths:
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                swap = r["src_port"] < r["dst_port"] and not (
                    r["protocol"] == 6 and r["src2dst_tcp_flags"] == 0x02
                    and r["dst2src_tcp_flags"] == 0)
                cli, srv = ("dst", "src") if swap else ("src", "dst")
                k = (r["protocol"], r["vlan_id"], r[cli + "_ip"], r[cli + "_port"],
                     r[srv + "_ip"], r[srv + "_port"])
                w = want[k]
                w["c2s_p"] += r[f"{cli}2{srv}_packets"]
                w["c2s_b"] += r[f"{cli}2{srv}_bytes"]
                w["s2c_p"] += r[f"{srv}2{cli}_packets"]
                w["s2c_b"] += r[f"{srv}2{cli}_bytes"]
                if "application_name" in r:
                    w["apps"].add(r["application_name"])
    return want


def proto_number(name):
    for n, s in PROTO.items():
        if s == name:
            return n
    return int(name) if name.isdigit() else name


def main():
    base, ifid, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
    want = expected_flows(paths)
    switch_interface(base, ifid)
    shown = {}
    for f in active_flows(base, ifid):
        k = (proto_number(f["protocol"]["l4"]), f.get("vlan", 0), f["client"]["ip"],
             f["client"]["port"], f["server"]["ip"], f["server"]["port"])
        shown[k] = f
    # one flow_stats.lua request per flow (about 0.15 s each): a few at once,
    # ntopng expires the flows 60 s after their last update
    with ThreadPoolExecutor(8) as pool:
        stats = dict(zip(shown, pool.map(
            lambda f: get(f"{base}/lua/flow_stats.lua?flow_key={f['key']}&flow_hash_id={f['hash_id']}"),
            shown.values())))
    bad = guessed = 0
    for k, w in sorted(want.items(), key=str):
        f = shown.get(k)
        if f is None:
            print(f"missing in ntopng: {k}")
            bad += 1
            continue
        s = stats[k]
        if "cli2srv.packets" not in s:
            print(f"gone from ntopng between the two queries: {k}")
            bad += 1
            continue
        got = {"c2s_p": s["cli2srv.packets"], "c2s_b": s["cli2srv.bytes"],
               "s2c_p": s["srv2cli.packets"], "s2c_b": s["srv2cli.bytes"]}
        diff = {n: (w[n], got[n]) for n in got if got[n] != w[n]}
        l7 = f["protocol"]["l7"]
        if w["apps"] == {"Unknown"} and l7 != "Unknown" and not diff:
            guessed += 1    # nfprobe's nDPI found nothing: ntopng guesses by port
        elif diff or (w["apps"] and l7 not in w["apps"]):
            print(f"differs: {k}: (nfprobe, ntopng) {diff} app {sorted(w['apps'])} vs {l7}")
            bad += 1
    extra = [k for k in shown if k not in want]
    for k in extra:
        print(f"in ntopng, not exported: {k}")
    print(f"flows: {len(want)} exported, {len(shown)} shown by ntopng, {bad} missing or different,"
          f" {len(extra)} not exported; {guessed} unknown to nfprobe's nDPI, guessed by ntopng")
    sys.exit(1 if bad or extra else 0)


if __name__ == "__main__":
    main()
