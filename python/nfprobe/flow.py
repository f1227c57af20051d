"""The objects nfprobe's Python interface hands out: NFlow and NFPacket."""
import ipaddress


class NFUdps(object):
    """flow.udps: the values plugins compute, by attribute."""

    def __repr__(self):
        return "NFUdps(%s)" % ", ".join("%s=%r" % kv for kv in self.__dict__.items())


class NFlow(object):
    """A flow record with nfstream's attribute names (nfprobe's JSON members).

    While plugins run (on_init, on_update) it has the flow's addresses,
    ports, protocol, VLAN and its counters and times so far; at on_expire and
    when yielded, every column of the streamer's options."""

    def __init__(self, columns):
        self._columns = columns
        self.udps = NFUdps()

    def __getattr__(self, name):
        # A column nfprobe left out of this record (or not known yet while
        # plugins run) reads as None, as every flow has every column.
        if name in self.__dict__.get("_columns", ()):
            return None
        raise AttributeError("NFlow has no attribute %r" % name)

    def keys(self):
        """Column names: the streamer's columns, then udps.NAME for each
        plugin value, as nfstream names them."""
        return list(self._columns) + ["udps." + k for k in self.udps.__dict__]

    def get(self, column):
        """A column's value by its name in keys() (None if the flow has none)."""
        if column.startswith("udps."):
            return self.udps.__dict__.get(column[5:])
        return getattr(self, column, None)

    def values(self):
        return [self.get(k) for k in self.keys()]

    def to_dict(self):
        return dict(zip(self.keys(), self.values()))

    def __repr__(self):
        return "NFlow(%s)" % ",\n      ".join("%s=%r" % kv for kv in zip(self.keys(), self.values()))


TCP, UDP, UDPLITE = 6, 17, 136
FLAG_BITS = (("fin", 0x01), ("syn", 0x02), ("rst", 0x04), ("psh", 0x08),
             ("ack", 0x10), ("urg", 0x20), ("ece", 0x40), ("cwr", 0x80))


def address(raw, ip_version):
    """16 bytes of an nfprobe address as text (IPv4 in the first 4)."""
    if ip_version == 4:
        return str(ipaddress.IPv4Address(raw[:4]))
    return str(ipaddress.IPv6Address(raw))


class NFPacket(object):
    """One packet, as nfstream's NFPacket: time (ms), delta_time (ms since
    the flow's previous packet), direction (0 src->dst, 1 dst->src),
    raw_size (frame on the wire), ip_size, transport_size, payload_size,
    src_ip, dst_ip, src_port, dst_port (this packet's own), protocol,
    ip_version, vlan_id, ip_packet (the captured IP packet, bytes), and the
    TCP flags syn, cwr, ece, urg, ack, psh, rst, fin (booleans). What costs
    more than a copy (addresses as text, sizes, flags) is worked out when
    read: a plugin pays only for what it uses."""

    __slots__ = ("_ev", "ip_packet", "delta_time")

    def __init__(self, ev, ip_packet, delta_time):
        self._ev = ev
        self.ip_packet = ip_packet
        self.delta_time = delta_time

    time = property(lambda self: self._ev.time_us // 1000)
    direction = property(lambda self: self._ev.direction)
    raw_size = property(lambda self: self._ev.wirelen)
    ip_size = property(lambda self: self._ev.ip_len)
    ip_version = property(lambda self: self._ev.ip_version)
    protocol = property(lambda self: self._ev.proto)
    vlan_id = property(lambda self: self._ev.vlan)
    src_port = property(lambda self: self._ev.sport)
    dst_port = property(lambda self: self._ev.dport)
    src_ip = property(lambda self: address(self._ev.src, self._ev.ip_version))
    dst_ip = property(lambda self: address(self._ev.dst, self._ev.ip_version))
    transport_size = property(lambda self: self._sizes()[0])
    payload_size = property(lambda self: self._sizes()[1])

    def _sizes(self):
        """Bytes from the transport header on, and of its payload (TCP: after
        the header's data offset; UDP: after 8 bytes; other protocols: all
        of it). 0 and 0 when the transport header was not captured."""
        ev, ip_packet = self._ev, self.ip_packet
        if ev.l4_offset == 0xffffffff or ev.l4_offset > ev.ip_len:
            return 0, 0
        transport = ev.ip_len - ev.l4_offset
        header = 0
        if ev.proto == TCP and len(ip_packet) > ev.l4_offset + 12:
            header = (ip_packet[ev.l4_offset + 12] >> 4) * 4
        elif ev.proto in (UDP, UDPLITE):
            header = 8
        return transport, max(transport - header, 0)


def _flag(bit):
    return property(lambda self: bool(self._ev.tcp_flags & bit))


for _name, _bit in FLAG_BITS:
    setattr(NFPacket, _name, _flag(_bit))
