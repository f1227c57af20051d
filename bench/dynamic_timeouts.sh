#!/usr/bin/env bash
# How many of 100 long-lived flows a flood of one-packet flows breaks up,
# with and without --dynamic-timeouts (tests/dynamic_timeouts.sh's capture:
# 100 UDP flows, a packet a second for 60 s; from the 3rd second RATE new
# one-packet flows a second), --max-flows 500, for several RATEs.
#   usage: bash bench/dynamic_timeouts.sh [build dir, default build]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
nfprobe=${1:-$top/build}/nfprobe
sel=$top/tests/tools/selection.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf "%-10s %-22s %10s %12s %12s %14s\n" "new/s" "options" "broken" "records" "reason-5" "timeout-at-end"
for rate in 300 1000 3000; do
    python3 "$sel" flood-pcap "$work/f.pcap" $rate
    for opt in "" "--dynamic-timeouts"; do
        # shellcheck disable=SC2086
        "$nfprobe" -r "$work/f.pcap" --no-dissect --max-flows 500 $opt > "$work/f.json" 2> "$work/f.err"
        python3 - "$work/f.json" "$work/f.err" "$rate" "${opt:-(none)}" <<'PY'
import collections, json, re, sys
recs = collections.Counter()
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["src_ip"].startswith("10.7.0."):
        recs[r["src_ip"]] += 1
reason5 = sum(1 for line in open(sys.argv[1]) if '"end_reason":5' in line)
err = open(sys.argv[2]).read()
m = re.search(r"idle timeout now ([0-9.]+) s", err)
broken = sum(1 for n in recs.values() if n > 1) + (100 - len(recs))
print("%-10s %-22s %10d %12d %12d %14s" % (sys.argv[3], sys.argv[4], broken, sum(recs.values()), reason5,
                                          (m.group(1) + " s") if m else "30 s"))
PY
    done
done
