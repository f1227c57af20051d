#!/usr/bin/env python3
"""Checks for tests/rotate.sh (the -o files of --rotate and SIGHUP), from the
capture and from what independent readers made of the files (ipfixDump's
text, collector-test's JSON), standard library only.

  rotation_check.py names PCAP SECONDS PATTERN
      The file names --rotate SECONDS must write for PCAP, one a line: one
      per interval (a multiple of SECONDS since the epoch) the packet clock
      enters (the running maximum of the packet times), the name PATTERN
      formatted in UTC. Fails when the capture leaves an interval of its
      span without a packet (the count would then not be the span's).
  rotation_check.py dump DUMP.txt [SESSIONS]
      ipfixDump's output of one file: SESSIONS (default 1) runs of messages
      back to back (a file reopened in place holds more), each starting with
      the templates (and the setup records that follow them) and ending with
      a message of template withdrawals only (field count 0), no template
      after the first records. Prints the data records it counted.
  rotation_check.py totals JSON...
      "records packets octets" over collector-test's flow records.
  rotation_check.py placed SECONDS IDLE_S PCAP JSON...
      Every record sits in the file of the interval in which it was
      exported: JSON files are named by their interval's start (the test's
      pattern: ...-YYYYmmddHHMMSS, then anything without digits). A record never sits in a file whose
      interval ends before the flow did; an idle-expired one (flowEndReason
      1) sits in the interval of the first packet at or after its end plus
      IDLE_S (the meter exports it then), or, within the idle order's slack
      (IDLE_S/64), of a later packet.
  rotation_check.py netflow V FILE...
      NetFlow v9 or v5 files (-o -V 9|5): each read alone (no template
      carried over from another file), every message whole, every data set
      decoded by a template of the same file. Prints "records packets
      octets" over all of them, and fails on any problem.
"""
import bisect
import calendar
import json
import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import v9_listen  # noqa: E402  (an independent RFC 3954 reading)


def pcap_times(path):
    """Packet times in microseconds, in file order (classic pcap, us or ns)."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        end = "<"
    else:
        end = ">"
        magic = struct.unpack(">I", data[:4])[0]
    div = 1000 if magic == 0xa1b23c4d else 1
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        out.append(sec * 1000000 + frac // div)
        off += 16 + caplen
    return out


def names(pcap, seconds, pattern):
    step = seconds * 1000000
    seen, clock = [], 0
    for ts in pcap_times(pcap):
        clock = max(clock, ts)
        start = clock - clock % step
        if not seen or seen[-1] != start:
            seen.append(start)
    span = (seen[-1] - seen[0]) // step + 1
    if span != len(seen):
        sys.exit("the capture has %d intervals with packets but spans %d" % (len(seen), span))
    for start in seen:
        print(time.strftime(pattern, time.gmtime(start // 1000000)))


def dump(path, want_sessions=1):
    text = open(path).read()
    msgs = text.split("--- Message Header ---")[1:]
    problems, data, sessions, cur = [], 0, [], []

    def kinds(m):
        tmpl = len(re.findall(r"--- (?:options )?template record ---", m))
        withdrawn = len(re.findall(r"field count:\s+0\b", m))
        recs = len(re.findall(r"--- data record \d+ ---", m))
        return tmpl, withdrawn, recs

    for m in msgs:
        tmpl, withdrawn, recs = kinds(m)
        data += recs
        cur.append((tmpl, withdrawn, recs))
        if tmpl and withdrawn == tmpl and not recs:
            sessions.append(cur)
            cur = []
    if cur:
        problems.append("%d messages after the last withdrawal" % len(cur))
    for n, sess in enumerate(sessions, 1):
        tmpl, withdrawn, _ = sess[0]
        if len(sess) < 2 or tmpl == 0 or withdrawn:
            problems.append("session %d does not start with the templates" % n)
        # (a file opened at start has the templates twice there: once
        # more with the application names' template once DPI is up)
        body = sess[1:-1]
        while body and body[0][0] and not body[0][1]:
            body = body[1:]
        if any(t for t, _, _ in body):
            problems.append("session %d has templates after its first records" % n)
    if len(sessions) != want_sessions:
        problems.append("%d sessions (templates ... withdrawal), wanted %d" % (len(sessions), want_sessions))
    if problems:
        sys.exit("; ".join(problems))
    print(data)


def flow_records(paths):
    for p in paths:
        with open(p) as f:
            for line in f:
                r = json.loads(line)
                if not r.get("_options"):
                    yield p, r


def totals(paths):
    n = pk = oc = 0
    for _, r in flow_records(paths):
        n += 1
        pk += r["packetDeltaCount"]
        oc += r["octetDeltaCount"]
    print(n, pk, oc)


def interval_of(path):
    m = re.search(r"(\d{14})\D*$", os.path.basename(path))
    return calendar.timegm(time.strptime(m.group(1), "%Y%m%d%H%M%S")) * 1000


def placed(seconds, idle_s, pcap, paths):
    step, idle, slack = seconds * 1000, idle_s * 1000, idle_s * 1000 // 64 + 1
    times = sorted(ts // 1000 for ts in pcap_times(pcap))
    bad, checked = [], 0

    def at_or_after(ms):
        i = bisect.bisect_left(times, ms)
        return times[i] if i < len(times) else times[-1]

    ends = {}    # a flow's end is the later of its two one-way records' ends
    for _, r in flow_records(paths):
        ends[r["flowId"]] = max(ends.get(r["flowId"], 0), r["flowEndMilliseconds"])
    for p, r in flow_records(paths):
        start = interval_of(p)
        end = ends[r["flowId"]]
        if start + step <= end:
            bad.append("%s: flow %d ended at %d, after its file's interval" % (p, r["flowId"], end))
        if r["flowEndReason"] != 1:
            continue
        checked += 1
        first = at_or_after(end + idle)
        first -= first % step
        last = at_or_after(end + idle + slack)
        last -= last % step
        if not first <= start <= last:
            bad.append("%s: idle flow %d (end %d) belongs in the interval at %d..%d"
                       % (p, r["flowId"], end, first, last))
    if bad:
        sys.exit("\n".join(bad[:20]) + "\n%d misplaced records" % len(bad))
    print("%d idle records placed by their export time" % checked)


def split_v9(data, templates):
    """Messages of a v9 file: a message ends after its header's count of
    records (templates and data), decoded with the templates seen so far."""
    off, out = 0, []
    while off < len(data):
        if len(data) - off < 20:
            raise ValueError("truncated header at %d" % off)
        count, source = struct.unpack("!H", data[off + 2:off + 4])[0], struct.unpack("!I", data[off + 16:off + 20])[0]
        p, nrec = off + 20, 0
        while nrec < count:
            if p + 4 > len(data):
                raise ValueError("message at %d: %d of %d records" % (off, nrec, count))
            sid, slen = struct.unpack("!HH", data[p:p + 4])
            if slen < 4:
                raise ValueError("set length %d at %d" % (slen, p))
            body = data[p + 4:p + slen]
            if sid == 0:
                q = 0
                while q + 4 <= len(body):
                    n = struct.unpack("!HH", body[q:q + 4])[1]
                    q, nrec = q + 4 + 4 * n, nrec + 1
            elif sid == 1:
                q = 0
                while q + 6 <= len(body) and struct.unpack("!H", body[q:q + 2])[0] >= 256:
                    sl, ol = struct.unpack("!HH", body[q + 2:q + 6])
                    q, nrec = q + 6 + sl + ol, nrec + 1
            else:
                fields = templates.get((source, sid))
                if fields is None:
                    raise ValueError("data set %d without a template in this file" % sid)
                nrec += len(body) // sum(l for _, l in fields)
            p += slen
        out.append(data[off:p])
        v9_listen.v9(data[off:p], templates)    # learns the message's templates
        off = p
    return out


def v9_values(msg, templates):
    """(records, packets, octets) of a v9 message's flow data sets."""
    source = struct.unpack("!I", msg[16:20])[0]
    off, n, pk, oc = 20, 0, 0, 0
    while off + 4 <= len(msg):
        sid, slen = struct.unpack("!HH", msg[off:off + 4])
        fields = templates.get((source, sid)) if sid >= 256 else None
        if fields and (source, sid) not in v9_listen.options:
            rlen, body = sum(l for _, l in fields), msg[off + 4:off + slen]
            for q in range(0, len(body) - rlen + 1, rlen):
                at = q
                n += 1
                for fid, length in fields:
                    v = int.from_bytes(body[at:at + length], "big")
                    pk += v if fid == 2 else 0
                    oc += v if fid == 1 else 0
                    at += length
        off += slen
    return n, pk, oc


def netflow(version, paths):
    n = pk = oc = 0
    problems = []
    for path in paths:
        data = open(path, "rb").read()
        templates = {}
        try:
            if version == 9:
                msgs = split_v9(data, templates)
            else:
                msgs, off = [], 0
                while off < len(data):
                    count = struct.unpack("!H", data[off + 2:off + 4])[0]
                    msgs.append(data[off:off + 24 + 48 * count])
                    off += 24 + 48 * count
        except ValueError as e:
            problems.append("%s: %s" % (path, e))
            continue
        if version == 9 and (not msgs or struct.unpack("!H", msgs[0][20:22])[0] != 0):
            problems.append("%s: the first message does not start with templates" % path)
        templates = {}
        for m in msgs:
            line = v9_listen.v9(m, templates) if version == 9 else v9_listen.v5(m)
            if not line.endswith("problems=-"):
                problems.append("%s: %s" % (path, line))
            if version == 9:
                a, b, c = v9_values(m, templates)
            else:
                count = struct.unpack("!H", m[2:4])[0]
                a, b, c = count, 0, 0
                for i in range(count):
                    p_, o_ = struct.unpack("!II", m[24 + 48 * i + 16:24 + 48 * i + 24])
                    b, c = b + p_, c + o_
            n, pk, oc = n + a, pk + b, oc + c
    if problems:
        sys.exit("\n".join(problems[:20]))
    print(n, pk, oc)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "names":
        names(args[0], int(args[1]), args[2])
    elif cmd == "dump":
        dump(args[0], int(args[1]) if len(args) > 1 else 1)
    elif cmd == "totals":
        totals(args)
    elif cmd == "placed":
        placed(int(args[0]), int(args[1]), args[2], args[3:])
    elif cmd == "netflow":
        netflow(int(args[0]), args[1:])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
