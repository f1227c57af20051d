/* decode_stage.h — the decoder's building blocks, shared by decode.c and the
 * stages it calls on a frame's payload (tunnel.c, wlan.c). Not for the rest
 * of the probe: decode.h is the interface. */
#ifndef NFPROBE_DECODE_STAGE_H
#define NFPROBE_DECODE_STAGE_H

#include <stdint.h>
#include "decode.h"

/* What the link layer decoders hand on: where the network layer starts and
 * what it is. */
struct cursor {
    const uint8_t *p;
    uint32_t len;       /* captured bytes left */
    uint32_t off;       /* bytes consumed from the frame start */
};

enum net_kind { NET_NONE, NET_IPV4, NET_IPV6, NET_BY_NIBBLE };

/* Move the cursor n bytes on; -1 (cursor unchanged) when fewer are captured.
 * Inline: every frame takes it. */
static inline int skip(struct cursor *c, uint32_t n)
{
    if (c->len < n)
        return -1;
    c->p += n;
    c->len -= n;
    c->off += n;
    return 0;
}

/* From an ethertype on: VLAN tags (the first sets pv->vlan), MPLS, PPPoE,
 * LLC/SNAP. */
enum decode_status walk_ethertype(struct cursor *c, uint16_t type, struct packet_view *pv,
                                  enum net_kind *kind);
/* An MPLS label stack, up to the bottom of stack. */
enum decode_status walk_mpls(struct cursor *c, enum net_kind *kind);
/* A PPP frame, with or without address/control bytes. */
enum decode_status link_ppp(struct cursor *c, struct packet_view *pv, enum net_kind *kind);

/* The network layer at c (kind from the link layer), then the transport.
 * wire_avail: octets the wire carried from c on (limits the IP length). */
enum decode_status decode_network(struct packet_view *pv, const struct cursor *c,
                                  enum net_kind kind, uint32_t wire_avail);

/* An 802.11 frame at c (after any radio header): data frames with LLC/SNAP
 * are handed on by ethertype, the others are reported by reason. how:
 * WLAN_WITH_FCS, the frame ends in a 4-byte frame check sequence;
 * WLAN_MAYBE_SWAPPED, the frame control bytes may come swapped (CAPWAP). */
enum { WLAN_WITH_FCS = 1, WLAN_MAYBE_SWAPPED = 2 };
enum decode_status walk_wlan(struct cursor *c, unsigned how, struct packet_view *pv,
                             enum net_kind *kind);
/* Radio headers in front of an 802.11 frame: radiotap (DLT 127), PPI (DLT 192). */
enum decode_status link_radiotap(struct cursor *c, struct packet_view *pv, enum net_kind *kind);
enum decode_status link_ppi(struct cursor *c, struct packet_view *pv, enum net_kind *kind);

#endif
