#!/usr/bin/env python3
"""Train the decision tree of nfprobe's early-classify plugin.

Reads nfprobe's own JSON output (one flow record per line, from
`nfprobe -r CAPTURE -q -P splt`), takes from each record the first 3 packet
sizes and directions (splt_ps, splt_direction) as features and the master
protocol nDPI found (application_name up to the first '.'; Unknown when
application_is_guessed says nDPI only guessed by port) as the label,
keeps the labels with at least --min-class records and calls the rest
"Other", splits the records into train and test by a hash of the flow's
5-tuple, picks the tree's depth, minimum leaf size and whether to use the
directions by cross-validation on the training part, trains a CART tree
(Gini) on the whole training part, prints its accuracy on the held-out test
part (overall, per class, and the majority-class baseline) and writes the
tree in the format of models/README.

  # train from JSON files (one per capture), write the model
  train_early_classify.py --out models/early-classify.tree JSON...
  # or let it run nfprobe over a directory of captures first
  train_early_classify.py --nfprobe ./nfprobe --pcap-dir DIR --out FILE
  # predict with a model (an independent tree walk, for the tests): one JSON
  # object {"early_label", "early_probability", "early_packets"} per input record
  train_early_classify.py --predict MODEL [JSON...]   (stdin without files)

Features, as the plugin computes them: ps1 ps2 ps3 = IP length of the
record's 1st/2nd/3rd packet, dir1 dir2 dir3 = its direction (0 from the
initiator, 1 towards it); a packet the record does not have is -1 in both.
Python 3 standard library only.
"""
import argparse
import collections
import glob
import hashlib
import json
import os
import subprocess
import sys

FEATURES = ["ps1", "ps2", "ps3", "dir1", "dir2", "dir3"]
NPKT = 3
LABEL_MAX = 31


# ---- records -> samples -----------------------------------------------------

def features(rec):
    """The plugin's feature vector of a JSON record: sizes then directions,
    -1 for a packet the record does not have."""
    ps = rec.get("splt_ps") or []
    dr = rec.get("splt_direction") or []
    x = []
    for k in range(NPKT):
        x.append(int(ps[k]) if k < len(ps) and ps[k] is not None and ps[k] >= 0 else -1)
    for k in range(NPKT):
        ok = k < len(ps) and x[k] >= 0 and k < len(dr) and dr[k] is not None and dr[k] >= 0
        x.append(int(dr[k]) if ok else -1)
    return x


def master_label(rec, keep_guessed=False):
    """nDPI's master protocol: application_name up to the first '.'. A guess
    (application_is_guessed: nDPI went by the port, not the payload, e.g. a
    lone SYN to port 443) says nothing the packet sizes could tell, and is
    Unknown unless keep_guessed."""
    if rec.get("application_is_guessed") and not keep_guessed:
        return "Unknown"
    name = rec.get("application_name") or "Unknown"
    return name.split(".", 1)[0] or "Unknown"


def flow_key(rec):
    """The 5-tuple, the same for both directions and every record of a flow."""
    a = (rec.get("src_ip", ""), rec.get("src_port", 0))
    b = (rec.get("dst_ip", ""), rec.get("dst_port", 0))
    lo, hi = sorted([a, b])
    return "%s|%s|%s|%s|%s" % (rec.get("protocol", 0), lo[0], lo[1], hi[0], hi[1])


def bucket(key, n=100):
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % n


def read_records(paths):
    recs = []
    for path in paths:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                r = json.loads(line)
                if "_options" in r:
                    continue
                if "splt_ps" not in r:
                    sys.exit("%s: a record without splt_ps: run nfprobe with -P splt" % path)
                r["_source"] = os.path.basename(path)
                recs.append(r)
    return recs


def run_nfprobe(nfprobe, pcap_dir, save_dir):
    os.makedirs(save_dir, exist_ok=True)
    out = []
    for cap in sorted(glob.glob(os.path.join(pcap_dir, "*"))):
        if not os.path.isfile(cap):
            continue
        dest = os.path.join(save_dir, os.path.basename(cap) + ".json")
        with open(dest, "w") as f:
            # A capture nfprobe cannot read to the end still gives the
            # records it got: the exit status is not checked.
            subprocess.run([nfprobe, "-r", cap, "-q", "-P", "splt"], stdout=f,
                           stderr=subprocess.DEVNULL, check=False)
        out.append(dest)
    return out


# ---- CART ---------------------------------------------------------------------

def gini_sum(counts, n):
    """n * Gini impurity, from label counts."""
    if n == 0:
        return 0.0
    return n - sum(c * c for c in counts.values()) / n


def majority(counts):
    # most records; ties to the alphabetically first label (deterministic)
    return min(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def build(X, y, idx, feats, max_depth, min_leaf, depth=0):
    counts = collections.Counter(y[i] for i in idx)
    n = len(idx)
    label, c = majority(counts)
    leaf = {"leaf": True, "label": label, "prob": round(c / n, 6), "n": n}
    if depth >= max_depth or len(counts) == 1 or n < 2 * min_leaf:
        return leaf
    parent = gini_sum(counts, n)
    best = None   # (impurity, feature, threshold)
    for f in feats:
        order = sorted(idx, key=lambda i: X[i][f])
        left = collections.Counter()
        right = collections.Counter(counts)
        # the two sums of squares, updated as records move left
        for k in range(n - 1):
            i = order[k]
            left[y[i]] += 1
            right[y[i]] -= 1
            v, nv = X[i][f], X[order[k + 1]][f]
            if v == nv or k + 1 < min_leaf or n - k - 1 < min_leaf:
                continue
            imp = gini_sum(left, k + 1) + gini_sum(right, n - k - 1)
            if best is None or imp < best[0] - 1e-9:
                best = (imp, f, v)
    if best is None or best[0] >= parent - 1e-9:
        return leaf
    _, f, t = best
    li = [i for i in idx if X[i][f] <= t]
    ri = [i for i in idx if X[i][f] > t]
    return {"leaf": False, "feature": f, "threshold": t,
            "left": build(X, y, li, feats, max_depth, min_leaf, depth + 1),
            "right": build(X, y, ri, feats, max_depth, min_leaf, depth + 1)}


def walk(tree, x):
    while not tree["leaf"]:
        tree = tree["left"] if x[tree["feature"]] <= tree["threshold"] else tree["right"]
    return tree["label"], tree["prob"]


def count_nodes(t):
    return 1 if t["leaf"] else 1 + count_nodes(t["left"]) + count_nodes(t["right"])


def tree_depth(t):
    return 0 if t["leaf"] else 1 + max(tree_depth(t["left"]), tree_depth(t["right"]))


def write_tree(tree, out, header_lines):
    lines = ["# " + h if h else "#" for h in header_lines]
    lines.append("early-classify-tree 1")
    nodes = []

    def number(t):   # preorder ids, root 0
        t["id"] = len(nodes)
        nodes.append(t)
        if not t["leaf"]:
            number(t["left"])
            number(t["right"])
    number(tree)
    for t in nodes:
        if t["leaf"]:
            lines.append("%d leaf %s %s   # %d training records" % (t["id"], t["label"], fmt_prob(t["prob"]), t["n"]))
        else:
            lines.append("%d split %s %d %d %d" % (t["id"], FEATURES[t["feature"]], t["threshold"],
                                                  t["left"]["id"], t["right"]["id"]))
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")


def fmt_prob(p):
    s = "%.6f" % p
    return s.rstrip("0").rstrip(".") if "." in s else s


# ---- the model file (an independent reader, for --predict) --------------------

def read_tree(path):
    nodes = {}
    header = False
    with open(path) as f:
        for ln, line in enumerate(f, 1):
            tok = line.split("#", 1)[0].split()
            if not tok:
                continue
            if not header:
                if tok != ["early-classify-tree", "1"]:
                    sys.exit("%s:%d: expected the header 'early-classify-tree 1'" % (path, ln))
                header = True
                continue
            if len(tok) == 6 and tok[1] == "split":
                nodes[int(tok[0])] = ("split", FEATURES.index(tok[2]), int(tok[3]), int(tok[4]), int(tok[5]))
            elif len(tok) == 4 and tok[1] == "leaf":
                nodes[int(tok[0])] = ("leaf", tok[2], float(tok[3]))
            else:
                sys.exit("%s:%d: bad line" % (path, ln))
    if 0 not in nodes:
        sys.exit("%s: no node 0" % path)
    return nodes


def predict_file(nodes, x):
    n = nodes[0]
    for _ in range(len(nodes) + 1):
        if n[0] == "leaf":
            return n[1], n[2]
        n = nodes[n[3] if x[n[1]] <= n[2] else n[4]]
    sys.exit("cycle in the tree")


def cmd_predict(args):
    nodes = read_tree(args.predict)
    srcs = [open(p) for p in args.json] if args.json else [sys.stdin]
    for src in srcs:
        for line in src:
            if not line.strip():
                continue
            r = json.loads(line)
            if "_options" in r:
                continue
            x = features(r)
            label, prob = predict_file(nodes, x)
            print(json.dumps({"early_label": label, "early_probability": prob,
                              "early_packets": sum(1 for v in x[:NPKT] if v >= 0)}))


# ---- training -----------------------------------------------------------------

def evaluate(tree, X, y, idx):
    per = collections.defaultdict(lambda: [0, 0])
    right = 0
    for i in idx:
        ok = walk(tree, X[i])[0] == y[i]
        right += ok
        per[y[i]][0] += ok
        per[y[i]][1] += 1
    return right, per


def cross_validate(X, y, train, feats, depth, min_leaf, folds, keys):
    right = 0
    for k in range(folds):
        tr = [i for i in train if bucket(keys[i], folds) != k]
        te = [i for i in train if bucket(keys[i], folds) == k]
        if not tr or not te:
            continue
        t = build(X, y, tr, feats, depth, min_leaf)
        right += evaluate(t, X, y, te)[0]
    return right / len(train)


def cmd_train(args):
    paths = list(args.json)
    if args.pcap_dir:
        if not args.nfprobe:
            sys.exit("--pcap-dir needs --nfprobe")
        paths += run_nfprobe(args.nfprobe, args.pcap_dir, args.save_json)
    if not paths:
        sys.exit("no input: JSON files, or --nfprobe and --pcap-dir")
    recs = read_records(paths)
    if not recs:
        sys.exit("no records")
    X = [features(r) for r in recs]
    raw = [master_label(r, args.keep_guessed) for r in recs]
    keys = [flow_key(r) for r in recs]
    counts = collections.Counter(raw)
    keep = {l for l, c in counts.items() if c >= args.min_class and l != "Other" and len(l) <= LABEL_MAX}
    y = [l if l in keep else "Other" for l in raw]
    # held out: a share of the flows (SHA-256 of the 5-tuple), or of the
    # captures (of the JSON file's name); cross-validation folds alike
    if args.split == "capture":
        keys = [r["_source"] for r in recs]
    train = [i for i in range(len(recs)) if bucket(keys[i]) >= args.test_percent]
    test = [i for i in range(len(recs)) if bucket(keys[i]) < args.test_percent]

    print("records: %d from %d files (%d flows); train %d, test %d (%d%% of the %ss by SHA-256 of %s)"
          % (len(recs), len(paths), len(set(flow_key(r) for r in recs)), len(train), len(test), args.test_percent,
             args.split, "the 5-tuple" if args.split == "flow" else "the file name"))
    cls = collections.Counter(y)
    print("classes (min %d records, the rest is Other): %s" % (
        args.min_class, ", ".join("%s %d" % kv for kv in sorted(cls.items(), key=lambda kv: (-kv[1], kv[0])))))

    # model selection: k-fold cross-validation on the training part only
    grid = []
    for use_dir in ([False, True] if args.directions == "auto" else [args.directions == "yes"]):
        feats = list(range(6)) if use_dir else list(range(3))
        for depth in args.depths:
            for ml in args.min_leafs:
                acc = cross_validate(X, y, train, feats, depth, ml, args.folds, keys)
                grid.append((acc, -depth, -ml, not use_dir, depth, ml, use_dir, feats))
                if args.verbose:
                    print("  cv: directions=%s depth=%d min_leaf=%d: %.4f" % (use_dir, depth, ml, acc))
    # best CV accuracy; ties: the shallower tree, bigger leaves, no directions
    grid.sort(key=lambda g: (-g[0], g[4], -g[5], g[6]))
    cv_acc, _, _, _, depth, ml, use_dir, feats = grid[0]
    print("chosen by %d-fold cross-validation on the training part: max depth %d, min leaf %d, directions %s (cv accuracy %.4f)"
          % (args.folds, depth, ml, "yes" if use_dir else "no", cv_acc))

    tree = build(X, y, train, feats, depth, ml)
    right, per = evaluate(tree, X, y, test)
    train_right, _ = evaluate(tree, X, y, train)
    maj = majority(collections.Counter(y[i] for i in train))[0]
    maj_right = sum(1 for i in test if y[i] == maj)
    n = len(test)
    recalls = [per[c][0] / per[c][1] for c in per]
    summary = [
        "tree: %d nodes, depth %d, %d leaves; features %s"
        % (count_nodes(tree), tree_depth(tree), (count_nodes(tree) + 1) // 2, " ".join(FEATURES[f] for f in feats)),
        "train accuracy %.4f (%d/%d)" % (train_right / len(train), train_right, len(train)),
        "test accuracy %.4f (%d/%d)" % (right / n, right, n) if n else "test: empty",
        "majority-class baseline (%s) on test %.4f (%d/%d)" % (maj, maj_right / n, maj_right, n) if n else "",
        "test balanced accuracy (mean per-class recall) %.4f; baseline %.4f"
        % (sum(recalls) / len(recalls), 1 / len(recalls)) if recalls else "",
        "test per class (right/records):",
    ]
    for c in sorted(per, key=lambda c: (-per[c][1], c)):
        summary.append("  %-12s %.3f (%d/%d)" % (c, per[c][0] / per[c][1], per[c][0], per[c][1]))
    for s in summary:
        if s:
            print(s)

    if args.out:
        header = [
            "early-classify decision tree (format: models/README), generated by",
            "models/train_early_classify.py; do not edit by hand. Label: nDPI's master",
            "protocol (application_name before the '.'; Unknown when nDPI only guessed),",
            "classes with >= %d records, the rest Other." % args.min_class,
            "Trained on %d records (%d flows) of %d nfprobe JSON files;"
            % (len(train), len(set(flow_key(recs[i]) for i in train)), len(paths)),
            "tested on %d held-out records (split by %s). Hyperparameters by %d-fold CV."
            % (n, args.split, args.folds),
        ] + [s for s in summary if s]
        write_tree(tree, args.out, header)
        print("wrote %s" % args.out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="*", help="nfprobe JSON output files (-P splt)")
    ap.add_argument("--predict", metavar="MODEL", help="predict each record of the JSON input with MODEL")
    ap.add_argument("--nfprobe", help="nfprobe binary, to generate the JSON from --pcap-dir")
    ap.add_argument("--pcap-dir", help="run nfprobe -r CAPTURE -q -P splt on every file of DIR")
    ap.add_argument("--save-json", default="early-classify-json", help="where --pcap-dir's JSON goes")
    ap.add_argument("--out", help="write the tree here")
    ap.add_argument("--keep-guessed", action="store_true",
                    help="label guessed records with nDPI's guess, not Unknown")
    ap.add_argument("--min-class", type=int, default=20, help="records a label needs to be a class (20)")
    ap.add_argument("--test-percent", type=int, default=30, help="flows held out for testing (30)")
    ap.add_argument("--split", choices=["flow", "capture"], default="flow",
                    help="hold out by hash of the flow's 5-tuple (default) or of the capture")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--depths", type=int, nargs="+", default=[3, 4, 6, 8, 10, 12, 14])
    ap.add_argument("--min-leafs", type=int, nargs="+", default=[1, 2, 5])
    ap.add_argument("--directions", choices=["auto", "yes", "no"], default="auto",
                    help="use dir1-dir3 (auto: if cross-validation says so)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    if args.predict:
        cmd_predict(args)
    else:
        cmd_train(args)


if __name__ == "__main__":
    main()
