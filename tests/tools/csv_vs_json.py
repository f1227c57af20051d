#!/usr/bin/env python3
"""Check nfprobe's --csv file against its JSON lines of the same run, as a
user reads the file: pandas.read_csv(path) with no options.

usage: csv_vs_json.py FILE.csv FILE.jsonl [FILE.csv FILE.jsonl ...]

The header is the JSON names (each once); one row per JSON record, in the
same order; a cell is the JSON value: numbers equal, strings equal (commas,
quotes and all), lists as their compact JSON text; a field the record lacks,
and an empty string, read as NaN (an empty cell). Prints a line per pair:
the CSV file, "ok" or "differs", rows, columns, and how many cells needed
quoting; exit status 1 if any pair differs. (One process for every pair:
importing pandas costs more than a capture.)"""
import json
import math
import sys

import pandas


def same(cell, value):
    missing = isinstance(cell, float) and math.isnan(cell)
    if value is None or value == "":
        return missing
    if missing:
        return False
    if isinstance(value, list):
        return cell == json.dumps(value, separators=(",", ":"))
    try:
        if isinstance(value, str):
            # pandas makes a number of a column whose every cell reads as one.
            return cell == value if isinstance(cell, str) else float(value) == float(cell)
        if isinstance(value, float):
            # pandas' default float parser is not correctly rounded: it can
            # read the shortest round-trip text nfprobe writes 1 ulp off
            # (float_precision="round_trip" reads it exactly).
            return math.isclose(float(cell), value, rel_tol=2.5e-16, abs_tol=0)
        return float(cell) == float(value)
    except ValueError:
        return False


def compare(csv_path, json_path):
    frame = pandas.read_csv(csv_path)
    records = [json.loads(line) for line in open(json_path, encoding="utf-8")]
    columns = list(frame.columns)
    errors = []
    if len(set(columns)) != len(columns):
        errors.append("header names repeat")
    if len(frame) != len(records):
        errors.append("%d rows, %d JSON records" % (len(frame), len(records)))
    quoted = 0
    for i, (record, row) in enumerate(zip(records, frame.itertuples(index=False))):
        extra = set(record) - set(columns)
        if extra:
            errors.append("record %d: %s not in the header" % (i, sorted(extra)))
        for name, cell in zip(columns, row):
            value = record.get(name)
            if not same(cell, value):
                errors.append("record %d, %s: CSV %r, JSON %r" % (i, name, cell, value))
            if isinstance(value, (str, list)) and any(c in str(value) for c in ',"\r\n'):
                quoted += 1
    for e in errors[:5]:
        print("%s: %s" % (csv_path, e))
    print("%s: %s, %d rows, %d columns, %d quoted cells"
          % (csv_path, "differs" if errors else "ok", len(frame), len(columns), quoted))
    return not errors


def main():
    pairs = list(zip(sys.argv[1::2], sys.argv[2::2]))
    results = [compare(c, j) for c, j in pairs]
    sys.exit(0 if all(results) else 1)


main()
