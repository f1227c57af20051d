#!/usr/bin/env python3
"""For tests/progress.sh: run a command with its stderr on a pseudo-terminal
(stdout to a file), and check the progress line nfprobe draws there.

  progress_check.py run OUT.bin STDOUT -- COMMAND...
      Runs COMMAND with stderr on a new pty (80 columns), writes every byte
      it wrote there to OUT.bin, exits with its exit status.
  progress_check.py lines OUT.bin
      The progress lines in OUT.bin (each drawn as CR, ESC [ K, the line):
      at least two, each "nfprobe: P%, R Mpps, F active flows, N records
      exported (NAME)" and shorter than the 80 columns, P never going
      down and at most 100, N never going down; the last one taken away
      (CR, ESC [ K) before the statistics, which then start at the line's
      start. Prints how many lines and the percentages.
"""
import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios

ERASE = b"\r\x1b[K"
LINE = re.compile(rb"^nfprobe: (\d+\.\d)%, \d+\.\d\d Mpps, \d+ active flows, (\d+) records exported \([^)]*\)$")


def run(out, stdout, cmd):
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    with open(stdout, "wb") as so:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=so, stderr=slave)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:     # EIO: the last writer closed the pty
            break
        if not chunk:
            break
        data += chunk
    rc = p.wait()
    open(out, "wb").write(data)
    sys.exit(rc)


def lines(path):
    data = open(path, "rb").read()
    parts = data.split(ERASE)
    if len(parts) < 4:
        sys.exit("%d progress redraws, wanted at least 2 and a clear: %r" % (len(parts) - 1, data[:300]))
    drawn, rest = parts[1:-1], parts[-1]
    pct, recs = [], []
    for d in drawn:
        m = LINE.match(d)
        if not m or len(d) >= 80:
            sys.exit("not a progress line (or too wide): %r" % d)
        pct.append(float(m.group(1)))
        recs.append(int(m.group(2)))
    if pct != sorted(pct) or pct[-1] > 100 or recs != sorted(recs):
        sys.exit("percentages or records go down: %s / %s" % (pct, recs))
    if not rest.startswith(b"nfprobe: packets: "):
        sys.exit("after the last line is cleared: %r" % rest[:100])
    print("%d progress lines: %s%%" % (len(drawn), " ".join("%.1f" % p for p in pct)))


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(sys.argv[2], sys.argv[3], sys.argv[5:])
    elif sys.argv[1] == "lines":
        lines(sys.argv[2])
    else:
        sys.exit("unknown command")
