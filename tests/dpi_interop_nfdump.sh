#!/usr/bin/env bash
# nfdump 1.7.1 shows nfprobe's applicationId (RFC 6759, engine 13 + nDPI id)
# for every flow of 1kxun.pcap exported over IPFIX to nfcapd. nfdump 1.7.1
# stores an IPFIX applicationId byte-reversed (../shared/REFERENCE.md): it
# prints "<id>..13" instead of "13..<id>", and so never finds the names sent
# as options data (<no info>). This test pins that known limit: it fails if
# the ids stop matching, and says so if a fixed nfdump starts showing names.
set -u
. "$(dirname "$0")/lib.sh"

command -v nfcapd > /dev/null && command -v nfdump > /dev/null ||
    { echo "# nfdump/nfcapd not installed: skipped"; exit 77; }
CAPTURE=${DPI_NFDUMP_CAPTURE:-1kxun.pcap}

port=$(free_port udp)
mkdir -p "$work/nfcapd"
nfcapd -w "$work/nfcapd" -b 127.0.0.1 -p "$port" -t 3600 -B 4194304 -P "$work/nfcapd/pid" -D \
    > "$work/nfcapd.log" 2>&1 || fail_setup "nfcapd did not start: $(tail -3 "$work/nfcapd.log")"
wait_udp_bound "$port" 10 || fail_setup "nfcapd not listening on $port"
"$NFPROBE" -r "$DATA/$CAPTURE" -q --json --export-rate 20000 -c "udp://127.0.0.1:$port" \
    --idle-timeout $NEVER --active-timeout $NEVER --tcp-close-timeout $NEVER \
    > "$work/flows.json" 2> "$work/nfprobe.err" || not_ok "nfprobe exit status $?: $(head -3 "$work/nfprobe.err")"
wait_udp_drained "$port" 10
pid=$(cat "$work/nfcapd/pid")
kill -TERM "$pid"
wait_pid_gone "$pid" 20 || fail_setup "nfcapd did not exit"
nfdump -R "$work/nfcapd" -q -N -6 -o 'fmt:%pr|%sa|%sp|%da|%dp|%nbid|%nbnam' > "$work/nfdump.txt" 2> "$work/nfdump.err"

check "nfdump shows each flow's applicationId (as <id>..13: 1.7.1's byte order)" \
    python3 - "$work/flows.json" "$work/nfdump.txt" <<'PY'
import ipaddress, json, sys
want = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    app = r["app_protocol"] or r["master_protocol"]
    for a, ap, b, bp in ((r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"]),
                         (r["dst_ip"], r["dst_port"], r["src_ip"], r["src_port"])):
        want[(str(ipaddress.ip_address(a)), ap, str(ipaddress.ip_address(b)), bp)] = app
rows = bad = 0
for line in open(sys.argv[2]):
    f = [x.strip() for x in line.split("|")]
    if len(f) < 7:
        continue
    rows += 1
    key = (str(ipaddress.ip_address(f[1])), int(f[2]), str(ipaddress.ip_address(f[3])), int(f[4]))
    if f[5] != "%d..13" % want.get(key, -1):
        bad += 1
        if bad <= 10:
            print("differs:", key, "nfdump", f[5], "nfprobe", want.get(key))
print("%d records, %d differ" % (rows, bad))
sys.exit(1 if bad or rows == 0 else 0)
PY
if grep -qv '<no info>' <(cut -d'|' -f7 "$work/nfdump.txt"); then
    echo "# nfdump now shows application names over IPFIX: the 1.7.1 limit in README is gone"
else
    echo "# as documented: nfdump 1.7.1 shows no application names over IPFIX (<no info>)"
fi
finish
