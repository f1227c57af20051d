#!/usr/bin/env bash
# -c mqtt://: every flow record as one message, its JSON line, through
# Debian's mosquitto broker on 127.0.0.1 to a subscriber (paho-mqtt):
# exactly the JSON records at QoS 0, 1 and 2 (ECS lines too); the broker
# restarted mid-run at QoS 1: every record not counted as dropped arrives
# at least once, and how many arrived twice is reported; bad specs and an
# unreachable broker end as -c's do.
set -u
. "$(dirname "$0")/lib.sh"

command -v mosquitto > /dev/null || { echo "1..0 # SKIP mosquitto (Debian package mosquitto) not installed"; exit 77; }
python3 -c 'import paho.mqtt.client' 2> /dev/null ||
    { echo "1..0 # SKIP python3-paho-mqtt not installed"; exit 77; }

# A test CA and the broker's certificate (for 127.0.0.1), and another CA.
pki="$work/pki"
mkdir -p "$pki"
{ openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=nfprobe test ca" \
      -keyout "$pki/ca.key" -out "$pki/ca.pem" &&
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=nfprobe other ca" \
      -keyout "$pki/other.key" -out "$pki/other.pem" &&
  openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$pki/broker.key" -out "$pki/broker.csr" &&
  printf 'subjectAltName=IP:127.0.0.1\n' > "$pki/broker.ext" &&
  openssl x509 -req -in "$pki/broker.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
      -extfile "$pki/broker.ext" -out "$pki/broker.pem" &&
  openssl x509 -req -in "$pki/broker.csr" -CA "$pki/other.pem" -CAkey "$pki/other.key" -CAcreateserial -days 2 \
      -extfile "$pki/broker.ext" -out "$pki/stranger.pem"; } > /dev/null 2>&1 || fail_setup "openssl could not make the test CA"

port=$(free_port tcp)
tls_port=$(free_port tcp)
broker_starts=0
# mosquitto on PORT (and TLS on TLS_PORT), ready once it says it runs; its
# pid in mosquitto_pid. It keeps its state (our subscriber's session and the
# messages queued for it) across a restart: persistence, saved when it stops;
# and queues without bound for a subscriber that lags. BROKER_CERT (default
# broker.pem) is its certificate, BROKER_STATE where it keeps its state.
run_mosquitto() {   # port [tls_port]
    broker_starts=$((broker_starts + 1))
    local conf="$work/mosquitto.$broker_starts.conf" log="$work/broker.$broker_starts.log"
    {
        echo "listener $1 127.0.0.1"
        [ -z "${2:-}" ] || printf 'listener %s 127.0.0.1\ncafile %s\ncertfile %s\nkeyfile %s\n' \
            "$2" "$pki/ca.pem" "$pki/${BROKER_CERT:-broker.pem}" "$pki/broker.key"
        printf 'allow_anonymous true\npersistence true\npersistence_location %s/\n' "${BROKER_STATE:-$work}"
        printf 'user %s\nmax_queued_messages 0\n' "$(id -un)"
    } > "$conf"
    mosquitto -c "$conf" > "$log" 2>&1 &
    mosquitto_pid=$!
    collector_pids+=("$mosquitto_pid")
    wait_for_line "$log" "mosquitto version .* running" 10 || fail_setup "mosquitto did not start: $(cat "$log")"
}
start_broker() {
    run_mosquitto "$port" "$tls_port"
    broker_pid=$mosquitto_pid
}
stop_broker() {
    kill -TERM "$broker_pid"
    wait_pid_gone "$broker_pid" 10 || fail_setup "mosquitto did not stop"
}

subscribers=0
start_subscriber() {   # topic out
    subscribers=$((subscribers + 1))
    python3 "$TOOLS/mqtt_sub.py" "$port" "$1" "$2" "nfprobe-test-$subscribers" > "$work/sub.$subscribers.log" 2>&1 &
    sub_pid=$!
    collector_pids+=("$sub_pid")
    wait_for_line "$work/sub.$subscribers.log" subscribed 10 || fail_setup "subscriber not ready: $(cat "$work/sub.$subscribers.log")"
}
stop_subscriber() {
    kill -TERM "$sub_pid"
    wait "$sub_pid" 2> /dev/null
}
wait_for_lines() {   # file count seconds
    local deadline=$(deadline_in "$3") n
    until n=$(grep -c '' "$1" 2> /dev/null); [ "${n:-0}" -ge "$2" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}
stat_value() {   # file pattern: the number before it in the statistics
    grep -oE "[0-9]+ $2" "$1" | head -1 | cut -d' ' -f1
}

start_broker

# -- 1. The messages are exactly the JSON records (same run: --json too).
# One run: a subscriber on TOPIC, nfprobe with the arguments and --json;
# the subscriber must get exactly the lines nfprobe printed.
publish_and_compare() {   # description topic nfprobe-arguments...
    local what=$1 topic=$2 rc=0 want
    shift 2
    n=$((n + 1))
    start_subscriber "$topic" "$work/got.$n"
    "$NFPROBE" -q --json "$@" > "$work/want.$n" 2> "$work/err.$n" || rc=$?
    want=$(grep -c '' "$work/want.$n")
    wait_for_lines "$work/got.$n" "$want" 10
    stop_subscriber
    check "$what: exit 0 (got $rc), $want records, the subscriber got exactly the JSON lines" \
        bash -c "[ $rc -eq 0 ] && [ $want -gt 0 ] && diff <(sort '$work/want.$n') <(sort '$work/got.$n')"
}

# Captures with DPI strings that need escaping (the fuzz captures' server
# names and user agents), IPv6, many flows.
captures="443-chrome.pcap dns-invalid-chars.pcap KakaoTalk_chat.pcap http-crash-content-disposition.pcap
    ipv6_in_gtp.pcap 1kxun.pcap"
n=0
for qos in 1 0 2; do
    for c in $captures; do
        [ -f "$DATA/$c" ] || continue
        [ "$qos" = 1 ] || [ "$c" = 1kxun.pcap ] || continue
        publish_and_compare "$c, QoS $qos" "nfprobe/test/$n" -r "$DATA/$c" -c "mqtt://127.0.0.1:$port/nfprobe/test/$n?qos=$qos"
    done
done
# ECS lines go out the same way.
publish_and_compare "--json-format ecs" nfprobe/ecs -r "$DATA/1kxun.pcap" --json-format ecs \
    -c "mqtt://127.0.0.1:$port/nfprobe/ecs"
check "--json-format ecs: the lines were ECS" grep -q '"source":{' "$work/want.$n"

# mqtts://: the same through TLS, the broker's certificate checked against
# --tls-ca; a broker whose certificate another CA signed is refused, said
# (libmosquitto's reason), and its records counted as dropped.
publish_and_compare "mqtts://" nfprobe/tls -r "$DATA/1kxun.pcap" \
    -c "mqtts://127.0.0.1:$tls_port/nfprobe/tls" --tls-ca "$pki/ca.pem"
rc=0
"$NFPROBE" -q -r "$DATA/443-chrome.pcap" -c "mqtts://127.0.0.1:$tls_port/nfprobe/tls" --tls-ca "$pki/other.pem" \
    --drain-timeout 3 > /dev/null 2> "$work/err.badca" || rc=$?
check "mqtts:// with another CA: refused, said once with the reason, exit 1, the record dropped" \
    bash -c "[ $rc -eq 1 ] && [ \$(grep -c 'queueing records and retrying' '$work/err.badca') -eq 1 ] &&
             grep -q 'certificate verify failed' '$work/err.badca' &&
             grep -q '1 flow records could not be delivered' '$work/err.badca'"

# A broker restarted with a certificate that does not verify (another CA
# signed it: a renewal gone wrong), then with the right one again, on the
# same port, mid-run: nfprobe keeps trying through the failed handshakes and
# delivers every record (QoS 1: the broker acknowledges each) once one
# succeeds. libmosquitto's own thread gave up for good after a failed
# handshake, and the records waited for nothing until --drain-timeout.
fix_port=$(free_port tcp) fix_tls=$(free_port tcp)
mkdir -p "$work/fix"
BROKER_STATE=$work/fix run_mosquitto "$fix_port" "$fix_tls"
good_pid=$mosquitto_pid good_log=$work/broker.$broker_starts.log
"$NFPROBE" -r "$DATA/1kxun.pcap" --json -c "mqtts://127.0.0.1:$fix_tls/nfprobe/fixed" --tls-ca "$pki/ca.pem" \
    --export-rate 20 --drain-timeout 60 > "$work/want.fixed" 2> "$work/err.fixed" &
probe=$!
wait_for_line "$good_log" "New client connected" 10 || fail_setup "nfprobe did not connect: $(cat "$work/err.fixed")"
kill -TERM "$good_pid"
wait_pid_gone "$good_pid" 10 || fail_setup "mosquitto did not stop"
BROKER_CERT=stranger.pem BROKER_STATE=$work/fix run_mosquitto "$fix_port" "$fix_tls"
stranger_pid=$mosquitto_pid stranger_log=$work/broker.$broker_starts.log
wait_for_line "$stranger_log" "unknown ca" 20 || fail_setup "nfprobe did not try the stranger broker: $(cat "$stranger_log")"
kill -TERM "$stranger_pid"
wait_pid_gone "$stranger_pid" 10 || fail_setup "mosquitto did not stop"
BROKER_STATE=$work/fix run_mosquitto "$fix_port" "$fix_tls"
rc=0; wait "$probe" || rc=$?
fixed=$(grep -c '' "$work/want.fixed")
check "certificate wrong, then right again: exit 0 (got $rc), all $fixed records acknowledged by the broker" \
    bash -c "[ $rc -eq 0 ] && [ $fixed -gt 0 ] &&
             grep -q 'export mqtts://127.0.0.1:$fix_tls/nfprobe/fixed: [0-9]* messages, $fixed records sent, 0 records dropped' '$work/err.fixed'"

# A broker that is down at start and comes up later: the records wait and
# arrive, exit 0.
late=$(free_port tcp)
"$NFPROBE" -r "$DATA/1kxun.pcap" --json -c "mqtt://127.0.0.1:$late/nfprobe/late" --drain-timeout 60 \
    > "$work/want.late" 2> "$work/err.late" &
probe=$!
wait_for_line "$work/err.late" "queueing records and retrying" 10 || not_ok "late broker: no retry message"
run_mosquitto "$late"
late_pid=$mosquitto_pid
port_saved=$port
port=$late
start_subscriber "nfprobe/late" "$work/got.late"
port=$port_saved
rc=0; wait "$probe" || rc=$?
want=$(grep -c '' "$work/want.late")
wait_for_lines "$work/got.late" "$want" 10
stop_subscriber
kill -TERM "$late_pid"
check "late broker: exit 0 (got $rc), 'connected' said, the $want records arrive" \
    bash -c "[ $rc -eq 0 ] && grep -q 'nfprobe/late: connected' '$work/err.late' &&
             diff <(sort '$work/want.late') <(sort '$work/got.late')"

# -- 2. The broker restarted mid-run, QoS 1: 3,000 records paced at 600 a
# second; the broker is stopped once a third has arrived and started again.
synthetic_pcap "$work/many.pcap" 9000 3000 11 30 || fail_setup "cannot generate the synthetic capture"
start_subscriber "nfprobe/restart" "$work/got.restart"
"$NFPROBE" -r "$work/many.pcap" --json -c "mqtt://127.0.0.1:$port/nfprobe/restart?qos=1" \
    --export-rate 600 --drain-timeout 60 > "$work/want.restart" 2> "$work/err.restart" &
probe=$!
wait_for_lines "$work/got.restart" 1000 20 || not_ok "restart: 1000 records did not arrive before the restart"
stop_broker
start_broker
rc=0; wait "$probe" || rc=$?
want=$(grep -c '' "$work/want.restart")
dropped=$(stat_value "$work/err.restart" "records dropped")
wait_for_lines "$work/got.restart" $((want - ${dropped:-0})) 20
stop_subscriber
got=$(grep -c '' "$work/got.restart")
unique=$(sort -u "$work/got.restart" | grep -c '')
twice=$((got - unique))
missing=$(comm -23 <(sort -u "$work/want.restart") <(sort -u "$work/got.restart") | grep -c '')
stray=$(comm -13 <(sort -u "$work/want.restart") <(sort -u "$work/got.restart") | grep -c '')
echo "# broker restart at QoS 1: $want records, $dropped counted as dropped, $unique arrived," \
    "$twice arrived twice (duplicates), $missing missing; nfprobe: $(grep -o '[0-9]* connections' "$work/err.restart")"
check "restart: nfprobe reconnected (2 connections) and said so" \
    bash -c "grep -q ', 2 connections' '$work/err.restart' &&
             grep -qF 'mqtt://127.0.0.1:$port/nfprobe/restart?qos=1: connected' '$work/err.restart'"
check "restart: every record not counted as dropped arrived ($missing missing, $dropped dropped), none foreign ($stray)" \
    test "$missing" -le "${dropped:-0}" -a "$stray" -eq 0 -a "$want" -eq 3000
want_rc=0
[ "${dropped:-0}" -eq 0 ] || want_rc=1
check "restart: exit $want_rc (got $rc) with $dropped records counted as dropped" test "$rc" -eq "$want_rc"

# -- 3. Bad input: one line, exit status as for -c.
pcap="$DATA/443-chrome.pcap"
expect_error "unknown scheme" 1 "unknown transport 'mqttx'" -- -q -r "$pcap" -c mqttx://127.0.0.1:$port/t
expect_error "wildcard topic" 1 "topic 'a/#' cannot be published to" -- -q -r "$pcap" -c "mqtt://127.0.0.1:$port/a/#"
expect_error "no topic" 1 "no topic" -- -q -r "$pcap" -c "mqtt://127.0.0.1:$port"
expect_error "bad QoS" 1 "expected '?qos=0'" -- -q -r "$pcap" -c "mqtt://127.0.0.1:$port/t?qos=3"
expect_error "bad port" 1 "is not a number from 1 to 65535" -- -q -r "$pcap" -c "mqtt://127.0.0.1:99999/t"
expect_error "unresolvable broker" 1 "cannot resolve 'no-such-host.invalid'" -- -q -r "$pcap" -c mqtt://no-such-host.invalid/t
expect_error "mqtts: CA file missing" 1 "cannot load the TLS files" -- -q -r "$pcap" \
    -c "mqtts://127.0.0.1:$port/t" --tls-ca "$work/no-such-ca.pem"
# A broker that is not there: said once, the records counted as dropped
# after --drain-timeout, exit 1 (as a TCP collector that never listens).
down=$(free_port tcp)
rc=0
"$NFPROBE" -q -r "$pcap" -c "mqtt://127.0.0.1:$down/t" --drain-timeout 3 > /dev/null 2> "$work/down.err" || rc=$?
check "unreachable broker: exit 1, retrying said once, the record counted as dropped" \
    bash -c "[ $rc -eq 1 ] && [ \$(grep -c 'queueing records and retrying' '$work/down.err') -eq 1 ] &&
             grep -q '1 flow records could not be delivered' '$work/down.err'"

finish
