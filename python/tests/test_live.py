"""Live capture: source is an interface name (here lo, as root)."""
import os
import signal
import socket
import threading

import pytest

from nfprobe import NFStreamer

PATIENCE = int(os.environ.get("PATIENCE", "10"))


class TookTooLong(Exception):
    pass


def test_live_flows_from_loopback():
    if os.geteuid() != 0:
        pytest.skip("live capture needs root")
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]       # bound: no ICMP unreachable comes back
    stop = threading.Event()

    def send():
        # Until the flow comes out: packets sent before nfprobe's capture
        # starts are lost, so sending goes on rather than guessing a moment.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        while not stop.is_set():
            s.sendto(b"nfprobe-live" * 10, ("127.0.0.1", port))
            stop.wait(0.05)
        s.close()

    def too_long(signum, frame):
        raise TookTooLong()

    sender = threading.Thread(target=send)
    old = signal.signal(signal.SIGALRM, too_long)
    signal.alarm(3 * PATIENCE)
    sender.start()
    try:
        # active_timeout=1: the flow is exported after a second of traffic.
        for flow in NFStreamer(source="lo", bpf_filter="udp and dst port %d" % port,
                               idle_timeout=1, active_timeout=1, n_dissections=0):
            break
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        stop.set()
        sender.join()
        probe.close()
    assert (flow.protocol, flow.dst_ip, flow.dst_port) == (17, "127.0.0.1", port)
    assert flow.src2dst_packets >= 1 and flow.dst2src_packets == 0
    assert flow.src2dst_bytes == flow.src2dst_packets * (14 + 20 + 8 + 120)  # frames (accounting_mode=0)
