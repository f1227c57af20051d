"""What a Python plugin sees of each packet, against tshark's reading of
the same capture (an independent decoder)."""
import os
import shutil
import subprocess

import pytest

from nfprobe import NFPlugin, NFStreamer


class Recorder(NFPlugin):
    def on_init(self, packet, flow):
        self.seen.append(packet)

    on_update = on_init


def test_packets_as_tshark_reads_them(all_captures):
    if not shutil.which("tshark"):
        pytest.skip("tshark not installed")
    path = os.path.join(os.path.dirname(all_captures[0]), "443-curl.pcap")
    out = subprocess.run(["tshark", "-r", path, "-T", "fields", "-E", "separator=,", "-e", "frame.time_epoch",
                          "-e", "frame.len", "-e", "ip.len", "-e", "tcp.len", "-e", "ip.src", "-e", "tcp.srcport",
                          "-e", "tcp.flags.syn", "-e", "tcp.flags.ack", "-e", "tcp.flags.push"],
                         stdout=subprocess.PIPE, check=True, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    want = []
    for line in out.stdout.decode().splitlines():
        t, frame, ip, tcp, src, sport, syn, ack, psh = line.split(",")
        want.append((int(float(t) * 1000), int(frame), int(ip), int(tcp), src, int(sport),
                     syn in ("1", "True"), ack in ("1", "True"), psh in ("1", "True")))
    rec = Recorder(seen=[])
    flows = list(NFStreamer(source=path, udps=rec))
    got = [(p.time, p.raw_size, p.ip_size, p.payload_size, p.src_ip, p.src_port, p.syn, p.ack, p.psh)
           for p in rec.seen]
    assert len(flows) == 1 and len(want) == 109
    assert got == want
    assert [len(p.ip_packet) for p in rec.seen] == [w[2] for w in want]
    # delta_time: ms since the flow's previous packet
    assert [p.delta_time for p in rec.seen][1:] == [b[0] - a[0] for a, b in zip(want, want[1:])]
