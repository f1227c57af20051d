#!/usr/bin/env python3
"""Collectors that misbehave, for tests/collector_failures.sh.

  fake_collector.py v5 PORT           UDP: count NetFlow v5 records (the
                                      header's count) until SIGTERM, then print
                                      "records N datagrams D first_after S"
                                      (S: seconds from bound to first datagram)
  fake_collector.py reset PORT BYTES  TCP: accept one connection (a small
                                      receive buffer), read BYTES, then close
                                      with a reset (SO_LINGER 0) and exit
  fake_collector.py stall PORT        TCP: accept connections and never read,
                                      a small receive buffer, until SIGTERM;
                                      then reset them (unread data) and exit

Each prints "listening PORT" on stderr once its socket is bound.
"""
import signal
import socket
import struct
import sys
import time


def bound(sock):
    print("listening %d" % sock.getsockname()[1], file=sys.stderr, flush=True)


def stop_on_term():
    def handler(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, handler)


def count_v5(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind(("127.0.0.1", port))
    # SIGTERM stays pending until looked at between datagrams: raised as an
    # exception it could land between recv() and counting, and lose one.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    s.settimeout(0.1)
    start = time.monotonic()
    bound(s)
    records = datagrams = 0
    first = None

    def take(data):
        nonlocal records, datagrams
        version, count = struct.unpack("!HH", data[:4])
        if version == 5 and len(data) == 24 + 48 * count:
            records += count
            datagrams += 1
    while signal.SIGTERM not in signal.sigpending():
        try:
            data = s.recv(65536)
        except socket.timeout:
            continue
        if first is None:
            first = time.monotonic() - start
        take(data)
    s.setblocking(False)    # what arrived before SIGTERM counts too
    try:
        while True:
            take(s.recv(65536))
    except BlockingIOError:
        pass
    print("records %d datagrams %d first_after %.3f" % (records, datagrams, first if first is not None else -1),
          flush=True)


def listener(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind(("127.0.0.1", port))
    s.listen(8)
    return s


def reset_after(port, nbytes):
    s = listener(port, rcvbuf=2048)
    bound(s)
    c, _ = s.accept()
    got = b""
    while len(got) < nbytes:
        chunk = c.recv(nbytes - len(got))
        if not chunk:
            break
        got += chunk
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
    s.close()
    print("reset after %d bytes" % len(got), flush=True)


def stall(port):
    s = listener(port, rcvbuf=4096)
    stop_on_term()
    bound(s)
    conns = []
    try:
        while True:
            c, _ = s.accept()
            conns.append(c)
    except KeyboardInterrupt:
        pass
    for c in conns:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    print("stalled %d connections" % len(conns), flush=True)


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "v5":
        count_v5(port)
    elif kind == "reset":
        reset_after(port, int(sys.argv[3]))
    elif kind == "stall":
        stall(port)
    else:
        sys.exit("fake_collector.py: unknown kind %s" % kind)
