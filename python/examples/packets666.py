"""Count each flow's packets of at least 666 bytes (IP size): nfstream's
NFPlugin, the Python twin of examples/packets666.c.

    python3 packets666.py trace.pcap

With nfstream the only change is the import line."""
import sys

from nfprobe import NFPlugin, NFStreamer   # nfstream: from nfstream import NFPlugin, NFStreamer


class Packets666(NFPlugin):
    def on_init(self, packet, flow):
        flow.udps.packets_over_666 = 1 if packet.ip_size >= 666 else 0

    def on_update(self, packet, flow):
        if packet.ip_size >= 666:
            flow.udps.packets_over_666 += 1


if __name__ == "__main__":
    for flow in NFStreamer(source=sys.argv[1], udps=Packets666()):
        print(flow.src_ip, flow.src_port, flow.dst_ip, flow.dst_port, flow.udps.packets_over_666)
