#!/usr/bin/env bash
# zmq:// against a real ntopng 5.2 (community edition, built from source with
# ../shared/tools/build-ntopng.sh; see README "Feeding ntopng"): captures fed
# with --zmq-now to ntopng's two kinds of ZMQ interface, nfprobe binding
# (ntopng -i tcp://HOST:PORT) and connecting (ntopng -i tcp://HOST:PORTc,
# collector mode). ntopng's REST API must show every exported flow with the
# same client, server, ports, packets and bytes per direction and application
# (tests/tools/ntopng_check.py), and its ZMQ drop counter must stay 0.
# The ntopng binary: $NTOPNG, else ntopng on PATH, else the build script's
# directory next to the checkout; none: the test is skipped.
set -u
. "$(dirname "$0")/lib.sh"

find_ntopng() {
    local c
    for c in "${NTOPNG:-}" "$(command -v ntopng 2> /dev/null)" \
             "$top_srcdir/../ntopng-build/ntopng-5.2-stable/ntopng" \
             "$top_srcdir/../../ntopng-build/ntopng-5.2-stable/ntopng"; do
        [ -n "$c" ] && [ -x "$c" ] && { echo "$c"; return 0; }
    done
    return 1
}
ntopng=$(find_ntopng) || {
    echo "1..0 # SKIP no ntopng binary: set NTOPNG=/path/to/ntopng (build one with ../shared/tools/build-ntopng.sh, README \"Feeding ntopng\")"
    exit 77
}
command -v redis-server > /dev/null || { echo "1..0 # SKIP redis-server not installed (ntopng needs it)"; exit 77; }
ntopng=$(cd "$(dirname "$ntopng")" && pwd)/$(basename "$ntopng")
echo "# ntopng: $ntopng ($("$ntopng" --version 2>&1 | sed -n 's/^Version:[[:space:]]*//p'))"

redis_port=$(free_port tcp)
http_port=$(free_port tcp)
bind_port=$(free_port tcp)      # nfprobe binds, ntopng connects
coll_port=$(free_port tcp)      # ntopng binds (collector mode), nfprobe connects
url=http://127.0.0.1:$http_port

stop_ntopng() {
    local pid
    pid=$(cat "$work/ntopng.pid" 2> /dev/null) && kill -TERM "$pid" 2> /dev/null && wait_pid_gone "$pid" 30
    pid=$(cat "$work/redis.pid" 2> /dev/null) && kill -TERM "$pid" 2> /dev/null && wait_pid_gone "$pid" 10
}
trap 'stop_ntopng; cleanup' EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --pidfile "$work/redis.pid" \
    --save '' --appendonly no --logfile "$work/redis.log" || fail_setup "redis-server did not start"
# ntopng finds its web pages and scripts in the directory it runs from.
(cd "$(dirname "$ntopng")" && exec "$ntopng" -i "tcp://127.0.0.1:$bind_port" -i "tcp://127.0.0.1:${coll_port}c" \
    -w "127.0.0.1:$http_port" -m 127.0.0.0/8 -l 1 -q -d "$work/ntopng-data" -r "127.0.0.1:$redis_port" \
    -s -G "$work/ntopng.pid" > "$work/ntopng.log" 2>&1) &
started=$SECONDS
wait_for_line "$work/ntopng.log" "Collecting flows on tcp://127.0.0.1:${coll_port}c" 60 &&
    wait_for_line "$work/ntopng.log" "Collecting flows on tcp://127.0.0.1:$bind_port" 60 ||
    fail_setup "ntopng did not start: $(tail -5 "$work/ntopng.log")"
deadline=$(deadline_in 60)
until curl -sf "$url/lua/rest/v2/get/ntopng/interfaces.lua" | grep -q "${coll_port}c"; do
    [ $SECONDS -lt "$deadline" ] || fail_setup "ntopng's web server did not answer"
    sleep 0.2
done
echo "# ntopng ready in $((SECONDS - started)) s"
ifid() {   # interface name
    curl -s "$url/lua/rest/v2/get/ntopng/interfaces.lua" |
        python3 -c 'import json, sys; print(next(i["ifid"] for i in json.load(sys.stdin)["rsp"] if i["ifname"] == sys.argv[1]))' "$1"
}
bind_if=$(ifid "tcp://127.0.0.1:$bind_port")
coll_if=$(ifid "tcp://127.0.0.1:${coll_port}c")

zmq_stat() {   # ifid key: zmqRecvStats.KEY of the interface
    curl -s "$url/lua/rest/v2/get/interface/data.lua?ifid=$1" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["rsp"]["zmqRecvStats"][sys.argv[1]])' "$2"
}

# feed MODE-NAME COLLECTOR OPTIONS CAPTURE...: each capture in its own run (message
# ids start again at 1: ntopng takes that as a restart, not as losses).
feed() {   # name collector "nfprobe options" capture...
    local name=$1 collector=$2 opts=$3 c rc; shift 3
    local t0
    for c in "$@"; do
        rc=0
        t0=$(date +%s.%N)
        # shellcheck disable=SC2086
        "$NFPROBE" -r "$DATA/$c" -q --zmq-now --drain-timeout 60 --json -c "$collector" $opts \
            > "$work/$name.$c.json" 2> "$work/$name.$c.err" || rc=$?
        check "$name: $c sent in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-4) s, nfprobe exit 0" test "$rc" -eq 0
    done
}
wait_received() {   # ifid records
    local deadline
    deadline=$(deadline_in 30)
    until [ "$(zmq_stat "$1" flows)" -ge "$2" ]; do
        [ $SECONDS -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# Captures of a few dozen flows each way: ntopng answers per-direction
# counters one flow a request (/lua/flow_stats.lua, 0.15 s to 0.4 s each
# here), and all must be read within ntopng's 60 s. Applications from DNS,
# HTTP and TLS to SIP, Skype and GTP; IPv6, VLANs; flows ntopng swaps.
BIND_CAPTURES=${BIND_CAPTURES:-"KakaoTalk_chat.pcap google_ssl.pcap icmp6-ping.pcap dns_doh.pcap dhcp.pcap smtp-starttls.pcap ssh.pcap"}
COLLECTOR_CAPTURES=${COLLECTOR_CAPTURES:-"http_ipv6.pcap 443-chrome.pcap ipv6_in_gtp.pcap q-in-q.pcap skype_udp.pcap mqtt.pcap NTPv4.pcap quic-29.pcap"}

# Each mode is checked right after it was fed: ntopng forgets a flow 60 s
# after its last update (with --zmq-now, its export).
check_mode() {   # mode ifid
    local mode=$1 id=$2 n rc
    n=$(cat "$work/$mode".*.json | grep -c .)
    wait_received "$id" "$n" || not_ok "$mode: ntopng received $(zmq_stat "$id" flows) of $n flow records"
    echo "# $mode: ntopng counted the $n flow records $((SECONDS - fed)) s after the first run"
    rc=0
    python3 "$TOOLS/ntopng_check.py" "$url" "$id" "$work/$mode".*.json > "$work/$mode.check" 2>&1 || rc=$?
    check "$mode: ntopng shows every flow as exported (checked $((SECONDS - fed)) s after the first run)" \
        test "$rc" -eq 0
    tail -20 "$work/$mode.check" | sed 's/^/# /'
    check "$mode: ntopng's ZMQ drop counter is 0" test "$(zmq_stat "$id" zmq_msg_drops)" -eq 0
    check "$mode: ntopng dropped no flow" test "$(zmq_stat "$id" dropped_flows)" -eq 0
}

fed=$SECONDS
feed bind "zmq://127.0.0.1:$bind_port" "" $BIND_CAPTURES
check_mode bind "$bind_if"
fed=$SECONDS
# (compressed: ntopng must unpack them)
feed collector "zmq+connect://127.0.0.1:$coll_port" --zmq-compress $COLLECTOR_CAPTURES
check_mode collector "$coll_if"

finish
