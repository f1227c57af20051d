#!/usr/bin/env bash
# IPFIX over TLS (RFC 7011 §10.4) and SCTP, and where the records of several
# collectors go:
#   - a test CA made here with openssl signs a collector certificate (IP
#     127.0.0.1) and an exporter certificate; collector-test listens on
#     tls:// and demands the exporter's certificate; nfprobe exports over
#     tls:// and to a file in the same run: the TLS records equal the file's,
#     and their count is the number of one-way records; sequence numbers
#     have no gap;
#   - the TLS collector killed and restarted mid-run: nfprobe reconnects,
#     sends the templates first, and every record not reported dropped
#     arrives once (as root: nfprobe runs as nobody after opening, the key
#     file readable by root alone);
#   - a collector certificate from another CA is refused (records counted as
#     dropped, exit 1); tls:// without --tls-key is a one-line error;
#   - a collector certificate that expired is refused with the reason given,
#     the records wait, and a renewed certificate on the same port gets them;
#   - sctp://: where the kernel has SCTP, records arrive through it is not
#     tested here (collector-test has no SCTP); without it, a one-line error
#     naming the missing protocol (checked, or skipped with a message);
#   - --collector-mode balance spreads the flows over two TCP collectors, each
#     with its own sequence numbers (no gaps), together every record once, the
#     two records of a flow at the same collector; all (the default) gives
#     each collector every record.
set -u
. "$(dirname "$0")/lib.sh"

command -v openssl > /dev/null || { echo "# openssl not installed: skipped"; exit 77; }
pcap="$top_srcdir/samples/sample.pcap"
"$NFPROBE" -r "$pcap" -q --no-dissect > "$work/flows.json" || fail_setup "nfprobe --json failed"
want=$(python3 -c '
import json, sys
print(sum((f["src2dst_packets"] > 0) + (f["dst2src_packets"] > 0) for f in map(json.loads, open(sys.argv[1]))))' "$work/flows.json")

# ---- a test CA ------------------------------------------------------------------
pki="$work/pki"
mkdir -p "$pki"
make_ca() {   # name
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=nfprobe test $1" \
        -keyout "$pki/$1.key" -out "$pki/$1.pem" 2> /dev/null
}
make_cert() {   # ca name subjectAltName
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -keyout "$pki/$2.key" -out "$pki/$2.csr" 2> /dev/null &&
    printf 'subjectAltName=%s\n' "$3" > "$pki/$2.ext" &&
    openssl x509 -req -in "$pki/$2.csr" -CA "$pki/$1.pem" -CAkey "$pki/$1.key" -CAcreateserial -days 2 \
        -extfile "$pki/$2.ext" -out "$pki/$2.pem" 2> /dev/null
}
make_ca ca && make_cert ca collector "IP:127.0.0.1,IP:::1" && make_cert ca exporter "DNS:exporter.test" &&
    make_ca otherca && make_cert otherca impostor "IP:127.0.0.1" && make_cert otherca stranger "DNS:stranger.test" ||
    fail_setup "openssl could not make the test CA"

start_tls_collector() {   # port out cert [host]
    "$COLLECTOR" -l "tls://${4:-127.0.0.1}:$1" --tls-cert "$pki/$3.pem" --tls-key "$pki/$3.key" --tls-ca "$pki/ca.pem" \
        --seq-check > "$2" 2> "$2.err" &
    collector_pids+=($!)
    wait_for_line "$2.err" "listening on" 10 || fail_setup "collector-test on tls port $1 did not start: $(cat "$2.err")"
}
TLS_ARGS=(--tls-ca "$pki/ca.pem" --tls-cert "$pki/exporter.pem" --tls-key "$pki/exporter.key")

# ---- 1. TLS: same records as the file -------------------------------------------------
port=$(free_port tcp)
start_tls_collector "$port" "$work/tls.jsonl" collector
rc=0
"$NFPROBE" -r "$pcap" --no-dissect -c "tls://127.0.0.1:$port" "${TLS_ARGS[@]}" -o "$work/tls.ipfix" \
    > /dev/null 2> "$work/tls.err" || rc=$?
check "tls: nfprobe exit 0" test "$rc" -eq 0
wait_for_records "$work/tls.jsonl" "$want" 10
stop_collectors
got=$(grep -vc '"_options"' "$work/tls.jsonl" || true)
check "tls: $want records arrive (got $got)" test "$got" -eq "$want"
"$COLLECTOR" -r "$work/tls.ipfix" 2> /dev/null | sort > "$work/file.sorted"
sort "$work/tls.jsonl" > "$work/tls.sorted"
check "tls: same records as the file export of the same run" diff -q "$work/file.sorted" "$work/tls.sorted"
check "tls: no sequence gaps" grep -q "^sequence gaps: 0" "$work/tls.jsonl.err"
check "tls: the collector accepted the exporter's certificate (connection logged)" grep -q "connected" "$work/tls.jsonl.err"

# ---- 1b. TLS collector restarted mid-run: reconnect, templates again ----------------------------
# As root, nfprobe runs this as nobody (-u) with the key readable by root
# alone: the TLS files are read before the switch, a reconnect needs none.
run_as=()
if [ "$(id -u)" -eq 0 ]; then chmod 600 "$pki/exporter.key" && run_as=(-u nobody); fi
port=$(free_port tcp)
start_tls_collector "$port" "$work/first.jsonl" collector
first_pid=${collector_pids[-1]}
"$NFPROBE" -r "$pcap" --no-dissect -c "tls://127.0.0.1:$port" "${TLS_ARGS[@]}" --export-rate 40 --drain-timeout 30 \
    "${run_as[@]}" > /dev/null 2> "$work/away.err" &
probe=$!
wait_for_records "$work/first.jsonl" 20 30
kill_collector_between_messages "$probe" "$first_pid" "$port"
collector_pids=()
start_tls_collector "$port" "$work/second.jsonl" collector
rc=0; wait $probe || rc=$?
dropped=$(sed -n 's/^nfprobe: \([0-9]*\) flow records could not be delivered.*/\1/p' "$work/away.err")
dropped=${dropped:-0}
wait_for_records "$work/second.jsonl" $((want - dropped - $(grep -vc '"_options"' "$work/first.jsonl"))) 10
stop_collectors
got1=$(grep -vc '"_options"' "$work/first.jsonl" || true)
got2=$(grep -vc '"_options"' "$work/second.jsonl" || true)
check "tls restart: reconnected" grep -q "collector tls://127.0.0.1:$port: connected" "$work/away.err"
[ ${#run_as[@]} -eq 0 ] || check "tls restart: ran as nobody, the key readable by root alone" \
    sh -c "grep -q '^nfprobe: running as nobody' '$work/away.err' && [ \$(stat -c %a '$pki/exporter.key') = 600 ]"
check "tls restart: $got1 + $got2 received + $dropped dropped = $want (templates re-sent)" \
    test $((got1 + got2 + dropped)) -eq "$want" -a "$got2" -gt 0
dups=$(cat "$work/first.jsonl" "$work/second.jsonl" | grep -v '"_options"' | python3 -c '
import json, sys
seen = [(r["flowId"], r["biflowDirection"]) for r in map(json.loads, sys.stdin)]
print(len(seen) - len(set(seen)))')
check "tls restart: no record twice" test "$dups" -eq 0

# ---- 2. TLS: a collector with a certificate of another CA is refused ------------------------
port=$(free_port tcp)
"$COLLECTOR" -l "tls://127.0.0.1:$port" --tls-cert "$pki/impostor.pem" --tls-key "$pki/impostor.key" \
    > "$work/impostor.jsonl" 2> "$work/impostor.err" &
collector_pids+=($!)
wait_for_line "$work/impostor.err" "listening on" 10 || fail_setup "impostor collector did not start"
rc=0
"$NFPROBE" -r "$pcap" --no-dissect -c "tls://127.0.0.1:$port" "${TLS_ARGS[@]}" --drain-timeout 1 \
    > /dev/null 2> "$work/impostor.nfprobe.err" || rc=$?
stop_collectors
check "tls: untrusted collector certificate: exit 1" test "$rc" -eq 1
check "tls: untrusted collector certificate: the reason is given" grep -q "certificate" "$work/impostor.nfprobe.err"
check "tls: untrusted collector certificate: $want records reported dropped" \
    grep -q "^nfprobe: $want flow records could not be delivered" "$work/impostor.nfprobe.err"
got=$(grep -vc '"_options"' "$work/impostor.jsonl" || true)
check "tls: untrusted collector received nothing" test "$got" -eq 0

# ---- 2b. an exporter whose certificate the collector's CA did not sign -------------------------
port=$(free_port tcp)
start_tls_collector "$port" "$work/stranger.jsonl" collector
rc=0
"$NFPROBE" -r "$pcap" --no-dissect -c "tls://127.0.0.1:$port" --tls-ca "$pki/ca.pem" --tls-cert "$pki/stranger.pem" \
    --tls-key "$pki/stranger.key" --drain-timeout 1 > /dev/null 2> "$work/stranger.nfprobe.err" || rc=$?
stop_collectors
check "tls: exporter certificate from an unknown CA: exit 1" test "$rc" -eq 1
check "tls: exporter certificate from an unknown CA: the collector refused the handshake" \
    grep -q "TLS handshake failed" "$work/stranger.jsonl.err"
got=$(grep -vc '"_options"' "$work/stranger.jsonl" || true)
check "tls: exporter certificate from an unknown CA: nothing accepted" test "$got" -eq 0

# ---- 2d. the collector's certificate expired, then renewed (issue 16) -------------------------
# The handshake is refused and the records wait, counted when dropped; the
# collector restarted with a valid certificate on the same port gets the
# rest. openssl ca sets dates in the past (x509 -req cannot).
expired_cert() {   # ca name subjectAltName: a certificate valid for one day in 2020
    mkdir -p "$pki/db" && : > "$pki/db/index.txt" && echo 1000 > "$pki/db/serial" &&
    printf '[ca]\ndefault_ca=d\n[d]\ndatabase=%s\nnew_certs_dir=%s\nserial=%s\ndefault_md=sha256\npolicy=p\ncopy_extensions=copy\n[p]\ncommonName=supplied\n' \
        "$pki/db/index.txt" "$pki/db" "$pki/db/serial" > "$pki/db/ca.cnf" &&
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$2" -addext "subjectAltName=$3" \
        -keyout "$pki/$2.key" -out "$pki/$2.csr" 2> /dev/null &&
    openssl ca -batch -config "$pki/db/ca.cnf" -cert "$pki/$1.pem" -keyfile "$pki/$1.key" -in "$pki/$2.csr" \
        -startdate 20200101000000Z -enddate 20200102000000Z -out "$pki/$2.pem" > /dev/null 2>&1
}
expired_cert ca expired "IP:127.0.0.1" || fail_setup "openssl could not make an expired certificate"
port=$(free_port tcp)
start_tls_collector "$port" "$work/expired.jsonl" expired
expired_pid=${collector_pids[-1]}
"$NFPROBE" -r "$pcap" --no-dissect -c "tls://127.0.0.1:$port" "${TLS_ARGS[@]}" --export-rate 100 --drain-timeout 30 \
    > /dev/null 2> "$work/expired.nfprobe.err" &
probe=$!
if wait_for_line "$work/expired.nfprobe.err" "expired" 20; then ok "tls: expired collector certificate: the reason is given"
else not_ok "tls: expired collector certificate: no reason: $(head -3 "$work/expired.nfprobe.err")"; fi
kill -TERM "$expired_pid"; wait "$expired_pid" 2> /dev/null
collector_pids=()
start_tls_collector "$port" "$work/renewed.jsonl" collector
rc=0; wait $probe || rc=$?
dropped=$(sed -n 's/^nfprobe: \([0-9]*\) flow records could not be delivered.*/\1/p' "$work/expired.nfprobe.err")
dropped=${dropped:-0}
wait_for_records "$work/renewed.jsonl" $((want - dropped)) 10
stop_collectors
got=$(grep -vc '"_options"' "$work/renewed.jsonl" || true)
echo "# tls: expired certificate: $dropped records counted lost, $got delivered after renewal"
check "tls: expired collector certificate: nothing accepted" test "$(grep -vc '"_options"' "$work/expired.jsonl" || true)" -eq 0
check "tls: renewed certificate: reconnected" grep -q "collector tls://127.0.0.1:$port: connected" "$work/expired.nfprobe.err"
check "tls: renewed certificate: $got received + $dropped dropped = $want" test $((got + dropped)) -eq "$want" -a "$got" -gt 0

# ---- 2c. TLS to an IPv6 collector address -------------------------------------------------------
if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2> /dev/null; then
    port=$(free_port tcp)
    start_tls_collector "$port" "$work/tls6.jsonl" collector "[::1]"
    rc=0
    "$NFPROBE" -r "$pcap" --no-dissect -c "tls://[::1]:$port" "${TLS_ARGS[@]}" > /dev/null 2> "$work/tls6.err" || rc=$?
    wait_for_records "$work/tls6.jsonl" "$want" 10
    stop_collectors
    got=$(grep -vc '"_options"' "$work/tls6.jsonl" || true)
    check "tls to [::1]: exit 0 and $want records (got $got)" test "$rc" -eq 0 -a "$got" -eq "$want"
else
    echo "# no IPv6 loopback: TLS over ::1 not tested"
fi

# ---- 3. SCTP ----------------------------------------------------------------------------------
rc=0
"$NFPROBE" -r "$pcap" --no-dissect -c "sctp://127.0.0.1:4739" > /dev/null 2> "$work/sctp.err" || rc=$?
if python3 -c 'import socket; socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)' 2> /dev/null; then
    echo "# this kernel has SCTP: the no-SCTP error is not tested here"
else
    check "sctp without kernel SCTP: exit 1" test "$rc" -eq 1
    check "sctp without kernel SCTP: one line naming it" \
        test "$(grep -c '' "$work/sctp.err")" -eq 1 -a -n "$(grep 'no SCTP' "$work/sctp.err")"
    echo "# SCTP export itself skipped: this kernel has no SCTP ($(cat "$work/sctp.err"))"
fi

# ---- 4. several collectors ---------------------------------------------------------------------
p1=$(free_port tcp) p2=$(free_port tcp)
start_collector tcp "$p1" "$work/bal1.jsonl" --seq-check
start_collector tcp "$p2" "$work/bal2.jsonl" --seq-check
rc=0
"$NFPROBE" -r "$pcap" --no-dissect -c "tcp://127.0.0.1:$p1" -c "tcp://127.0.0.1:$p2" --collector-mode balance \
    -o "$work/bal.ipfix" > /dev/null 2> "$work/bal.err" || rc=$?
check "balance: nfprobe exit 0" test "$rc" -eq 0
wait_for_records_in "$want" 10 "$work/bal1.jsonl" "$work/bal2.jsonl"
stop_collectors
n1=$(grep -vc '"_options"' "$work/bal1.jsonl" || true)
n2=$(grep -vc '"_options"' "$work/bal2.jsonl" || true)
echo "# balance: collector 1 got $n1 records, collector 2 got $n2, of $want"
check "balance: $n1 + $n2 = $want records, both collectors used" test $((n1 + n2)) -eq "$want" -a "$n1" -gt 0 -a "$n2" -gt 0
check "balance: no sequence gaps at collector 1" grep -q "^sequence gaps: 0" "$work/bal1.jsonl.err"
check "balance: no sequence gaps at collector 2" grep -q "^sequence gaps: 0" "$work/bal2.jsonl.err"
shared=$(python3 - "$work/bal1.jsonl" "$work/bal2.jsonl" <<'PY'
import json, sys
def ids(p):
    return {r["flowId"] for r in map(json.loads, open(p)) if not r.get("_options")}
print(len(ids(sys.argv[1]) & ids(sys.argv[2])))
PY
)
check "balance: no flow at both collectors ($shared)" test "$shared" -eq 0
cat "$work/bal1.jsonl" "$work/bal2.jsonl" | grep -v '"_options"' | sort > "$work/bal.sorted"
"$COLLECTOR" -r "$work/bal.ipfix" 2> /dev/null | grep -v '"_options"' | sort > "$work/balfile.sorted"
check "balance: the two collectors together = the file (every flow)" diff -q "$work/bal.sorted" "$work/balfile.sorted"

p1=$(free_port tcp) p2=$(free_port tcp)
start_collector tcp "$p1" "$work/all1.jsonl"
start_collector tcp "$p2" "$work/all2.jsonl"
"$NFPROBE" -r "$pcap" --no-dissect -c "tcp://127.0.0.1:$p1" -c "tcp://127.0.0.1:$p2" > /dev/null 2>&1
wait_for_records "$work/all1.jsonl" "$want" 10
wait_for_records "$work/all2.jsonl" "$want" 10
stop_collectors
n1=$(grep -vc '"_options"' "$work/all1.jsonl" || true)
n2=$(grep -vc '"_options"' "$work/all2.jsonl" || true)
check "all: each collector gets all $want records ($n1, $n2)" test "$n1" -eq "$want" -a "$n2" -eq "$want"

finish
