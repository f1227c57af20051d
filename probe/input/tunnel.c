/* tunnel.c — find a tunnel header behind a decoded IP packet, check it, and
 * decode the packet it carries in place of the outer one.
 *
 * Every parser reads only the bytes the outer transport header says were
 * captured (pv->l4, pv->l4_caplen, already cut to the IP datagram), and
 * checks each length before reading. A parser answers with the payload it
 * found, or with why it cannot (a tunnel_stop), or NOT_TUNNEL when the packet
 * is not tunnel data at all (GTP echo, L2TP control, a PPTP acknowledgement):
 * then the outer packet is metered, and nothing is counted. */
#include "tunnel.h"

#include <string.h>

#include "decode_stage.h"
#include "util.h"

enum {
    NOT_TUNNEL = -1,
    PORT_GTPU = 2152,
    PORT_VXLAN = 4789,
    PORT_VXLAN_GPE = 4790,
    PORT_GENEVE = 6081,
    PORT_TEREDO = 3544,
    PORT_L2TP = 1701,
    PORT_CAPWAP_DATA = 5247,
    PORT_TZSP = 37008,
    PORT_MPLS_UDP = 6635,
    ETH_TEB = 0x6558,           /* transparent Ethernet bridging */
    ETH_ERSPAN_2 = 0x88BE,      /* ERSPAN type I (no sequence number) and II */
    ETH_ERSPAN_3 = 0x22EB,
    ETH_PPP = 0x880B,
    ETH_MPLS = 0x8847,
    ETH_MPLS_MC = 0x8848,
    IP_MAX_DATAGRAM = 65535 + 40,   /* IPv6 header + the largest payload length */
};

/* What a tunnel header carries. */
enum payload { PAY_NIBBLE, PAY_IPV4, PAY_IPV6, PAY_ETHERNET, PAY_PPP, PAY_WLAN, PAY_MPLS };

struct hop {
    uint8_t type;           /* enum tunnel_type */
    uint8_t payload;        /* enum payload */
    uint8_t keyed;          /* id is the same both ways: part of the flow key */
    uint8_t has_id;
    uint32_t id;
    uint32_t hdr_len;       /* tunnel header bytes before the payload */
    uint32_t payload_max;   /* the header limits its payload to this (else UINT32_MAX) */
};

static const char *const type_names[TUNNEL_TYPE_COUNT] = {
    [TUNNEL_NONE] = "none", [TUNNEL_GTPU] = "gtp-u", [TUNNEL_GRE] = "gre",
    [TUNNEL_NVGRE] = "nvgre", [TUNNEL_ERSPAN] = "erspan", [TUNNEL_PPTP] = "pptp",
    [TUNNEL_VXLAN] = "vxlan", [TUNNEL_VXLAN_GPE] = "vxlan-gpe", [TUNNEL_GENEVE] = "geneve",
    [TUNNEL_IPIP] = "ip-in-ip", [TUNNEL_TEREDO] = "teredo", [TUNNEL_L2TP] = "l2tp",
    [TUNNEL_CAPWAP] = "capwap", [TUNNEL_TZSP] = "tzsp", [TUNNEL_MPLS_UDP] = "mpls-in-udp",
};

static const char *const stop_names[TUNNEL_STOP_COUNT] = {
    [TUNNEL_STOP_NONE] = "none",
    [TUNNEL_STOP_TRUNCATED] = "truncated tunnel header",
    [TUNNEL_STOP_MALFORMED] = "malformed tunnel header",
    [TUNNEL_STOP_UNSUPPORTED] = "unsupported tunnel payload",
    [TUNNEL_STOP_INNER_NOT_IP] = "tunnel payload not IP",
    [TUNNEL_STOP_INNER_BAD] = "truncated or invalid IP header inside a tunnel",
    [TUNNEL_STOP_DEPTH] = "tunnels nested too deep",
};

const char *tunnel_type_name(unsigned type)
{
    return type < TUNNEL_TYPE_COUNT ? type_names[type] : "?";
}

const char *tunnel_stop_name(unsigned stop)
{
    return stop < TUNNEL_STOP_COUNT ? stop_names[stop] : "?";
}

static void set_hop(struct hop *h, uint8_t type, uint8_t payload, uint32_t hdr_len)
{
    memset(h, 0, sizeof *h);
    h->type = type;
    h->payload = payload;
    h->hdr_len = hdr_len;
    h->payload_max = UINT32_MAX;
}

static void set_id(struct hop *h, uint32_t id, int keyed)
{
    h->id = id;
    h->has_id = 1;
    h->keyed = (uint8_t)keyed;
}

/* ---- GTP-U (3GPP TS 29.281) ------------------------------------------------ */

/* Flags (version 1, PT 1, E, S, PN), message type, length (after the first
 * 8 bytes), TEID; with E, S or PN 4 more bytes, the last naming the first
 * extension header; each extension header's first byte is its length in
 * 4-byte units, its last the next one's type. Only G-PDUs (type 255) carry
 * user packets. */
static int parse_gtpu(const uint8_t *p, uint32_t n, struct hop *h)
{
    enum { GTP_E_S_PN = 0x07, GTP_E = 0x04, G_PDU = 0xFF, MANDATORY = 8, OPTIONAL = 4 };
    if (n < MANDATORY)
        return TUNNEL_STOP_TRUNCATED;
    if ((p[0] >> 5) != 1 || !(p[0] & 0x10))
        return NOT_TUNNEL;      /* GTP' or another version on the port */
    if (p[1] != G_PDU)
        return NOT_TUNNEL;      /* echo, error indication, end marker: signalling */
    uint32_t length = rd16(p + 2);
    uint32_t hdr = MANDATORY;
    if (p[0] & GTP_E_S_PN) {
        if (n < MANDATORY + OPTIONAL)
            return TUNNEL_STOP_TRUNCATED;
        hdr += OPTIONAL;
        uint8_t next = (p[0] & GTP_E) ? p[11] : 0;
        while (next) {
            if (n < hdr + 1)
                return TUNNEL_STOP_TRUNCATED;
            uint32_t ext = (uint32_t)p[hdr] * 4;
            if (ext == 0)
                return TUNNEL_STOP_MALFORMED;
            if (n < hdr + ext)
                return TUNNEL_STOP_TRUNCATED;
            next = p[hdr + ext - 1];
            hdr += ext;
        }
    }
    if (length < hdr - MANDATORY)
        return TUNNEL_STOP_MALFORMED;
    set_hop(h, TUNNEL_GTPU, PAY_NIBBLE, hdr);
    h->payload_max = length - (hdr - MANDATORY);
    /* the two directions carry the TEIDs their receivers chose: not keyed */
    set_id(h, rd32(p + 4), 0);
    return 0;
}

/* ---- GRE (RFC 2784, 2890; RFC 2637 enhanced GRE; ERSPAN) ------------------- */

enum {
    GRE_C = 0x8000, GRE_R = 0x4000, GRE_K = 0x2000, GRE_S = 0x1000, GRE_RESERVED0 = 0x0FF8,
    GRE_A = 0x0080, GRE_VERSION = 0x0007,
};

/* ERSPAN II: version 1, VLAN, COS/En/T, 10-bit session id, index (8 bytes).
 * ERSPAN III: version 2, the same first word, timestamp, then SGT, P, frame
 * type (0: Ethernet), hardware id, D, granularity, O: an 8-byte platform
 * specific sub-header follows when O is set (12 or 20 bytes). */
static int parse_erspan(const uint8_t *p, uint32_t n, uint32_t at, int type3, struct hop *h)
{
    uint32_t len = type3 ? 12 : 8;
    if (n < at + len)
        return TUNNEL_STOP_TRUNCATED;
    const uint8_t *e = p + at;
    if ((e[0] >> 4) != (type3 ? 2 : 1))
        return TUNNEL_STOP_MALFORMED;
    if (type3) {
        uint16_t w = rd16(e + 10);
        if ((w >> 10) & 0x1F)
            return TUNNEL_STOP_UNSUPPORTED;     /* not an Ethernet frame */
        if (w & 1)
            len += 8;
        if (n < at + len)
            return TUNNEL_STOP_TRUNCATED;
    }
    set_hop(h, TUNNEL_ERSPAN, PAY_ETHERNET, at + len);
    set_id(h, rd16(e + 2) & 0x3FF, 1);   /* one mirror session carries both directions */
    return 0;
}

static int parse_gre0(const uint8_t *p, uint32_t n, uint16_t flags, struct hop *h)
{
    if (flags & (GRE_R | GRE_RESERVED0))
        return TUNNEL_STOP_MALFORMED;       /* RFC 1701 routing, RFC 2784 reserved bits */
    uint32_t hdr = 4 + ((flags & GRE_C) ? 4 : 0);
    uint32_t key_at = hdr;
    hdr += ((flags & GRE_K) ? 4 : 0) + ((flags & GRE_S) ? 4 : 0);
    if (n < hdr)
        return TUNNEL_STOP_TRUNCATED;
    uint16_t proto = rd16(p + 2);
    int keyed = (flags & GRE_K) != 0;
    uint32_t key = keyed ? rd32(p + key_at) : 0;
    switch (proto) {
    case ETH_ERSPAN_2:
        if (!(flags & GRE_S)) {     /* type I: the mirrored frame follows GRE */
            set_hop(h, TUNNEL_ERSPAN, PAY_ETHERNET, hdr);
            return 0;
        }
        return parse_erspan(p, n, hdr, 0, h);
    case ETH_ERSPAN_3:
        return parse_erspan(p, n, hdr, 1, h);
    case ETH_TEB:
        if (keyed && !(flags & (GRE_C | GRE_S))) {
            /* NVGRE (RFC 7637): key = 24-bit virtual subnet id + 8-bit flow id */
            set_hop(h, TUNNEL_NVGRE, PAY_ETHERNET, hdr);
            set_id(h, key >> 8, 1);
            return 0;
        }
        set_hop(h, TUNNEL_GRE, PAY_ETHERNET, hdr);
        break;
    case 0x0800: set_hop(h, TUNNEL_GRE, PAY_IPV4, hdr); break;
    case 0x86DD: set_hop(h, TUNNEL_GRE, PAY_IPV6, hdr); break;
    case ETH_MPLS: case ETH_MPLS_MC: set_hop(h, TUNNEL_GRE, PAY_MPLS, hdr); break;
    case ETH_PPP: set_hop(h, TUNNEL_GRE, PAY_PPP, hdr); break;
    default:
        return TUNNEL_STOP_UNSUPPORTED;     /* keepalives, WCCP, ... */
    }
    if (keyed)
        set_id(h, key, 1);      /* RFC 2890: one key per tunnel, both ways */
    return 0;
}

/* Enhanced GRE (PPTP): version 1, K set (payload length + call id), S and A
 * optional, protocol PPP. A packet without payload only acknowledges. */
static int parse_gre1(const uint8_t *p, uint32_t n, uint16_t flags, struct hop *h)
{
    if (rd16(p + 2) != ETH_PPP || !(flags & GRE_K) || (flags & (GRE_C | GRE_R | 0x0F78)))
        return TUNNEL_STOP_MALFORMED;
    uint32_t hdr = 8 + ((flags & GRE_S) ? 4 : 0) + ((flags & GRE_A) ? 4 : 0);
    if (n < hdr)
        return TUNNEL_STOP_TRUNCATED;
    uint32_t payload = rd16(p + 4);
    if (payload == 0)
        return NOT_TUNNEL;
    if (!(flags & GRE_S))
        return TUNNEL_STOP_MALFORMED;       /* RFC 2637: a payload comes with a sequence number */
    set_hop(h, TUNNEL_PPTP, PAY_PPP, hdr);
    h->payload_max = payload;
    set_id(h, rd16(p + 6), 0);      /* the peer's call id: differs per direction */
    return 0;
}

static int parse_gre(const uint8_t *p, uint32_t n, struct hop *h)
{
    if (n < 4)
        return TUNNEL_STOP_TRUNCATED;
    uint16_t flags = rd16(p);
    switch (flags & GRE_VERSION) {
    case 0: return parse_gre0(p, n, flags, h);
    case 1: return parse_gre1(p, n, flags, h);
    default: return TUNNEL_STOP_MALFORMED;
    }
}

/* ---- UDP tunnels ------------------------------------------------------------ */

/* VXLAN (RFC 7348): flags (I set), 24 reserved bits, VNI, 8 reserved. */
static int parse_vxlan(const uint8_t *p, uint32_t n, struct hop *h)
{
    if (n < 8)
        return TUNNEL_STOP_TRUNCATED;
    if (!(p[0] & 0x08))
        return TUNNEL_STOP_MALFORMED;
    set_hop(h, TUNNEL_VXLAN, PAY_ETHERNET, 8);
    set_id(h, rd32(p + 4) >> 8, 1);
    return 0;
}

/* VXLAN-GPE: flags (version 0, I, P), next protocol (with P) in byte 3. */
static int parse_vxlan_gpe(const uint8_t *p, uint32_t n, struct hop *h)
{
    enum { GPE_I = 0x08, GPE_P = 0x04 };
    if (n < 8)
        return TUNNEL_STOP_TRUNCATED;
    if ((p[0] >> 4) & 3)
        return TUNNEL_STOP_MALFORMED;
    uint8_t payload = PAY_ETHERNET;
    if (p[0] & GPE_P) {
        switch (p[3]) {
        case 1: payload = PAY_IPV4; break;
        case 2: payload = PAY_IPV6; break;
        case 3: payload = PAY_ETHERNET; break;
        case 5: payload = PAY_MPLS; break;
        default: return TUNNEL_STOP_UNSUPPORTED;   /* NSH, ... */
        }
    }
    set_hop(h, TUNNEL_VXLAN_GPE, payload, 8);
    if (p[0] & GPE_I)
        set_id(h, rd32(p + 4) >> 8, 1);
    return 0;
}

/* Geneve (RFC 8926): version 0, options length (4-byte units), O and C
 * flags, protocol type, VNI; the options are skipped. */
static int parse_geneve(const uint8_t *p, uint32_t n, struct hop *h)
{
    if (n < 8)
        return TUNNEL_STOP_TRUNCATED;
    if (p[0] >> 6)
        return TUNNEL_STOP_MALFORMED;
    uint32_t hdr = 8 + (uint32_t)(p[0] & 0x3F) * 4;
    if (n < hdr)
        return TUNNEL_STOP_TRUNCATED;
    uint8_t payload;
    switch (rd16(p + 2)) {
    case ETH_TEB: payload = PAY_ETHERNET; break;
    case 0x0800: payload = PAY_IPV4; break;
    case 0x86DD: payload = PAY_IPV6; break;
    default: return TUNNEL_STOP_UNSUPPORTED;
    }
    set_hop(h, TUNNEL_GENEVE, payload, hdr);
    set_id(h, rd32(p + 4) >> 8, 1);
    return 0;
}

/* Teredo (RFC 4380): an optional authentication indicator (0x0001, id
 * length, auth length, id, auth value, 8-byte nonce, confirmation) and an
 * optional origin indicator (0x0000, port, address: 8 bytes), then IPv6. */
static int parse_teredo(const uint8_t *p, uint32_t n, struct hop *h)
{
    uint32_t at = 0;
    if (n < 2)
        return TUNNEL_STOP_TRUNCATED;
    if (n >= 2 && rd16(p) == 0x0001) {
        if (n < 4)
            return TUNNEL_STOP_TRUNCATED;
        at = 4 + (uint32_t)p[2] + p[3] + 8 + 1;
        if (n < at)
            return TUNNEL_STOP_TRUNCATED;
    }
    if (n >= at + 2 && rd16(p + at) == 0x0000) {
        if (n < at + 8)
            return TUNNEL_STOP_TRUNCATED;
        at += 8;
    }
    if (n < at + 1)
        return TUNNEL_STOP_TRUNCATED;
    if ((p[at] >> 4) != 6)
        return at ? TUNNEL_STOP_MALFORMED : NOT_TUNNEL;
    set_hop(h, TUNNEL_TEREDO, PAY_IPV6, at);
    return 0;
}

/* L2TPv2 (RFC 2661): flags/version (T: control message, L, S, O), length,
 * tunnel id, session id, Ns/Nr, offset size + padding; data is PPP. */
static int parse_l2tp(const uint8_t *p, uint32_t n, struct hop *h)
{
    enum { L2TP_T = 0x8000, L2TP_L = 0x4000, L2TP_S = 0x0800, L2TP_O = 0x0200 };
    if (n < 2)
        return TUNNEL_STOP_TRUNCATED;
    uint16_t flags = rd16(p);
    if ((flags & 0x0F) == 3)
        return TUNNEL_STOP_UNSUPPORTED;     /* L2TPv3 over UDP */
    if ((flags & 0x0F) != 2)
        return TUNNEL_STOP_MALFORMED;
    if (flags & L2TP_T)
        return NOT_TUNNEL;
    uint32_t hdr = 2 + ((flags & L2TP_L) ? 2 : 0);
    uint32_t ids = hdr;
    hdr += 4 + ((flags & L2TP_S) ? 4 : 0);
    if (flags & L2TP_O) {
        if (n < hdr + 2)
            return TUNNEL_STOP_TRUNCATED;
        hdr += 2 + rd16(p + hdr);
    }
    if (n < hdr)
        return TUNNEL_STOP_TRUNCATED;
    set_hop(h, TUNNEL_L2TP, PAY_PPP, hdr);
    if (flags & L2TP_L) {
        uint32_t length = rd16(p + 2);
        if (length < hdr)
            return TUNNEL_STOP_MALFORMED;
        h->payload_max = length - hdr;
    }
    /* each end names its own tunnel and session ids: not keyed */
    set_id(h, rd32(p + ids), 0);
    return 0;
}

/* CAPWAP data (RFC 5415): preamble (version 0, type 0; type 1 is DTLS),
 * HLEN (4-byte units, optional fields included), RID, WBID (1: 802.11),
 * T (native frame, else 802.3), F (fragment), K (keep-alive). */
static int parse_capwap(const uint8_t *p, uint32_t n, struct hop *h)
{
    if (n < 8)
        return TUNNEL_STOP_TRUNCATED;
    if (p[0] >> 4)
        return TUNNEL_STOP_MALFORMED;
    if (p[0] & 0x0F)
        return TUNNEL_STOP_UNSUPPORTED;     /* DTLS: encrypted */
    uint32_t w = rd32(p);
    uint32_t hdr = ((w >> 19) & 0x1F) * 4;
    uint32_t wbid = (w >> 9) & 0x1F;
    int native = (w >> 8) & 1, fragment = (w >> 7) & 1, keepalive = (w >> 3) & 1;
    if (hdr < 8)
        return TUNNEL_STOP_MALFORMED;
    if (n < hdr)
        return TUNNEL_STOP_TRUNCATED;
    if (keepalive)
        return NOT_TUNNEL;
    if (n == hdr)
        return TUNNEL_STOP_TRUNCATED;       /* data without its frame */
    if (fragment)
        return TUNNEL_STOP_UNSUPPORTED;
    if (native && wbid != 1)
        return TUNNEL_STOP_UNSUPPORTED;
    set_hop(h, TUNNEL_CAPWAP, native ? PAY_WLAN : PAY_ETHERNET, hdr);
    return 0;
}

/* TZSP: version 1, type (0 received, 1 for transmit), encapsulation
 * (1 Ethernet, 18 802.11), then tagged fields up to the end tag (1); tag 0
 * is one byte of padding. */
static int parse_tzsp(const uint8_t *p, uint32_t n, struct hop *h)
{
    enum { TAG_PADDING = 0, TAG_END = 1, ENCAP_ETHERNET = 1, ENCAP_80211 = 18 };
    if (n < 4)
        return TUNNEL_STOP_TRUNCATED;
    if (p[0] != 1)
        return TUNNEL_STOP_MALFORMED;
    if (p[1] > 1)
        return NOT_TUNNEL;      /* configuration, keep-alive, port opener */
    uint16_t encap = rd16(p + 2);
    uint32_t at = 4;
    for (;;) {
        if (n < at + 1)
            return TUNNEL_STOP_TRUNCATED;
        uint8_t tag = p[at];
        if (tag == TAG_END) {
            at++;
            break;
        }
        if (tag == TAG_PADDING) {
            at++;
            continue;
        }
        if (n < at + 2)
            return TUNNEL_STOP_TRUNCATED;
        at += 2 + (uint32_t)p[at + 1];
    }
    if (encap != ENCAP_ETHERNET && encap != ENCAP_80211)
        return TUNNEL_STOP_UNSUPPORTED;
    set_hop(h, TUNNEL_TZSP, encap == ENCAP_ETHERNET ? PAY_ETHERNET : PAY_WLAN, at);
    return 0;
}

static int either_port(const struct packet_view *pv, uint16_t port)
{
    return pv->sport == port || pv->dport == port;
}

/* UDP: by port. VXLAN, VXLAN-GPE, Geneve and MPLS-in-UDP are addressed to
 * their port (the source port carries entropy); the others use theirs on
 * either side. */
static int parse_udp(const struct packet_view *pv, const uint8_t *p, uint32_t n, struct hop *h)
{
    switch (pv->dport) {
    case PORT_VXLAN: return parse_vxlan(p, n, h);
    case PORT_VXLAN_GPE: return parse_vxlan_gpe(p, n, h);
    case PORT_GENEVE: return parse_geneve(p, n, h);
    case PORT_MPLS_UDP: set_hop(h, TUNNEL_MPLS_UDP, PAY_MPLS, 0); return 0;
    default: break;
    }
    if (either_port(pv, PORT_GTPU))
        return parse_gtpu(p, n, h);
    if (either_port(pv, PORT_TEREDO))
        return parse_teredo(p, n, h);
    if (either_port(pv, PORT_L2TP))
        return parse_l2tp(p, n, h);
    if (either_port(pv, PORT_CAPWAP_DATA))
        return parse_capwap(p, n, h);
    if (either_port(pv, PORT_TZSP))
        return parse_tzsp(p, n, h);
    return NOT_TUNNEL;
}

static int is_tunnel_port(uint16_t port)
{
    switch (port) {
    case PORT_GTPU: case PORT_VXLAN: case PORT_VXLAN_GPE: case PORT_GENEVE: case PORT_TEREDO:
    case PORT_L2TP: case PORT_CAPWAP_DATA: case PORT_TZSP: case PORT_MPLS_UDP:
        return 1;
    default:
        return 0;
    }
}

/* The tunnel header behind pv's transport header, if any: 0 (h filled, the
 * payload at *payload), NOT_TUNNEL or a tunnel_stop. */
static int find_tunnel(const struct packet_view *pv, struct hop *h, const uint8_t **payload)
{
    if (!pv->l4)
        return NOT_TUNNEL;      /* a later fragment: no headers in it */
    const uint8_t *p = pv->l4;
    uint32_t n = pv->l4_caplen;
    int r;
    switch (pv->proto) {
    case 4:
        set_hop(h, TUNNEL_IPIP, PAY_IPV4, 0);
        r = 0;
        break;
    case 41:
        set_hop(h, TUNNEL_IPIP, PAY_IPV6, 0);
        r = 0;
        break;
    case 47:
        r = parse_gre(p, n, h);
        break;
    case 17:
        if (!is_tunnel_port(pv->sport) && !is_tunnel_port(pv->dport))
            return NOT_TUNNEL;
        if (n < 8)
            return pv->l4_truncated ? NOT_TUNNEL : TUNNEL_STOP_TRUNCATED;
        p += 8;
        n -= 8;
        r = parse_udp(pv, p, n, h);
        break;
    default:
        return NOT_TUNNEL;
    }
    *payload = p + (r == 0 ? h->hdr_len : 0);
    return r;
}

/* The link layer the tunnel carries, up to the network layer. The outer
 * VLAN stays the flow's: tags inside the tunnel do not replace it. */
static enum decode_status walk_payload(const struct hop *h, struct cursor *c,
                                       struct packet_view *pv, enum net_kind *kind)
{
    uint16_t vlan = pv->vlan;
    enum decode_status st = DECODE_OK;
    switch (h->payload) {
    case PAY_NIBBLE: *kind = NET_BY_NIBBLE; break;
    case PAY_IPV4: *kind = NET_IPV4; break;
    case PAY_IPV6: *kind = NET_IPV6; break;
    case PAY_MPLS: st = walk_mpls(c, kind); break;
    case PAY_PPP: st = link_ppp(c, pv, kind); break;
    case PAY_WLAN: st = walk_wlan(c, WLAN_MAYBE_SWAPPED, pv, kind); break;
    case PAY_ETHERNET:
        if (c->len < 14)
            return DECODE_TRUNCATED_L2;
        uint16_t type = rd16(c->p + 12);
        skip(c, 14);
        st = walk_ethertype(c, type, pv, kind);
        break;
    }
    pv->vlan = vlan;
    return st;
}

static enum tunnel_stop stop_of(enum decode_status st)
{
    switch (st) {
    case DECODE_TRUNCATED_IP: case DECODE_BAD_IP: return TUNNEL_STOP_INNER_BAD;
    case DECODE_TRUNCATED_L2: return TUNNEL_STOP_TRUNCATED;
    case DECODE_UNKNOWN_LINK: return TUNNEL_STOP_UNSUPPORTED;
    default: return TUNNEL_STOP_INNER_NOT_IP;
    }
}

/* The IP-level fields of the outer packet go; the frame's stay. */
static void forget_network(struct packet_view *pv)
{
    pv->l3 = pv->l4 = NULL;
    pv->l3_caplen = pv->l4_caplen = pv->ip_len = 0;
    memset(pv->src, 0, sizeof pv->src);
    memset(pv->dst, 0, sizeof pv->dst);
    pv->sport = pv->dport = pv->icmp_type_code = 0;
    pv->ip_version = pv->proto = pv->tcp_flags = pv->ttl = pv->l4_truncated = 0;
    memset(&pv->frag, 0, sizeof pv->frag);
}

/* What the wire carried of the inner packet: up to the end of the outer IP
 * datagram, or anything a valid IP header claims when the outer datagram
 * is a first fragment (its rest comes in later fragments). */
static uint32_t inner_wire_avail(const struct packet_view *outer, const uint8_t *frame,
                                 const uint8_t *inner)
{
    if (outer->frag.is_fragment)
        return IP_MAX_DATAGRAM;
    uint32_t end = (uint32_t)(outer->l3 - frame) + outer->ip_len;
    uint32_t at = (uint32_t)(inner - frame);
    return end > at ? end - at : 0;
}

/* One tunnel: decode its payload in place of pv's packet. */
static enum tunnel_stop enter(struct packet_view *pv, const struct hop *h, const uint8_t *frame,
                              const uint8_t *payload)
{
    const struct packet_view outer = *pv;
    uint32_t left = (uint32_t)(outer.l4 + outer.l4_caplen - payload);
    struct cursor c = {payload, left < h->payload_max ? left : h->payload_max,
                       (uint32_t)(payload - frame)};
    enum net_kind kind = NET_NONE;
    forget_network(pv);
    enum decode_status st = walk_payload(h, &c, pv, &kind);
    if (st == DECODE_OK)
        st = decode_network(pv, &c, kind, inner_wire_avail(&outer, frame, c.p));
    if (st != DECODE_OK) {
        *pv = outer;
        return stop_of(st);
    }
    if (pv->tun.depth == 0) {
        pv->tun.ip_version = outer.ip_version;
        memcpy(pv->tun.outer_src, outer.src, 16);
        memcpy(pv->tun.outer_dst, outer.dst, 16);
        pv->tun.outer_frag = outer.frag;
        pv->tun.outer_first_fragment = outer.frag.is_fragment;
    }
    pv->tun.depth++;
    pv->tun.type = h->type;
    pv->tun.key_id = h->keyed ? h->id : 0;
    pv->tun.wire_id = h->id;
    pv->tun.has_wire_id = h->has_id;
    return TUNNEL_STOP_NONE;
}

void tunnel_decapsulate(struct packet_view *pv, const uint8_t *frame)
{
    for (;;) {
        struct hop h;
        const uint8_t *payload = NULL;
        int r = find_tunnel(pv, &h, &payload);
        if (r == NOT_TUNNEL)
            return;
        if (r == 0 && pv->tun.depth == TUNNEL_MAX_DEPTH)
            r = TUNNEL_STOP_DEPTH;
        if (r == 0)
            r = enter(pv, &h, frame, payload);
        if (r != TUNNEL_STOP_NONE) {
            pv->tun.stop = (uint8_t)r;
            return;
        }
    }
}
