/* decode.h — link layer → encapsulations → IP → transport, into a packet view.
 *
 * The decoder never reads past caplen. Every length read from the wire is
 * checked before it is used; a packet that cannot be metered is reported with
 * a reason, so the caller can count it. */
#ifndef NFPROBE_DECODE_H
#define NFPROBE_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Why a packet was not metered. Order is the order counters are printed. */
enum decode_status {
    DECODE_OK = 0,
    DECODE_TRUNCATED_L2,    /* capture ends inside the link or encapsulation headers */
    DECODE_NOT_IP,          /* ARP, LLDP, STP, ...: not IP, nothing to meter */
    DECODE_TRUNCATED_IP,    /* capture ends inside the IP header */
    DECODE_BAD_IP,          /* IP header lies: version, header length, total length */
    DECODE_UNKNOWN_LINK,    /* link type or encapsulation we do not decode */
    DECODE_WLAN_MANAGEMENT, /* 802.11 management frame (beacon, probe, ...) */
    DECODE_WLAN_CONTROL,    /* 802.11 control frame (ACK, RTS, ...) */
    DECODE_WLAN_PROTECTED,  /* 802.11 data frame with its payload encrypted */
    DECODE_WLAN_NO_DATA,    /* 802.11 null-function data frame: no payload */
    DECODE_STATUS_COUNT
};

const char *decode_status_name(enum decode_status s);

/* Fragment facts a packet carries (IPv4 header or IPv6 fragment header). */
struct frag_info {
    uint32_t id;            /* IPv4 identification or IPv6 fragment id */
    uint16_t offset;        /* in 8-byte units */
    uint8_t is_fragment;    /* offset != 0 or more-fragments set */
    uint8_t more;           /* more-fragments bit */
    uint8_t next_header;    /* what the fragments carry: IPv4 protocol, or the
                               IPv6 fragment header's next header (which may
                               be an extension header before the transport) */
};

/* The tunnels a packet came through (tunnel.c), outermost endpoints first. */
struct tunnel_view {
    uint8_t type;           /* enum tunnel_type of the innermost tunnel, 0: none */
    uint8_t depth;          /* tunnel headers removed */
    uint8_t stop;           /* enum tunnel_stop: why decapsulation stopped short, 0 */
    uint8_t ip_version;     /* of the outermost IP header */
    uint8_t has_wire_id;    /* wire_id carries a value */
    uint8_t outer_first_fragment;   /* the outermost IP packet is a first fragment
                                       (the rest of the inner packet follows) */
    uint32_t key_id;        /* the tunnel id both directions share (VNI, GRE key,
                               ERSPAN session): part of the flow key; 0: none */
    uint32_t wire_id;       /* the id this packet carried (TEID, VNI, key, call id) */
    uint8_t outer_src[16];  /* the outermost IP header's addresses */
    uint8_t outer_dst[16];
    struct frag_info outer_frag;    /* the outermost IP header's fragment facts */
};

/* What the rest of the probe knows of one packet. Addresses are kept in
 * 16 bytes for both families (IPv4 in the first 4, rest zero) so the flow key
 * has one shape. */
struct packet_view {
    uint64_t ts_us;         /* capture time, microseconds since the epoch */
    uint32_t caplen;        /* bytes captured */
    uint32_t wirelen;       /* bytes on the wire (layer-2 octets) */
    const uint8_t *l3;      /* first byte of the (outer) IP header */
    uint32_t l3_caplen;     /* captured bytes from l3 on */
    uint32_t ip_len;        /* IP-level octets: header + payload (octetDeltaCount) */
    const uint8_t *l4;      /* transport header, NULL for non-first fragments */
    uint32_t l4_caplen;     /* captured bytes from l4 on */
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport;         /* 0 for protocols without ports and for fragments */
    uint16_t dport;
    uint16_t vlan;          /* outer 802.1Q/802.1ad id, 0 if untagged */
    uint16_t icmp_type_code;/* type << 8 | code for ICMP/ICMPv6 */
    uint16_t ts_sub_ns;     /* nanoseconds past ts_us (0-999); decode_packet() leaves
                               it 0: the caller sets it from the capture */
    uint8_t ip_version;     /* 4 or 6 */
    uint8_t proto;          /* IP protocol after IPv6 extension headers */
    uint8_t tcp_flags;
    uint8_t ttl;            /* IPv4 TTL or IPv6 hop limit */
    uint8_t l4_truncated;   /* ports/flags not captured: metered with ports 0 */
    uint8_t tunnel_tail;    /* a later fragment of a decapsulated packet (frag.c) */
    struct frag_info frag;
    struct tunnel_view tun; /* all zero unless decapsulated */
};

/* Decapsulate tunnels (on by default; --no-decode-tunnels). Call before the
 * first packet: every worker reads it. */
void decode_set_tunnels(bool on);

/* Link types decode() understands, by DLT number as pcap_datalink() returns them. */
int decode_link_supported(int dlt);

/* The outer IP addresses of a frame (in 16 bytes each, IPv4 in the first
 * 4), for spreading flows over workers: a quick look for the common case,
 * Ethernet with IPv4 or IPv6 straight after, else what decode_packet()
 * finds. The IP version, or 0 when the frame is not IP. */
int decode_address_pair(int dlt, const uint8_t *pkt, uint32_t caplen, uint32_t wirelen,
                        uint8_t src[16], uint8_t dst[16]);

/* Fill *pv from one captured frame. ts_us, caplen and wirelen are copied in;
 * pv->l3 etc. point into pkt, which must outlive pv. */
enum decode_status decode_packet(int dlt, const uint8_t *pkt, uint32_t caplen,
                                 uint32_t wirelen, uint64_t ts_us,
                                 struct packet_view *pv);

#endif
