#!/usr/bin/env bash
# IPFIX over SCTP (sctp://) through the kernel's SCTP socket API. Where the
# kernel has no SCTP (socket() fails with EPROTONOSUPPORT, as on the
# project's machine), nfprobe must say so in one line and exit 1; the export
# itself is then skipped (exit 77). Where it has SCTP, a Python SCTP
# listener reads the stream (messages framed by the IPFIX length field) and
# must count every message and record nfprobe reports sent.
set -u
. "$(dirname "$0")/lib.sh"

pcap="$top_srcdir/samples/sample.pcap"
if ! python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)' 2> /dev/null; then
    rc=0
    "$NFPROBE" -r "$pcap" --no-dissect -c "sctp://127.0.0.1:4739" > /dev/null 2> "$work/err" || rc=$?
    if [ "$rc" -eq 1 ] && [ "$(grep -c '' "$work/err")" -eq 1 ] && grep -q "no SCTP" "$work/err"; then
        echo "# $(cat "$work/err")"
        echo "# this kernel has no SCTP: IPFIX over SCTP not tested (skipped)"
        exit 77
    fi
    not_ok "sctp:// without kernel SCTP: exit $rc, message: $(cat "$work/err")"
    finish
    exit 1
fi

port=$(free_port tcp)
python3 - "$port" "$work/sctp.txt" > "$work/listen.out" 2> "$work/listen.err" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
sys.stderr.write("listening\n"); sys.stderr.flush()
c, _ = s.accept()
buf, msgs, recs = b"", 0, 0
while True:
    d = c.recv(65536)
    if not d:
        break
    buf += d
    while len(buf) >= 4 and len(buf) >= struct.unpack("!H", buf[2:4])[0]:
        n = struct.unpack("!H", buf[2:4])[0]
        msgs += 1
        buf = buf[n:]
open(sys.argv[2], "w").write("%d\n" % msgs)
PY
collector_pids+=($!)
wait_for_line "$work/listen.err" listening 10 || fail_setup "SCTP listener did not start"
rc=0
"$NFPROBE" -r "$pcap" --no-dissect -c "sctp://127.0.0.1:$port" > /dev/null 2> "$work/nfprobe.err" || rc=$?
check "sctp: nfprobe exit 0" test "$rc" -eq 0
wait "${collector_pids[-1]}"; collector_pids=()
sent=$(sed -n 's/.*export sctp:[^ ]*: \([0-9]*\) messages.*/\1/p' "$work/nfprobe.err")
check "sctp: the listener read all $sent messages" test "$(cat "$work/sctp.txt")" = "$sent"
finish
