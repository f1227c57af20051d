#!/usr/bin/env python3
"""A NetFlow v9 / v5 receiver for tests/netflow_stream.sh (an independent
reading of RFC 3954 and the v5 layout, standard library only).

  v9_listen.py PORT OUT
      Binds UDP 127.0.0.1:PORT, prints "listening" on stderr, and writes to
      OUT one line per datagram (flushed at once) until it is killed; the
      test stops it once OUT has as many lines as the exporter sent messages:
        v9 seq=S count=C len=L uptime=U secs=T source=D templates=N data=R options=O problems=...
        v5 seq=S count=C len=L uptime=U secs=T data=R problems=...
      data is the number of flow records decoded with the templates seen so
      far in the stream (v9), options the number of options records
      (templates counts flow and options templates); problems lists what does not add up: header
      count != records, data set without a known template, set lengths that
      overrun, a record time after the header's sysUptime (a flow in the
      future), unknown version.
"""
import signal
import socket
import struct
import sys


options = set()     # (source, template id) of options templates


def v9(msg, templates):
    problems = []
    ver, count, uptime, secs, seq, source = struct.unpack("!HHIIII", msg[:20])
    off, nrec, ntmpl, ndata, nopt = 20, 0, 0, 0, 0
    while off + 4 <= len(msg):
        sid, slen = struct.unpack("!HH", msg[off:off + 4])
        if slen < 4 or off + slen > len(msg):
            problems.append("set %d length %d overruns" % (sid, slen))
            break
        body = msg[off + 4:off + slen]
        if sid == 0:
            p = 0
            while p + 4 <= len(body):
                tid, n = struct.unpack("!HH", body[p:p + 4])
                if tid == 0:
                    break
                fields = [struct.unpack("!HH", body[p + 4 + 4 * i:p + 8 + 4 * i]) for i in range(n)]
                templates[(source, tid)] = fields
                p += 4 + 4 * n
                nrec += 1
                ntmpl += 1
        elif sid == 1:
            p = 0
            while p + 6 <= len(body):
                tid, slen_, olen = struct.unpack("!HHH", body[p:p + 6])
                if tid < 256:
                    break
                n = (slen_ + olen) // 4
                fields = [struct.unpack("!HH", body[p + 6 + 4 * i:p + 10 + 4 * i]) for i in range(n)]
                templates[(source, tid)] = fields
                options.add((source, tid))
                p += 6 + slen_ + olen
                nrec += 1
                ntmpl += 1
        elif sid >= 256:
            fields = templates.get((source, sid))
            if fields is None:
                problems.append("data set %d without template" % sid)
            else:
                rlen = sum(l for _, l in fields)
                p = 0
                while p + rlen <= len(body):
                    rec, q = body[p:p + rlen], 0
                    for fid, l in fields:
                        if fid in (21, 22) and l == 4 and struct.unpack("!I", rec[q:q + 4])[0] > uptime:
                            problems.append("record time after sysUptime")
                        q += l
                    p += rlen
                    nrec += 1
                    if (source, sid) in options:
                        nopt += 1
                    else:
                        ndata += 1
                if len(body) - p >= 4:
                    problems.append("set %d: %d bytes left over" % (sid, len(body) - p))
        off += slen
    if off != len(msg):
        problems.append("%d stray bytes" % (len(msg) - off))
    if nrec != count:
        problems.append("header count %d, records %d" % (count, nrec))
    return "v9 seq=%d count=%d len=%d uptime=%d secs=%d source=%d templates=%d data=%d options=%d problems=%s" % (
        seq, count, len(msg), uptime, secs, source, ntmpl, ndata, nopt,
        ";".join(sorted(set(problems))).replace(" ", "_") or "-")


def v5(msg):
    problems = []
    ver, count, uptime, secs, nsecs, seq = struct.unpack("!HHIIII", msg[:20])
    if len(msg) != 24 + 48 * count:
        problems.append("length %d for %d records" % (len(msg), count))
    for i in range(count):
        first, last = struct.unpack("!II", msg[24 + 48 * i + 24:24 + 48 * i + 32])
        if last > uptime or first > last:
            problems.append("bad record times")
    return "v5 seq=%d count=%d len=%d uptime=%d secs=%d data=%d problems=%s" % (
        seq, count, len(msg), uptime, secs, count, ";".join(sorted(set(problems))).replace(" ", "_") or "-")


def main():
    port, out = int(sys.argv[1]), sys.argv[2]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("127.0.0.1", port))
    sys.stderr.write("listening\n")
    sys.stderr.flush()
    templates = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(out, "w") as f:
        while True:
            msg = s.recv(65535)
            ver = struct.unpack("!H", msg[:2])[0]
            line = v9(msg, templates) if ver == 9 else v5(msg) if ver == 5 else "unknown version %d" % ver
            f.write(line + "\n")
            f.flush()


if __name__ == "__main__":
    main()
