#!/usr/bin/env bash
# Flows per second from the Python package (python/nfprobe) against the CLI
# on the same capture, with and without a per-packet Python plugin (the
# 666-byte counter, examples/packets666.py, against its C twin). Results
# in bench/README ("Python").
#   NFPROBE=build/nfprobe EXAMPLE_PLUGIN=build/examples/packets666.so bash bench/python.sh [PACKETS FLOWS]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
NFPROBE=${NFPROBE:-$top/nfprobe}
EXAMPLE_PLUGIN=${EXAMPLE_PLUGIN:-$(dirname "$NFPROBE")/examples/packets666.so}
out=$top/bench/out
mkdir -p "$out"
packets=${1:-1000000} flows=${2:-100000}
cap=$out/python-$packets-$flows.pcap
if [ ! -f "$cap" ]; then
    cc -std=c11 -O2 -o "$out/gen_pcap" "$top/bench/gen_pcap.c"
    "$out/gen_pcap" "$cap" "$packets" "$flows" 1 60 2> /dev/null
fi
export NFPROBE EXAMPLE_PLUGIN PYTHONDONTWRITEBYTECODE=1
echo "capture: $cap ($packets packets, $flows flows generated)"
/usr/bin/python3 "$top/bench/python_bench.py" "$cap" "${RUNS:-3}"
