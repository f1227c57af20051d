"""Flows per second: nfprobe's CLI against the Python package on the same
capture, with and without a per-packet Python plugin (bench/python.sh).

    python3 bench/python_bench.py CAPTURE [RUNS]    (NFPROBE, EXAMPLE_PLUGIN set)"""
import os
import statistics
import subprocess
import sys
import time

sys.path[:0] = [os.path.join(os.path.dirname(__file__), "..", "python"),
                os.path.join(os.path.dirname(__file__), "..", "python", "examples")]
from nfprobe import NFStreamer          # noqa: E402
from packets666 import Packets666       # noqa: E402

OPTIONS = ["--idle-timeout", "120", "--active-timeout", "1800",
           "--max-tcp-dissections", "20", "--max-udp-dissections", "20"]


def cli(capture, *extra):
    out = subprocess.run([os.environ["NFPROBE"], "-q", "--json"] + OPTIONS + list(extra) + ["-r", capture],
                         stdout=subprocess.PIPE, check=True)
    return out.stdout.count(b"\n")


def python(capture, **kw):
    return sum(1 for _ in NFStreamer(source=capture, accounting_mode=1, **kw))


def pandas(capture):
    return len(NFStreamer(source=capture, accounting_mode=1).to_pandas())


def cpu_seconds():
    """CPU time of this process and its waited-for children (nfprobe)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def measure(fn, runs):
    """(flows, median wall s, median CPU s): CPU time counts both sides of
    the pipe and does not grow when other work shares the machine."""
    walls, cpus, flows = [], [], 0
    for _ in range(runs):
        start, cpu = time.monotonic(), cpu_seconds()
        flows = fn()
        walls.append(time.monotonic() - start)
        cpus.append(cpu_seconds() - cpu)
    return flows, statistics.median(walls), statistics.median(cpus)


def main():
    capture = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    plugin = os.environ["EXAMPLE_PLUGIN"]
    cases = [
        ("CLI: nfprobe --json > pipe", lambda: cli(capture)),
        ("Python: for flow in NFStreamer", lambda: python(capture)),
        ("Python: NFStreamer.to_pandas()", lambda: pandas(capture)),
        ("CLI + C plugin packets666.so", lambda: cli(capture, "-P", plugin)),
        ("Python + Python plugin Packets666", lambda: python(capture, udps=Packets666())),
    ]
    base = None
    print("%-36s %7s %7s %7s %10s %8s" % ("program (median of %d)" % runs, "flows", "wall s", "CPU s",
                                          "flows/s", "vs CLI"))
    for name, fn in cases:
        flows, wall, cpu = measure(fn, runs if "plugin Packets666" not in name else 1)
        rate = flows / wall
        base = base or rate
        print("%-36s %7d %7.2f %7.2f %10.0f %7.2fx" % (name, flows, wall, cpu, rate, rate / base))
    print("flows/s: per wall-clock second; CPU s: this process and nfprobe together")


if __name__ == "__main__":
    main()
