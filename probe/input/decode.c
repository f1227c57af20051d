/* decode.c — link layer → encapsulations → IP → transport.
 *
 * A cursor (pointer + remaining captured bytes) walks the frame; every read is
 * preceded by a length check against what was captured. Wire lengths from
 * headers are only trusted after they are checked against the wire length. */
#include "decode.h"

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <pcap/dlt.h>

#include "decode_stage.h"
#include "tunnel.h"
#include "util.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#ifndef DLT_NFLOG
#define DLT_NFLOG 239
#endif
#define LINKTYPE_RAW_NUMBER 101     /* LINKTYPE_RAW, if libpcap does not map it */

enum {
    ETH_IPV4 = 0x0800,
    ETH_IPV6 = 0x86DD,
    ETH_VLAN = 0x8100,
    ETH_QINQ = 0x88A8,
    ETH_QINQ_OLD = 0x9100,
    ETH_MPLS = 0x8847,
    ETH_MPLS_MC = 0x8848,
    ETH_PPPOE_SESSION = 0x8864,
    PPP_IPV4 = 0x0021,
    PPP_IPV6 = 0x0057,
    MAX_ENCAP_DEPTH = 16,       /* VLAN/MPLS headers walked before giving up */
};

static const char *const status_names[DECODE_STATUS_COUNT] = {
    [DECODE_OK] = "ok",
    [DECODE_TRUNCATED_L2] = "truncated link/encapsulation header",
    [DECODE_NOT_IP] = "not IP",
    [DECODE_TRUNCATED_IP] = "truncated IP header",
    [DECODE_BAD_IP] = "invalid IP header",
    [DECODE_UNKNOWN_LINK] = "unsupported link type or encapsulation",
    [DECODE_WLAN_MANAGEMENT] = "802.11 management frame",
    [DECODE_WLAN_CONTROL] = "802.11 control frame",
    [DECODE_WLAN_PROTECTED] = "802.11 protected (encrypted) frame",
    [DECODE_WLAN_NO_DATA] = "802.11 data frame without payload",
};

/* Set once at start-up (--no-decode-tunnels), read by every worker. */
static bool decode_tunnels = true;

void decode_set_tunnels(bool on)
{
    decode_tunnels = on;
}

const char *decode_status_name(enum decode_status s)
{
    return (unsigned)s < DECODE_STATUS_COUNT ? status_names[s] : "?";
}

int decode_link_supported(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB: case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
    case DLT_RAW: case 14: case LINKTYPE_RAW_NUMBER: case DLT_IPV4: case DLT_IPV6:
    case DLT_NULL: case DLT_LOOP: case DLT_PPP: case DLT_PPP_SERIAL: case DLT_PPP_ETHER:
    case DLT_C_HDLC: case DLT_NFLOG:
    case DLT_IEEE802_11: case DLT_IEEE802_11_RADIO: case DLT_PPI:
        return 1;
    default:
        return 0;
    }
}

static enum net_kind kind_of_ethertype(uint16_t type)
{
    switch (type) {
    case ETH_IPV4: return NET_IPV4;
    case ETH_IPV6: return NET_IPV6;
    default: return NET_NONE;
    }
}

static enum net_kind kind_of_ppp(uint16_t proto)
{
    switch (proto) {
    case PPP_IPV4: return NET_IPV4;
    case PPP_IPV6: return NET_IPV6;
    default: return NET_NONE;
    }
}

/* MPLS: skip labels up to bottom of stack; the payload's first nibble says
 * which IP follows (there is no type field). */
enum decode_status walk_mpls(struct cursor *c, enum net_kind *kind)
{
    for (int depth = 0; depth < MAX_ENCAP_DEPTH; depth++) {
        if (c->len < 4)
            return DECODE_TRUNCATED_L2;
        int bottom = c->p[2] & 1;
        skip(c, 4);
        if (bottom) {
            *kind = NET_BY_NIBBLE;
            return DECODE_OK;
        }
    }
    return DECODE_UNKNOWN_LINK;
}

/* PPPoE session header (6 bytes) then a 2-byte PPP protocol. */
static enum decode_status walk_pppoe(struct cursor *c, enum net_kind *kind)
{
    if (c->len < 8)
        return DECODE_TRUNCATED_L2;
    uint16_t proto = rd16(c->p + 6);
    skip(c, 8);
    *kind = kind_of_ppp(proto);
    return *kind == NET_NONE ? DECODE_NOT_IP : DECODE_OK;
}

/* From an ethertype on: VLAN tags (the outermost sets the flow's VLAN), MPLS,
 * PPPoE, 802.3/LLC/SNAP. */
enum decode_status walk_ethertype(struct cursor *c, uint16_t type,
                                         struct packet_view *pv, enum net_kind *kind)
{
    int tagged = 0;
    for (int depth = 0; depth <= MAX_ENCAP_DEPTH; depth++) {     /* 16 headers, then the type */
        switch (type) {
        case ETH_VLAN: case ETH_QINQ: case ETH_QINQ_OLD:
            if (c->len < 4)
                return DECODE_TRUNCATED_L2;
            if (!tagged) {
                pv->vlan = rd16(c->p) & 0x0FFF;
                tagged = 1;
            }
            type = rd16(c->p + 2);
            skip(c, 4);
            continue;
        case ETH_MPLS: case ETH_MPLS_MC:
            return walk_mpls(c, kind);
        case ETH_PPPOE_SESSION:
            return walk_pppoe(c, kind);
        default:
            break;
        }
        if (type < 0x0600) {
            /* 802.3 length field: only LLC/SNAP can carry IP. */
            if (c->len < 8)
                return DECODE_TRUNCATED_L2;
            if (c->p[0] != 0xAA || c->p[1] != 0xAA || c->p[2] != 0x03)
                return DECODE_NOT_IP;
            type = rd16(c->p + 6);
            skip(c, 8);
            continue;
        }
        *kind = kind_of_ethertype(type);
        return *kind == NET_NONE ? DECODE_NOT_IP : DECODE_OK;
    }
    return DECODE_UNKNOWN_LINK;
}

/* Link headers of a fixed size that name the payload by ethertype:
 * Ethernet (type at 12 of 14), Linux SLL (14 of 16), SLL2 (0 of 20), Cisco
 * HDLC (2 of 4). */
static enum decode_status link_fixed(struct cursor *c, uint32_t header_len, uint32_t type_at,
                                     struct packet_view *pv, enum net_kind *kind)
{
    if (c->len < header_len)
        return DECODE_TRUNCATED_L2;
    uint16_t type = rd16(c->p + type_at);
    skip(c, header_len);
    return walk_ethertype(c, type, pv, kind);
}

/* BSD loopback: a 4-byte address family, in the byte order of the machine
 * that wrote the capture (DLT_NULL) or network order (DLT_LOOP). AF_INET is 2
 * everywhere; AF_INET6 is 24, 28 or 30 on the BSDs and macOS, 10 on Linux. */
static enum net_kind kind_of_bsd_family(uint32_t af)
{
    switch (af) {
    case 2: return NET_IPV4;
    case 10: case 24: case 28: case 30: return NET_IPV6;
    default: return NET_NONE;
    }
}

static enum decode_status link_null(struct cursor *c, int network_order, enum net_kind *kind)
{
    if (c->len < 4)
        return DECODE_TRUNCATED_L2;
    uint32_t af = network_order ? rd32(c->p) : rd32le(c->p);
    if (!network_order && kind_of_bsd_family(af) == NET_NONE)
        af = rd32(c->p);    /* written on a big-endian machine */
    skip(c, 4);
    *kind = kind_of_bsd_family(af);
    return *kind == NET_NONE ? DECODE_NOT_IP : DECODE_OK;
}

static enum decode_status link_chdlc(struct cursor *c, struct packet_view *pv, enum net_kind *kind);

/* PPP, with or without the HDLC-like address/control bytes (ff 03). Routers
 * also write Cisco HDLC frames (address 0x0f or 0x8f) under the PPP link
 * type, as Wireshark recognises. */
enum decode_status link_ppp(struct cursor *c, struct packet_view *pv, enum net_kind *kind)
{
    if (c->len >= 2 && (c->p[0] == 0x0F || c->p[0] == 0x8F) && c->p[1] == 0x00)
        return link_chdlc(c, pv, kind);
    if (c->len == 1 && (c->p[0] == 0xFF || c->p[0] == 0x0F || c->p[0] == 0x8F))
        return DECODE_TRUNCATED_L2;     /* address byte only */
    if (c->len >= 2 && c->p[0] == 0xFF && c->p[1] == 0x03)
        skip(c, 2);
    if (c->len < 1)
        return DECODE_TRUNCATED_L2;
    uint16_t proto;
    if (c->p[0] & 1) {          /* protocol field compressed to one byte */
        proto = c->p[0];
        skip(c, 1);
    } else {
        if (c->len < 2)
            return DECODE_TRUNCATED_L2;
        proto = rd16(c->p);
        skip(c, 2);
    }
    *kind = kind_of_ppp(proto);
    return *kind == NET_NONE ? DECODE_NOT_IP : DECODE_OK;
}

static enum decode_status link_pppoe_raw(struct cursor *c, enum net_kind *kind)
{
    return walk_pppoe(c, kind);
}

static enum decode_status link_chdlc(struct cursor *c, struct packet_view *pv, enum net_kind *kind)
{
    return link_fixed(c, 4, 2, pv, kind);
}

/* NFLOG: family, version, resource id, then TLVs in host (little-endian)
 * order; the packet is the NFULA_PAYLOAD TLV (type 9). */
static enum decode_status link_nflog(struct cursor *c, uint32_t wirelen, enum net_kind *kind)
{
    enum { NFULA_PAYLOAD = 9 };
    if (c->len < 4)
        return DECODE_TRUNCATED_L2;
    uint8_t family = c->p[0];
    skip(c, 4);
    while (c->len >= 4) {
        uint16_t tlv_len = rd16le(c->p);
        uint16_t tlv_type = rd16le(c->p + 2) & 0x7FFF;
        if (tlv_len < 4)
            return DECODE_TRUNCATED_L2;
        if (tlv_type == NFULA_PAYLOAD) {
            skip(c, 4);
            *kind = family == 2 ? NET_IPV4 : family == 10 ? NET_IPV6 : NET_BY_NIBBLE;
            return DECODE_OK;
        }
        uint32_t padded = (tlv_len + 3u) & ~3u;
        if (skip(c, padded) < 0)
            return DECODE_TRUNCATED_L2;
    }
    /* A partial TLV header, or TLVs cut at a boundary: the capture ended. */
    return c->len > 0 || c->off < wirelen ? DECODE_TRUNCATED_L2 : DECODE_NOT_IP;
}

static enum decode_status decode_link(int dlt, struct cursor *c, struct packet_view *pv,
                                      enum net_kind *kind)
{
    switch (dlt) {
    case DLT_EN10MB: return link_fixed(c, 14, 12, pv, kind);
    case DLT_LINUX_SLL: return link_fixed(c, 16, 14, pv, kind);
    case DLT_LINUX_SLL2: return link_fixed(c, 20, 0, pv, kind);
    case DLT_RAW: case 14: case LINKTYPE_RAW_NUMBER:
        *kind = NET_BY_NIBBLE;
        return DECODE_OK;
    case DLT_IPV4: *kind = NET_IPV4; return DECODE_OK;
    case DLT_IPV6: *kind = NET_IPV6; return DECODE_OK;
    case DLT_NULL: return link_null(c, 0, kind);
    case DLT_LOOP: return link_null(c, 1, kind);
    case DLT_PPP: case DLT_PPP_SERIAL: return link_ppp(c, pv, kind);
    case DLT_PPP_ETHER: return link_pppoe_raw(c, kind);
    case DLT_C_HDLC: return link_chdlc(c, pv, kind);
    case DLT_NFLOG: return link_nflog(c, pv->wirelen, kind);
    case DLT_IEEE802_11: return walk_wlan(c, 0, pv, kind);
    case DLT_IEEE802_11_RADIO: return link_radiotap(c, pv, kind);
    case DLT_PPI: return link_ppi(c, pv, kind);
    default: return DECODE_UNKNOWN_LINK;
    }
}

/* IP-level octets: the header's length field when it is plausible, else what
 * the wire carried from the IP header on (TSO captures write 0, liars write
 * more than was sent). */
static uint32_t ip_octets(uint32_t claimed, uint32_t header_len, uint32_t wire_avail)
{
    if (claimed < header_len || claimed > wire_avail)
        return wire_avail;
    return claimed;
}

static int ports_protocol(uint8_t proto)
{
    /* TCP, UDP, DCCP, UDP-Lite, SCTP: ports in the first 4 bytes. */
    return proto == 6 || proto == 17 || proto == 33 || proto == 136 || proto == 132;
}

static void decode_transport(struct packet_view *pv)
{
    const uint8_t *l4 = pv->l4;
    uint32_t n = pv->l4_caplen;
    if (ports_protocol(pv->proto)) {
        if (n < 4) {
            pv->l4_truncated = 1;
            return;
        }
        pv->sport = rd16(l4);
        pv->dport = rd16(l4 + 2);
        if (pv->proto == 6) {
            if (n >= 14)
                pv->tcp_flags = l4[13];
            else
                pv->l4_truncated = 1;
        }
    } else if (pv->proto == 1 || pv->proto == 58) {
        if (n < 2) {
            pv->l4_truncated = 1;
            return;
        }
        pv->icmp_type_code = (uint16_t)(l4[0] << 8 | l4[1]);
    }
}

static enum decode_status decode_ipv4(struct packet_view *pv, uint32_t wire_avail)
{
    const uint8_t *ip = pv->l3;
    uint32_t n = pv->l3_caplen;
    if (n < 20)
        return DECODE_TRUNCATED_IP;
    if ((ip[0] >> 4) != 4)
        return DECODE_BAD_IP;
    uint32_t ihl = (uint32_t)(ip[0] & 0x0F) * 4;
    if (ihl < 20)
        return DECODE_BAD_IP;
    if (n < ihl)
        return DECODE_TRUNCATED_IP;
    pv->ip_version = 4;
    pv->ip_len = ip_octets(rd16(ip + 2), ihl, wire_avail);
    pv->ttl = ip[8];
    pv->proto = ip[9];
    memcpy(pv->src, ip + 12, 4);
    memcpy(pv->dst, ip + 16, 4);
    uint16_t frag = rd16(ip + 6);
    pv->frag.offset = frag & 0x1FFF;
    pv->frag.more = (frag & 0x2000) != 0;
    pv->frag.is_fragment = pv->frag.offset != 0 || pv->frag.more;
    pv->frag.id = rd16(ip + 4);
    pv->frag.next_header = pv->proto;
    if (pv->frag.offset != 0)
        return DECODE_OK;       /* no transport header in a non-first fragment */
    pv->l4 = ip + ihl;
    pv->l4_caplen = n - ihl;
    /* Do not look past the IP datagram into Ethernet padding. */
    if (pv->ip_len >= ihl && pv->l4_caplen > pv->ip_len - ihl)
        pv->l4_caplen = pv->ip_len - ihl;
    decode_transport(pv);
    return DECODE_OK;
}

static int ipv6_is_extension(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 44 || nh == 51 || nh == 60 || nh == 135 ||
           nh == 139 || nh == 140;
}

static enum decode_status decode_ipv6(struct packet_view *pv, uint32_t wire_avail)
{
    const uint8_t *ip = pv->l3;
    uint32_t n = pv->l3_caplen;
    if (n < 40)
        return DECODE_TRUNCATED_IP;
    if ((ip[0] >> 4) != 6)
        return DECODE_BAD_IP;
    pv->ip_version = 6;
    uint32_t plen = rd16(ip + 4);
    pv->ip_len = plen ? ip_octets(40u + plen, 40, wire_avail) : wire_avail;
    pv->ttl = ip[7];
    memcpy(pv->src, ip + 8, 16);
    memcpy(pv->dst, ip + 24, 16);
    uint8_t nh = ip[6];
    uint32_t off = 40;
    for (int depth = 0; ipv6_is_extension(nh); depth++) {
        if (depth >= MAX_ENCAP_DEPTH)
            return DECODE_BAD_IP;
        if (n < off + 8)
            return DECODE_TRUNCATED_IP;
        const uint8_t *h = ip + off;
        uint32_t hlen;
        if (nh == 44) {
            uint16_t fo = rd16(h + 2);
            pv->frag.offset = fo >> 3;
            pv->frag.more = fo & 1;
            pv->frag.is_fragment = 1;
            pv->frag.id = rd32(h + 4);
            pv->frag.next_header = h[0];
            hlen = 8;
        } else if (nh == 51) {
            hlen = ((uint32_t)h[1] + 2) * 4;
        } else {
            hlen = ((uint32_t)h[1] + 1) * 8;
        }
        nh = h[0];
        off += hlen;
        if (pv->frag.offset != 0)
            break;  /* non-first fragment: what follows is payload, not headers */
    }
    pv->proto = nh;
    if (pv->frag.offset != 0)
        return DECODE_OK;
    if (off > n) {
        pv->l4_truncated = 1;
        return DECODE_OK;
    }
    pv->l4 = ip + off;
    pv->l4_caplen = n - off;
    if (pv->ip_len >= off && pv->l4_caplen > pv->ip_len - off)
        pv->l4_caplen = pv->ip_len - off;
    decode_transport(pv);
    return DECODE_OK;
}

enum decode_status decode_network(struct packet_view *pv, const struct cursor *c,
                                  enum net_kind kind, uint32_t wire_avail)
{
    if (kind == NET_BY_NIBBLE) {
        if (c->len < 1)
            return DECODE_TRUNCATED_IP;
        uint8_t v = c->p[0] >> 4;
        kind = v == 4 ? NET_IPV4 : v == 6 ? NET_IPV6 : NET_NONE;
        if (kind == NET_NONE)
            return DECODE_NOT_IP;
    }
    pv->l3 = c->p;
    pv->l3_caplen = c->len;
    return kind == NET_IPV4 ? decode_ipv4(pv, wire_avail) : decode_ipv6(pv, wire_avail);
}

enum decode_status decode_packet(int dlt, const uint8_t *pkt, uint32_t caplen,
                                 uint32_t wirelen, uint64_t ts_us,
                                 struct packet_view *pv)
{
    /* the tunnel view is only read once tun.depth, tun.stop or
     * tun.outer_first_fragment say there is something */
    memset(pv, 0, offsetof(struct packet_view, tun));
    pv->tun.depth = pv->tun.stop = pv->tun.outer_first_fragment = 0;
    pv->ts_us = ts_us;
    pv->caplen = caplen;
    pv->wirelen = wirelen < caplen ? caplen : wirelen;

    struct cursor c = {pkt, caplen, 0};
    enum net_kind kind = NET_NONE;
    enum decode_status st = decode_link(dlt, &c, pv, &kind);
    if (st != DECODE_OK)
        return st;
    st = decode_network(pv, &c, kind, pv->wirelen - c.off);
    if (st == DECODE_OK && decode_tunnels && tunnel_candidate(pv))
        tunnel_decapsulate(pv, pkt);
    return st;
}

int decode_address_pair(int dlt, const uint8_t *pkt, uint32_t caplen, uint32_t wirelen,
                        uint8_t src[16], uint8_t dst[16])
{
    enum { ETH = 14, V4_END = ETH + 20, V6_END = ETH + 40 };
    if (dlt == DLT_EN10MB && caplen >= V6_END && rd16(pkt + 12) == 0x86DD && pkt[ETH] >> 4 == 6) {
        memcpy(src, pkt + ETH + 8, 16);
        memcpy(dst, pkt + ETH + 24, 16);
        return 6;
    }
    if (dlt == DLT_EN10MB && caplen >= V4_END && rd16(pkt + 12) == 0x0800 && pkt[ETH] >> 4 == 4) {
        memset(src, 0, 16);
        memset(dst, 0, 16);
        memcpy(src, pkt + ETH + 12, 4);
        memcpy(dst, pkt + ETH + 16, 4);
        return 4;
    }
    /* the outermost addresses: a tunnel's packets all travel between them */
    struct packet_view pv;
    if (decode_packet(dlt, pkt, caplen, wirelen, 0, &pv) != DECODE_OK)
        return 0;
    if (pv.tun.depth) {
        memcpy(src, pv.tun.outer_src, 16);
        memcpy(dst, pv.tun.outer_dst, 16);
        return pv.tun.ip_version;
    }
    memcpy(src, pv.src, 16);
    memcpy(dst, pv.dst, 16);
    return pv.ip_version;
}
