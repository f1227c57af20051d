#!/usr/bin/env bash
# Damaged real captures (tests/tools/mutate_pcaps.py, fixed seed: the same
# files every run) through every stage at once: decoding, DPI, the plugins,
# JSON, IPFIX, NetFlow v9 and v5 encoding. For each file: exit 0, no hang, no
# sanitizer report, every packet in the file read, every packet metered found
# in exactly the records' packet counts (nothing lost on the way), and the
# IPFIX records collector-test decodes equal the JSON (one-way and biflow).
set -u
. "$(dirname "$0")/lib.sh"

count=${MUTATED_COUNT:-1000}
seed=${MUTATED_SEED:-1}    # another seed, another set of files (for longer runs by hand)
python3 "$TOOLS/mutate_pcaps.py" "$DATA" "$work/m" "$count" "$seed" > "$work/list" ||
    fail_setup "cannot write the damaged captures from $DATA"

# OUT is where the run's IPFIX, v9 or v5 file goes. Besides the formats, the
# sets reach nDPI state packing on every packet (--dpi-hot-flows 1),
# eviction from a full cache (--max-flows 8), active and idle splits and
# plugin-requested exports.
argsets=(
    "-P splt -P flowstats -P early-classify --active-timeout 1 --dpi-hot-flows 1 -o OUT"
    "--biflow -P splt:n=3 --idle-timeout 1 --max-flows 8 -o OUT"
    "-V 9 -P flowstats -P early-classify --early-expire -o OUT"
    "--no-dissect -V 5 --max-flows 8 -o OUT"
)
i=0
mkdir -p "$work/out"
while read -r name npk; do
    set=$((i % ${#argsets[@]}))
    out=$work/out/$name
    # word splitting of the argument set is intended
    # shellcheck disable=SC2206
    args=(${argsets[$set]//OUT/$out.export})
    rc=0
    timeout "$(bound 60)" "$NFPROBE" -r "$work/m/$name" --json "${args[@]}" > "$out.json" 2> "$out.err" || rc=$?
    if [ "$set" -le 1 ] && [ -s "$out.export" ]; then    # IPFIX: what a collector decodes
        "$COLLECTOR" -r "$out.export" > "$out.jsonl" 2> "$out.collector.err" || echo "collector-test exit $?" >> "$out.err"
    fi
    echo "$name $npk $rc $set ${argsets[$set]}" >> "$work/runs"
    i=$((i + 1))
done < "$work/list"

# One pass over all runs; each invariant is one test line naming the first
# files that break it.
python3 - "$work/runs" "$work/out" "$TOOLS" > "$work/verdicts" <<'PY'
import contextlib, io, json, os, re, sys
runs, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, sys.argv[3])
from json_vs_ipfix import compare
bad = {k: [] for k in ("exit", "sanitizer", "read", "lost", "json", "ipfix")}
n = 0
for line in open(runs):
    name, npk, rc, argset, args = line.split(" ", 4)
    n += 1
    err = open(os.path.join(out, name + ".err"), errors="replace").read()
    if rc != "0" or "collector-test exit" in err:
        bad["exit"].append(f"{name} (exit {rc}; {args.strip()}; {err[-200:]})")
    if "runtime error" in err or "Sanitizer" in err:
        bad["sanitizer"].append(name)
    m = re.search(r"packets: (\d+) seen, (\d+) metered", err)
    if not m or int(m.group(1)) != int(npk):
        bad["read"].append(f"{name} (wrote {npk}, {m.group(0) if m else 'no stats line'})")
        continue
    try:    # strict UTF-8, as RFC 8259 asks of JSON text
        with open(os.path.join(out, name + ".json"), encoding="utf-8", errors="strict") as f:
            recs = [json.loads(l) for l in f if l.strip()]
    except ValueError as e:
        bad["json"].append(f"{name} ({e})")
        continue
    jsonl = os.path.join(out, name + ".jsonl")
    if argset in ("0", "1") and os.path.exists(jsonl):
        said = io.StringIO()
        with contextlib.redirect_stdout(said):
            differ = compare(os.path.join(out, name + ".json"), jsonl, argset == "1")
        if differ:
            bad["ipfix"].append(f"{name}: " + " | ".join(said.getvalue().splitlines()[:3]))
    total = sum(r["src2dst_packets"] + r["dst2src_packets"] for r in recs)
    if total != int(m.group(2)):
        bad["lost"].append(f"{name} ({m.group(2)} metered, {total} in records)")
what = {
    "exit": "exit status 0",
    "sanitizer": "no sanitizer report",
    "read": "every packet of the file read",
    "json": "every JSON line is UTF-8 and parses",
    "lost": "metered packets = the records' packets",
    "ipfix": "IPFIX records as collector-test decodes them = JSON",
}
for k, v in what.items():
    print(("ok" if not bad[k] else "bad") + f"\t{n} damaged captures: {v}\t" + "; ".join(bad[k][:5]))
PY
[ -s "$work/verdicts" ] || fail_setup "the checker wrote nothing"
while IFS=$'\t' read -r verdict what detail; do
    if [ "$verdict" = ok ]; then ok "$what"; else not_ok "$what"; echo "#   $detail"; fi
done < "$work/verdicts"
finish
