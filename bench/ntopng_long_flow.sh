#!/usr/bin/env bash
# A long flow, live, into a running ntopng: does ntopng show it all along?
# A 100 s UDP flow on lo (one 128-byte packet a second), captured by nfprobe
# and sent to ntopng's interface -i tcp://127.0.0.1:ZMQ_PORT (ifid IFID); every
# 10 s, what ntopng's REST API shows of it. As root (live capture on lo).
#   usage: bench/ntopng_long_flow.sh [NFPROBE [ZMQ_PORT [HTTP_PORT [IFID]]]]
set -eu
nfprobe=${1:-build/nfprobe} zmq=${2:-5556} http=${3:-3000} ifid=${4:-0}
port=47123
"$nfprobe" -i lo -f "udp port $port" -c "zmq://127.0.0.1:$zmq" > /dev/null 2> long_flow.err &
probe=$!
sleep 2     # the capture open (a bench, not a test: no readiness signal needed)
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(100):
    s.sendto(b"x" * 100, ("127.0.0.1", int(sys.argv[1])))
    time.sleep(1)' "$port" &
sender=$!
for _ in $(seq 12); do
    sleep 10
    curl -s "127.0.0.1:$http/lua/rest/v2/get/flow/active.lua?ifid=$ifid&verbose=true&perPage=1000" |
        /usr/bin/python3 -c '
import json, sys, time
port = int(sys.argv[1])
fl = [f for f in json.load(sys.stdin)["rsp"]["data"] if port in (f["client"]["port"], f["server"]["port"])]
print(time.strftime("%H:%M:%S"), "flows shown:", len(fl),
      [(f["packets"], f["bytes"], f["last_seen"] - f["first_seen"]) for f in fl])' "$port"
done
wait "$sender"
kill -INT "$probe"
wait "$probe" || true
tail -1 long_flow.err
