# Shared by the shell tests: paths, free ports, collectors, ok/not ok lines.
# shellcheck shell=bash
top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
NFPROBE=${NFPROBE:-$top_builddir/nfprobe}
COLLECTOR=${COLLECTOR:-$top_builddir/collector-test/collector-test}
DATA=${DATA:-$top_srcdir/../shared/testdata/pcap}
EXPECTED=$top_srcdir/tests/expected
TOOLS=$top_srcdir/tests/tools

# Waiting: every wait ends as soon as what it waits for is there (a line
# printed, a port bound, records arrived), so its upper bound costs nothing
# unless something is broken, and a loaded machine (CI, sanitizers, other
# jobs) can be many times slower than a quiet one. Tests give bounds as the
# seconds something takes at most on a quiet machine; they are multiplied by
# PATIENCE. Never a guessed sleep.
PATIENCE=${PATIENCE:-10}
bound() { echo $(($1 * PATIENCE)); }                    # seconds -> seconds allowed
deadline_in() { echo $((SECONDS + $1 * PATIENCE)); }    # seconds -> a $SECONDS deadline

work=$(mktemp -d "${TMPDIR:-/tmp}/nfprobe-test.XXXXXX")
collector_pids=()
passed=0
failed=0

cleanup() {
    local p
    for p in "${collector_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "$failed" -eq 0 ] && [ -z "${KEEP_WORK:-}" ]; then rm -rf "$work"; else echo "# work files kept in $work"; fi
}
trap cleanup EXIT

# Every python3 a test starts is Debian's: the modules the tests import come
# from Debian's packages (python3-pandas, python3-paho-mqtt, python3-zmq),
# which a python3 earlier in PATH (pyenv, a venv) does not see; and a pyenv
# shim costs a quarter of a second a start (tests/e2e.sh starts 565).
if [ -x /usr/bin/python3 ]; then
    mkdir "$work/bin" && ln -s /usr/bin/python3 "$work/bin/python3" && PATH=$work/bin:$PATH
fi

ok() { passed=$((passed + 1)); echo "ok $((passed + failed)) - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok $((passed + failed)) - $*"; }
fail_setup() { echo "setup failed: $*" >&2; exit 99; }

# report DESCRIPTION STATUS OUTPUT: ok when STATUS is 0; else not ok, and
# the output's first lines as comments.
report() {
    if [ "$2" -eq 0 ]; then ok "$1"; else not_ok "$1"; echo "$3" | head -30 | sed 's/^/#   /'; fi
}

# check DESCRIPTION COMMAND...: ok when the command succeeds; its output is
# shown only on failure.
check() {
    local what=$1; shift
    local out rc=0
    out=$("$@" 2>&1) || rc=$?
    report "$what" "$rc" "$out"
}

# check_py DESCRIPTION SCRIPT ARGS...: check with python3 SCRIPT ARGS, queued;
# py_checks (or finish) runs the queue in one python process and reports
# each in order (tests/tools/pybatch.py: a python start costs more than
# most such checks). The files a queued check reads must stay as they are
# until then.
check_py() {
    local what=$1; shift
    printf '%s\0' "$what" "$#" "$@" >> "$work/py-queue"
}

py_checks() {
    [ -s "$work/py-queue" ] || return 0
    local status what out
    while IFS= read -r -d '' status && IFS= read -r -d '' what && IFS= read -r -d '' out; do
        report "$what" "$status" "$out"
    done < <(python3 "$TOOLS/pybatch.py" "$work/py-queue" || printf '1\0pybatch.py itself failed\0\0')
    rm -f "$work/py-queue"
}

finish() {
    py_checks
    echo "# $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# A port nobody listens on now (the kernel picks it).
free_port() {   # udp|tcp
    python3 - "$1" <<'EOF'
import socket, sys
kind = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, kind)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

# Wait until FILE has a line matching PATTERN (a daemon said it is ready).
wait_for_line() {   # file pattern seconds
    local deadline=$(deadline_in "$3")
    until grep -q "$2" "$1" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

start_collector() {   # udp|tcp port output [collector-test options]
    local kind=$1 port=$2 out=$3; shift 3
    "$COLLECTOR" -l "$kind://127.0.0.1:$port" "$@" > "$out" 2> "$out.err" &
    collector_pids+=($!)
    wait_for_line "$out.err" "listening on" 10 || fail_setup "collector-test on $kind port $port did not start: $(cat "$out.err")"
}

# Kill a collector (SIGKILL) while nfprobe streams to it over TCP or TLS, at
# a moment when it has read and written out all it was sent: nfprobe paused
# (SIGSTOP), the connection's queues empty both ways, the collector waiting
# in poll(); then nfprobe goes on. A message the collector's kernel has
# acknowledged but the collector has not read is lost uncounted (IPFIX has
# no application-level acknowledgement; README says so), and on a loaded
# machine a kill at any other moment can fall in that window.
kill_collector_between_messages() {   # nfprobe-pid collector-pid port
    local deadline=$(deadline_in 10) queued
    kill -STOP "$1"
    while :; do
        queued=$(ss -tnH state established "( sport = :$3 or dport = :$3 )" | awk '{ s += $1 + $2 } END { print s + 0 }')
        [ "$queued" -eq 0 ] && grep -q poll "/proc/$2/wchan" 2> /dev/null && break
        [ $SECONDS -lt $deadline ] || fail_setup "the connection to the collector on port $3 never emptied: $(ss -tn "( sport = :$3 or dport = :$3 )")"
        sleep 0.05
    done
    kill -KILL "$2"
    wait "$2" 2> /dev/null
    kill -CONT "$1"
}

stop_collectors() {
    local p
    for p in "${collector_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${collector_pids[@]}"; do wait "$p" 2>/dev/null; done
    collector_pids=()
}

# Wait until FILE holds COUNT data records (options records excluded).
wait_for_records() {   # file count seconds
    wait_for_records_in "$2" "$3" "$1"
}

# Wait until the FILEs hold COUNT data records together.
wait_for_records_in() {   # count seconds file...
    local want=$1 secs=$2 deadline n
    shift 2
    deadline=$(deadline_in "$secs")
    while :; do
        n=$(cat "$@" 2>/dev/null | grep -vc '"_options"' || true)
        [ "${n:-0}" -ge "$want" ] && return 0
        [ $SECONDS -lt $deadline ] || { echo "# $*: $n of $want records after $(bound "$secs") s"; return 1; }
        sleep 0.1
    done
}

# ---- Helpers for the interoperability and live tests ----

NEVER=${NEVER:-100000000}   # seconds: no timeout inside a capture

# Wait until a UDP socket is bound to PORT on this host (a daemon is listening).
wait_udp_bound() {   # port seconds
    local deadline=$(deadline_in "$2")
    until ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

# Wait until the UDP socket bound to PORT has nothing queued (its daemon has
# read every datagram).
wait_udp_drained() {   # port seconds
    local deadline=$(deadline_in "$2") q
    while :; do
        q=$(ss -Hlun "sport = :$1" 2>/dev/null | awk '{q += $2} END {print q + 0}')
        [ "$q" -eq 0 ] && return 0
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

# UDP receive-buffer overruns so far on this host (kernel counter).
udp_rcvbuf_errors() {
    awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp
}

# Wait until process PID (not necessarily our child) is gone.
wait_pid_gone() {   # pid seconds
    local deadline=$(deadline_in "$2")
    while kill -0 "$1" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

# Totals of an expected flow table (tests/expected/*.flows):
# "packets bytes one-way-records" (a one-way record per direction with packets).
expected_totals() {   # file.flows
    awk '!/^#/ && NF >= 12 { p += $7 + $10; b += $8 + $11; r += ($7 > 0) + ($10 > 0) }
         END { print p + 0, b + 0, r + 0 }' "$1"
}

# A deterministic synthetic capture from bench/gen_pcap.c (IPv4 and IPv6, TCP
# and UDP), with OUT.meta holding its exact totals (packets, ip_bytes,
# flow_directions, ...). Built into $work.
synthetic_pcap() {   # out.pcap packets flows seed seconds
    [ -x "$work/gen_pcap" ] || ${CC:-cc} -std=c11 -O2 -o "$work/gen_pcap" "$top_srcdir/bench/gen_pcap.c" || return 1
    "$work/gen_pcap" "$@" 2> /dev/null
}

meta_value() {   # file.meta key
    sed -n "s/^$2=//p" "$1"
}

# A one-packet capture: UDP 198.51.100.254:SPORT -> 198.51.100.253:9 (an
# IPv4 datagram of 42 bytes), sent to a collector to mark a point in a stream.
marker_pcap() {   # out.pcap sport
    python3 - "$1" "$2" <<'PY'
import struct, sys
out, sport = sys.argv[1], int(sys.argv[2])
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    return ~(s + (s >> 16)) & 0xffff
payload = b"nfprobe-marker"
udp = struct.pack("!HHHH", sport, 9, 8 + len(payload), 0) + payload
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                 bytes([198, 51, 100, 254]), bytes([198, 51, 100, 253]))
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
frame = b"\x02\0\0\0\0\x02\x02\0\0\0\0\x01\x08\x00" + ip + udp
with open(out, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
    f.write(struct.pack("<IIII", 1700000000, 0, len(frame), len(frame)) + frame)
PY
}

# tshark capturing UDP to PORT on lo into FILE, stopped by stop_tshark (and at
# exit). "Capturing on 'Loopback: lo'" on stderr is not enough: a datagram sent
# right after it can be missed (seen: the first message, with the templates).
# So tshark also captures a probe port, and probes are sent there until one is
# in its file; read only PORT's frames from FILE.
tshark_pid=
start_tshark() {   # port file
    local probe_port deadline
    probe_port=$(free_port udp)
    tshark -i lo -f "udp port $1 or udp port $probe_port" -w "$2" > "$2.out" 2> "$2.err" &
    tshark_pid=$!
    trap 'stop_tshark; cleanup' EXIT
    wait_for_line "$2.err" "Capturing on" 20 || fail_setup "tshark did not start capturing: $(cat "$2.err")"
    deadline=$(deadline_in 20)
    until [ "$(tshark -r "$2" -T fields -e frame.number 2> /dev/null | wc -l)" -ge 1 ]; do
        [ $SECONDS -lt $deadline ] || fail_setup "tshark captured none of the probes to port $probe_port"
        python3 -c 'import socket, sys; socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"probe", ("127.0.0.1", int(sys.argv[1])))' "$probe_port"
        sleep 0.1
    done
}
stop_tshark() {
    [ -n "$tshark_pid" ] || return 0
    kill -INT "$tshark_pid" 2> /dev/null
    wait "$tshark_pid" 2> /dev/null
    tshark_pid=
}

# nfacctd's core process does not exit on SIGTERM (REFERENCE.md): signal its
# process group (started with setsid; its pid in nfacctd_pid), wait for the
# plugin to finish and exit, then kill the core.
nfacctd_pid=
stop_nfacctd() {
    [ -n "$nfacctd_pid" ] || return 0
    local deadline=$(deadline_in 10)
    kill -TERM -- "-$nfacctd_pid" 2> /dev/null
    while [ $SECONDS -lt $deadline ] &&
          ps -o pid=,stat= -g "$nfacctd_pid" 2> /dev/null | awk -v core="$nfacctd_pid" '$1 != core && $2 !~ /^Z/' | grep -q .; do
        sleep 0.05
    done
    kill -KILL -- "-$nfacctd_pid" 2> /dev/null
    wait "$nfacctd_pid" 2> /dev/null
    nfacctd_pid=
}

# expect_error DESCRIPTION EXIT PATTERN -- nfprobe arguments: nfprobe must
# exit with EXIT and say PATTERN in exactly one line.
expect_error() {   # description exit pattern -- args
    local what=$1 want_rc=$2 pattern=$3; shift 4
    local rc=0
    timeout "$(bound 20)" "$NFPROBE" "$@" > "$work/out" 2> "$work/err" || rc=$?
    if [ "$rc" -ne "$want_rc" ]; then
        not_ok "$what: exit $rc, wanted $want_rc: $(head -2 "$work/err")"
    elif ! grep -q -- "$pattern" "$work/err"; then
        not_ok "$what: message does not say '$pattern': $(head -2 "$work/err")"
    elif [ "$(grep -c '' "$work/err")" -ne 1 ]; then
        not_ok "$what: wanted one line, got: $(cat "$work/err")"
    else
        ok "$what: $(cat "$work/err")"
    fi
}

# nfacctd keeps datagrams that arrive soon after it binds in its core until
# more data comes (REFERENCE.md, tests/interop_nfacctd.sh): send a one-record
# marker flow from 198.51.100.254 (MARKER) every 0.2 s until the print plugin
# wrote it to CSV. Prints how many markers it took. Needs marker_pcap.
MARKER=198.51.100.254
push_through_nfacctd() {   # port csv seconds [nfprobe options, e.g. -V 9]
    local port=$1 csv=$2 deadline=$(deadline_in "$3") marks=0
    shift 3
    [ -f "$work/marker.pcap" ] || marker_pcap "$work/marker.pcap" 9 || return 1
    until grep -Eq "(^|,)$MARKER," "$csv" 2> /dev/null; do
        [ $SECONDS -lt $deadline ] || break
        "$NFPROBE" -q "$@" -r "$work/marker.pcap" -c "udp://127.0.0.1:$port" > /dev/null 2>&1
        marks=$((marks + 1))
        sleep 0.2
    done
    echo "$marks"
}

# After push_through_nfacctd: wait until the print plugin's totals (the
# markers left out) reach PACKETS and BYTES, or SECONDS (x PATIENCE) pass;
# nfacctd writes its CSV on a timer, so the totals grow in steps. A CSV not
# written yet reads as zero totals.
wait_for_nfacctd_totals() {   # csv packets bytes seconds
    local csv=$1 want_p=$2 want_b=$3 deadline got gp gb
    deadline=$(deadline_in "$4")
    while :; do
        got=$(python3 "$TOOLS/interop_check.py" pmacct-totals "$csv" --exclude-src "$MARKER" 2> /dev/null)
        read -r gp gb _ <<< "$got"
        [ "${gp:-0}" -ge "$want_p" ] && [ "${gb:-0}" -ge "$want_b" ] && return 0
        [ $SECONDS -lt $deadline ] || return 0
        sleep 0.1
    done
}

# nfcapd (daemonised, its pid in nfcapd_pid) writes its file when it exits on
# SIGTERM: stop it and wait for that.
nfcapd_pid=
stop_nfcapd() {
    [ -n "$nfcapd_pid" ] || return 0
    kill -TERM "$nfcapd_pid" 2> /dev/null
    wait_pid_gone "$nfcapd_pid" 20 || { kill -KILL "$nfcapd_pid" 2> /dev/null; echo "# nfcapd $nfcapd_pid did not exit on SIGTERM"; }
    nfcapd_pid=
}

# nfacctd (pmacct) as REFERENCE.md runs it: print plugin, CSV to DIR/print.csv
# refreshed every second, a 4 MiB pipe; started with setsid (see
# stop_nfacctd) and ready once its UDP port is bound. Non-zero if it is not.
start_nfacctd() {   # dir port aggregate [one more config line]
    cat > "$1/nfacctd.conf" <<CONF
daemonize: false
nfacctd_ip: 127.0.0.1
nfacctd_port: $2
nfacctd_pipe_size: 4194304
plugins: print[p]
aggregate[p]: $3
print_output[p]: csv
print_output_file[p]: $1/print.csv
print_output_file_append[p]: true
print_refresh_time[p]: 1
${4:-}
CONF
    setsid nfacctd -f "$1/nfacctd.conf" > "$1/nfacctd.log" 2>&1 &
    nfacctd_pid=$!
    wait_udp_bound "$2" 10
}

# ---- A network namespace of the test's own ----------------------------------
# netns_start: a veth pair, the host end $vh ($H4/24, $H6/64), the other end
# $vn in a new namespace $ns ($N4, $N6); addresses from the first /24 of
# 192.0.2, 198.51.100, 10.253.77 and /64 of 2001:db8:4e46/7 that the host does
# not use already (a documentation range may be a real one here: seen
# 192.0.2.2/24 on eth0); IPv6 without DAD. Skips the test (77) without root,
# `ip netns` or a free prefix. On exit the processes in pids are stopped and
# the link and namespace removed. inns CMD...: run CMD in the namespace.
pids=()
netns_cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2> /dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2> /dev/null; done
    ip link del "$vh" 2> /dev/null
    ip netns del "$ns" 2> /dev/null
}
inns() { ip netns exec "$ns" "$@"; }
netns_start() {
    local p net4= net6= deadline
    [ "$(id -u)" -eq 0 ] || { echo "# not root: skipped"; exit 77; }
    ip netns list > /dev/null 2>&1 || { echo "# ip netns unavailable: skipped"; exit 77; }
    # Tests run at once (make -j): one at a time picks an unused prefix and
    # puts it on its veth, else two pick the same and each one's packets
    # may be routed into the other's namespace.
    local lock
    exec {lock}> "${TMPDIR:-/tmp}/nfprobe-test-netns.lock" && flock -w "$(bound 30)" "$lock" ||
        fail_setup "cannot lock ${TMPDIR:-/tmp}/nfprobe-test-netns.lock"
    for p in 192.0.2 198.51.100 10.253.77; do
        if [ -z "$(ip -4 addr show to "$p.0/24")" ] && [ -z "$(ip -4 route show to match "$p.1" | grep -v '^default')" ]; then net4=$p; break; fi
    done
    for p in 2001:db8:4e46 2001:db8:4e47; do
        if [ -z "$(ip -6 addr show to "$p::/64")" ] && [ -z "$(ip -6 route show to match "$p::1" | grep -v '^default')" ]; then net6=$p; break; fi
    done
    [ -n "$net4" ] && [ -n "$net6" ] || { echo "# no unused test prefix on this host: skipped"; exit 77; }
    ns=nfpns$$ vh=nfph$$ vn=nfpn$$
    H4=$net4.1 N4=$net4.2 H6=$net6::1 N6=$net6::2
    echo "# namespace $ns, $vh ($H4, $H6) <-> $vn ($N4, $N6)"
    trap 'netns_cleanup; cleanup' EXIT
    ip netns add "$ns" || fail_setup "ip netns add failed"
    ip link add "$vh" type veth peer name "$vn" netns "$ns" || fail_setup "cannot create veth"
    sysctl -qw "net.ipv6.conf.$vh.accept_ra=0" 2> /dev/null
    ip addr add "$H4/24" dev "$vh" && ip addr add "$H6/64" dev "$vh" nodad && ip link set "$vh" up &&
        inns ip addr add "$N4/24" dev "$vn" && inns ip addr add "$N6/64" dev "$vn" nodad &&
        inns ip link set lo up && inns ip link set "$vn" up || fail_setup "cannot configure the veth pair"
    exec {lock}>&-
    deadline=$(deadline_in 10)
    until ip link show "$vh" | grep -q 'LOWER_UP' && inns ip link show "$vn" | grep -q 'LOWER_UP'; do
        [ $SECONDS -lt $deadline ] || fail_setup "veth pair not up"
        sleep 0.05
    done
}

