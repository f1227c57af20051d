#!/usr/bin/env bash
# Export options: --list-fields, -T (built-in name or a file of element
# names), -V, and bad export input (one-line error, non-zero exit).
set -u
. "$(dirname "$0")/lib.sh"

pcap="$top_srcdir/samples/sample.pcap"

# ---- --list-fields ----------------------------------------------------------------
rc=0
"$NFPROBE" --list-fields > "$work/fields.txt" 2> "$work/fields.err" || rc=$?
check "--list-fields: exit 0, nothing on stderr" test "$rc" -eq 0 -a ! -s "$work/fields.err"
row() { grep -E "^$1 " "$work/fields.txt" | tr -s ' '; }
check "--list-fields: octetDeltaCount: IANA 1, v9 1/8, unsigned64, in default and biflow" \
    test "$(row octetDeltaCount)" = "octetDeltaCount 1 1/8 unsigned64 8 default,biflow"
check "--list-fields: flowStartMilliseconds: v9 FIRST_SWITCHED (22), 4 bytes" \
    test "$(row flowStartMilliseconds | cut -d' ' -f2-4)" = "152 22/4 dateTimeMilliseconds"
check "--list-fields: tcpControlBits is 1 byte in v9" test "$(row tcpControlBits | cut -d' ' -f3)" = "6/1"
check "--list-fields: layer2OctetDeltaCount has no v9 field" test "$(row layer2OctetDeltaCount | cut -d' ' -f3)" = "-"
check "--list-fields: reverse twins under PEN 29305, in biflow only" \
    test "$(row reversePacketDeltaCount)" = "reversePacketDeltaCount 29305/2 - unsigned64 8 biflow"
check "--list-fields: biflowDirection only in default" test "$(row biflowDirection | cut -d' ' -f6)" = "default"
# Every element of every built-in template is listed.
for t in default biflow; do
    missing=$(grep -v '^#' "$top_srcdir/templates/$t.tmpl" | grep . | while read -r e; do row "$e" > /dev/null || echo "$e"; done)
    check "--list-fields: every element of templates/$t.tmpl listed" test -z "$missing"
done
if [ -f "$top_srcdir/templates/dpi.tmpl" ]; then
    check "--list-fields: the DPI elements are listed (registered before listing)" \
        test -n "$(grep -v '^#' "$top_srcdir/templates/dpi.tmpl" | grep . | head -1 | xargs -I{} grep -E '^{} ' "$work/fields.txt")"
fi

# ---- -T -------------------------------------------------------------------------------
printf '# trimmed\nsourceIPv4Address\ndestinationIPv4Address\nsourceIPv6Address\ndestinationIPv6Address\npacketDeltaCount\noctetDeltaCount\n' > "$work/trim.tmpl"
"$NFPROBE" -r "$pcap" --no-dissect -T "$work/trim.tmpl" -o "$work/trim.ipfix" -q > /dev/null 2> "$work/trim.err"
"$COLLECTOR" -r "$work/trim.ipfix" 2> /dev/null | grep -v '"_options"' > "$work/trim.jsonl"
keys=$(python3 -c '
import json, sys
ks = set()
for r in map(json.loads, open(sys.argv[1])):
    ks.add(",".join(sorted(k for k in r if not k.startswith("_"))))
print(" ".join(sorted(ks)))' "$work/trim.jsonl")
check "-T FILE: records carry only the file's elements ($keys)" \
    test "$keys" = "destinationIPv4Address,octetDeltaCount,packetDeltaCount,sourceIPv4Address destinationIPv6Address,octetDeltaCount,packetDeltaCount,sourceIPv6Address" -o \
         "$keys" = "destinationIPv4Address,octetDeltaCount,packetDeltaCount,sourceIPv4Address"
"$NFPROBE" -r "$pcap" --no-dissect -q > "$work/flows.json"
read -r wp wb < <(python3 -c '
import json, sys
fl = [json.loads(l) for l in open(sys.argv[1])]
print(sum(f["src2dst_packets"] + f["dst2src_packets"] for f in fl), sum(f["src2dst_bytes"] + f["dst2src_bytes"] for f in fl))' "$work/flows.json")
read -r gp gb < <(python3 -c '
import json, sys
rs = [json.loads(l) for l in open(sys.argv[1])]
print(sum(r["packetDeltaCount"] for r in rs), sum(r["octetDeltaCount"] for r in rs))' "$work/trim.jsonl")
check "-T FILE: totals unchanged ($gp packets, $gb bytes)" test "$gp $gb" = "$wp $wb"
"$NFPROBE" -r "$pcap" --no-dissect -T biflow -o "$work/bi.ipfix" -q > /dev/null
check "-T biflow: reverse elements in the records" sh -c "'$COLLECTOR' -r '$work/bi.ipfix' 2>/dev/null | grep -q reverseOctetDeltaCount"

# ---- bad input: one line, non-zero exit --------------------------------------------------
printf 'sourceIPv4Address\nnoSuchElement\n' > "$work/bad.tmpl"
expect_error "-V 7" 2 "-V '7'" -- -r "$pcap" -V 7 -c 127.0.0.1:4739
expect_error "-V junk" 2 "-V 'x'" -- -r "$pcap" -V x
expect_error "--biflow with v9" 2 "--biflow needs IPFIX" -- -r "$pcap" -V 9 --biflow -c 127.0.0.1:4739
expect_error "template with an unknown element" 1 "unknown element 'noSuchElement'" -- -r "$pcap" -T "$work/bad.tmpl" -c 127.0.0.1:4739
expect_error "unknown template" 1 "template 'nosuch'" -- -r "$pcap" -T nosuch -c 127.0.0.1:4739
expect_error "unknown scheme" 1 "unknown transport 'quic'" -- -r "$pcap" -c quic://127.0.0.1:4739
expect_error "port out of range" 1 "port '65536'" -- -r "$pcap" -c tls://127.0.0.1:65536
expect_error "TLS without certificate and key" 1 "TLS needs --tls-cert and --tls-key" -- -r "$pcap" -c tls://127.0.0.1:4739
expect_error "TLS certificate without key" 2 "--tls-cert and --tls-key go together" -- -r "$pcap" -c tls://127.0.0.1:4739 --tls-cert /dev/null
expect_error "TLS unreadable certificate" 1 "cannot load /nonexistent.pem" -- -r "$pcap" -c tls://127.0.0.1:4739 --tls-cert /nonexistent.pem --tls-key /nonexistent.key
expect_error "collector mode" 2 "--collector-mode 'round'" -- -r "$pcap" --collector-mode round
expect_error "refresh packets" 2 "--template-refresh-packets 'x'" -- -r "$pcap" --template-refresh-packets x

# A record larger than --mtu cannot be sent: it is counted, said once, and the
# run exits 1 (never silently lost).
{ echo flowId; for i in $(seq 40); do echo JA3C_HASH; done; } > "$work/big.tmpl"
rc=0
"$NFPROBE" -r "$DATA/443-curl.pcap" -T "$work/big.tmpl" --mtu 1000 -o "$work/big.ipfix" > /dev/null 2> "$work/big.err" || rc=$?
check "oversized record: exit 1" test "$rc" -eq 1
check "oversized record: said once" test "$(grep -c 'cannot add a record' "$work/big.err")" -eq 1
check "oversized record: counted as not delivered" grep -q '^nfprobe: 1 flow records could not be delivered' "$work/big.err"

finish
