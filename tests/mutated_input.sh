#!/usr/bin/env bash
# Damaged real captures (tests/tools/mutate_pcaps.py, fixed seed: the same
# files every run) through every stage at once: decoding, DPI, the plugins,
# JSON, IPFIX, NetFlow v9 and v5 encoding. For each file: exit 0, no hang, no
# sanitizer report, every packet in the file read, and every packet metered
# found in exactly the records' packet counts (nothing lost on the way).
set -u
. "$(dirname "$0")/lib.sh"

count=${MUTATED_COUNT:-300}
python3 "$TOOLS/mutate_pcaps.py" "$DATA" "$work/m" "$count" 1 > "$work/list" ||
    fail_setup "cannot write the damaged captures from $DATA"

argsets=(
    "-P splt -P flowstats -P early-classify --active-timeout 1 -o $work/x.ipfix"
    "--biflow -P splt:n=3 --idle-timeout 1 -o $work/x.ipfix"
    "-V 9 -P flowstats -P early-classify --early-expire -o $work/x.v9"
    "--no-dissect -V 5 -o $work/x.v5"
)
i=0
mkdir -p "$work/out"
while read -r name npk; do
    # word splitting of the argument set is intended
    # shellcheck disable=SC2206
    args=(${argsets[$((i % ${#argsets[@]}))]})
    rc=0
    timeout 60 "$NFPROBE" -r "$work/m/$name" --json "${args[@]}" \
        > "$work/out/$name.json" 2> "$work/out/$name.err" || rc=$?
    echo "$name $npk $rc ${argsets[$((i % ${#argsets[@]}))]}" >> "$work/runs"
    i=$((i + 1))
done < "$work/list"

# One pass over all runs; each invariant is one test line naming the first
# files that break it.
python3 - "$work/runs" "$work/out" > "$work/verdicts" <<'PY'
import json, os, re, sys
runs, out = sys.argv[1], sys.argv[2]
bad = {k: [] for k in ("exit", "sanitizer", "read", "lost", "json")}
n = 0
for line in open(runs):
    name, npk, rc, args = line.split(" ", 3)
    n += 1
    err = open(os.path.join(out, name + ".err"), errors="replace").read()
    if rc != "0":
        bad["exit"].append(f"{name} (exit {rc}; {args.strip()})")
    if "runtime error" in err or "Sanitizer" in err:
        bad["sanitizer"].append(name)
    m = re.search(r"packets: (\d+) seen, (\d+) metered", err)
    if not m or int(m.group(1)) != int(npk):
        bad["read"].append(f"{name} (wrote {npk}, {m.group(0) if m else 'no stats line'})")
        continue
    try:
        recs = [json.loads(l) for l in open(os.path.join(out, name + ".json")) if l.strip()]
    except ValueError as e:
        bad["json"].append(f"{name} ({e})")
        continue
    total = sum(r["src2dst_packets"] + r["dst2src_packets"] for r in recs)
    if total != int(m.group(2)):
        bad["lost"].append(f"{name} ({m.group(2)} metered, {total} in records)")
what = {
    "exit": "exit status 0",
    "sanitizer": "no sanitizer report",
    "read": "every packet of the file read",
    "json": "every JSON line parses",
    "lost": "metered packets = the records' packets",
}
for k, v in what.items():
    print(("ok" if not bad[k] else "bad") + f"\t{n} damaged captures: {v}\t" + "; ".join(bad[k][:5]))
PY
[ -s "$work/verdicts" ] || fail_setup "the checker wrote nothing"
while IFS=$'\t' read -r verdict what detail; do
    if [ "$verdict" = ok ]; then ok "$what"; else not_ok "$what"; echo "#   $detail"; fi
done < "$work/verdicts"
finish
