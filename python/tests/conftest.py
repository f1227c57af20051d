"""Where the tests find nfprobe, the captures and the example plugin:
tests/python.sh sets NFPROBE, DATA, EXAMPLE_PLUGIN and top_srcdir."""
import glob
import json
import os
import subprocess
import sys

import pytest

TOP = os.environ.get("top_srcdir") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(TOP, "python"))
sys.path.insert(0, os.path.join(TOP, "python", "examples"))


def captures():
    data = os.environ.get("DATA") or os.path.join(TOP, "..", "shared", "testdata", "pcap")
    return sorted(glob.glob(os.path.join(data, "*")))


def cli_records(path, *options):
    """nfprobe's own JSON records for a capture: (records, exit status)."""
    out = subprocess.run([os.environ["NFPROBE"], "-q", "--json"] + list(options) + ["-r", path],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return [json.loads(line) for line in out.stdout.splitlines()], out.returncode


@pytest.fixture(scope="session")
def all_captures():
    found = captures()
    if not found:
        pytest.skip("no test captures (DATA=%s)" % os.environ.get("DATA"))
    return found
