#!/usr/bin/env python3
"""Independent expected flow tables for nfprobe, computed from tshark's dissection.

Usage (from the repository root):
    python3 tests/tools/tshark_flows.py ../shared/testdata/pcap/X.pcap > tests/expected/X.pcap.flows
    python3 tests/tools/tshark_flows.py --all [--pcap-dir DIR] [--out-dir DIR]
    python3 tests/tools/tshark_flows.py --explain ../shared/testdata/pcap/X.pcap   # per-packet decisions on stderr

The capture is read once with `tshark -T pdml` (all reassembly disabled, see
TSHARK_PREFS).  PDML keeps the protocol layers of each frame in order, with the
byte position of every layer and field, so the OUTERMOST IP header and the
transport header that directly follows it can be identified without mixing up
inner (tunnelled) layers.  Every decision below uses field values decoded by
tshark; no packet bytes are parsed here.

The flow definition is described in tests/expected/README.
Python 3 standard library only.
"""

import argparse
import codecs
import ipaddress
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

# Reassembly of any kind is turned off so that every frame is dissected on its
# own.  IP defragmentation is the one that matters (it would move the upper
# layers to the last fragment); the others only change which frame shows an
# application PDU, but are disabled too so no frame gets extra layers.
TSHARK_PREFS = [
    "ip.defragment:FALSE",
    "ipv6.defragment:FALSE",
    "tcp.desegment_tcp_streams:FALSE",
    "tcp.reassemble_out_of_order:FALSE",
    "tcp.analyze_sequence_numbers:FALSE",
]

# Layers that may appear between the start of the frame and the outermost IP
# header (the link types and encapsulations nfprobe supports).  `eth` covers
# Ethernet II; `vlan` is 802.1Q and (in tshark 4.0) also 802.1ad 0x88a8;
# `ieee8021ad` is tshark's alternative 802.1ad dissector.
ALLOWED_LINK = {"eth", "vlan", "ieee8021ad", "mpls", "pppoes", "ppp", "sll",
                "raw", "null", "chdlc", "nflog",
                # 802.11: radiotap, PPI, the frame, LLC/SNAP
                "radiotap", "wlan_radio", "ppi", "wlan", "llc"}
IGNORED_TOP = {"geninfo", "frame", "fake-field-wrapper", "_ws.short",
               "_ws.malformed", "_ws.unreassembled", "_ws.expert",
               "_ws.lua.fake"}

# IPv6 extension headers that are walked, with tshark's layer name and the
# field holding their next-header value.
V6_EXT = {
    0: ("ipv6.hopopts", "ipv6.hopopts.nxt"),
    43: ("ipv6.routing", "ipv6.routing.nxt"),
    44: ("ipv6.fraghdr", "ipv6.fraghdr.nxt"),
    60: ("ipv6.dstopts", "ipv6.dstopts.nxt"),
    51: ("ah", "ah.next_header"),
    135: ("mipv6", "mip6.proto"),
}

PORT_LAYERS = {6: "tcp", 17: "udp", 132: "sctp"}

# Link-layer "next protocol" fields (of the layer right in front of the IP
# header) and the values that announce IPv4 / IPv6.
ETHERTYPES = {0x0800: 4, 0x86DD: 6}
DECLARED = {
    "eth": [("eth.type", ETHERTYPES)],
    "vlan": [("vlan.etype", ETHERTYPES)],
    "ieee8021ad": [("ieee8021ad.etype", ETHERTYPES)],
    "sll": [("sll.etype", ETHERTYPES)],
    "chdlc": [("chdlc.protocol", ETHERTYPES)],
    "ppp": [("ppp.protocol", {0x0021: 4, 0x0057: 6})],
    "null": [("null.family", {2: 4, 24: 6, 28: 6, 30: 6, 10: 6}),
             ("null.type", ETHERTYPES)],
    "nflog": [("nflog.family", {2: 4, 10: 6})],
    "llc": [("llc.type", ETHERTYPES)],
}


FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def tshark_version():
    try:
        out = subprocess.run(["tshark", "--version"], capture_output=True,
                             text=True).stdout
    except OSError:
        return "unknown"
    m = re.search(r"TShark \(Wireshark\) (\S+)", out)
    return m.group(1) if m else "unknown"


def to_int(s):
    if s is None:
        return None
    s = s.strip()
    try:
        return int(s, 0) if s.lower().startswith("0x") else int(s)
    except ValueError:
        return None


def find_field(proto, name):
    """First field `name` inside layer `proto`, not descending into nested layers."""
    stack = list(proto)
    stack.reverse()
    while stack:
        el = stack.pop()
        if el.tag == "proto":
            continue
        if el.tag == "field":
            if el.get("name") == name:
                return el
            kids = list(el)
            kids.reverse()
            stack.extend(kids)
    return None


def fval(proto, name):
    el = find_field(proto, name) if proto is not None else None
    return None if el is None else el.get("show")


def nested_protos(proto):
    """Layers nested inside `proto` (through fields), in document order."""
    out = []
    for el in proto.iter():
        if el is not proto and el.tag == "proto":
            out.append(el)
    return out


class Packet:
    """What the generator decided for one frame."""
    __slots__ = ("num", "wire_len", "cap_len", "metered", "reason", "key",
                 "src", "sport", "dst", "dport", "ip_bytes", "notes", "tcp_flags")

    def __init__(self):
        self.metered = False
        self.reason = ""
        self.notes = []
        self.tcp_flags = 0


class Stop(Exception):
    """An IP layer the flow definition cannot meter, with the reason."""


def declared_version(link_layer):
    """The IP version the layer in front of an IP header announced (None:
    decided by the version nibble, as for raw IP and after MPLS)."""
    if link_layer is None:
        return None
    for fname, table in DECLARED.get(link_layer.get("name"), []):
        v = to_int(fval(link_layer, fname))
        if v is not None and v in table:
            return table[v]
    return None


def ip_facts(p, layers, ip_idx, avail):
    """What the IP layer layers[ip_idx] says (rules 3-8 of tests/expected/README).
    avail: bytes the wire carried from this IP header on. Raises Stop."""
    ipl = layers[ip_idx]
    declared = declared_version(layers[ip_idx - 1] if ip_idx > 0 else None)
    pos = to_int(ipl.get("pos"))
    ver = to_int(fval(ipl, "ip.version" if ipl.get("name") == "ip" else "ipv6.version"))
    lname = ipl.get("name")
    if ver is None:
        raise Stop("IP version not captured")
    if (lname == "ip" and ver != 4) or (lname == "ipv6" and ver != 6):
        raise Stop("bogus IP version %d in %s layer" % (ver, lname))
    if declared is not None and declared != ver:
        raise Stop("link layer says IPv%d, header says IPv%d" % (declared, ver))
    f = {"pos": pos, "ver": ver, "frag_first": False, "frag_later": False, "notes": []}
    if ver == 4:
        hl = to_int(fval(ipl, "ip.hdr_len"))
        if hl is None:
            raise Stop("IPv4 header length not captured")
        if hl < 20:
            raise Stop("IPv4 IHL < 5 (%d bytes)" % hl)
        if pos + hl > p.cap_len:
            raise Stop("IPv4 header not fully captured (%d+%d > caplen %d)" % (pos, hl, p.cap_len))
        src, dst = fval(ipl, "ip.src"), fval(ipl, "ip.dst")
        proto = to_int(fval(ipl, "ip.proto"))
        tot = to_int(fval(ipl, "ip.len"))
        mf = to_int(fval(ipl, "ip.flags.mf"))
        off = to_int(fval(ipl, "ip.frag_offset"))
        ipid = fval(ipl, "ip.id")
        if None in (src, dst, proto, tot, mf, off, ipid):
            raise Stop("IPv4 header field missing in tshark output")
        ip_bytes = tot
        if tot < hl or tot > avail:
            ip_bytes = avail
            f["notes"].append("ip.len %d unusable -> wire bytes %d" % (tot, avail))
        if off != 0:
            f["frag_later"] = True
        elif mf:
            f["frag_first"] = True
        f["fragkey"] = (4, src, dst, proto, to_int(ipid))
        following = layers[ip_idx + 1:]
    else:
        if pos + 40 > p.cap_len:
            raise Stop("IPv6 header not fully captured")
        src, dst = fval(ipl, "ipv6.src"), fval(ipl, "ipv6.dst")
        plen = to_int(fval(ipl, "ipv6.plen"))
        nxt = to_int(fval(ipl, "ipv6.nxt"))
        if None in (src, dst, plen, nxt):
            raise Stop("IPv6 header field missing in tshark output")
        ip_bytes = plen + 40
        if ip_bytes > avail:
            ip_bytes = avail
            f["notes"].append("ipv6.plen %d unusable -> wire bytes %d" % (plen, avail))
        f["fragkey"] = None
        # walk the extension headers: tshark nests them inside the ipv6
        # layer (hop-by-hop, routing, fragment, destination options); AH and
        # mobility are separate top-level layers.
        seq = nested_protos(ipl) + layers[ip_idx + 1:]
        i = 0
        while nxt in V6_EXT:
            lname_e, fname_e = V6_EXT[nxt]
            if i >= len(seq) or seq[i].get("name") != lname_e:
                f["notes"].append("extension header %d not dissected; protocol left at %d" % (nxt, nxt))
                break
            e = seq[i]
            n2 = to_int(fval(e, fname_e))
            if n2 is None:
                f["notes"].append("extension header %d truncated; protocol left at %d" % (nxt, nxt))
                break
            if nxt == 44:
                foff = to_int(fval(e, "ipv6.fraghdr.offset"))
                fmore = to_int(fval(e, "ipv6.fraghdr.more"))
                fid = to_int(fval(e, "ipv6.fraghdr.ident"))
                f["fragkey"] = (6, src, dst, n2, fid)
                if foff:
                    f["frag_later"] = True
                    nxt = n2
                    i += 1
                    break
                if fmore:
                    f["frag_first"] = True
            nxt = n2
            i += 1
        proto = nxt
        following = seq[i:]
        # skip layers still nested inside ipv6 (none expected after the walk)
        following = [l for l in following if l.get("name") not in
                     ("ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts")]
    f["src"] = ipaddress.ip_address(src).compressed
    f["dst"] = ipaddress.ip_address(dst).compressed
    f["proto"] = proto
    f["ip_bytes"] = ip_bytes
    f["following"] = following
    f["sport"] = f["dport"] = 0
    f["tcp_flags"] = 0
    if not f["frag_later"]:
        lay = PORT_LAYERS.get(proto)
        if lay is not None:
            t = following[0] if following else None
            if t is not None and t.get("name") == lay:
                sp = to_int(fval(t, lay + ".srcport"))
                dp = to_int(fval(t, lay + ".dstport"))
                tpos = to_int(t.get("pos"))
                if sp is not None and dp is not None and tpos + 4 <= p.cap_len:
                    f["sport"], f["dport"] = sp, dp
                    if lay == "tcp" and tpos + 14 <= p.cap_len:
                        f["tcp_flags"] = (to_int(fval(t, "tcp.flags")) or 0) & 0xFF
                else:
                    f["notes"].append("%s ports not captured -> 0" % lay)
            else:
                f["notes"].append("no %s layer after IP (%s) -> ports 0" %
                                  (lay, t.get("name") if t is not None else "nothing"))
    return f


# Tunnels (tests/expected/README, "Tunnels"): the tshark layers between an IP
# layer and the next one that make a tunnel, by the first one or two names;
# what may follow up to the inner IP layer (Ethernet and its tags, LLC/SNAP,
# PPP, MPLS); and the field holding the id both directions share.
TUNNEL_FRAME = {"eth", "vlan", "ieee8021ad", "mpls", "llc", "ppp", "wlan"}
MAX_TUNNEL_DEPTH = 4


def tunnel_of(cur, layers, names, ip_idx):
    """(type, keyed id, index of the inner IP layer) for the tunnel behind the
    IP layer at ip_idx, or None."""
    following = cur["following"]
    if not following and cur["proto"] not in (4, 41):
        return None
    try:
        start = layers.index(following[0]) if following else ip_idx + 1
    except ValueError:
        return None
    j = start
    while j < len(names) and names[j] not in ("ip", "ipv6"):
        j += 1
    if j >= len(names):
        return None
    between = names[start:j]
    mid = [layers[k] for k in range(start, j)]
    proto = cur["proto"]
    if proto in (4, 41) and not between:
        return ("ip-in-ip", 0, j)
    if proto == 47 and between and between[0] == "gre":
        gre = mid[0]
        rest = between[1:]
        if rest[:1] == ["erspan"]:
            if not set(rest[1:]) <= TUNNEL_FRAME:
                return None
            sid = to_int(fval(mid[1], "erspan.spanid"))
            return ("erspan", sid or 0, j)
        if not set(rest) <= TUNNEL_FRAME:
            return None
        key = to_int(fval(gre, "gre.key"))
        if to_int(fval(gre, "gre.ver")) == 1:
            return ("pptp", 0, j)
        if rest[:1] == ["eth"] and key is not None and \
                to_int(fval(gre, "gre.flags.checksum")) == 0 and to_int(fval(gre, "gre.flags.sequence_number")) == 0:
            return ("nvgre", key >> 8, j)
        return ("gre", key or 0, j)
    if proto == 17 and between[:1] == ["udp"] and len(between) >= 2:
        kind, rest = between[1], between[2:]
        if not set(rest) <= TUNNEL_FRAME:
            return None
        ids = {"vxlan": "vxlan.vni", "geneve": "geneve.vni"}
        if kind in ids:
            return (kind, to_int(fval(mid[1], ids[kind])) or 0, j)
        if kind in ("gtp", "teredo", "l2tp", "capwap.data", "tzsp", "mpls"):
            return (kind, 0, j)
    return None


def analyse(pkt_el, frag_table, tunnels=True):
    p = Packet()
    top = [c for c in pkt_el if c.tag == "proto"]
    geninfo = next((c for c in top if c.get("name") == "geninfo"), None)
    p.num = to_int(fval(geninfo, "num"))
    p.wire_len = to_int(fval(geninfo, "len"))
    p.cap_len = to_int(fval(geninfo, "caplen"))
    layers = [c for c in top if c.get("name") not in IGNORED_TOP]
    names = [c.get("name") for c in layers]
    p.notes = []

    ip_idx = next((i for i, n in enumerate(names) if n in ("ip", "ipv6")), None)
    if ip_idx is None:
        p.reason = "no IP layer (" + (":".join(names) or "no layers") + ")"
        return p
    link = layers[:ip_idx]
    bad = [n for n in names[:ip_idx] if n not in ALLOWED_LINK]
    if bad:
        p.reason = "IP behind unsupported layer(s) " + ":".join(names[:ip_idx])
        return p

    # outer VLAN id = first VLAN tag in front of the outer IP header
    vlan = 0
    for l in link:
        if l.get("name") in ("vlan", "ieee8021ad"):
            v = to_int(fval(l, "vlan.id")) if l.get("name") == "vlan" else \
                to_int(fval(l, "ieee8021ad.id"))
            vlan = v if v is not None else 0
            break

    l2off = to_int(layers[ip_idx].get("pos"))
    try:
        cur = ip_facts(p, layers, ip_idx, p.wire_len - l2off)
    except Stop as e:
        p.reason = str(e)
        return p
    p.notes += cur["notes"]
    outer = cur
    tunnel = None
    if tunnels and outer["frag_later"]:
        hit = frag_table.get(("tail",) + outer["fragkey"])
        if hit:
            p.reason = "later fragment of a decapsulated tunnel packet"
            return p
    depth = 0
    while tunnels and not cur["frag_later"]:
        t = tunnel_of(cur, layers, names, ip_idx)
        if t is None:
            break
        if depth == MAX_TUNNEL_DEPTH:
            p.notes.append("tunnels nested too deep")
            break
        kind, tid, inner_idx = t
        inner_pos = to_int(layers[inner_idx].get("pos"))
        if cur["frag_first"]:
            avail = 65535 + 40
        else:
            avail = max(0, cur["pos"] + cur["ip_bytes"] - inner_pos)
        try:
            inner = ip_facts(p, layers, inner_idx, avail)
        except Stop as e:
            p.notes.append("%s payload not metered (%s): outer packet" % (kind, e))
            break
        if depth == 0 and outer["frag_first"]:
            frag_table[("tail",) + outer["fragkey"]] = True
        depth += 1
        tunnel = (kind, tid, outer["ver"]) + tuple(sorted((outer["src"], outer["dst"])))
        p.notes.append("inside %s id %d" % (kind, tid))
        p.notes += inner["notes"]
        cur, ip_idx = inner, inner_idx

    src, dst, proto = cur["src"], cur["dst"], cur["proto"]
    sport, dport = cur["sport"], cur["dport"]
    p.tcp_flags = cur["tcp_flags"]
    key = None
    if cur["frag_later"]:
        hit = frag_table.get(cur["fragkey"])
        if hit is not None:
            key, sport, dport = hit
            p.notes.append("non-first fragment -> flow of first fragment")
        else:
            p.notes.append("non-first fragment, no earlier first fragment -> ports 0")
    if key is None:
        key = (vlan, cur["ver"], proto, tunnel)
    if cur["frag_first"]:
        frag_table[cur["fragkey"]] = (key, sport, dport)
    p.metered = True
    p.key = key
    p.src, p.sport, p.dst, p.dport = src, sport, dst, dport
    p.ip_bytes = cur["ip_bytes"]
    return p


def run_tshark(path):
    cmd = ["tshark", "-n", "-r", path, "-T", "pdml"]
    for pref in TSHARK_PREFS:
        cmd += ["-o", pref]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # stderr goes to a temporary file: a pipe could fill up and block tshark
    errf = tempfile.TemporaryFile()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, env=env)
    proc.errf = errf
    return proc


def read_stderr(proc):
    proc.errf.seek(0)
    data = proc.errf.read()
    proc.errf.close()
    return data


def clean_stderr(err):
    lines = [l.strip() for l in err.decode("utf-8", "replace").splitlines()]
    lines = [l for l in lines if l and not l.startswith("Running as user")]
    return " ".join(lines)


# tshark copies undecodable bytes of fuzzed packets into PDML attributes; the
# stream is decoded leniently and characters that XML 1.0 forbids are dropped.
BAD_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def pdml_packets(stream):
    """Yield each <packet> element of a PDML byte stream as it completes."""
    parser = ET.XMLPullParser(events=("end",))
    dec = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while True:
        chunk = stream.read(1 << 20)
        text = dec.decode(chunk, final=not chunk)
        if text:
            parser.feed(BAD_XML_CHARS.sub("", text))
        for _event, el in parser.read_events():
            if el.tag == "packet":
                yield el
        if not chunk:
            break
    parser.close()


def flows_for(path, explain=None, tunnels=True):
    """Return (flows dict, tshark error text or '', packet count, stats)."""
    proc = run_tshark(path)
    flows = {}
    done = []       # flows ended by a new SYN on their ports
    frag_table = {}
    stats = {"packets": 0, "metered": 0, "skipped": {}}
    try:
        for el in pdml_packets(proc.stdout):
            p = analyse(el, frag_table, tunnels)
            el.clear()
            stats["packets"] += 1
            if not p.metered:
                stats["skipped"][p.reason] = stats["skipped"].get(p.reason, 0) + 1
                if explain:
                    explain.write("%s #%s: not metered: %s\n" % (os.path.basename(path), p.num, p.reason))
                continue
            stats["metered"] += 1
            a, b = (p.src, p.sport), (p.dst, p.dport)
            fk = p.key + ((a, b) if (a <= b) else (b, a),)
            f = flows.get(fk)
            # A TCP conversation that ended (RST, or FIN both ways) and sees a
            # new SYN is a new connection on the same ports: a new flow.
            if f is not None and f["closed"] and (p.tcp_flags & (SYN | ACK)) == SYN:
                done.append(f)
                f = None
                if explain:
                    explain.write("%s #%s: SYN after close -> new flow\n" % (os.path.basename(path), p.num))
            if f is None:
                f = {"key": p.key, "src": a, "dst": b, "c": [0, 0, 0, 0, 0, 0], "fin": 0, "closed": False}
                flows[fk] = f
            d = 0 if a == f["src"] else 3
            if p.tcp_flags & FIN:
                f["fin"] |= 1 if d == 0 else 2
            if p.tcp_flags & RST or f["fin"] == 3:
                f["closed"] = True
            f["c"][d] += 1
            f["c"][d + 1] += p.ip_bytes
            f["c"][d + 2] += p.wire_len
            if explain:
                explain.write("%s #%s: %s %s:%s -> %s:%s ip=%d l2=%d%s\n" % (
                    os.path.basename(path), p.num, p.key, p.src, p.sport, p.dst,
                    p.dport, p.ip_bytes, p.wire_len,
                    ("  [" + "; ".join(p.notes) + "]") if p.notes else ""))
    except ET.ParseError as e:
        # tshark stopped in the middle of its output (e.g. it crashed)
        stats["parse_error"] = str(e)
        proc.stdout.read()
    rc = proc.wait()
    err = clean_stderr(read_stderr(proc))
    if "parse_error" in stats:
        err = (err + " " if err else "") + "(PDML output cut: %s)" % stats["parse_error"]
    if stats["packets"] == 0 and (rc != 0 or "parse_error" in stats):
        return None, err or ("tshark exit status %d" % rc), 0, stats
    return done + list(flows.values()), err, stats["packets"], stats


def sort_key(f):
    (vlan, ver, proto, tunnel) = f["key"]
    s, d = f["src"], f["dst"]
    return (proto, vlan, ver, int(ipaddress.ip_address(s[0])), s[1],
            int(ipaddress.ip_address(d[0])), d[1], str(tunnel))


def render(path, out, version, explain=None, tunnels=True):
    name = os.path.basename(path)
    flows, err, npk, stats = flows_for(path, explain, tunnels)
    if flows is None:
        # the file holds only this line
        out.write("# unreadable: %s\n" % err)
        return stats, None
    out.write("# generated by tests/tools/tshark_flows.py from %s (tshark %s)\n" % (name, version))
    if err:
        # tshark read some packets, then complained (e.g. a cut-short file)
        out.write("# tshark: %s\n" % err)
    for f in sorted(flows, key=sort_key):
        vlan, ver, proto, _tunnel = f["key"]
        c = f["c"]
        out.write("%d %d %s %d %s %d %d %d %d %d %d %d\n" % (
            proto, vlan, f["src"][0], f["src"][1], f["dst"][0], f["dst"][1],
            c[0], c[1], c[2], c[3], c[4], c[5]))
    return stats, flows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("pcap", nargs="?", help="capture file")
    ap.add_argument("--all", action="store_true",
                    help="regenerate tests/expected/<name>.flows for every capture")
    ap.add_argument("--pcap-dir", default="../shared/testdata/pcap")
    ap.add_argument("--out-dir", default="tests/expected")
    ap.add_argument("--no-tunnels", action="store_true",
                    help="meter tunnels as their outer packets (nfprobe --no-decode-tunnels)")
    ap.add_argument("--explain", action="store_true",
                    help="print one line per packet (decision, notes) to stderr")
    a = ap.parse_args()
    version = tshark_version()
    explain = sys.stderr if a.explain else None
    if a.all:
        names = sorted(n for n in os.listdir(a.pcap_dir)
                       if os.path.isfile(os.path.join(a.pcap_dir, n)))
        os.makedirs(a.out_dir, exist_ok=True)
        for n in names:
            dest = os.path.join(a.out_dir, n + ".flows")
            with open(dest + ".tmp", "w") as out:
                stats, flows = render(os.path.join(a.pcap_dir, n), out, version, explain,
                                      not a.no_tunnels)
            os.replace(dest + ".tmp", dest)
            sk = stats["skipped"]
            print("%-45s %5s flows  %5d pkts  %5d metered%s" % (
                n, "-" if flows is None else len(flows), stats["packets"],
                stats["metered"],
                ("  skipped: " + "; ".join("%s x%d" % kv for kv in sorted(sk.items()))) if sk else ""))
        return 0
    if not a.pcap:
        ap.error("give a capture file or --all")
    render(a.pcap, sys.stdout, version, explain, not a.no_tunnels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
