"""The Python plugin host: nfprobe's `events` plugin (probe/meter/plugins/
events.c) writes every packet of every flow record, and each expiry, to a
pipe; this module turns them back into NFPacket/NFlow callbacks and joins
each record (by its event_key) with the flow the plugins built."""
import collections
import struct
import warnings

from .flow import NFlow, NFPacket, address

HEAD = struct.Struct("=IBBBBQQIIIIHHHBB16s16s10QII")
assert HEAD.size == 168, "must match struct ev_head in events.c"
INIT, UPDATE, EXPIRE = 1, 2, 3

Event = collections.namedtuple("Event", (
    "size kind direction ip_version proto key time_us caplen wirelen ip_len l4_offset "
    "sport dport vlan tcp_flags end_reason src dst first_us0 first_us1 last_us0 last_us1 "
    "packets0 packets1 ip_octets0 ip_octets1 l2_octets0 l2_octets1 ip_bytes zero"))


def _ms(us):
    return us // 1000


def set_counters(flow, ev, l2_bytes):
    """The flow's counters and times from an event, under nfstream's names
    (bytes per the accounting mode)."""
    flow.src2dst_packets, flow.dst2src_packets = ev.packets0, ev.packets1
    flow.bidirectional_packets = ev.packets0 + ev.packets1
    if l2_bytes:
        flow.src2dst_bytes, flow.dst2src_bytes = ev.l2_octets0, ev.l2_octets1
    else:
        flow.src2dst_bytes, flow.dst2src_bytes = ev.ip_octets0, ev.ip_octets1
    flow.bidirectional_bytes = flow.src2dst_bytes + flow.dst2src_bytes
    times = []
    for name, packets, first, last in (("src2dst", ev.packets0, ev.first_us0, ev.last_us0),
                                       ("dst2src", ev.packets1, ev.first_us1, ev.last_us1)):
        f, l = (_ms(first), _ms(last)) if packets else (0, 0)
        setattr(flow, name + "_first_seen_ms", f)
        setattr(flow, name + "_last_seen_ms", l)
        setattr(flow, name + "_duration_ms", l - f)
        if packets:
            times += [f, l]
    flow.bidirectional_first_seen_ms = min(times) if times else 0
    flow.bidirectional_last_seen_ms = max(times) if times else 0
    flow.bidirectional_duration_ms = flow.bidirectional_last_seen_ms - flow.bidirectional_first_seen_ms


class PluginHost(object):
    """Runs the plugins over the events of one nfprobe run."""

    def __init__(self, plugins, columns, l2_bytes):
        self.plugins = tuple(plugins)
        self.columns = columns
        self.l2_bytes = l2_bytes
        self.flows = {}             # key -> NFlow, while its record is open
        self.expired = set()        # keys whose expiry event has been read
        self.last_ms = {}           # key -> time of the flow's latest packet
        self.buf = bytearray()
        self.volatile = {}          # plugin -> udps names it keeps out of the output
        for p in self.plugins:
            v = getattr(p, "volatile", False)
            if v and v is not True:
                self.volatile[p] = set([v] if isinstance(v, str) else v)
        self._warned_expiration = False

    def feed(self, data):
        """Bytes read from the events pipe (any split)."""
        self.buf += data
        view = memoryview(self.buf)
        at, n = 0, len(self.buf)
        while n - at >= HEAD.size:
            size = struct.unpack_from("=I", view, at)[0]
            if n - at < size:
                break
            ev = Event._make(HEAD.unpack_from(view, at))
            ip = bytes(view[at + HEAD.size:at + size])
            self._event(ev, ip)
            at += size
        view.release()
        del self.buf[:at]

    def _event(self, ev, ip):
        if ev.kind == INIT:
            self._init(ev, ip)
        elif ev.kind == UPDATE:
            flow = self.flows[ev.key]
            set_counters(flow, ev, self.l2_bytes)
            packet = self._packet(ev, ip)
            for p in self.plugins:
                p.on_update(packet, flow)
            self._check_expiration(flow)
        elif ev.kind == EXPIRE:
            self.expired.add(ev.key)
            self.last_ms.pop(ev.key, None)

    def _packet(self, ev, ip):
        now = _ms(ev.time_us)
        delta = now - self.last_ms.get(ev.key, now)
        self.last_ms[ev.key] = now
        return NFPacket(ev, ip, delta)

    def _init(self, ev, ip):
        flow = NFlow(self.columns)
        # The record's first packet: nfprobe's src is the flow's initiator.
        s, d = (ev.src, ev.dst) if ev.direction == 0 else (ev.dst, ev.src)
        sp, dp = (ev.sport, ev.dport) if ev.direction == 0 else (ev.dport, ev.sport)
        flow.src_ip, flow.dst_ip = address(s, ev.ip_version), address(d, ev.ip_version)
        flow.src_port, flow.dst_port = sp, dp
        flow.protocol, flow.ip_version, flow.vlan_id = ev.proto, ev.ip_version, ev.vlan
        flow.expiration_id = 0
        set_counters(flow, ev, self.l2_bytes)
        self.flows[ev.key] = flow
        packet = self._packet(ev, ip)
        for p in self.plugins:
            before = set(flow.udps.__dict__) if getattr(p, "volatile", False) is True else None
            p.on_init(packet, flow)
            if before is not None:
                self.volatile.setdefault(p, set()).update(set(flow.udps.__dict__) - before)
        self._check_expiration(flow)

    def _check_expiration(self, flow):
        if flow.expiration_id == -1 and not self._warned_expiration:
            self._warned_expiration = True
            warnings.warn("nfprobe: flow.expiration_id = -1 (nfstream's custom expiration) is not "
                          "supported: flows end when nfprobe expires them", RuntimeWarning, stacklevel=4)

    def ready(self, key):
        """The record of `key` can be completed: its expiry has been read."""
        return key in self.expired

    def complete(self, key, flow_from_record):
        """The plugins' flow for `key`, given every attribute of the record,
        after on_expire, without the volatile values."""
        self.expired.discard(key)
        flow = self.flows.pop(key)
        udps = flow.udps
        flow.__dict__.update(flow_from_record.__dict__)
        flow.udps = udps
        for p in self.plugins:
            p.on_expire(flow)
        for names in self.volatile.values():
            for name in names:
                udps.__dict__.pop(name, None)
        return flow
