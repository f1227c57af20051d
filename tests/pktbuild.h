/* pktbuild.h — build test frames byte by byte into a caller's buffer.
 *
 * Headers are appended in wire order; length fields that depend on what
 * follows (IPv4 total length, IPv6 payload length, UDP length, PPPoE length,
 * the NFLOG payload TLV length) are filled in by pb_finish(). The caller names
 * every next-header / ethertype explicitly, so a test reads like the packet:
 *
 *     pb_init(&b, buf, sizeof buf);
 *     pb_eth(&b, 0x8100);
 *     pb_vlan(&b, 100, ETY_IP4);
 *     pb_ipv4(&b, &(struct pb_ip4){.src = IP4(10,0,0,1), .dst = IP4(10,0,0,2), .proto = 6});
 *     pb_tcp(&b, 1234, 80, TCPF_SYN);
 *     uint32_t len = pb_finish(&b);
 *
 * Offsets of the last network and transport headers are kept (l3, l4) so a
 * test can tamper with fields after pb_finish(). */
#ifndef NFPROBE_TESTS_PKTBUILD_H
#define NFPROBE_TESTS_PKTBUILD_H

#include <stddef.h>
#include <stdint.h>

#define PB_MAX_FIXUPS 16

enum { TCPF_FIN = 0x01, TCPF_SYN = 0x02, TCPF_RST = 0x04, TCPF_PSH = 0x08, TCPF_ACK = 0x10 };

/* Ethertypes and PPP protocols the tests use. */
enum {
    ETY_IP4 = 0x0800, ETY_IP6 = 0x86DD, ETY_ARP = 0x0806, ETY_8021Q = 0x8100, ETY_8021AD = 0x88A8,
    ETY_QINQ_OLD = 0x9100, ETY_MPLS_UC = 0x8847, ETY_MPLS_MC = 0x8848, ETY_PPPOE_DISC = 0x8863,
    ETY_PPPOE_SESS = 0x8864,
    PPP_IP4 = 0x0021, PPP_IP6 = 0x0057, PPP_LCP = 0xC021,
};

/* A 16-byte address: IPv4 in the first 4 bytes, as packet_view keeps it. */
struct pb_addr {
    uint8_t b[16];
};
#define IP4(a, b_, c, d) ((struct pb_addr){{(a), (b_), (c), (d)}})
#define IP6(...) ((struct pb_addr){{__VA_ARGS__}})

struct pb_fixup {
    size_t at;          /* where the 16-bit field is */
    size_t from;        /* value = end of packet - from */
    int little_endian;
};

struct pb {
    uint8_t *buf;
    size_t cap;
    size_t len;
    size_t l3;          /* offset of the last IP header (0 if none yet) */
    size_t l4;          /* offset of the last transport header */
    size_t ip4_hdr[4];  /* IPv4 headers whose checksum pb_finish computes */
    size_t nip4;
    struct pb_fixup fix[PB_MAX_FIXUPS];
    size_t nfix;
};

void pb_init(struct pb *b, uint8_t *buf, size_t cap);
/* Fill length fields and IPv4 checksums; returns the frame length. */
uint32_t pb_finish(struct pb *b);

/* Raw bytes. */
void pb_bytes(struct pb *b, const void *p, size_t n);
void pb_fill(struct pb *b, uint8_t byte, size_t n);
void pb_u8(struct pb *b, uint8_t v);
void pb_u16(struct pb *b, uint16_t v);
void pb_u32(struct pb *b, uint32_t v);
void pb_u16le(struct pb *b, uint16_t v);
void pb_u32le(struct pb *b, uint32_t v);
void pb_put16(uint8_t *p, uint16_t v);   /* network order, for tampering */

/* ---- link layers ---------------------------------------------------------- */
void pb_eth(struct pb *b, uint16_t ethertype);          /* DLT_EN10MB: 14 bytes */
void pb_sll(struct pb *b, uint16_t protocol);           /* DLT_LINUX_SLL: 16 bytes */
void pb_sll2(struct pb *b, uint16_t protocol);          /* DLT_LINUX_SLL2: 20 bytes */
void pb_null(struct pb *b, uint32_t af, int big_endian);/* DLT_NULL: 4 bytes */
void pb_loop(struct pb *b, uint32_t af);                /* DLT_LOOP: 4 bytes, network order */
/* DLT_PPP / PPP_SERIAL: optional ff 03, protocol in 2 bytes or compressed to 1. */
void pb_ppp(struct pb *b, int addr_ctrl, uint16_t protocol, int compressed);
void pb_chdlc(struct pb *b, uint16_t ethertype);        /* DLT_C_HDLC: 4 bytes */
/* DLT_NFLOG: header, a prefix TLV (padded), then the payload TLV header. */
void pb_nflog(struct pb *b, uint8_t family);
/* DLT_PPP_ETHER: a PPPoE session header and PPP protocol (8 bytes). Same
 * bytes as pb_pppoe(), which follows an ethertype 0x8864. */
void pb_pppoe(struct pb *b, uint16_t ppp_protocol);

/* ---- encapsulations ------------------------------------------------------- */
void pb_vlan(struct pb *b, uint16_t vid, uint16_t next_ethertype);
void pb_mpls(struct pb *b, uint32_t label, int bottom_of_stack);
/* 802.3 length + LLC/SNAP: used after pb_eth(b, <length>). */
void pb_llc_snap(struct pb *b, uint16_t ethertype);

/* ---- IP --------------------------------------------------------------------- */
struct pb_ip4 {
    struct pb_addr src, dst;
    uint8_t proto;
    uint8_t ttl;            /* 0 means 64 */
    uint16_t id;
    uint16_t frag_offset;   /* 8-byte units */
    int more_fragments;
    int dont_fragment;
    const uint8_t *options; /* multiple of 4 bytes */
    size_t optlen;
};
void pb_ipv4(struct pb *b, const struct pb_ip4 *ip);

void pb_ipv6(struct pb *b, struct pb_addr src, struct pb_addr dst, uint8_t next_header,
             uint8_t hop_limit);
/* A generic extension header (hop-by-hop 0, routing 43, destination 60):
 * total_len bytes, a multiple of 8 and at least 8. */
void pb_ip6_ext(struct pb *b, uint8_t next_header, size_t total_len);
/* Authentication header (51): total_len a multiple of 4, at least 12. */
void pb_ip6_ah(struct pb *b, uint8_t next_header, size_t total_len);
void pb_ip6_frag(struct pb *b, uint8_t next_header, uint16_t offset, int more, uint32_t id);

/* ---- transport -------------------------------------------------------------- */
void pb_tcp(struct pb *b, uint16_t sport, uint16_t dport, uint8_t flags);   /* 20 bytes */
void pb_udp(struct pb *b, uint16_t sport, uint16_t dport);                  /* 8 bytes */
void pb_sctp(struct pb *b, uint16_t sport, uint16_t dport);                 /* 12 bytes */
void pb_icmp(struct pb *b, uint8_t type, uint8_t code);                     /* 8 bytes */
#define pb_icmp6 pb_icmp
void pb_payload(struct pb *b, size_t n);

#endif
