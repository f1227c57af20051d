/* wlan.c — 802.11 frames, bare (DLT 105), behind radiotap (DLT 127) or PPI
 * (DLT 192), or carried by a tunnel (CAPWAP, TZSP).
 *
 * Only data frames whose payload is LLC/SNAP are metered; everything else is
 * reported by reason. A frame that ends in a frame check sequence (the radio
 * header says so) has those 4 bytes left out of the payload. */
#include <string.h>

#include "decode_stage.h"
#include "util.h"

enum {
    WLAN_TYPE_MANAGEMENT = 0,
    WLAN_TYPE_CONTROL = 1,
    WLAN_TYPE_DATA = 2,
    WLAN_FC_TO_DS = 0x01,
    WLAN_FC_FROM_DS = 0x02,
    WLAN_FC_PROTECTED = 0x40,
    WLAN_FC_ORDER = 0x80,       /* in a QoS data frame: a 4-byte HT control field */
    WLAN_SUBTYPE_QOS = 0x08,
    WLAN_SUBTYPE_NO_DATA = 0x04,/* null function, CF-ACK/-Poll without data */
    FCS_LEN = 4,
};

/* The MAC header's length for a data frame with frame control fc0 fc1. */
static uint32_t data_header_len(uint8_t fc0, uint8_t fc1)
{
    uint8_t subtype = fc0 >> 4;
    uint32_t n = 24;
    if ((fc1 & (WLAN_FC_TO_DS | WLAN_FC_FROM_DS)) == (WLAN_FC_TO_DS | WLAN_FC_FROM_DS))
        n += 6;                 /* fourth address (WDS, mesh) */
    if (subtype & WLAN_SUBTYPE_QOS) {
        n += 2;
        if (fc1 & WLAN_FC_ORDER)
            n += 4;
    }
    return n;
}

/* LLC/SNAP (AA AA 03, OUI 00-00-00 or 00-00-F8) then an ethertype. */
static enum decode_status walk_snap(struct cursor *c, struct packet_view *pv, enum net_kind *kind)
{
    if (c->len < 8)
        return DECODE_TRUNCATED_L2;
    const uint8_t *p = c->p;
    if (p[0] != 0xAA || p[1] != 0xAA || p[2] != 0x03 || p[3] != 0x00 || p[4] != 0x00 ||
        (p[5] != 0x00 && p[5] != 0xF8))
        return DECODE_NOT_IP;
    uint16_t type = rd16(p + 6);
    skip(c, 8);
    return walk_ethertype(c, type, pv, kind);
}

enum decode_status walk_wlan(struct cursor *c, unsigned how, struct packet_view *pv,
                             enum net_kind *kind)
{
    if (how & WLAN_WITH_FCS) {
        if (c->len < FCS_LEN)
            return DECODE_TRUNCATED_L2;
        /* the check sequence is the last 4 bytes on the wire: whatever of
         * it was captured is not payload */
        uint32_t wire_left = pv->wirelen > c->off ? pv->wirelen - c->off : 0;
        uint32_t frame_left = wire_left >= FCS_LEN ? wire_left - FCS_LEN : 0;
        if (c->len > frame_left)
            c->len = frame_left;
    }
    if (c->len < 2)
        return DECODE_TRUNCATED_L2;
    uint8_t fc0 = c->p[0], fc1 = c->p[1];
    /* Cisco's CAPWAP swaps the two bytes (Wireshark: "Swapped"): the flags
     * byte first. The type byte's version bits are 0, and a data frame
     * through an access point has To DS or From DS set, in those bits. */
    if ((how & WLAN_MAYBE_SWAPPED) && (fc0 & 3) && !(fc1 & 3)) {
        fc0 = c->p[1];
        fc1 = c->p[0];
    }
    uint8_t type = (fc0 >> 2) & 3;
    if (type == WLAN_TYPE_MANAGEMENT)
        return DECODE_WLAN_MANAGEMENT;
    if (type == WLAN_TYPE_CONTROL)
        return DECODE_WLAN_CONTROL;
    if (type != WLAN_TYPE_DATA || (fc0 & 3) != 0)
        return DECODE_UNKNOWN_LINK;    /* extension frames, protocol versions > 0 */
    if ((fc0 >> 4) & WLAN_SUBTYPE_NO_DATA)
        return DECODE_WLAN_NO_DATA;
    if (fc1 & WLAN_FC_PROTECTED)
        return DECODE_WLAN_PROTECTED;
    if (skip(c, data_header_len(fc0, fc1)) < 0)
        return DECODE_TRUNCATED_L2;
    return walk_snap(c, pv, kind);
}

/* Radiotap: version 0, pad, length (LE), then present bitmaps (LE; bit 31:
 * another follows). The flags field (bit 1) says whether the frame ends in an
 * FCS (0x10); only the TSFT field (bit 0, 8 bytes aligned to 8) comes before
 * it. */
enum decode_status link_radiotap(struct cursor *c, struct packet_view *pv, enum net_kind *kind)
{
    enum { PRESENT_TSFT = 1u << 0, PRESENT_FLAGS = 1u << 1, PRESENT_EXT = 1u << 31,
           FLAG_FCS = 0x10 };
    if (c->len < 8)
        return DECODE_TRUNCATED_L2;
    uint32_t hlen = rd16le(c->p + 2);
    if (c->p[0] != 0 || hlen < 8)
        return DECODE_UNKNOWN_LINK;
    if (c->len < hlen)
        return DECODE_TRUNCATED_L2;
    uint32_t present = rd32le(c->p + 4);
    uint32_t at = 8;
    for (uint32_t word = present; word & PRESENT_EXT; at += 4) {
        if (at + 4 > hlen)
            return DECODE_UNKNOWN_LINK;
        word = rd32le(c->p + at);
    }
    int fcs = 0;
    if (present & PRESENT_FLAGS) {
        if (present & PRESENT_TSFT)
            at = ((at + 7) & ~7u) + 8;
        if (at + 1 > hlen)
            return DECODE_UNKNOWN_LINK;
        fcs = (c->p[at] & FLAG_FCS) != 0;
    }
    skip(c, hlen);
    return walk_wlan(c, fcs ? WLAN_WITH_FCS : 0, pv, kind);
}

/* PPI: version 0, flags, length (LE), the payload's DLT (LE), then fields
 * (type, length, LE). The 802.11-Common field (type 2) has flags at 8, bit 0
 * = FCS present. Only 802.11 payloads are decoded. */
enum decode_status link_ppi(struct cursor *c, struct packet_view *pv, enum net_kind *kind)
{
    enum { PPI_80211_COMMON = 2, COMMON_FLAGS_AT = 8, COMMON_FLAG_FCS = 1, DLT_80211 = 105 };
    if (c->len < 8)
        return DECODE_TRUNCATED_L2;
    uint32_t hlen = rd16le(c->p + 2);
    uint32_t dlt = rd32le(c->p + 4);
    if (c->p[0] != 0 || hlen < 8)
        return DECODE_UNKNOWN_LINK;
    if (c->len < hlen)
        return DECODE_TRUNCATED_L2;
    if (dlt != DLT_80211)
        return DECODE_UNKNOWN_LINK;
    int fcs = 0;
    for (uint32_t at = 8; at + 4 <= hlen;) {
        uint32_t ftype = rd16le(c->p + at), flen = rd16le(c->p + at + 2);
        if (at + 4 + flen > hlen)
            return DECODE_UNKNOWN_LINK;
        if (ftype == PPI_80211_COMMON && flen >= COMMON_FLAGS_AT + 2)
            fcs = (rd16le(c->p + at + 4 + COMMON_FLAGS_AT) & COMMON_FLAG_FCS) != 0;
        at += 4 + flen;
    }
    skip(c, hlen);
    return walk_wlan(c, fcs ? WLAN_WITH_FCS : 0, pv, kind);
}
