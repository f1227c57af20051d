#!/usr/bin/env bash
# SIGHUP reopens the -o file (log rotation), live: nfprobe -i on the host end
# of a veth pair of the test's own (lib.sh netns_start), UDP datagrams sent
# from the namespace, one flow per source port (--idle-timeout 1).
#   1. 20 flows; once the file holds their 20 records, it is moved away (as
#      logrotate does) and nfprobe gets SIGHUP; it says it reopened the file;
#   2. 20 more flows; once the new file holds them, SIGHUP again without
#      moving the file (it is appended to, templates again);
#   3. 10 more flows, then SIGTERM.
# Checks: nfprobe ran on after each SIGHUP and exited 0; the moved file and
# the new one are each read whole by ipfixDump (no complaint) and by
# collector-test -r (exit 0, no sequence gap); the moved file starts with the
# templates and ends with their withdrawal, and so does the new one; the
# moved file holds exactly the first 20 flows, the new one the other 30,
# each once: together every flow.
# Then --rotate 1 live (wall clock): 4 flows one after the other, each once
# the one before is in the files (idle 1 s: the run spans at least 4 s, so
# at least 4 files); after SIGTERM, one file per "writing" line, each name
# distinct, each read whole by ipfixDump and
# collector-test (templates ... withdrawal), together every flow, each once.
# Readiness without guessed sleeps: nfprobe's "capturing on", "reopened" and
# "writing" lines, the records in the files as collector-test reads them.
# Needs root and `ip netns`; skipped (77) otherwise.
set -u
. "$(dirname "$0")/lib.sh"
command -v ipfixDump > /dev/null || { echo "# ipfixDump (libfixbuf-tools) not installed: skipped"; exit 77; }
netns_start

CHECK="$TOOLS/rotation_check.py"
port=$(free_port udp)
out=$work/flows.ipfix

"$NFPROBE" -i "$vh" -f "udp and src host $N4 and dst port $port" --idle-timeout 1 -o "$out" > /dev/null 2> "$work/err" &
nfprobe_pid=$!
pids+=($nfprobe_pid)
wait_for_line "$work/err" "capturing on" 20 || fail_setup "nfprobe did not start: $(cat "$work/err")"

send_flows() {   # first-port last-port: one datagram from each source port
    inns python3 - "$H4" "$port" "$1" "$2" <<'PY'
import socket, sys
host, port, first, last = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for sport in range(first, last + 1):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", sport))
    s.sendto(b"flow %d" % sport, (host, port))
    s.close()
PY
}

# Wait until FILE holds COUNT flow records as collector-test reads it.
wait_file_records() {   # file count seconds
    local deadline=$(deadline_in "$3") n
    while :; do
        n=$("$COLLECTOR" -r "$1" 2> /dev/null | grep -vc '"_options"')
        [ "${n:-0}" -ge "$2" ] && return 0
        [ $SECONDS -lt $deadline ] || { echo "# $1: $n of $2 records after $(bound "$3") s"; return 1; }
        sleep 0.1
    done
}

hup_and_wait() {   # n: wait for the n-th "reopened" line
    kill -HUP "$nfprobe_pid"
    local deadline=$(deadline_in 20)
    until [ "$(grep -c "SIGHUP: reopened $out" "$work/err")" -ge "$1" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

send_flows 41001 41020
wait_file_records "$out" 20 30 || not_ok "the first 20 flows did not reach $out"
mv "$out" "$out.1"
if hup_and_wait 1 && kill -0 "$nfprobe_pid" 2> /dev/null && [ -e "$out" ]; then
    ok "SIGHUP after the move: nfprobe runs on, says it reopened $out, and the file is there again"
else
    not_ok "SIGHUP after the move: $(tail -3 "$work/err")"
fi
send_flows 41021 41040
wait_file_records "$out" 20 30 || not_ok "the next 20 flows did not reach the new $out"
if hup_and_wait 2 && kill -0 "$nfprobe_pid" 2> /dev/null; then
    ok "SIGHUP without a move: nfprobe runs on, reopened the same file"
else
    not_ok "SIGHUP without a move: $(tail -3 "$work/err")"
fi
send_flows 41041 41050
wait_file_records "$out" 30 30 || not_ok "the last 10 flows did not reach $out"
kill -TERM "$nfprobe_pid"
rc=0
wait "$nfprobe_pid" || rc=$?
pids=()
check "nfprobe exits 0 on SIGTERM after two SIGHUPs" test "$rc" -eq 0

for f in "$out.1" "$out"; do
    name=$(basename "$f")
    if ipfixDump --in "$f" > "$f.dump" 2> "$f.dump.err" && [ ! -s "$f.dump.err" ]; then
        ok "ipfixDump reads $name whole"
    else
        not_ok "ipfixDump $name: $(head -c 300 "$f.dump.err")"
    fi
    if "$COLLECTOR" -r "$f" --seq-check > "$f.json" 2> "$f.ct.err" && grep -q '^sequence gaps: 0$' "$f.ct.err" &&
       [ "$(grep -vc -e '^collector-test: [0-9]* records' -e '^sequence gaps' "$f.ct.err")" -eq 0 ]; then
        ok "collector-test -r reads $name whole, no sequence gap"
    else
        not_ok "collector-test $name: $(head -c 300 "$f.ct.err")"
    fi
done
check "the moved file: templates first, withdrawals last" python3 "$CHECK" dump "$out.1.dump"
# Reopened once in place: templates, records, withdrawal, twice over.
check "the new file: templates ... withdrawals, twice (reopened in place once)" python3 "$CHECK" dump "$out.dump" 2

ports() { grep -v '"_options"' "$1" | python3 -c 'import json, sys; print(" ".join(str(json.loads(l)["sourceTransportPort"]) for l in sys.stdin))'; }
want_a=$(seq -s ' ' 41001 41020) want_b=$(seq -s ' ' 41021 41050)
got_a=$(ports "$out.1.json" | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
got_b=$(ports "$out.json" | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
check "the moved file holds exactly the 20 flows sent before the move" test "$got_a" = "$want_a"
check "the new file holds exactly the 30 flows sent after it: together every flow, each once" test "$got_b" = "$want_b"

# ---- --rotate 1, live -----------------------------------------------------------
rot=$work/rot
mkdir -p "$rot"
"$NFPROBE" -i "$vh" -f "udp and src host $N4 and dst port $port" --idle-timeout 1 --rotate 1 \
    -o "$rot/f-%Y%m%d%H%M%S.ipfix" > /dev/null 2> "$work/rot.err" &
nfprobe_pid=$!
pids+=($nfprobe_pid)
wait_for_line "$work/rot.err" "capturing on" 20 || fail_setup "nfprobe --rotate 1 did not start: $(cat "$work/rot.err")"
# Records in all the files so far, as collector-test reads each.
records_in_files() {
    local f n=0
    for f in "$rot"/*.ipfix; do
        [ -e "$f" ] && n=$((n + $("$COLLECTOR" -r "$f" 2> /dev/null | grep -vc '"_options"')))
    done
    echo $n
}
for n in 1 2 3 4; do
    send_flows $((42000 + n)) $((42000 + n))
    deadline=$(deadline_in 30)
    until [ "$(records_in_files)" -ge "$n" ]; do
        [ $SECONDS -lt $deadline ] || { not_ok "--rotate 1 live: flow $n not in the files after $(bound 30) s"; break; }
        sleep 0.1
    done
done
kill -TERM "$nfprobe_pid"
rc=0
wait "$nfprobe_pid" || rc=$?
pids=()
writing=$(grep -c '^nfprobe: writing ' "$work/rot.err")
(cd "$rot" && ls -- *.ipfix) > "$rot/files"
check "--rotate 1 live: exit 0, $writing files (at least 4), one for each 'writing' line, all names distinct" \
    test "$rc" -eq 0 -a "$writing" -ge 4 -a "$(grep -c '' "$rot/files")" -eq "$writing" -a "$(sort -u "$rot/files" | grep -c '')" -eq "$writing"
bad=
while read -r f; do
    ipfixDump --in "$rot/$f" > "$rot/$f.dump" 2> "$rot/$f.dump.err" && [ ! -s "$rot/$f.dump.err" ] &&
        python3 "$CHECK" dump "$rot/$f.dump" > /dev/null 2> "$rot/$f.check" &&
        "$COLLECTOR" -r "$rot/$f" > "$rot/$f.json" 2> "$rot/$f.ct.err" || bad="$bad $f"
done < "$rot/files"
check "--rotate 1 live: every file read whole by ipfixDump and collector-test, templates ... withdrawal" test -z "$bad"
got=$(cat "$rot"/*.json | ports /dev/stdin | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
check "--rotate 1 live: the files together hold the 4 flows, each once" test "$got" = "$(seq -s ' ' 42001 42004)"

finish
