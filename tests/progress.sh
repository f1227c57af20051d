#!/usr/bin/env bash
# The progress line while a capture file is read (stderr on a terminal):
# a synthetic capture of 200,000 packets spread over 10 minutes, its records
# paced (--export-rate 5000: at least 2 s whatever the machine's speed, so
# the line, refreshed four times a second, shows several times).
#   - stderr on a pseudo-terminal (tests/tools/progress_check.py): at least
#     two redraws in place (CR, erase line), each with the percent of the
#     file, packets/s, active flows and records exported, fitting 80
#     columns; percent and records never go down; the line is cleared
#     before the statistics at exit; the run's output is the same as without
#     a terminal;
#   - stderr to a file, and -q on the terminal: no progress at all (no CR,
#     no erase, no percent), the statistics as before.
set -u
. "$(dirname "$0")/lib.sh"

syn=$work/syn.pcap
synthetic_pcap "$syn" 200000 5000 5 600 || fail_setup "cannot generate the synthetic capture"
RUN=(-r "$syn" --no-dissect --export-rate 5000 -o /dev/null --json)
PTY="$TOOLS/progress_check.py"

rc=0
python3 "$PTY" run "$work/tty.bin" "$work/tty.json" -- "$NFPROBE" "${RUN[@]}" || rc=$?
check "on a terminal: exit 0" test "$rc" -eq 0
if out=$(python3 "$PTY" lines "$work/tty.bin" 2>&1); then ok "on a terminal: $out"; else not_ok "on a terminal: $out"; fi

rc=0
"$NFPROBE" "${RUN[@]}" > "$work/file.json" 2> "$work/file.err" || rc=$?
check "stderr to a file: exit 0, no progress (no CR, no erase, no percent), the statistics" \
    test "$rc" -eq 0 -a "$(grep -c $'\r\|\x1b\|%' "$work/file.err")" -eq 0 -a "$(grep -c '^nfprobe: packets: 200000 seen' "$work/file.err")" -eq 1
check "the same flows with and without the terminal" cmp "$work/tty.json" "$work/file.json"

rc=0
python3 "$PTY" run "$work/quiet.bin" "$work/quiet.json" -- "$NFPROBE" -q "${RUN[@]}" || rc=$?
check "-q on a terminal: exit 0, nothing on stderr" test "$rc" -eq 0 -a ! -s "$work/quiet.bin"

finish
