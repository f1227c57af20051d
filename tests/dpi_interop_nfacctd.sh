#!/usr/bin/env bash
# nfacctd's `class` primitive shows nfprobe's application names: the flow
# records carry applicationId (RFC 6759, engine 13 + nDPI id) and the names
# travel as options data (template 259). For every flow of 1kxun.pcap, the
# CLASS nfacctd prints must be the most specific part of nfprobe's
# application_name ("Facebook" for "TLS.Facebook"), cut at 15 characters as
# nfacctd 1.7.7 does (see ../shared/REFERENCE.md).
set -u
. "$(dirname "$0")/lib.sh"

command -v nfacctd > /dev/null || { echo "# nfacctd (pmacct) not installed: skipped"; exit 77; }
CAPTURE=${DPI_NFACCTD_CAPTURE:-1kxun.pcap}

trap 'stop_nfacctd; cleanup' EXIT

port=$(free_port udp)
start_nfacctd "$work" "$port" "class, src_host, dst_host, src_port, dst_port, proto" || fail_setup "nfacctd not listening on $port: $(tail -3 "$work/nfacctd.log")"

"$NFPROBE" -r "$DATA/$CAPTURE" -q --json --export-rate 20000 -c "udp://127.0.0.1:$port" \
    --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER \
    > "$work/flows.json" 2> "$work/nfprobe.err" || not_ok "nfprobe exit status $?: $(head -3 "$work/nfprobe.err")"
want=$(grep -c '^{' "$work/flows.json")
# Every one-way record is a CSV row (the marker's too): wait for all of them.
rows=$(python3 -c 'import json, sys; print(sum((f["src2dst_packets"] > 0) + (f["dst2src_packets"] > 0) for f in map(json.loads, open(sys.argv[1]))))' "$work/flows.json")
push_through_nfacctd "$port" "$work/print.csv" 20 > /dev/null
deadline=$(deadline_in 20)
until [ "$(grep -v "^CLASS\|,$MARKER," "$work/print.csv" 2> /dev/null | grep -c .)" -ge "$rows" ] || [ $SECONDS -ge $deadline ]; do
    sleep 0.1
done
stop_nfacctd

check "nfacctd's class = nfprobe's application (all $want flows of $CAPTURE)" python3 - "$work/flows.json" "$work/print.csv" <<'PY'
import csv, json, sys
want = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    name = r["application_name"].split(".")[-1][:15]
    for a, ap, b, bp in ((r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]),
                         (r["dst_ip"], r["dst_port"], r["src_ip"], r["src_port"])):
        want[(a, str(ap), b, str(bp))] = name
rows = [row for row in csv.DictReader(open(sys.argv[2])) if row["SRC_IP"] != "198.51.100.254"]
bad = [(k, want.get(k), row["CLASS"]) for row in rows
       for k in [(row["SRC_IP"], row["SRC_PORT"], row["DST_IP"], row["DST_PORT"])]
       if want.get(k) != row["CLASS"]]
names = sorted({row["CLASS"] for row in rows})
print("%d rows, classes: %s" % (len(rows), " ".join(names)))
for b in bad[:10]:
    print("differs:", b)
sys.exit(1 if bad or not rows else 0)
PY
echo "# classes: $(python3 -c 'import csv,sys; print(" ".join(sorted({r["CLASS"] for r in csv.DictReader(open(sys.argv[1]))})))' "$work/print.csv")"
finish
