#!/usr/bin/env bash
# Plugins end to end (-P, nfprobe/plugin.h):
#   1. examples/packets666.so counts, per record, the packets with IP length
#      >= 666, checked against counts computed from tshark's per-packet fields
#      (tests/tools/plugin_check.py; its flows are first checked against
#      tests/expected/*.flows), on real captures and on a synthetic one with
#      lengths 665/666/667; loading it changes nothing else in the JSON;
#   2. with packets666 + splt + flowstats, the IPFIX records collector-test
#      decodes (file, UDP, --biflow) carry every plugin element by its name
#      with the JSON value;
#   3. --active-timeout 1: each record's packets_over_666 and splt lists are
#      over that record's packets only;
#   4. load errors: one line naming the plugin and the reason, non-zero exit,
#      nothing exported;
#   5. --plugin-pen moves the plugin elements to another enterprise number;
#   6. the installed API (make install: nfprobe/plugin.h, nfprobe-plugin.pc)
#      builds examples/packets666.c into a plugin that counts the same.
set -u
. "$(dirname "$0")/lib.sh"

CC=${CC:-cc}
P666=$top_builddir/examples/packets666.so
pcheck() { python3 "$TOOLS/plugin_check.py" "$@"; }
PEN=32473
[ -f "$P666" ] || fail_setup "no $P666 (make builds it)"
command -v tshark > /dev/null || fail_setup "tshark is needed"

# Captures where tshark's first-occurrence fields give each packet's outer
# IP header and ports unambiguously (no fragments, tunnels, IPv6 extension
# headers; plugin_check.py refuses them otherwise): IPv4 and IPv6, TCP, UDP,
# ICMP, QinQ, PPPoE, TCP port reuse (rtsp), 1994 one-packet flows (synscan).
captures="1kxun.pcap ocs.pcap rtsp.pcap ssh.pcap openvpn.pcap youtube_quic.pcap
KakaoTalk_chat.pcap stun_signal.pcapng dns_doh.pcap 443-curl.pcap
tls_verylong_certificate.pcap log4j-webapp-exploit.pcap http_ipv6.pcap sip.pcap
q-in-q.pcap pppoe-over-qinq.pcap synscan.pcap"

# A synthetic capture around the threshold: IP lengths 665, 666 and 667 in
# IPv4/UDP, IPv6/TCP and VLAN-tagged IPv4/UDP flows, both directions.
python3 - "$work/edge.pcap" <<'PY'
import struct, sys
frames = []
t = 1700000000 * 1000000
def eth(ethertype, vlan=None):
    tag = struct.pack("!HH", 0x8100, vlan) if vlan is not None else b""
    return b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01" + tag + struct.pack("!H", ethertype)
def v4(src, dst, sport, dport, ip_len, vlan=None):
    udp = struct.pack("!HHHH", sport, dport, ip_len - 20, 0) + bytes(ip_len - 28)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, 1, 0, 64, 17, 0, bytes(src), bytes(dst))
    return eth(0x0800, vlan) + ip + udp
def v6(src, dst, sport, dport, ip_len):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 0x50, 0x18, 65535, 0, 0) + bytes(ip_len - 60)
    ip = struct.pack("!IHBB16s16s", 0x60000000, ip_len - 40, 6, 64, bytes(src), bytes(dst))
    return eth(0x86dd) + ip + tcp
A, B = [192, 0, 2, 1], [192, 0, 2, 2]
A6, B6 = [0x20, 1, 0xd, 0xb8] + [0] * 11 + [1], [0x20, 1, 0xd, 0xb8] + [0] * 11 + [2]
plan = [v4(A, B, 1000, 2000, 60), v4(A, B, 1000, 2000, 665), v4(B, A, 2000, 1000, 666),
        v4(A, B, 1000, 2000, 667), v4(A, B, 1000, 2000, 1500), v4(B, A, 2000, 1000, 665),
        v6(A6, B6, 40000, 80, 665), v6(B6, A6, 80, 40000, 666), v6(A6, B6, 40000, 80, 667),
        v6(B6, A6, 80, 40000, 1280), v6(A6, B6, 40000, 80, 60),
        v4(A, B, 1000, 2000, 666, vlan=100), v4(B, A, 2000, 1000, 100, vlan=100)]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(plan):
        t += 1700 if i % 2 else 300      # whole-ms gaps of 0, 1 and 2 for splt
        f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(fr), len(fr)) + fr)
PY
python3 "$TOOLS/tshark_flows.py" "$work/edge.pcap" > "$work/edge.flows" 2> /dev/null ||
    fail_setup "tshark_flows.py cannot read the synthetic capture"
pcap_of() { if [ "$1" = edge.pcap ]; then echo "$work/edge.pcap"; else echo "$DATA/$1"; fi; }
flows_of() { if [ "$1" = edge.pcap ]; then echo "$work/edge.flows"; else echo "$EXPECTED/$1.flows"; fi; }

# ---- 1. packets666 against tshark ---------------------------------------------------
for name in edge.pcap $captures; do
    pcap=$(pcap_of "$name")
    [ -f "$pcap" ] || { not_ok "$name: no capture $pcap"; continue; }
    rc=0
    "$NFPROBE" -r "$pcap" -q --no-dissect > "$work/$name.plain.json" 2> "$work/$name.plain.err" || rc=$?
    "$NFPROBE" -r "$pcap" -q --no-dissect -P "$P666" > "$work/$name.666.json" 2> "$work/$name.666.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        not_ok "$name: nfprobe exit $rc: $(head -2 "$work/$name.666.err")"
        continue
    fi
    if out=$(pcheck records "$pcap" "$(flows_of "$name")" "$work/$name.666.json" 2>&1); then
        ok "$name: packets_over_666 = tshark's count in every record: $(echo "$out" | tail -1)"
    else
        not_ok "$name: packets_over_666 vs tshark"; echo "$out" | head -20 | sed 's/^/#   /'
    fi
    check "$name: loading packets666 changes no other JSON member" \
        pcheck same "$work/$name.plain.json" "$work/$name.666.json" packets_over_666
done
# The boundary itself, spelled out: 3 of the IPv4 flow's 6 packets (666,
# 667, 1500), 3 of the IPv6 flow's 5 (666, 667, 1280) and 1 of the VLAN 100
# flow's 2 are >= 666.
got=$(python3 -c '
import json, sys
print(" ".join("%s/%d=%d" % (r["src_ip"], r["vlan_id"], r["packets_over_666"])
      for r in sorted(map(json.loads, open(sys.argv[1])), key=lambda r: r["id"])))' "$work/edge.pcap.666.json")
check "edge.pcap: 665 not counted, 666 and 667 counted ($got)" \
    test "$got" = "192.0.2.1/0=3 2001:db8::1/0=3 192.0.2.1/100=1"

# ---- 2. IPFIX <-> JSON with packets666, splt and flowstats ----------------------------
plugins=(-P "$P666" -P splt -P flowstats)
rc=0
"$NFPROBE" "${plugins[@]}" --list-fields > "$work/fields.txt" 2> "$work/fields.err" || rc=$?
check "--list-fields with plugins: exit 0, nothing on stderr" test "$rc" -eq 0 -a ! -s "$work/fields.err"
row() { grep -E "^$1 " "$work/fields.txt" | tr -s ' ' | cut -d' ' -f1-4; }
check "--list-fields: packetsOver666 is $PEN/1 unsigned64" test "$(row packetsOver666)" = "packetsOver666 $PEN/1 - unsigned64"
check "--list-fields: spltDirection is $PEN/10 basicList(unsigned8)" test "$(row spltDirection)" = "spltDirection $PEN/10 - basicList(unsigned8)"
check "--list-fields: spltPacketSize is $PEN/11 basicList(unsigned16)" test "$(row spltPacketSize)" = "spltPacketSize $PEN/11 - basicList(unsigned16)"
check "--list-fields: spltInterArrivalMs is $PEN/12 basicList(unsigned32)" test "$(row spltInterArrivalMs)" = "spltInterArrivalMs $PEN/12 - basicList(unsigned32)"
fs=$(awk -v pen="$PEN" '$2 ~ "^" pen "/1[0-9][0-9]$" { print $1 }' "$work/fields.txt" | tr '\n' ' ')
check "--list-fields: flowstats has elements $PEN/100-199 (${fs:-none})" test -n "$fs"
check "--list-fields: bidirectionalMeanPs is a flowstats element" grep -Eq "^bidirectionalMeanPs +$PEN/1[0-9][0-9] " "$work/fields.txt"

udp_port=$(free_port udp)
start_collector udp "$udp_port" "$work/udp.jsonl"
NEVER=100000000
ipfix_runs="edge.pcap 443-curl.pcap http_ipv6.pcap 1kxun.pcap youtube_quic.pcap"
i=0
declare -A domain_of
for name in $ipfix_runs; do
    i=$((i + 1))
    domain_of[$name]=$i
    pcap=$(pcap_of "$name")
    rc=0
    "$NFPROBE" -r "$pcap" -q --no-dissect -O "$i" > "$work/$i.plain.json" 2> /dev/null || rc=$?
    "$NFPROBE" -r "$pcap" -q --no-dissect --json -O "$i" "${plugins[@]}" --export-rate 50000 \
        -o "$work/$i.ipfix" -c "udp://127.0.0.1:$udp_port" > "$work/$i.json" 2> "$work/$i.err" || rc=$?
    [ "$rc" -eq 0 ] || { not_ok "$name: nfprobe with plugins: exit $rc: $(head -2 "$work/$i.err")"; continue; }
    if [ $i -eq 1 ]; then
        # IPFIX name -> JSON member of every plugin field (under the default PEN).
        if pcheck names "$work/fields.txt" "$work/$i.plain.json" "$work/$i.json" "$PEN" > "$work/names.txt" 2> "$work/names.err"; then
            ok "every plugin element has a JSON member and back: $(cut -d' ' -f1 "$work/names.txt" | tr '\n' ' ')"
        else
            not_ok "plugin elements <-> JSON members: $(head -3 "$work/names.err")"
        fi
    fi
    if [ $i -eq 1 ]; then
        # The file announces (RFC 5610) every plugin element with the PEN/id
        # and type --list-fields gives.
        pcheck elements "$work/$i.ipfix" > "$work/$i.elements" 2>&1
        check "IPFIX: RFC 5610 records announce each plugin element as --list-fields has it" python3 -c '
import sys
types = {"unsigned8": 1, "unsigned16": 2, "unsigned32": 3, "unsigned64": 4, "float64": 10, "string": 13}
names = [l.split()[0] for l in open(sys.argv[3])]
want, got = set(), set()
for l in open(sys.argv[1]):
    c = l.split()
    if c and c[0] in names:
        t = c[3][len("basicList("):-1] if c[3].startswith("basicList(") else c[3]
        want.add("%s %s type=%d" % (c[0], c[1], types[t]))
for l in open(sys.argv[2]):
    if l.startswith("announced ") and l.split()[1] in names:    # not the tunnel elements
        got.add(l.split(None, 1)[1].strip())
for x in sorted(want - got): print("not announced:", x)
for x in sorted(got - want): print("announced, not listed:", x)
sys.exit(want != got or not want)' "$work/fields.txt" "$work/$i.elements" "$work/names.txt"
    fi
    "$COLLECTOR" -r "$work/$i.ipfix" > "$work/$i.file.jsonl" 2> "$work/$i.file.err" ||
        not_ok "$name: collector-test cannot read the IPFIX file: $(head -2 "$work/$i.file.err")"
    check "$name: IPFIX file records carry every plugin element by name, = JSON" \
        pcheck ipfix "$work/$i.json" "$work/$i.file.jsonl" "$work/names.txt"
    check "$name: IPFIX file records = JSON in the standard elements" \
        python3 "$TOOLS/json_vs_ipfix.py" "$work/$i.json" "$work/$i.file.jsonl"
    "$NFPROBE" -r "$pcap" -q --no-dissect --json --biflow -O "$i" "${plugins[@]}" \
        -o "$work/$i.bi.ipfix" > "$work/$i.bi.json" 2> /dev/null
    "$COLLECTOR" -r "$work/$i.bi.ipfix" > "$work/$i.bi.jsonl" 2> /dev/null
    check "$name: --biflow records carry every plugin element by name, = JSON" \
        pcheck ipfix "$work/$i.bi.json" "$work/$i.bi.jsonl" "$work/names.txt" --biflow
    check "$name: --biflow records = JSON in the standard elements" \
        python3 "$TOOLS/json_vs_ipfix.py" "$work/$i.bi.json" "$work/$i.bi.jsonl" --biflow
done
want=$(cat "$work"/[0-9]*.file.jsonl | grep -vc '"_options"' || true)
wait_for_records "$work/udp.jsonl" "$want" 30
stop_collectors
for name in $ipfix_runs; do
    i=${domain_of[$name]}
    [ -f "$work/$i.file.jsonl" ] || continue
    grep -v '"_options"' "$work/$i.file.jsonl" | sort > "$work/$i.file.sorted"
    grep "\"_domain\":$i," "$work/udp.jsonl" | grep -v '"_options"' | sort > "$work/$i.udp.sorted" || true
    check "$name: UDP records = file records ($(wc -l < "$work/$i.file.sorted") records)" \
        diff -q "$work/$i.file.sorted" "$work/$i.udp.sorted"
done

# ---- 3. per-record values across active-timeout splits ---------------------------------
for name in 1kxun.pcap rtsp.pcap ssh.pcap ocs.pcap youtube_quic.pcap sip.pcap; do
    pcap=$(pcap_of "$name")
    rc=0
    "$NFPROBE" -r "$pcap" -q --no-dissect --active-timeout 1 --idle-timeout $NEVER \
        -P "$P666" -P splt > "$work/$name.at.json" 2> "$work/$name.at.err" || rc=$?
    [ "$rc" -eq 0 ] || { not_ok "$name --active-timeout 1: exit $rc: $(head -2 "$work/$name.at.err")"; continue; }
    if out=$(pcheck records "$pcap" "$(flows_of "$name")" "$work/$name.at.json" --splt 10 2>&1); then
        nsplit=$(echo "$out" | tail -1 | sed -n 's/.* keys, \([0-9]*\) in several.*/\1/p')
        if [ "${nsplit:-0}" -gt 0 ]; then
            ok "$name --active-timeout 1: packets_over_666 and splt lists per record = tshark's: $(echo "$out" | tail -1)"
        else
            not_ok "$name --active-timeout 1: no flow was split: $(echo "$out" | tail -1)"
        fi
    else
        not_ok "$name --active-timeout 1: per-record values vs tshark"; echo "$out" | head -20 | sed 's/^/#   /'
    fi
done
check "1kxun.pcap --active-timeout 1: records ended by the active timeout have flowEndReason 2" \
    grep -q '"end_reason":2,' "$work/1kxun.pcap.at.json"

# ---- 4. load errors ----------------------------------------------------------------------
plugin_src() {   # name C-body: a tiny plugin built against the source tree's header
    printf '#include <stddef.h>\n#include <nfprobe/plugin.h>\n%s\n' "$2" > "$work/$1.c"
    $CC -shared -fPIC -I"$top_srcdir/include" -o "$work/$1.so" "$work/$1.c" 2> "$work/$1.cc.err" ||
        fail_setup "cannot build $1.so: $(head -3 "$work/$1.cc.err")"
}
plugin_src nosym 'int not_a_plugin = 1;'
plugin_src badver 'const struct nfp_plugin nfp_plugin = {.api_version = NFP_API_VERSION + 41, .name = "badver"};'
plugin_src outside 'struct st { uint64_t a; };
static const struct nfp_field f[] = {{.name = "outsideField", .id = 1, .type = NFP_U64, .offset = 8}};
const struct nfp_plugin nfp_plugin = {.api_version = NFP_API_VERSION, .name = "outside",
    .state_size = sizeof(struct st), .fields = f, .nfields = 1};'
plugin_src clash 'struct st { uint64_t a; };
static const struct nfp_field f[] = {{.name = "packetsOver666", .id = 2, .type = NFP_U64, .json = "big_packets"}};
const struct nfp_plugin nfp_plugin = {.api_version = NFP_API_VERSION, .name = "clash",
    .state_size = sizeof(struct st), .fields = f, .nfields = 1};'
plugin_src jsonclash 'struct st { uint64_t a; };
static const struct nfp_field f[] = {{.name = "myFlowId", .id = 3, .type = NFP_U64, .json = "id"}};
const struct nfp_plugin nfp_plugin = {.api_version = NFP_API_VERSION, .name = "jsonclash",
    .state_size = sizeof(struct st), .fields = f, .nfields = 1};'
plugin_src ownpen 'struct st { uint64_t a; };
static int one(void *c, void *s, const struct nfp_packet *p, const struct nfp_flow *f)
{ (void)c, (void)p, (void)f; ((struct st *)s)->a++; return NFP_CONTINUE; }
static const struct nfp_field f[] = {{.name = "ownPenPackets", .id = 7, .type = NFP_U64, .json = "own_pen_packets"}};
const struct nfp_plugin nfp_plugin = {.api_version = NFP_API_VERSION, .name = "ownpen", .pen = 99999,
    .state_size = sizeof(struct st), .fields = f, .nfields = 1, .on_init = one, .on_update = one};'

# load_error DESCRIPTION EXIT PATTERN -- args: expect_error, and the run
# exported nothing (no IPFIX file, nothing on stdout).
load_error() {
    local what=$1 rc=$2 pattern=$3; shift 4
    rm -f "$work/le.ipfix"
    expect_error "$what" "$rc" "$pattern" -- -r "$DATA/443-curl.pcap" --json -o "$work/le.ipfix" "$@"
    if [ -e "$work/le.ipfix" ] || [ -s "$work/out" ]; then
        not_ok "$what: something was exported: $(ls -l "$work/le.ipfix" 2>&1) $(head -c 200 "$work/out")"
    else
        ok "$what: nothing exported"
    fi
}
load_error "missing file" 1 "plugin $work/nosuch.so: cannot load it: .*No such file" -- -P "$work/nosuch.so"
load_error "missing file in ." 1 "plugin nosuch.so: cannot load it" -- -P nosuch.so
load_error "not a shared object" 1 "plugin $work/nosym.c: cannot load it" -- -P "$work/nosym.c"
load_error "no nfp_plugin symbol" 1 "plugin $work/nosym.so: no symbol nfp_plugin" -- -P "$work/nosym.so"
load_error "wrong api_version" 1 "plugin $work/badver.so: built for plugin API version 42, this nfprobe has version 1" -- -P "$work/badver.so"
load_error "field outside the state" 1 "plugin $work/outside.so: field outsideField lies outside the per-flow state" -- -P "$work/outside.so"
load_error "two plugins, one element name" 1 "plugin $work/clash.so: field packetsOver666 .* clashes with element packetsOver666" -- -P "$P666" -P "$work/clash.so"
load_error "the same plugin twice" 1 "plugin $P666: field packetsOver666 .* clashes with element packetsOver666" -- -P "$P666" -P "$P666"
load_error "JSON name of a core member" 1 "plugin $work/jsonclash.so: field myFlowId .*JSON id" -- -P "$work/jsonclash.so"
load_error "splt:n=0" 1 "plugin splt: n must be 1..255, got '0'" -- -P splt:n=0
load_error "splt:n=256" 1 "n must be 1..255, got '256'" -- -P splt:n=256
load_error "splt:x=1" 1 "plugin splt: unknown argument 'x=1'" -- -P splt:x=1
load_error "arguments to packets666" 1 "plugin $P666: takes no arguments (got 'x')" -- -P "$P666:x"
load_error "unknown built-in" 1 "plugin nosuch: no such built-in plugin (built in: splt flowstats early-classify" -- -P nosuch
load_error "empty name" 1 "plugin ':n=3': no name or path before ':'" -- -P :n=3
load_error "--plugin-pen 0" 2 "--plugin-pen '0'" -- --plugin-pen 0 -P "$P666"
load_error "--plugin-pen 2^32" 2 "--plugin-pen '4294967296'" -- --plugin-pen 4294967296 -P "$P666"
load_error "--plugin-pen junk" 2 "--plugin-pen 'x'" -- --plugin-pen x -P "$P666"

# PEN 29305 is RFC 5103's: its ids are the reverse twins of IANA's (29305/1
# is reverseOctetDeltaCount), so plugin elements must not go there.
for spec in "$P666" splt; do
    rm -f "$work/le.ipfix"
    rc=0
    timeout "$(bound 20)" "$NFPROBE" -r "$DATA/443-curl.pcap" --json -o "$work/le.ipfix" --plugin-pen 29305 -P "$spec" \
        > "$work/out" 2> "$work/err" || rc=$?
    if [ "$rc" -ne 0 ] && [ "$(grep -c '' "$work/err")" -eq 1 ] && grep -q 29305 "$work/err" &&
       [ ! -e "$work/le.ipfix" ] && [ ! -s "$work/out" ]; then
        ok "--plugin-pen 29305 -P $(basename "$spec") refused: $(cat "$work/err")"
    else
        not_ok "--plugin-pen 29305 -P $(basename "$spec") (the RFC 5103 reverse PEN) accepted: exit $rc, IPFIX file $(test -e "$work/le.ipfix" && echo written || echo absent) $(grep -v '^nfprobe: \(packets\|flows\|export\)' "$work/err" | head -1)"
    fi
done

# ---- 5. --plugin-pen ---------------------------------------------------------------------
# (--no-decode-tunnels: nfprobe's own tunnel elements stay under 32473 whatever
# --plugin-pen says; here only the plugins' elements are looked at)
"$NFPROBE" --plugin-pen 12345 --no-decode-tunnels -P "$P666" -P splt -P "$work/ownpen.so" --list-fields > "$work/pen.fields" 2>&1
check "--plugin-pen 12345: --list-fields shows packetsOver666 as 12345/1" grep -Eq '^packetsOver666 +12345/1 ' "$work/pen.fields"
check "--plugin-pen 12345: spltPacketSize as 12345/11" grep -Eq '^spltPacketSize +12345/11 ' "$work/pen.fields"
check "--plugin-pen 12345: a plugin with its own PEN keeps it (99999/7)" grep -Eq '^ownPenPackets +99999/7 ' "$work/pen.fields"
check "--plugin-pen 12345: nothing left under $PEN" sh -c "! grep -Eq ' $PEN/' '$work/pen.fields'"
"$NFPROBE" -r "$DATA/443-curl.pcap" -q --no-dissect --no-decode-tunnels --json --plugin-pen 12345 -P "$P666" -P splt -P "$work/ownpen.so" \
    -o "$work/pen.ipfix" > "$work/pen.json" 2> "$work/pen.err"
pcheck elements "$work/pen.ipfix" > "$work/pen.elements" 2>&1
ens=$(sed -n 's/^field //p' "$work/pen.elements" | tr '\n' ' ')
check "--plugin-pen 12345: the IPFIX records carry 12345/1 12345/10 12345/11 12345/12 99999/7 (${ens:-none})" \
    test "$ens" = "12345/1 12345/10 12345/11 12345/12 99999/7 "
ann=$(sed -n 's/^announced //p' "$work/pen.elements" | tr '\n' ',')
check "--plugin-pen 12345: RFC 5610 records announce the names under the new PEN (${ann:-none})" \
    test "$ann" = "ownPenPackets 99999/7 type=4,packetsOver666 12345/1 type=4,spltDirection 12345/10 type=1,spltInterArrivalMs 12345/12 type=3,spltPacketSize 12345/11 type=2,"
"$COLLECTOR" -r "$work/pen.ipfix" > "$work/pen.jsonl" 2> /dev/null
printf 'packetsOver666 packets_over_666\nspltPacketSize splt_ps\nownPenPackets own_pen_packets\n' > "$work/pen.names"
check "--plugin-pen 12345: collector-test shows the elements by the names announced, = JSON" \
    pcheck ipfix "$work/pen.json" "$work/pen.jsonl" "$work/pen.names"
check "--plugin-pen 12345: own_pen_packets = the flow's packets" python3 -c '
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(not r or any(f["own_pen_packets"] != f["src2dst_packets"] + f["dst2src_packets"] for f in r))' "$work/pen.json"

# ---- 6. the installed API ------------------------------------------------------------------
if make -C "$top_builddir" install DESTDIR="$work/inst" > "$work/install.log" 2>&1; then
    ok "make install DESTDIR=..."
else
    not_ok "make install DESTDIR=...: $(tail -5 "$work/install.log")"
fi
hdr=$(find "$work/inst" -path '*/include/nfprobe/plugin.h' | head -1)
pc=$(find "$work/inst" -path '*/lib*/pkgconfig/nfprobe-plugin.pc' | head -1)
check "installed include/nfprobe/plugin.h (${hdr#"$work/inst"}) = the source's" cmp "$hdr" "$top_srcdir/include/nfprobe/plugin.h"
check "installed lib/pkgconfig/nfprobe-plugin.pc (${pc#"$work/inst"})" test -n "$pc"
cflags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_LIBDIR=$(dirname "$pc") pkg-config --define-prefix --cflags nfprobe-plugin 2> "$work/pc.err" | sed 's/ *$//')
check "pkg-config --cflags nfprobe-plugin points at the installed header ($cflags)" \
    test "$cflags" = "-I$(dirname "$(dirname "$hdr")")"
# shellcheck disable=SC2086
if $CC -std=c11 -Wall -Wextra -Werror -shared -fPIC $cflags -o "$work/inst666.so" "$top_srcdir/examples/packets666.c" 2> "$work/inst.cc.err"; then
    ok "examples/packets666.c builds against the installed API"
else
    not_ok "examples/packets666.c against the installed API: $(head -3 "$work/inst.cc.err")"
fi
for name in edge.pcap 1kxun.pcap http_ipv6.pcap; do
    pcap=$(pcap_of "$name")
    "$NFPROBE" -r "$pcap" -q --no-dissect -P "$work/inst666.so" > "$work/$name.inst.json" 2> "$work/$name.inst.err"
    check "$name: the installed-API build counts as the in-tree one" cmp "$work/$name.inst.json" "$work/$name.666.json"
done

finish
