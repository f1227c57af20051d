#!/usr/bin/env bash
# nfprobe as the systemd unit runs it, without systemd as PID 1: the command
# line is the unit's own ExecStart= (read from systemd/nfprobe@.service.in,
# @bindir@ = this build, @sysconfdir@ = a directory of the test's, %i = the
# interface), started as root with the unit's CapabilityBoundingSet= and
# NoNewPrivileges= applied by setpriv, as systemd would. So it reads
# ETC/nfprobe/IFACE.conf, captures on IFACE and becomes the user nfprobe
# (where it does not exist, a user made for the test, removed after).
#
# The interface is the host end of a veth pair whose other end is in a
# namespace of the test's own (lib.sh netns_start). From there,
# tests/tools/veth_traffic.py sends known frames (both directions of TCP,
# UDP and ICMP flows, IPv4 and IPv6; nobody's MAC, so nobody answers) in
# three phases; nfprobe exports to collector-test over TCP:
#   1. collector 1 gets phase 1's closed TCP flows (4 records, TCP close);
#   2. collector 1 is stopped; phase 2's closed TCP flows end while no
#      collector listens (queued); collector 2 starts on the same port and
#      nfprobe, unprivileged, reconnects and sends them;
#   3. phase 3 (TCP left open), then SIGTERM: every flow still in the cache
#      (UDP and ICMP of all phases, idle timeout 600 s, and phase 3's TCP) is
#      exported (forced end) before nfprobe exits 0.
# Checks: what the two collectors received is exactly the traffic sent
# (26 one-way records: packets and octets per direction, end reasons), no
# record twice; while running, ps shows nfprobe as that user (real,
# effective, saved, file-system ids), with no capabilities, and the interface
# in promiscuous mode (CAP_NET_RAW alone sufficed). Readiness: nfprobe's
# lines (capturing, running as, statistics every second), the collectors'
# records; no sleeps. Needs root and `ip netns` (else skipped).
set -u
. "$(dirname "$0")/lib.sh"

unit="$top_srcdir/systemd/nfprobe@.service.in"
command -v setpriv > /dev/null || { echo "# setpriv (util-linux) not installed: skipped"; exit 77; }
netns_start

# The unit's user, nfprobe, made by the Debian package. Where it does not
# exist, a throwaway system user of the test's own takes its place in the
# command line (the machine may be shared: a user nfprobe made and removed
# here could pull the rug from under a package being installed meanwhile).
user=nfprobe made_user=
if ! id nfprobe > /dev/null 2>&1; then
    user=nfpt$$
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user" ||
        fail_setup "cannot create the user $user"
    made_user=$user
fi
trap 'netns_cleanup; [ -z "$made_user" ] || userdel "$made_user" || echo "# could not remove the user $made_user made for the test"; cleanup' EXIT
uid=$(id -u "$user")

# The unit's command line and privileges.
execstart=$(sed -n 's/^ExecStart=//p' "$unit")
execstart=${execstart//@bindir@/$(cd "$top_builddir" && pwd)}
execstart=${execstart//@sysconfdir@/$work/etc}
execstart=${execstart//%i/$vh}
[ "$user" = nfprobe ] || execstart=${execstart/%-u nfprobe/-u $user}
[[ "$execstart" == *"-u $user" ]] || fail_setup "ExecStart= does not end with -u nfprobe: $execstart"
read -r -a cmd <<< "$execstart"
bset=-all
for c in $(sed -n 's/^CapabilityBoundingSet=//p' "$unit"); do c=${c#CAP_}; bset="$bset,+${c,,}"; done
nnp=()
grep -qx 'NoNewPrivileges=yes' "$unit" && nnp=(--no-new-privs)
echo "# ExecStart: ${cmd[*]}"
echo "# capabilities: $bset ${nnp[*]}"

port=$(free_port tcp)
mkdir -p "$work/etc/nfprobe"
cat > "$work/etc/nfprobe/$vh.conf" <<CONF
# tests/service_netns.sh
collector = tcp://127.0.0.1:$port
filter = host $N4 or host $N6
idle-timeout = 600
tcp-close-timeout = 2
stats = 1
drain-timeout = 60
CONF

start_collector tcp "$port" "$work/first.jsonl"
setpriv --bounding-set "$bset" --inh-caps -all "${nnp[@]}" -- "${cmd[@]}" > "$work/nfprobe.out" 2> "$work/nfprobe.err" &
nfprobe_pid=$!
pids+=($nfprobe_pid)
wait_for_line "$work/nfprobe.err" "running as $user (uid $uid)" 20 ||
    fail_setup "nfprobe did not start as the unit runs it: $(head -5 "$work/nfprobe.err")"
check "started as the unit runs it: capturing on $vh" grep -q "^nfprobe: capturing on $vh\$" "$work/nfprobe.err"

ids=$(ps -o ruid=,euid=,suid=,fsuid=,rgid=,egid=,sgid=,fsgid= -p "$nfprobe_pid" | xargs)
gid=$(id -g "$user")
echo "# ps: user $(ps -o user= -p "$nfprobe_pid"), ids $ids"
check "ps: nfprobe runs as $user, not root (uids and gids: $ids)" \
    test "$ids" = "$uid $uid $uid $uid $gid $gid $gid $gid"
caps=$(awk '/^Cap(Prm|Eff|Amb):/ { printf "%s ", $2 }' "/proc/$nfprobe_pid/status")
check "no capabilities left (permitted, effective, ambient: $caps)" \
    test "$caps" = "0000000000000000 0000000000000000 0000000000000000 "
promisc=$(ip -d link show "$vh" | sed -n 's/.* promiscuity \([0-9]*\) .*/\1/p')
check "$vh in promiscuous mode with CAP_NET_RAW alone (promiscuity ${promisc:-?})" test "${promisc:-0}" -ge 1

# Statistics every second: wait until nfprobe has seen N packets, or ended N
# flows (each one or two one-way records) on TCP close.
stat_seen() { sed -n 's/^nfprobe: packets: \([0-9]*\) seen.*/\1/p' "$work/nfprobe.err" | tail -1; }
stat_tcp_closed() { sed -n 's/^nfprobe: flows: .* end \([0-9]*\),.*/\1/p' "$work/nfprobe.err" | tail -1; }
wait_stat() {   # function value seconds
    local deadline=$(deadline_in "$3") v
    while :; do
        v=$($1); [ "${v:-0}" -ge "$2" ] && return 0
        [ $SECONDS -lt $deadline ] || { echo "# $1: ${v:-none} after $(bound "$3") s, wanted $2"; return 1; }
        sleep 0.1
    done
}
traffic() {   # phase [--open]
    inns python3 "$TOOLS/veth_traffic.py" "$vn" "$1" "$N4" "$H4" "$N6" "$H6" "${@:2}" >> "$work/sent.jsonl" ||
        fail_setup "veth_traffic.py phase $1 failed"
}
sent_packets() { python3 -c 'import json, sys; print(sum(json.loads(l)["packets"] for l in open(sys.argv[1])))' "$work/sent.jsonl"; }

# 1. Phase 1: its 2 TCP flows close, 4 records reach collector 1.
traffic 1
wait_for_records "$work/first.jsonl" 4 60 || not_ok "collector 1: phase 1's TCP records did not arrive"
stop_collectors

# 2. Phase 2 while no collector listens; its TCP records are queued.
traffic 2
check "nfprobe saw the collector go" wait_for_line "$work/nfprobe.err" "queueing records and retrying" 60
check "phase 2's TCP flows ended while the collector was away (4 flows ended on TCP close)" wait_stat stat_tcp_closed 4 60
start_collector tcp "$port" "$work/second.jsonl"
check "reconnected, unprivileged" wait_for_line "$work/nfprobe.err" "collector tcp://127.0.0.1:$port: connected" 60
wait_for_records "$work/second.jsonl" 4 60 || not_ok "collector 2: the queued records did not arrive"

# 3. Phase 3, TCP left open; once nfprobe has seen every packet, SIGTERM.
traffic 3 --open
want_packets=$(sent_packets)
check "nfprobe saw all $want_packets packets sent" wait_stat stat_seen "$want_packets" 60
still=$(ps -o user= -p "$nfprobe_pid")
check "still running as $user before SIGTERM ($still)" test "$still" = "$user"
t0=$(date +%s%N)
kill -TERM "$nfprobe_pid"
rc=0; wait "$nfprobe_pid" || rc=$?
echo "# SIGTERM to exit: $((($(date +%s%N) - t0) / 1000000)) ms"
check "exit 0 on SIGTERM (rc $rc: $(grep -v '^nfprobe: \(packets\|flows\|DPI\|kernel\|export\)' "$work/nfprobe.err" | tail -2 | tr '\n' ' '))" test "$rc" -eq 0
# One record per direction of a flow (the ICMP echo flow spans the phases).
want_records=$(python3 -c 'import json, sys; print(len({tuple(json.loads(l)[k] for k in ("src", "dst", "sport", "dport", "proto")) for l in open(sys.argv[1])}))' "$work/sent.jsonl")
wait_for_records "$work/second.jsonl" $((want_records - $(grep -vc '"_options"' "$work/first.jsonl"))) 30
stop_collectors
echo "# records: $(grep -vc '"_options"' "$work/first.jsonl") to collector 1, $(grep -vc '"_options"' "$work/second.jsonl") to collector 2, $want_records one-way records to expect"

check "collector 1: exactly phase 1's closed TCP flows" python3 - "$work/first.jsonl" "$work/sent.jsonl" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"_options"' not in l]
got = sorted((r["sourceTransportPort"], r["destinationTransportPort"]) for r in recs)
want = sorted([(20001, 80), (80, 20001), (21001, 443), (443, 21001)])
if got != want:
    sys.exit("got %s, want %s" % (got, want))
PY

check "both collectors together: exactly the traffic sent, each record once, ended as expected" \
    python3 - "$work/first.jsonl" "$work/second.jsonl" "$work/sent.jsonl" <<'PY'
import ipaddress, json, sys
def addr(r, side):
    return str(ipaddress.ip_address(r.get(side + "IPv4Address") or r.get(side + "IPv6Address")))
got, errors = {}, []
for path in sys.argv[1:3]:
    for line in open(path):
        r = json.loads(line)
        if r.get("_options"):
            continue
        k = (addr(r, "source"), addr(r, "destination"), r["sourceTransportPort"],
             r["destinationTransportPort"], r["protocolIdentifier"])
        if k in got:
            errors.append("twice: %s" % (k,))
        got[k] = (r["packetDeltaCount"], r["octetDeltaCount"], r["flowEndReason"])
want = {}
for line in open(sys.argv[3]):
    s = json.loads(line)
    k = (str(ipaddress.ip_address(s["src"])), str(ipaddress.ip_address(s["dst"])), s["sport"], s["dport"], s["proto"])
    p, o, _ = want.get(k, (0, 0, 0))
    # TCP flows closed both ways end on TCP close (3), all others at SIGTERM (4).
    want[k] = (p + s["packets"], o + s["octets"], 3 if s["tcp_closed"] else 4)
for k in sorted(set(got) | set(want)):
    if got.get(k) != want.get(k):
        errors.append("%s: got (packets, octets, reason) %s, want %s" % (k, got.get(k), want.get(k)))
print("%d records, %d packets" % (len(got), sum(v[0] for v in got.values())))
if errors:
    sys.exit("\n".join(errors))
PY
seen=$(stat_seen)
check "nfprobe's last statistics: $seen packets seen = $want_packets sent" test "$seen" = "$want_packets"
check "no record dropped" grep -q "^nfprobe: export tcp://127.0.0.1:$port: [0-9]* messages, $want_records records sent, 0 records dropped" "$work/nfprobe.err"

finish
