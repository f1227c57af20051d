#!/usr/bin/env bash
# The Python package (python/nfprobe: NFStreamer, NFPlugin) against nfprobe's
# own JSON on every test capture, the Python plugin host against the C
# example plugin, nfstream's expected results (tests/nfstream-differences.txt)
# and the parameters: python/tests, run by Debian's python3-pytest.
. "$(dirname "$0")/lib.sh"

python3 -c 'import pytest, pandas' 2>/dev/null || { echo "# needs Debian's python3-pytest and python3-pandas: skipped"; exit 77; }
[ -f "$top_builddir/examples/packets666.so" ] || fail_setup "examples/packets666.so not built"

# A capture big enough that nfprobe's JSON cannot all sit in the pipe: the
# streaming test stops after the first flow while nfprobe still writes.
synthetic_pcap "$work/big.pcap" 300000 100000 1 60 || fail_setup "cannot make a synthetic capture"

export NFPROBE EXAMPLE_PLUGIN="$top_builddir/examples/packets666.so"
export DATA top_srcdir BIG_CAPTURE="$work/big.pcap" PYTHONDONTWRITEBYTECODE=1
check "python/tests (pytest)" bash -c 'cd "$1" && python3 -m pytest -q -p no:cacheprovider "$2/python/tests"' _ "$work" "$top_srcdir"
finish
