#!/usr/bin/env python3
"""Run queued python checks in one process (tests/lib.sh: check_py, py_checks).

Usage: pybatch.py QUEUE

QUEUE holds NUL-separated entries: DESCRIPTION, N, then N words (a script and
its arguments). Each script runs as __main__ with that sys.argv, its stdout
and stderr captured; it passes when it ends with exit status 0. For each
entry this prints, NUL-separated: "0" or "1", the description, the captured
output. A python start costs more than most checks (tests/e2e.sh makes
hundreds), which is why they share one.
"""

import contextlib
import io
import runpy
import sys
import traceback


def entries(data):
    words = data.split("\0")
    if words and words[-1] == "":
        words.pop()
    i = 0
    while i < len(words):
        what, n = words[i], int(words[i + 1])
        argv = words[i + 2:i + 2 + n]
        if len(argv) != n:
            raise SystemExit(f"pybatch: truncated entry {what!r}")
        yield what, argv
        i += 2 + n


def run_one(argv):
    out = io.StringIO()
    status = 0
    saved_argv = sys.argv
    sys.argv = list(argv)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            runpy.run_path(argv[0], run_name="__main__")
    except SystemExit as e:
        if e.code not in (None, 0):
            status = 1
            if not isinstance(e.code, int):
                out.write(f"{e.code}\n")
    except Exception:  # a crashing check fails; the next ones still run
        status = 1
        out.write(traceback.format_exc())
    finally:
        sys.argv = saved_argv
    return status, out.getvalue()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        data = f.read()
    for what, argv in entries(data):
        status, output = run_one(argv)
        sys.stdout.write(f"{status}\0{what}\0{output}\0")
    return 0


if __name__ == "__main__":
    sys.exit(main())
