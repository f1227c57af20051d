#!/usr/bin/env bash
# --no-decode-tunnels: every tunnel capture metered as its outer packets, as
# before decapsulation. tests/expected/outer/ holds those captures' tables as
# tests/tools/tshark_flows.py --no-tunnels computes them from tshark's outer
# layers (the tables tests/expected held before tunnels were decapsulated);
# nfprobe's JSON must equal them.
set -u
. "$(dirname "$0")/lib.sh"

NEVER=100000000
for expected in "$EXPECTED"/outer/*.flows; do
    name=$(basename "$expected" .flows)
    if ! "$NFPROBE" -r "$DATA/$name" -q --json --no-decode-tunnels --idle-timeout $NEVER \
            --active-timeout $NEVER --tcp-close-timeout $NEVER > "$work/$name.json" 2> "$work/$name.err"; then
        not_ok "$name: nfprobe --no-decode-tunnels failed: $(head -2 "$work/$name.err")"
        continue
    fi
    check "$name --no-decode-tunnels: JSON flows = tshark's outer flows" \
        python3 "$TOOLS/compare_flows.py" "$expected" "$work/$name.json" --format nfprobe
    check "$name --no-decode-tunnels: no tunnel fields" bash -c "! grep -q tunnel_ '$work/$name.json'"
done
finish
