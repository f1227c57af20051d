#!/usr/bin/env python3
"""A UDP sink for the benchmarks' exporters (bench/workers.sh, bench/live.sh).

    udp_sink.py          binds a UDP socket on 127.0.0.1, prints its port,
                         then waits for SIGTERM without ever reading

The exporter pays for each send as it does to a real collector, the sink
costs no CPU, and what does not fit in the socket buffer is dropped by the
kernel, unseen by the exporter.
"""
import signal
import socket
import sys

sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
signal.pause()
