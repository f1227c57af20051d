/* tunnel.h — decapsulation: the packet inside a tunnel replaces the outer one.
 *
 * decode_packet() hands every decoded IP packet here (unless
 * --no-decode-tunnels). A tunnel header is recognised by IP protocol (4, 41,
 * 47) or UDP port, checked, and the packet it carries is decoded in place of
 * the outer one, up to TUNNEL_MAX_DEPTH tunnels deep. The packet view keeps
 * the outermost addresses and the tunnel's identity (struct tunnel_view). A
 * tunnel header that is truncated or malformed, or whose payload is not an
 * IP packet, leaves the outer packet as it was, with the reason in
 * tun.stop. */
#ifndef NFPROBE_TUNNEL_H
#define NFPROBE_TUNNEL_H

#include <stdint.h>
#include "decode.h"

/* Tunnels inside tunnels removed at most; a packet with more is metered as
 * the packet inside the last one removed, its tun.stop TUNNEL_STOP_DEPTH. */
#define TUNNEL_MAX_DEPTH 4

/* Exported as tunnelType: never renumber. */
enum tunnel_type {
    TUNNEL_NONE = 0,
    TUNNEL_GTPU = 1,        /* GTP-U v1, UDP 2152 */
    TUNNEL_GRE = 2,         /* GRE (RFC 2784/2890) carrying IP, Ethernet or MPLS */
    TUNNEL_NVGRE = 3,       /* GRE with key, transparent Ethernet bridging (RFC 7637) */
    TUNNEL_ERSPAN = 4,      /* ERSPAN type I, II or III over GRE */
    TUNNEL_PPTP = 5,        /* enhanced GRE (version 1) carrying PPP */
    TUNNEL_VXLAN = 6,       /* UDP 4789 */
    TUNNEL_VXLAN_GPE = 7,   /* UDP 4790 */
    TUNNEL_GENEVE = 8,      /* UDP 6081 */
    TUNNEL_IPIP = 9,        /* IPv4 or IPv6 straight inside IPv4 or IPv6 (4in4 ... 6in6) */
    TUNNEL_TEREDO = 10,     /* UDP 3544 */
    TUNNEL_L2TP = 11,       /* L2TPv2 data, UDP 1701 */
    TUNNEL_CAPWAP = 12,     /* CAPWAP data, UDP 5247 */
    TUNNEL_TZSP = 13,       /* UDP 37008 */
    TUNNEL_MPLS_UDP = 14,   /* MPLS in UDP, UDP 6635 */
    TUNNEL_TYPE_COUNT
};

/* Why decapsulation stopped short (counted, then the packet is metered as
 * it stands). Order is the order counters are printed. */
enum tunnel_stop {
    TUNNEL_STOP_NONE = 0,
    TUNNEL_STOP_TRUNCATED,      /* capture ends inside the tunnel header */
    TUNNEL_STOP_MALFORMED,      /* header fields contradict the tunnel's rules */
    TUNNEL_STOP_UNSUPPORTED,    /* a payload we do not decode (NSH, encrypted, fragment) */
    TUNNEL_STOP_INNER_NOT_IP,   /* the payload is a frame but not IP (ARP, 802.11 management) */
    TUNNEL_STOP_INNER_BAD,      /* the inner IP header is truncated or invalid */
    TUNNEL_STOP_DEPTH,          /* more than TUNNEL_MAX_DEPTH tunnels */
    TUNNEL_STOP_COUNT
};

const char *tunnel_type_name(unsigned type);
const char *tunnel_stop_name(unsigned stop);

/* Whether pv may carry a tunnel: IP-in-IP, GRE, or UDP (tunnel_decapsulate()
 * looks at the ports). Inline: asked of every packet. */
static inline int tunnel_candidate(const struct packet_view *pv)
{
    return pv->proto == 17 || pv->proto == 47 || pv->proto == 4 || pv->proto == 41;
}

/* Replace the decoded IP packet in *pv by the one inside its tunnels, if
 * any (frame: the first byte of the captured frame). */
void tunnel_decapsulate(struct packet_view *pv, const uint8_t *frame);

#endif
