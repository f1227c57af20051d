#!/usr/bin/python3
"""A ZeroMQ subscriber that reads nfprobe's zmq:// messages as ntopng 5.2 does
and checks their framing; the flows go to OUT as JSON lines.

usage: zmq_sub.py connect|bind ENDPOINT OUT FLOWS SECONDS [--slow GATE SPORT]

connect: to nfprobe's zmq:// (bind) socket; bind: for zmq+connect://, prints
"listening" once bound. Stops after FLOWS flows, or fails after SECONDS.
--slow GATE SPORT: subscribe with the smallest queues, then read nothing until
the file GATE exists: a stalled ntopng. Then read, saying "received N" every
100 messages, until a flow from source port SPORT arrives; count the gaps in
the message ids (messages nfprobe dropped).

Checked per message, as ntopng reads it: exactly two frames; a 24-byte header
(url "flow" NUL-padded to 16 bytes, version 2, source id, size = payload length
in network order, message id +1 per message from 1, network order); a JSON
payload (a leading 0x00: zlib) of at most 131072 bytes, an array of at most
100 flow objects. Prints "messages N flows M gaps G last_id I compressed C"
at the end; exit 1 on a
framing error or too few flows.
"""
import json
import os
import struct
import sys
import time
import zlib

import zmq


def fail(msg):
    print(f"zmq_sub: {msg}", file=sys.stderr)
    sys.exit(1)


def check_header(h, payload, expect_id):
    if len(h) != 24:
        fail(f"header frame of {len(h)} bytes, want 24")
    url, version, source_id, size, msg_id = struct.unpack("!16sBBHI", h)
    if url != b"flow" + b"\0" * 12:
        fail(f"header url {url!r}")
    if version != 2:
        fail(f"header version {version}, want 2 (JSON)")
    if size != min(len(payload), 65535):
        fail(f"header size {size}, payload {len(payload)} bytes")
    if expect_id is not None and msg_id < expect_id:
        fail(f"message id {msg_id} after {expect_id - 1}: not counting up")
    return msg_id


def decode(payload):
    """The flows, and whether the payload was compressed."""
    if len(payload) > 131072:
        fail(f"payload of {len(payload)} bytes: ntopng drops more than 131072")
    packed = payload[:1] == b"\0"
    if packed:
        frame = len(payload)
        payload = zlib.decompress(payload[1:])
        if len(payload) > max(5 * frame, 16384):
            fail(f"unpacks to {len(payload)} bytes: more than ntopng makes room for")
    flows = json.loads(payload)
    if isinstance(flows, dict):
        flows = [flows]
    if len(flows) > 100:
        fail(f"{len(flows)} flows in one message")
    return flows, packed


def main():
    mode, endpoint, out, want, seconds = sys.argv[1:6]
    slow = len(sys.argv) > 8 and sys.argv[6] == "--slow"
    slow_gate, stop_sport = (sys.argv[7], int(sys.argv[8])) if slow else (None, None)
    want, seconds = int(want), float(seconds)
    ctx = zmq.Context()
    s = ctx.socket(zmq.SUB)
    if slow_gate:
        s.setsockopt(zmq.RCVHWM, 1)
        s.setsockopt(zmq.RCVBUF, 4096)
    s.setsockopt(zmq.SUBSCRIBE, b"flow")
    if mode == "bind":
        s.bind(endpoint)
        print("listening", flush=True)
    else:
        s.connect(endpoint)
    if slow_gate:
        deadline = time.monotonic() + seconds
        while not os.path.exists(slow_gate):
            if time.monotonic() > deadline:
                fail("nfprobe did not finish")
            time.sleep(0.05)
    nmsg = nflows = gaps = npacked = 0
    last_id = None
    deadline = time.monotonic() + seconds
    with open(out, "w") as f:
        while nflows < want:
            wait_ms = int((deadline - time.monotonic()) * 1000)
            if wait_ms <= 0 or not s.poll(wait_ms):
                fail(f"{nflows} flows of {want} after {seconds} s")
            parts = s.recv_multipart()
            if len(parts) != 2:
                fail(f"message of {len(parts)} frames, want 2")
            msg_id = check_header(parts[0], parts[1], None if last_id is None else last_id + 1)
            if last_id is None and msg_id != 1 and not slow_gate:
                fail(f"first message id {msg_id}, want 1")
            if last_id is not None:
                gaps += msg_id - last_id - 1
            last_id = msg_id
            stop = False
            flows, packed = decode(parts[1])
            npacked += packed
            for fl in flows:
                f.write(json.dumps(fl) + "\n")
                nflows += 1
                stop = stop or fl.get("7") == stop_sport
            nmsg += 1
            if slow_gate and nmsg % 100 == 0:
                print(f"received {nmsg}", flush=True)
            if stop:
                break
    print(f"messages {nmsg} flows {nflows} gaps {gaps} last_id {last_id} compressed {npacked}",
          flush=True)


if __name__ == "__main__":
    main()
