/* pktbuild.c — see pktbuild.h. Overflowing the caller's buffer aborts: a
 * test that builds more than it reserved is a broken test. */
#include "pktbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *room(struct pb *b, size_t n)
{
    if (b->len + n > b->cap) {
        fprintf(stderr, "pktbuild: buffer of %zu bytes too small\n", b->cap);
        abort();
    }
    uint8_t *p = b->buf + b->len;
    b->len += n;
    return p;
}

static void add_fixup(struct pb *b, size_t at, size_t from, int little_endian)
{
    if (b->nfix == PB_MAX_FIXUPS)
        abort();
    b->fix[b->nfix++] = (struct pb_fixup){at, from, little_endian};
}

void pb_init(struct pb *b, uint8_t *buf, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->buf = buf;
    b->cap = cap;
    memset(buf, 0, cap);
}

void pb_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t ip_checksum(const uint8_t *p, size_t n)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xFFFF) + (sum >> 16);
    return (uint16_t)~sum;
}

uint32_t pb_finish(struct pb *b)
{
    for (size_t i = 0; i < b->nfix; i++) {
        const struct pb_fixup *f = &b->fix[i];
        uint16_t v = (uint16_t)(b->len - f->from);
        if (f->little_endian) {
            b->buf[f->at] = (uint8_t)v;
            b->buf[f->at + 1] = (uint8_t)(v >> 8);
        } else {
            pb_put16(b->buf + f->at, v);
        }
    }
    for (size_t i = 0; i < b->nip4; i++) {
        uint8_t *ip = b->buf + b->ip4_hdr[i];
        size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
        pb_put16(ip + 10, 0);
        pb_put16(ip + 10, ip_checksum(ip, ihl));
    }
    return (uint32_t)b->len;
}

void pb_bytes(struct pb *b, const void *p, size_t n) { memcpy(room(b, n), p, n); }
void pb_fill(struct pb *b, uint8_t byte, size_t n) { memset(room(b, n), byte, n); }
void pb_u8(struct pb *b, uint8_t v) { *room(b, 1) = v; }
void pb_u16(struct pb *b, uint16_t v) { pb_put16(room(b, 2), v); }

void pb_u32(struct pb *b, uint32_t v)
{
    pb_u16(b, (uint16_t)(v >> 16));
    pb_u16(b, (uint16_t)v);
}

void pb_u16le(struct pb *b, uint16_t v)
{
    pb_u8(b, (uint8_t)v);
    pb_u8(b, (uint8_t)(v >> 8));
}

void pb_u32le(struct pb *b, uint32_t v)
{
    pb_u16le(b, (uint16_t)v);
    pb_u16le(b, (uint16_t)(v >> 16));
}

/* ---- link layers ---------------------------------------------------------- */

static const uint8_t mac_dst[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
static const uint8_t mac_src[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

void pb_eth(struct pb *b, uint16_t ethertype)
{
    pb_bytes(b, mac_dst, 6);
    pb_bytes(b, mac_src, 6);
    pb_u16(b, ethertype);
}

void pb_sll(struct pb *b, uint16_t protocol)
{
    pb_u16(b, 0);           /* packet type: to us */
    pb_u16(b, 1);           /* ARPHRD_ETHER */
    pb_u16(b, 6);           /* address length */
    pb_bytes(b, mac_src, 6);
    pb_u16(b, 0);           /* address padding */
    pb_u16(b, protocol);
}

void pb_sll2(struct pb *b, uint16_t protocol)
{
    pb_u16(b, protocol);
    pb_u16(b, 0);           /* reserved */
    pb_u32(b, 2);           /* interface index */
    pb_u16(b, 1);           /* ARPHRD_ETHER */
    pb_u8(b, 0);            /* packet type */
    pb_u8(b, 6);            /* address length */
    pb_bytes(b, mac_src, 6);
    pb_u16(b, 0);
}

void pb_null(struct pb *b, uint32_t af, int big_endian)
{
    if (big_endian)
        pb_u32(b, af);
    else
        pb_u32le(b, af);
}

void pb_loop(struct pb *b, uint32_t af) { pb_u32(b, af); }

void pb_ppp(struct pb *b, int addr_ctrl, uint16_t protocol, int compressed)
{
    if (addr_ctrl) {
        pb_u8(b, 0xFF);
        pb_u8(b, 0x03);
    }
    if (compressed)
        pb_u8(b, (uint8_t)protocol);
    else
        pb_u16(b, protocol);
}

void pb_chdlc(struct pb *b, uint16_t ethertype)
{
    pb_u8(b, 0x0F);         /* unicast */
    pb_u8(b, 0x00);
    pb_u16(b, ethertype);
}

void pb_nflog(struct pb *b, uint8_t family)
{
    pb_u8(b, family);
    pb_u8(b, 0);            /* version */
    pb_u16(b, 0x1234);      /* resource id, network order */
    /* NFULA_PREFIX (10): "abcd" plus NUL, 9 bytes, padded to 12. */
    pb_u16le(b, 4 + 5);
    pb_u16le(b, 10);
    pb_bytes(b, "abcd", 5);
    pb_fill(b, 0, 3);
    /* NFULA_PAYLOAD (9): length covers the TLV header and the packet. */
    add_fixup(b, b->len, b->len, 1);
    pb_u16le(b, 0);
    pb_u16le(b, 9);
}

void pb_pppoe(struct pb *b, uint16_t ppp_protocol)
{
    pb_u8(b, 0x11);         /* version 1, type 1 */
    pb_u8(b, 0x00);         /* code: session data */
    pb_u16(b, 0x0042);      /* session id */
    add_fixup(b, b->len, b->len + 2, 0);
    pb_u16(b, 0);           /* length of the PPP frame */
    pb_u16(b, ppp_protocol);
}

/* ---- encapsulations ------------------------------------------------------- */

void pb_vlan(struct pb *b, uint16_t vid, uint16_t next_ethertype)
{
    pb_u16(b, (uint16_t)(0x2000 | (vid & 0x0FFF)));     /* PCP 1 */
    pb_u16(b, next_ethertype);
}

void pb_mpls(struct pb *b, uint32_t label, int bottom_of_stack)
{
    pb_u32(b, (label & 0xFFFFF) << 12 | (bottom_of_stack ? 0x100u : 0u) | 64u);
}

void pb_llc_snap(struct pb *b, uint16_t ethertype)
{
    pb_u8(b, 0xAA);
    pb_u8(b, 0xAA);
    pb_u8(b, 0x03);
    pb_u8(b, 0);
    pb_u8(b, 0);
    pb_u8(b, 0);
    pb_u16(b, ethertype);
}

/* ---- IP --------------------------------------------------------------------- */

void pb_ipv4(struct pb *b, const struct pb_ip4 *ip)
{
    size_t at = b->len;
    size_t ihl = 20 + ip->optlen;
    if (ip->optlen % 4 || ihl > 60)
        abort();
    b->l3 = at;
    if (b->nip4 < sizeof b->ip4_hdr / sizeof b->ip4_hdr[0])
        b->ip4_hdr[b->nip4++] = at;
    pb_u8(b, (uint8_t)(0x40 | ihl / 4));
    pb_u8(b, 0);                        /* DSCP/ECN */
    add_fixup(b, b->len, at, 0);
    pb_u16(b, 0);                       /* total length */
    pb_u16(b, ip->id);
    pb_u16(b, (uint16_t)((ip->dont_fragment ? 0x4000 : 0) | (ip->more_fragments ? 0x2000 : 0) |
                         (ip->frag_offset & 0x1FFF)));
    pb_u8(b, ip->ttl ? ip->ttl : 64);
    pb_u8(b, ip->proto);
    pb_u16(b, 0);                       /* checksum, by pb_finish */
    pb_bytes(b, ip->src.b, 4);
    pb_bytes(b, ip->dst.b, 4);
    if (ip->optlen)
        pb_bytes(b, ip->options, ip->optlen);
    b->l4 = b->len;
}

void pb_ipv6(struct pb *b, struct pb_addr src, struct pb_addr dst, uint8_t next_header,
             uint8_t hop_limit)
{
    size_t at = b->len;
    b->l3 = at;
    pb_u32(b, 0x60000000u | 0x12345u); /* version 6, flow label */
    add_fixup(b, b->len, at + 40, 0);
    pb_u16(b, 0);                       /* payload length */
    pb_u8(b, next_header);
    pb_u8(b, hop_limit);
    pb_bytes(b, src.b, 16);
    pb_bytes(b, dst.b, 16);
    b->l4 = b->len;
}

void pb_ip6_ext(struct pb *b, uint8_t next_header, size_t total_len)
{
    if (total_len < 8 || total_len % 8 || total_len > 2048)
        abort();
    pb_u8(b, next_header);
    pb_u8(b, (uint8_t)(total_len / 8 - 1));
    /* PadN option filling the rest. */
    pb_u8(b, 1);
    pb_u8(b, (uint8_t)(total_len - 4 > 255 ? 255 : total_len - 4));
    pb_fill(b, 0, total_len - 4);
    b->l4 = b->len;
}

void pb_ip6_ah(struct pb *b, uint8_t next_header, size_t total_len)
{
    if (total_len < 12 || total_len % 4)
        abort();
    pb_u8(b, next_header);
    pb_u8(b, (uint8_t)(total_len / 4 - 2));
    pb_u16(b, 0);
    pb_u32(b, 0x1000);                  /* SPI */
    pb_u32(b, 1);                       /* sequence */
    pb_fill(b, 0xAB, total_len - 12);   /* ICV */
    b->l4 = b->len;
}

void pb_ip6_frag(struct pb *b, uint8_t next_header, uint16_t offset, int more, uint32_t id)
{
    pb_u8(b, next_header);
    pb_u8(b, 0);
    pb_u16(b, (uint16_t)(offset << 3 | (more ? 1 : 0)));
    pb_u32(b, id);
    b->l4 = b->len;
}

/* ---- transport -------------------------------------------------------------- */

void pb_tcp(struct pb *b, uint16_t sport, uint16_t dport, uint8_t flags)
{
    b->l4 = b->len;
    pb_u16(b, sport);
    pb_u16(b, dport);
    pb_u32(b, 1000);        /* seq */
    pb_u32(b, (flags & TCPF_ACK) ? 2000 : 0);
    pb_u8(b, 5 << 4);       /* data offset */
    pb_u8(b, flags);
    pb_u16(b, 65535);       /* window */
    pb_u16(b, 0);           /* checksum (not checked) */
    pb_u16(b, 0);           /* urgent */
}

void pb_udp(struct pb *b, uint16_t sport, uint16_t dport)
{
    b->l4 = b->len;
    pb_u16(b, sport);
    pb_u16(b, dport);
    add_fixup(b, b->len, b->l4, 0);
    pb_u16(b, 0);
    pb_u16(b, 0);
}

void pb_sctp(struct pb *b, uint16_t sport, uint16_t dport)
{
    b->l4 = b->len;
    pb_u16(b, sport);
    pb_u16(b, dport);
    pb_u32(b, 0xCAFEF00D);  /* verification tag */
    pb_u32(b, 0);           /* checksum */
}

void pb_icmp(struct pb *b, uint8_t type, uint8_t code)
{
    b->l4 = b->len;
    pb_u8(b, type);
    pb_u8(b, code);
    pb_u16(b, 0);
    pb_u16(b, 0x77);        /* identifier */
    pb_u16(b, 1);           /* sequence */
}

void pb_payload(struct pb *b, size_t n)
{
    uint8_t *p = room(b, n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)('a' + i % 26);
}
