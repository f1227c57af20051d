#!/usr/bin/env bash
# -P early-classify end to end, on every test capture: each record's
# early_label / early_probability / early_packets equal what the training
# script's own tree walk (models/train_early_classify.py --predict, an
# independent implementation) gives for the record's splt_ps/splt_direction;
# model=FILE with the shipped file equals the built-in model; with
# --early-expire (or the early-expire argument) no record has more than 3
# packets, nothing is lost, and a flow whose first record had >= 3 packets
# gets a first record of exactly those 3 packets with the same prediction;
# a bad model file is one error line naming FILE:LINE.
set -u
. "$(dirname "$0")/lib.sh"

SCRIPT=$top_srcdir/models/train_early_classify.py
MODEL=$top_srcdir/models/early-classify.tree
if [ ! -f "$SCRIPT" ] || [ ! -f "$MODEL" ]; then fail_setup "no models/ in $top_srcdir"; fi
ls "$DATA"/* > /dev/null 2>&1 || fail_setup "no captures in $DATA"

# run NAME [nfprobe options]: every capture, one JSON file per capture in
# $work/NAME/. A capture nfprobe cannot read to its end (a truncated file)
# still gives its records; the exit status is checked for the error lines.
run() {
    local name=$1 cap out
    shift
    mkdir -p "$work/$name"
    for cap in "$DATA"/*; do
        out=$work/$name/$(basename "$cap").json
        "$NFPROBE" -r "$cap" -q --json -P splt "$@" > "$out" 2> "$out.err"
        if grep -v -e 'truncated dump file' -e '^nfprobe: packets:' -e '^nfprobe: flows:' "$out.err" | grep -q .; then
            echo "# $name $(basename "$cap"): $(head -2 "$out.err")"
            return 1
        fi
    done
}

run plain -P early-classify || not_ok "nfprobe -P splt -P early-classify ran on every capture"
run file -P "early-classify:model=$MODEL" || not_ok "nfprobe -P early-classify:model=FILE ran on every capture"
run expire --early-expire -P early-classify || not_ok "nfprobe --early-expire -P early-classify ran on every capture"
run expire-arg -P early-classify:early-expire || not_ok "nfprobe -P early-classify:early-expire ran on every capture"

# Every record against the script's prediction.
agree() {   # dir
    cat "$work/$1"/*.json > "$work/$1.all"
    python3 "$SCRIPT" --predict "$MODEL" "$work/$1.all" > "$work/$1.pred" || return 1
    python3 - "$work/$1.all" "$work/$1.pred" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
preds = [json.loads(l) for l in open(sys.argv[2])]
assert len(recs) == len(preds), (len(recs), len(preds))
assert recs, "no records"
bad = 0
for r, p in zip(recs, preds):
    pk = r["src2dst_packets"] + r["dst2src_packets"]
    ok = ("early_label" in r and r["early_label"] == p["early_label"]
          and abs(r["early_probability"] - p["early_probability"]) <= 5e-7
          and r["early_packets"] == p["early_packets"] == min(pk, 3))
    if not ok:
        bad += 1
        if bad <= 5:
            print("record %s: nfprobe %s/%s/%s, script %s (splt_ps %s, splt_direction %s, %d packets)" % (
                r.get("id"), r.get("early_label"), r.get("early_probability"), r.get("early_packets"),
                p, r.get("splt_ps"), r.get("splt_direction"), pk))
print("%d records, %d disagree" % (len(recs), bad))
sys.exit(1 if bad else 0)
PY
}
n_plain=$(cat "$work"/plain/*.json | grep -c '')
check "every record ($n_plain) predicted as the script's tree walk predicts" agree plain
check "model=FILE (the shipped file) gives the same records as the built-in model" \
    diff -r -x '*.err' "$work/plain" "$work/file"
check "--early-expire: every record predicted as the script's tree walk predicts" agree expire
check "the early-expire argument gives the same records as --early-expire" \
    diff -r -x '*.err' "$work/expire" "$work/expire-arg"

# --early-expire against the plain run, capture by capture.
expire_checks() {
    python3 - "$work/plain" "$work/expire" <<'PY'
import collections, json, os, sys
plain_dir, early_dir = sys.argv[1:]
def load(path):
    return [json.loads(l) for l in open(path) if l.strip()]
def key(r):   # the flow, whichever end sent a record's first packet
    a, b = (r["src_ip"], r["src_port"]), (r["dst_ip"], r["dst_port"])
    return (r["protocol"], r.get("vlan_id", 0)) + tuple(sorted([a, b]))
def packets(r):
    return r["src2dst_packets"] + r["dst2src_packets"]
errors = []
n_over = n_first = n_flows = 0
for name in sorted(os.listdir(plain_dir)):
    if not name.endswith(".json"):
        continue
    plain, early = load(os.path.join(plain_dir, name)), load(os.path.join(early_dir, name))
    # 1. no record has more than 3 packets
    for r in early:
        if packets(r) > 3:
            errors.append("%s: record %s has %d packets" % (name, r["id"], packets(r)))
    # 2. nothing lost or counted twice: per flow, the same packets and bytes
    def totals(rs):
        t = collections.defaultdict(lambda: [0, 0])
        for r in rs:
            t[key(r)][0] += packets(r)
            t[key(r)][1] += r["src2dst_bytes"] + r["dst2src_bytes"]
        return dict(t)
    if totals(plain) != totals(early):
        errors.append("%s: per-flow packet/byte totals differ" % name)
    # 3. a flow's first record with >= 3 packets: in the early run its first
    #    record has exactly its first 3 packets, ended by the plugin
    #    (end_reason 3), with the same prediction
    def first(rs):
        g = collections.defaultdict(list)
        for r in rs:
            g[key(r)].append(r)
        return {k: min(v, key=lambda r: (r["first_seen_ms"], r["id"])) for k, v in g.items()}
    fp, fe = first(plain), first(early)
    n_flows += len(fp)
    for k, p in fp.items():
        if packets(p) > 3:
            n_over += 1
        if packets(p) < 3:
            continue
        n_first += 1
        e = fe.get(k)
        want = (3, p["splt_ps"][:3], p["splt_direction"][:3], p["early_label"], p["early_probability"], 3)
        got = e and (packets(e), e["splt_ps"], e["splt_direction"], e["early_label"], e["early_probability"], e["end_reason"])
        if got != want:
            errors.append("%s: flow %s: plain first record %s, early %s" % (name, k, want, got))
for e in errors[:10]:
    print(e)
print("%d flows, %d with a first record of >= 3 packets (%d of more than 3); %d errors"
      % (n_flows, n_first, n_over, len(errors)))
sys.exit(1 if errors or n_over == 0 else 0)
PY
}
check "--early-expire: no record over 3 packets; per-flow totals as without; first records cut at exactly 3 packets, same prediction" expire_checks

# ---- bad models ----------------------------------------------------------------
pcap=$DATA/dns_fragmented.pcap
printf 'early-classify-tree 1\n0 split ps1 100 1 2\n1 leaf A 0.5\n' > "$work/unknown.tree"
expect_error "model with an unknown node" 1 "early-classify: $work/unknown.tree:2: node 0 refers to unknown node 2" \
    -- -r "$pcap" -q -P "early-classify:model=$work/unknown.tree"
printf 'early-classify-tree 1\n0 split ps1 100 1 2\n1 leaf A 0.5\n2 leaf B 1.5\n' > "$work/prob.tree"
expect_error "model with a probability out of range" 1 "early-classify: $work/prob.tree:4: probability 1.5 out of range" \
    -- -r "$pcap" -q -P "early-classify:model=$work/prob.tree"
expect_error "missing model" 1 "early-classify: $work/none.tree: cannot open" \
    -- -r "$pcap" -q -P "early-classify:model=$work/none.tree"
expect_error "unknown argument" 1 "early-classify: unknown argument 'fast'" \
    -- -r "$pcap" -q -P "early-classify:fast"

finish
