"""NFStreamer against nfstream's own results for the same captures: the
shared columns agree but for the differences tests/nfstream-differences.txt
lists and explains."""
import csv
import glob
import os

from nfprobe import NFStreamer, _engine

TOP = os.environ["top_srcdir"]


def listed_differences():
    tunnels = _engine._has_option("--no-decode-tunnels")     # nfprobe decodes tunnels
    out = set()
    for line in open(os.path.join(TOP, "tests", "nfstream-differences.txt")):
        if line.startswith("#") or not line.strip():
            continue
        capture, column, theirs, ours, when, _why = line.rstrip("\n").split("\t")
        if when == "always" or (when == "no-tunnels" and not tunnels):
            out.add((capture, column, theirs, ours))
    return out


def test_shared_columns_agree_with_nfstream(all_captures):
    data = os.path.dirname(all_captures[0])
    expected_dir = os.path.join(data, "..", "nfstream-expected")
    found = set()
    files = sorted(glob.glob(os.path.join(expected_dir, "*.csv")))
    assert len(files) == 5
    for exp in files:
        capture = os.path.basename(exp)[:-4]
        rows = list(csv.DictReader(open(exp)))
        columns = [c for c in rows[0] if c != "id"]
        flows = list(NFStreamer(source=os.path.join(data, capture)))
        assert len(flows) == len(rows), capture
        # nfstream numbers flows in its own order: pair them by their counters.
        key = lambda vals: (int(vals[0]), int(vals[1]))
        theirs = sorted(([r[c] for c in columns] for r in rows), key=key)
        ours = sorted(([str(f.get(c)) for c in columns] for f in flows), key=key)
        for t, o in zip(theirs, ours):
            for column, tv, ov in zip(columns, t, o):
                if tv != ov:
                    found.add((capture, column, tv, ov))
    assert found == listed_differences()
