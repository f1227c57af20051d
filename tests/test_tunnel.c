/* test_tunnel.c — decapsulation (probe/input/tunnel.c) and 802.11 links
 * (probe/input/wlan.c): every tunnel type decodes to its inner packet with
 * its identity; every truncation of every tunnel frame is metered as the
 * outer packet until the inner IP header is complete (run under ASan/UBSan:
 * nothing is read past caplen); nesting stops at TUNNEL_MAX_DEPTH; the flow
 * key keeps tunnels apart and both directions of a tunnel flow together. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "flowkey.h"
#include "meter.h"
#include "pktbuild.h"
#include "tunnel.h"
#include "unit.h"

enum { DLT_EN10MB_ = 1, DLT_80211 = 105, DLT_RADIOTAP = 127, DLT_PPI_ = 192 };

#define OUT_A IP4(192, 0, 2, 1)
#define OUT_B IP4(198, 51, 100, 2)
#define OUT_C IP4(203, 0, 113, 9)
#define IN_C IP4(10, 1, 1, 1)
#define IN_D IP4(10, 2, 2, 2)
#define IN6_C IP6(0xfd, 0, [15] = 1)
#define IN6_D IP6(0xfd, 0, [15] = 2)

static uint8_t frame[2048];

/* The inner packet every case carries: 10.1.1.1:1234 -> 10.2.2.2:80, a SYN
 * with 10 bytes (IPv6: fd00::1 -> fd00::2). */
static void inner_packet(struct pb *b, int v6)
{
    if (v6)
        pb_ipv6(b, IN6_C, IN6_D, 6, 64);
    else
        pb_ipv4(b, &(struct pb_ip4){.src = IN_C, .dst = IN_D, .proto = 6});
    pb_tcp(b, 1234, 80, TCPF_SYN);
    pb_payload(b, 10);
}

static void outer_ipv4(struct pb *b, struct pb_addr src, struct pb_addr dst, uint8_t proto)
{
    pb_eth(b, ETY_IP4);
    pb_ipv4(b, &(struct pb_ip4){.src = src, .dst = dst, .proto = proto});
}

/* A 16-bit length field at `at` = bytes from `from` to the end (pb_finish). */
static void fix_length(struct pb *b, size_t at, size_t from)
{
    b->fix[b->nfix++] = (struct pb_fixup){at, from, 0};
}

/* ---- one builder per tunnel: the tunnel header and what it carries ---------- */

struct tcase_def {
    const char *name;
    void (*build)(struct pb *b, struct pb_addr src, struct pb_addr dst, uint32_t id);
    uint8_t type;
    int has_id;
    int keyed;
    int inner_v6;
    int udp;            /* the tunnel header follows a UDP header */
};

static void gtpu(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t teid)
{
    outer_ipv4(b, s, d, 17);
    pb_udp(b, 2152, 2152);
    pb_u8(b, 0x34);                 /* version 1, PT, E */
    pb_u8(b, 0xFF);                 /* G-PDU */
    fix_length(b, b->len, b->len + 6);
    pb_u16(b, 0);
    pb_u32(b, teid);
    pb_u16(b, 0);                   /* sequence */
    pb_u8(b, 0);                    /* N-PDU */
    pb_u8(b, 0x85);                 /* next: PDU session container */
    pb_u8(b, 1), pb_u8(b, 0x10), pb_u8(b, 0x09), pb_u8(b, 0);  /* 4 bytes, no next */
    inner_packet(b, 0);
}

static void gre_key_seq(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t key)
{
    outer_ipv4(b, s, d, 47);
    pb_u16(b, 0x3000), pb_u16(b, ETY_IP4), pb_u32(b, key), pb_u32(b, 7);
    inner_packet(b, 0);
}

static void gre_teb(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 47);
    pb_u16(b, 0x8000), pb_u16(b, 0x6558), pb_u32(b, 0);     /* checksum present */
    pb_eth(b, ETY_IP4);
    inner_packet(b, 0);
}

static void nvgre(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t vsid)
{
    outer_ipv4(b, s, d, 47);
    pb_u16(b, 0x2000), pb_u16(b, 0x6558), pb_u32(b, vsid << 8 | 0x5A);
    pb_eth(b, ETY_8021Q);
    pb_vlan(b, 999, ETY_IP4);       /* a tag inside: the flow keeps the outer VLAN */
    inner_packet(b, 0);
}

static void erspan1(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 47);
    pb_u16(b, 0x0000), pb_u16(b, 0x88BE);
    pb_eth(b, ETY_IP4);
    inner_packet(b, 0);
}

static void erspan2(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t session)
{
    outer_ipv4(b, s, d, 47);
    pb_u16(b, 0x1000), pb_u16(b, 0x88BE), pb_u32(b, 1);
    pb_u16(b, 0x1000), pb_u16(b, (uint16_t)(session & 0x3FF)), pb_u32(b, 0);
    pb_eth(b, ETY_IP4);
    inner_packet(b, 0);
}

static void erspan3(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t session)
{
    outer_ipv4(b, s, d, 47);
    pb_u16(b, 0x1000), pb_u16(b, 0x22EB), pb_u32(b, 1);
    pb_u16(b, 0x2000), pb_u16(b, (uint16_t)(session & 0x3FF)), pb_u32(b, 0x12345678);
    pb_u16(b, 0), pb_u16(b, 0x0001);            /* frame type 0 (Ethernet), O set */
    pb_fill(b, 0xEE, 8);                        /* platform specific sub-header */
    pb_eth(b, ETY_IP4);
    inner_packet(b, 0);
}

static void pptp(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t call)
{
    outer_ipv4(b, s, d, 47);
    pb_u16(b, 0x3081), pb_u16(b, 0x880B);      /* K, S, A, version 1; PPP */
    fix_length(b, b->len, b->len + 16);         /* payload length: after the 16-byte header */
    pb_u16(b, 0);
    pb_u16(b, (uint16_t)call), pb_u32(b, 5), pb_u32(b, 4);
    pb_u8(b, 0xFF), pb_u8(b, 0x03), pb_u16(b, PPP_IP4);
    inner_packet(b, 0);
}

static void vxlan(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t vni)
{
    outer_ipv4(b, s, d, 17);
    pb_udp(b, 50000, 4789);
    pb_u32(b, 0x08000000), pb_u32(b, vni << 8);
    pb_eth(b, ETY_IP4);
    inner_packet(b, 0);
}

static void vxlan_gpe(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t vni)
{
    outer_ipv4(b, s, d, 17);
    pb_udp(b, 50000, 4790);
    pb_u32(b, 0x0C000002), pb_u32(b, vni << 8);    /* I, P, next protocol IPv6 */
    inner_packet(b, 1);
}

static void geneve(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t vni)
{
    outer_ipv4(b, s, d, 17);
    pb_udp(b, 50000, 6081);
    pb_u8(b, 0x02), pb_u8(b, 0), pb_u16(b, 0x6558), pb_u32(b, vni << 8);
    pb_fill(b, 0x11, 8);                        /* options, skipped */
    pb_eth(b, ETY_IP4);
    inner_packet(b, 0);
}

static void ip4in4(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 4);
    inner_packet(b, 0);
}

static void ip6in4(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 41);
    inner_packet(b, 1);
}

static void teredo(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 17);
    pb_udp(b, 3544, 40000);
    pb_u16(b, 0x0001), pb_u8(b, 2), pb_u8(b, 1);   /* authentication: id 2 bytes, auth 1 */
    pb_fill(b, 0x22, 3), pb_fill(b, 0x33, 8), pb_u8(b, 0);
    pb_u16(b, 0x0000), pb_u16(b, 0xFFFF), pb_u32(b, 0x3FFFFFFE);  /* origin */
    inner_packet(b, 1);
}

static void l2tp(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 17);
    pb_udp(b, 1701, 1701);
    size_t at = b->len;
    pb_u16(b, 0x4802);                          /* L, S, version 2 */
    fix_length(b, b->len, at);
    pb_u16(b, 0);
    pb_u16(b, 1), pb_u16(b, 2), pb_u16(b, 3), pb_u16(b, 4);
    pb_u8(b, 0xFF), pb_u8(b, 0x03), pb_u16(b, PPP_IP4);
    inner_packet(b, 0);
}

static void capwap_eth(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 17);
    pb_udp(b, 12345, 5247);
    pb_u32(b, 2u << 19 | 1u << 9), pb_u32(b, 0);   /* HLEN 2, WBID 1, 802.3 */
    pb_eth(b, ETY_IP4);
    inner_packet(b, 0);
}

/* An 802.11 data frame to the AP (To DS), QoS when asked, then LLC/SNAP. */
static void wlan_data(struct pb *b, int qos, int swapped)
{
    uint8_t fc0 = qos ? 0x88 : 0x08, fc1 = 0x01;
    pb_u8(b, swapped ? fc1 : fc0), pb_u8(b, swapped ? fc0 : fc1);
    pb_u16(b, 0x2C00);
    pb_fill(b, 0xA1, 18);                       /* three addresses */
    pb_u16(b, 0);                               /* sequence */
    if (qos)
        pb_u16(b, 0x0000);
    pb_llc_snap(b, ETY_IP4);
}

static void capwap_wlan(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 17);
    pb_udp(b, 12345, 5247);
    pb_u32(b, 4u << 19 | 1u << 9 | 1u << 8 | 1u << 5), pb_u32(b, 0);   /* HLEN 4, T, W */
    pb_fill(b, 0x44, 8);                        /* wireless specific information */
    wlan_data(b, 0, 1);                         /* frame control swapped, as Cisco's */
    inner_packet(b, 0);
}

static void tzsp(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 17);
    pb_udp(b, 40000, 37008);
    pb_u8(b, 1), pb_u8(b, 0), pb_u16(b, 18);    /* 802.11 */
    pb_u8(b, 0), pb_u8(b, 10), pb_u8(b, 1), pb_u8(b, 0xC4), pb_u8(b, 1);   /* pad, RSSI, end */
    wlan_data(b, 1, 0);
    inner_packet(b, 0);
}

static void mpls_udp(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 17);
    pb_udp(b, 50000, 6635);
    pb_mpls(b, 100, 0), pb_mpls(b, 200, 1);
    inner_packet(b, 0);
}

static void mpls_gre(struct pb *b, struct pb_addr s, struct pb_addr d, uint32_t id)
{
    (void)id;
    outer_ipv4(b, s, d, 47);
    pb_u16(b, 0), pb_u16(b, ETY_MPLS_UC);
    pb_mpls(b, 300, 1);
    inner_packet(b, 0);
}

static const struct tcase_def cases[] = {
    {"GTP-U", gtpu, TUNNEL_GTPU, 1, 0, 0, 1},
    {"GRE key+seq", gre_key_seq, TUNNEL_GRE, 1, 1, 0, 0},
    {"GRE TEB", gre_teb, TUNNEL_GRE, 0, 0, 0, 0},
    {"NVGRE", nvgre, TUNNEL_NVGRE, 1, 1, 0, 0},
    {"ERSPAN I", erspan1, TUNNEL_ERSPAN, 0, 0, 0, 0},
    {"ERSPAN II", erspan2, TUNNEL_ERSPAN, 1, 1, 0, 0},
    {"ERSPAN III", erspan3, TUNNEL_ERSPAN, 1, 1, 0, 0},
    {"PPTP", pptp, TUNNEL_PPTP, 1, 0, 0, 0},
    {"VXLAN", vxlan, TUNNEL_VXLAN, 1, 1, 0, 1},
    {"VXLAN-GPE", vxlan_gpe, TUNNEL_VXLAN_GPE, 1, 1, 1, 1},
    {"Geneve", geneve, TUNNEL_GENEVE, 1, 1, 0, 1},
    {"4in4", ip4in4, TUNNEL_IPIP, 0, 0, 0, 0},
    {"6in4", ip6in4, TUNNEL_IPIP, 0, 0, 1, 0},
    {"Teredo", teredo, TUNNEL_TEREDO, 0, 0, 1, 1},
    {"L2TPv2", l2tp, TUNNEL_L2TP, 1, 0, 0, 1},
    {"CAPWAP 802.3", capwap_eth, TUNNEL_CAPWAP, 0, 0, 0, 1},
    {"CAPWAP 802.11", capwap_wlan, TUNNEL_CAPWAP, 0, 0, 0, 1},
    {"TZSP 802.11", tzsp, TUNNEL_TZSP, 0, 0, 0, 1},
    {"MPLS in UDP", mpls_udp, TUNNEL_MPLS_UDP, 0, 0, 0, 1},
    {"MPLS in GRE", mpls_gre, TUNNEL_GRE, 0, 0, 0, 0},
};
#define NCASES (sizeof cases / sizeof cases[0])

static uint32_t build(const struct tcase_def *c, struct pb_addr s, struct pb_addr d, uint32_t id,
                      uint8_t *buf, size_t cap)
{
    struct pb b;
    pb_init(&b, buf, cap);
    c->build(&b, s, d, id);
    return pb_finish(&b);
}

static enum decode_status decode(const uint8_t *pkt, uint32_t caplen, uint32_t wirelen,
                                 struct packet_view *pv)
{
    return decode_packet(DLT_EN10MB_, pkt, caplen, wirelen, 1700000000000000ull, pv);
}

/* The inner IP header: where the inner packet's source address sits. */
static uint32_t inner_l3_offset(const uint8_t *pkt, const struct packet_view *pv)
{
    return (uint32_t)(pv->l3 - pkt);
}

START_TEST(every_tunnel_decodes_to_its_inner_packet)
{
    const struct tcase_def *c = &cases[_i];
    uint32_t len = build(c, OUT_A, OUT_B, 0x00ABCDEF & 0x3FF, frame, sizeof frame);
    struct packet_view pv;
    ck_assert_int_eq(decode(frame, len, len, &pv), DECODE_OK);
    ck_assert_msg(pv.tun.depth == 1, "%s: depth %u, stop %s", c->name, pv.tun.depth,
                  tunnel_stop_name(pv.tun.stop));
    ck_assert_uint_eq(pv.tun.stop, TUNNEL_STOP_NONE);
    ck_assert_uint_eq(pv.tun.type, c->type);
    ck_assert_uint_eq(pv.ip_version, c->inner_v6 ? 6 : 4);
    ck_assert_mem_eq(pv.src, c->inner_v6 ? IN6_C.b : IN_C.b, c->inner_v6 ? 16 : 4);
    ck_assert_mem_eq(pv.dst, c->inner_v6 ? IN6_D.b : IN_D.b, c->inner_v6 ? 16 : 4);
    ck_assert_uint_eq(pv.proto, 6);
    ck_assert_uint_eq(pv.sport, 1234);
    ck_assert_uint_eq(pv.dport, 80);
    ck_assert_uint_eq(pv.tcp_flags, TCPF_SYN);
    ck_assert_uint_eq(pv.ip_len, (c->inner_v6 ? 40u : 20u) + 20 + 10);
    ck_assert_uint_eq(pv.wirelen, len);
    ck_assert_uint_eq(pv.vlan, 0);
    ck_assert_mem_eq(pv.tun.outer_src, OUT_A.b, 4);
    ck_assert_mem_eq(pv.tun.outer_dst, OUT_B.b, 4);
    ck_assert_uint_eq(pv.tun.ip_version, 4);
    ck_assert_uint_eq(pv.tun.has_wire_id, c->has_id);
    if (c->has_id && c->type != TUNNEL_L2TP)
        ck_assert_uint_eq(pv.tun.wire_id, 0x00ABCDEF & 0x3FF);
    ck_assert_uint_eq(pv.tun.key_id, c->keyed ? pv.tun.wire_id : 0);
    ck_assert_uint_eq(inner_l3_offset(frame, &pv) + pv.ip_len, len);
}
END_TEST

/* Cut at every length: never past caplen (the sanitizers watch each copy),
 * metered as the outer packet until the inner IP header is whole, with a
 * stop reason once the capture reaches into the tunnel header, then as the
 * inner packet. */
START_TEST(every_tunnel_survives_every_truncation)
{
    const struct tcase_def *c = &cases[_i];
    uint32_t len = build(c, OUT_A, OUT_B, 77, frame, sizeof frame);
    struct packet_view full;
    ck_assert_int_eq(decode(frame, len, len, &full), DECODE_OK);
    uint32_t inner_l3 = inner_l3_offset(frame, &full);
    uint32_t inner_need = inner_l3 + (c->inner_v6 ? 40 : 20);
    uint32_t tunnel_at = 34 + (c->udp ? 4 : 0);     /* where a cut is a tunnel's problem */
    for (uint32_t caplen = 0; caplen <= len; caplen++) {
        uint8_t *copy = malloc(caplen ? caplen : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, frame, caplen);
        struct packet_view pv;
        enum decode_status st = decode(copy, caplen, len, &pv);
        if (caplen < 34) {
            ck_assert_int_ne(st, DECODE_OK);
        } else if (caplen < inner_need) {
            ck_assert_msg(st == DECODE_OK && pv.tun.depth == 0, "%s caplen %u: %s depth %u",
                          c->name, caplen, decode_status_name(st), pv.tun.depth);
            ck_assert_mem_eq(pv.src, OUT_A.b, 4);
            if (caplen >= tunnel_at)
                ck_assert_msg(pv.tun.stop != TUNNEL_STOP_NONE, "%s caplen %u: no stop", c->name,
                              caplen);
        } else {
            ck_assert_msg(st == DECODE_OK && pv.tun.depth == 1, "%s caplen %u: depth %u",
                          c->name, caplen, pv.tun.depth);
            ck_assert_uint_eq(pv.ip_len, full.ip_len);
            ck_assert_mem_eq(pv.src, full.src, 16);
        }
        if (pv.l3)
            ck_assert_uint_le((uint32_t)(pv.l3 - copy) + pv.l3_caplen, caplen);
        if (pv.l4)
            ck_assert_uint_le((uint32_t)(pv.l4 - copy) + pv.l4_caplen, caplen);
        free(copy);
    }
}
END_TEST

START_TEST(outer_vlan_stays_the_flows)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_8021Q);
    pb_vlan(&b, 42, ETY_IP4);
    pb_ipv4(&b, &(struct pb_ip4){.src = OUT_A, .dst = OUT_B, .proto = 47});
    pb_u16(&b, 0x2000), pb_u16(&b, 0x6558), pb_u32(&b, 5u << 8);
    pb_eth(&b, ETY_8021Q);
    pb_vlan(&b, 999, ETY_IP4);
    inner_packet(&b, 0);
    uint32_t len = pb_finish(&b);
    struct packet_view pv;
    ck_assert_int_eq(decode(frame, len, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.tun.type, TUNNEL_NVGRE);
    ck_assert_uint_eq(pv.vlan, 42);
}
END_TEST

START_TEST(no_decode_tunnels_meters_the_outer_packet)
{
    uint32_t len = build(&cases[0], OUT_A, OUT_B, 1, frame, sizeof frame);
    struct packet_view pv;
    decode_set_tunnels(false);
    enum decode_status st = decode(frame, len, len, &pv);
    decode_set_tunnels(true);
    ck_assert_int_eq(st, DECODE_OK);
    ck_assert_uint_eq(pv.tun.depth, 0);
    ck_assert_uint_eq(pv.sport, 2152);
    ck_assert_mem_eq(pv.src, OUT_A.b, 4);
}
END_TEST

/* ---- nesting ------------------------------------------------------------------ */

START_TEST(nesting_stops_at_the_limit)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP6);
    for (int i = 0; i < TUNNEL_MAX_DEPTH + 2; i++)
        pb_ipv6(&b, IP6(0x20, 0x01, [15] = (uint8_t)(2 * i)), IP6(0x20, 0x01, [15] = (uint8_t)(2 * i + 1)),
                41, 64);
    inner_packet(&b, 1);
    uint32_t len = pb_finish(&b);
    struct packet_view pv;
    ck_assert_int_eq(decode(frame, len, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.tun.depth, TUNNEL_MAX_DEPTH);
    ck_assert_uint_eq(pv.tun.stop, TUNNEL_STOP_DEPTH);
    ck_assert_uint_eq(pv.proto, 41);
    ck_assert_uint_eq(pv.src[15], 2 * TUNNEL_MAX_DEPTH);     /* the header at the limit */
    ck_assert_uint_eq(pv.tun.outer_src[15], 0);              /* the outermost */

    /* one less is within the limit: down to the TCP packet */
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP6);
    for (int i = 0; i < TUNNEL_MAX_DEPTH; i++)
        pb_ipv6(&b, IP6(0x20, 0x01, [15] = (uint8_t)(2 * i)), IP6(0x20, 0x01, [15] = (uint8_t)(2 * i + 1)),
                41, 64);
    inner_packet(&b, 1);
    len = pb_finish(&b);
    ck_assert_int_eq(decode(frame, len, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.tun.depth, TUNNEL_MAX_DEPTH);
    ck_assert_uint_eq(pv.tun.stop, TUNNEL_STOP_NONE);
    ck_assert_uint_eq(pv.proto, 6);
}
END_TEST

/* ---- malformed headers ------------------------------------------------------- */

static enum tunnel_stop stop_after(uint32_t len, size_t at, uint8_t value)
{
    frame[at] = value;
    struct packet_view pv;
    ck_assert_int_eq(decode(frame, len, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.tun.depth, 0);
    ck_assert_mem_eq(pv.src, OUT_A.b, 4);
    return pv.tun.stop;
}

START_TEST(malformed_headers_meter_the_outer_packet_by_reason)
{
    enum { GRE = 34, UDP_PAYLOAD = 42 };
    uint32_t len = build(&cases[1], OUT_A, OUT_B, 1, frame, sizeof frame);
    ck_assert_uint_eq(stop_after(len, GRE + 1, 0x08), TUNNEL_STOP_MALFORMED);    /* reserved bit */
    len = build(&cases[1], OUT_A, OUT_B, 1, frame, sizeof frame);
    ck_assert_uint_eq(stop_after(len, GRE + 1, 0x07), TUNNEL_STOP_MALFORMED);    /* version 7 */
    len = build(&cases[0], OUT_A, OUT_B, 1, frame, sizeof frame);
    ck_assert_uint_eq(stop_after(len, UDP_PAYLOAD + 12, 0), TUNNEL_STOP_MALFORMED);  /* GTP ext length 0 */
    len = build(&cases[8], OUT_A, OUT_B, 1, frame, sizeof frame);
    ck_assert_uint_eq(stop_after(len, UDP_PAYLOAD, 0), TUNNEL_STOP_MALFORMED);   /* VXLAN without I */
    len = build(&cases[8], OUT_A, OUT_B, 1, frame, sizeof frame);
    ck_assert_uint_eq(stop_after(len, UDP_PAYLOAD + 8 + 13, 0x06), TUNNEL_STOP_INNER_NOT_IP);  /* ARP */
    len = build(&cases[10], OUT_A, OUT_B, 1, frame, sizeof frame);
    ck_assert_uint_eq(stop_after(len, UDP_PAYLOAD, 0x80), TUNNEL_STOP_MALFORMED);  /* Geneve v2 */
    len = build(&cases[11], OUT_A, OUT_B, 1, frame, sizeof frame);
    ck_assert_uint_eq(stop_after(len, GRE, 0x65), TUNNEL_STOP_INNER_BAD);        /* 4in4, version 6 */
    len = build(&cases[15], OUT_A, OUT_B, 1, frame, sizeof frame);
    ck_assert_uint_eq(stop_after(len, UDP_PAYLOAD, 0x01), TUNNEL_STOP_UNSUPPORTED);  /* CAPWAP DTLS */

    /* GTP echo request: signalling, not a tunnel: no stop */
    len = build(&cases[0], OUT_A, OUT_B, 1, frame, sizeof frame);
    ck_assert_uint_eq(stop_after(len, UDP_PAYLOAD + 1, 1), TUNNEL_STOP_NONE);
}
END_TEST

/* ---- the flow key ------------------------------------------------------------ */

static int key_of(const struct tcase_def *c, struct pb_addr s, struct pb_addr d, uint32_t id,
                  int reverse_inner, struct flow_key *key)
{
    static uint8_t buf[2048];
    uint32_t len = build(c, s, d, id, buf, sizeof buf);
    struct packet_view pv;
    ck_assert_int_eq(decode(buf, len, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.tun.depth, 1);
    if (reverse_inner) {    /* the answer: inner ends swapped */
        uint8_t t[16];
        memcpy(t, pv.src, 16), memcpy(pv.src, pv.dst, 16), memcpy(pv.dst, t, 16);
        uint16_t p = pv.sport;
        pv.sport = pv.dport, pv.dport = p;
    }
    return flowkey_from_packet(&pv, key);
}

static const struct tcase_def *case_named(const char *name)
{
    for (size_t i = 0; i < NCASES; i++)
        if (strcmp(cases[i].name, name) == 0)
            return &cases[i];
    ck_abort_msg("no case %s", name);
    return NULL;
}

START_TEST(same_inner_flow_in_two_vnis_is_two_flows)
{
    const struct tcase_def *vx = case_named("VXLAN");
    struct flow_key a, b, back;
    key_of(vx, OUT_A, OUT_B, 100, 0, &a);
    key_of(vx, OUT_A, OUT_B, 200, 0, &b);
    ck_assert(!flowkey_equal(&a, &b));
    /* the answer comes back through the same VNI between the same VTEPs */
    key_of(vx, OUT_B, OUT_A, 100, 1, &back);
    ck_assert(flowkey_equal(&a, &back));
    ck_assert_uint_eq(flowkey_hash(&a), flowkey_hash(&back));
    /* and other VTEPs are another tunnel */
    key_of(vx, OUT_A, OUT_C, 100, 0, &b);
    ck_assert(!flowkey_equal(&a, &b));
    /* Geneve VNIs and GRE keys alike */
    key_of(case_named("Geneve"), OUT_A, OUT_B, 1, 0, &a);
    key_of(case_named("Geneve"), OUT_A, OUT_B, 2, 0, &b);
    ck_assert(!flowkey_equal(&a, &b));
    key_of(case_named("GRE key+seq"), OUT_A, OUT_B, 1, 0, &a);
    key_of(case_named("GRE key+seq"), OUT_A, OUT_B, 2, 0, &b);
    ck_assert(!flowkey_equal(&a, &b));
    /* the same inner flow outside any tunnel is a third flow */
    key_of(vx, OUT_A, OUT_B, 100, 0, &a);
    struct flow_key plain = a;
    memset(plain.tun_addr, 0, sizeof plain.tun_addr);
    plain.tun_id = 0, plain.tun_type = 0, plain.tun_ip_version = 0;
    ck_assert(!flowkey_equal(&a, &plain));
}
END_TEST

/* GTP-U: each direction carries the TEID its receiver chose, so the TEID is
 * not in the key (README): two TEIDs between the same GTP endpoints are the
 * two directions of one flow; the same inner flow between other endpoints
 * is another. */
START_TEST(gtp_teids_two_directions_one_flow_two_tunnels_two_flows)
{
    const struct tcase_def *gtp = case_named("GTP-U");
    struct flow_key up, down, elsewhere;
    key_of(gtp, OUT_A, OUT_B, 0x1111, 0, &up);
    key_of(gtp, OUT_B, OUT_A, 0x2222, 1, &down);
    ck_assert(flowkey_equal(&up, &down));
    key_of(gtp, OUT_A, OUT_C, 0x3333, 0, &elsewhere);
    ck_assert(!flowkey_equal(&up, &elsewhere));
}
END_TEST

/* A mirror session carries both directions of the mirrored traffic from the
 * same sender: one flow. */
START_TEST(erspan_mirror_carries_both_directions_of_one_flow)
{
    const struct tcase_def *e = case_named("ERSPAN II");
    struct flow_key a, b, other;
    int ea = key_of(e, OUT_A, OUT_B, 7, 0, &a);
    int eb = key_of(e, OUT_A, OUT_B, 7, 1, &b);
    ck_assert(flowkey_equal(&a, &b));
    ck_assert_int_ne(ea, eb);
    key_of(e, OUT_A, OUT_B, 8, 0, &other);      /* another session */
    ck_assert(!flowkey_equal(&a, &other));
}
END_TEST

/* ---- outer fragments ----------------------------------------------------------- */

static struct flow_record last_record;
static int records;

static void keep_record(void *ctx, const struct flow_record *r)
{
    (void)ctx;
    last_record = *r;
    records++;
}

/* A GTP-U packet whose outer IPv4 datagram is cut in two fragments: the
 * first is decapsulated and counts the inner packet whole; the second adds
 * nothing to any flow and is counted apart. */
START_TEST(later_outer_fragments_of_a_decapsulated_packet_add_nothing)
{
    enum { FIRST = 14 + 20 + 96 };     /* frame bytes of the first fragment */
    static uint8_t whole[2048], first[2048], later[2048];
    struct pb b;
    pb_init(&b, whole, sizeof whole);
    pb_eth(&b, ETY_IP4);
    pb_ipv4(&b, &(struct pb_ip4){.src = OUT_A, .dst = OUT_B, .proto = 17, .id = 7});
    pb_udp(&b, 2152, 2152);
    pb_u8(&b, 0x30), pb_u8(&b, 0xFF);
    fix_length(&b, b.len, b.len + 6);
    pb_u16(&b, 0), pb_u32(&b, 0x99);
    pb_ipv4(&b, &(struct pb_ip4){.src = IN_C, .dst = IN_D, .proto = 6});
    pb_tcp(&b, 1234, 80, TCPF_ACK);
    pb_payload(&b, 400);
    uint32_t len = pb_finish(&b);
    uint32_t inner_len = len - (14 + 20 + 8 + 8);

    memcpy(first, whole, FIRST);
    pb_put16(first + 14 + 2, FIRST - 14);          /* outer total length of the fragment */
    pb_put16(first + 14 + 6, 0x2000);              /* more fragments, offset 0 */
    pb_init(&b, later, sizeof later);
    pb_eth(&b, ETY_IP4);
    pb_ipv4(&b, &(struct pb_ip4){.src = OUT_A, .dst = OUT_B, .proto = 17, .id = 7,
                                 .frag_offset = (FIRST - 34) / 8});
    pb_bytes(&b, whole + FIRST, len - FIRST);
    uint32_t later_len = pb_finish(&b);

    struct meter_config cfg = {30 * 1000000ull, 300 * 1000000ull, 2 * 1000000ull, 64};
    struct meter mt;
    ck_assert_int_eq(meter_init(&mt, &cfg, keep_record, NULL), 0);
    records = 0;
    struct packet_view pv;
    uint64_t t = 1700000000000000ull;
    meter_packet(&mt, decode_packet(DLT_EN10MB_, first, FIRST, FIRST, t, &pv), &pv);
    ck_assert_uint_eq(pv.tun.depth, 1);
    ck_assert_uint_eq(pv.ip_len, inner_len);
    meter_packet(&mt, decode_packet(DLT_EN10MB_, later, later_len, later_len, t + 1, &pv), &pv);
    meter_flush(&mt);
    ck_assert_int_eq(records, 1);
    ck_assert_uint_eq(last_record.packets[0], 1);
    ck_assert_uint_eq(last_record.ip_octets[0], inner_len);
    ck_assert_uint_eq(last_record.sport, 1234);
    ck_assert_uint_eq(mt.stats.tunnel_tails, 1);
    ck_assert_uint_eq(mt.stats.decoded, 1);
    ck_assert_uint_eq(mt.stats.decapsulated, 1);
    meter_free(&mt);
}
END_TEST

/* ---- 802.11 link types ------------------------------------------------------- */

/* Radiotap: TSFT (8 bytes, aligned) and flags; FCS flag as asked. */
static void radiotap(struct pb *b, int fcs)
{
    pb_u8(b, 0), pb_u8(b, 0), pb_u16le(b, 24), pb_u32le(b, 0x00000003);
    pb_fill(b, 0, 8);                   /* TSFT, at 8 (aligned) */
    pb_u8(b, fcs ? 0x10 : 0);           /* flags */
    pb_fill(b, 0, 7);
}

static uint32_t wlan_frame(int dlt, int fcs, uint8_t fc0, uint8_t fc1)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    if (dlt == DLT_RADIOTAP)
        radiotap(&b, fcs);
    if (dlt == DLT_PPI_) {
        pb_u8(&b, 0), pb_u8(&b, 0), pb_u16le(&b, 8 + 24), pb_u32le(&b, 105);
        pb_u16le(&b, 2), pb_u16le(&b, 20);     /* 802.11-Common */
        pb_fill(&b, 0, 8), pb_u16le(&b, fcs ? 1 : 0), pb_fill(&b, 0, 10);
    }
    pb_u8(&b, fc0), pb_u8(&b, fc1);
    pb_u16(&b, 0);
    pb_fill(&b, 0xB2, 18);
    pb_u16(&b, 0);
    if (fc0 & 0x80)
        pb_u16(&b, 0);                  /* QoS control */
    if ((fc0 & 0x80) && (fc1 & 0x80))
        pb_u32(&b, 0);                  /* HT control */
    pb_llc_snap(&b, ETY_IP4);
    pb_ipv4(&b, &(struct pb_ip4){.src = IN_C, .dst = IN_D, .proto = 17});
    pb_udp(&b, 5353, 53);
    pb_payload(&b, 12);
    (void)pb_finish(&b);
    if (fcs)
        pb_u32(&b, 0xDEADBEEF);         /* after pb_finish: not part of the IP lengths */
    return (uint32_t)b.len;
}

START_TEST(wlan_data_frames_are_metered)
{
    static const int dlts[] = {DLT_80211, DLT_RADIOTAP, DLT_PPI_};
    for (size_t i = 0; i < 3; i++)
        for (int fcs = 0; fcs <= (dlts[i] == DLT_80211 ? 0 : 1); fcs++)
            for (int qos = 0; qos <= 2; qos++) {
                uint8_t fc0 = qos ? 0x88 : 0x08, fc1 = qos == 2 ? 0x81 : 0x01;
                uint32_t len = wlan_frame(dlts[i], fcs, fc0, fc1);
                struct packet_view pv;
                enum decode_status st = decode_packet(dlts[i], frame, len, len, 1, &pv);
                ck_assert_msg(st == DECODE_OK, "dlt %d fcs %d qos %d: %s", dlts[i], fcs, qos,
                              decode_status_name(st));
                ck_assert_uint_eq(pv.ip_len, 20 + 8 + 12);
                ck_assert_uint_eq(pv.sport, 5353);
                ck_assert_uint_eq(pv.wirelen, len);
                ck_assert_uint_eq(pv.l4_caplen, 8 + 12);
            }
}
END_TEST

START_TEST(wlan_other_frames_are_counted_by_reason)
{
    static const struct { uint8_t fc0, fc1; enum decode_status want; } f[] = {
        {0x80, 0x00, DECODE_WLAN_MANAGEMENT},   /* beacon */
        {0x40, 0x00, DECODE_WLAN_MANAGEMENT},   /* probe request */
        {0xD4, 0x00, DECODE_WLAN_CONTROL},      /* ACK */
        {0xB4, 0x00, DECODE_WLAN_CONTROL},      /* RTS */
        {0x08, 0x41, DECODE_WLAN_PROTECTED},    /* data, protected */
        {0x88, 0x42, DECODE_WLAN_PROTECTED},    /* QoS data, protected */
        {0x48, 0x01, DECODE_WLAN_NO_DATA},      /* null function */
        {0xC8, 0x01, DECODE_WLAN_NO_DATA},      /* QoS null */
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        uint32_t len = wlan_frame(DLT_RADIOTAP, 1, f[i].fc0, f[i].fc1);
        struct packet_view pv;
        ck_assert_int_eq(decode_packet(DLT_RADIOTAP, frame, len, len, 1, &pv), f[i].want);
    }
}
END_TEST

START_TEST(wlan_frames_survive_every_truncation)
{
    static const int dlts[] = {DLT_80211, DLT_RADIOTAP, DLT_PPI_};
    for (size_t i = 0; i < 3; i++) {
        uint32_t len = wlan_frame(dlts[i], dlts[i] != DLT_80211, 0x88, 0x81);
        for (uint32_t caplen = 0; caplen <= len; caplen++) {
            uint8_t *copy = malloc(caplen ? caplen : 1);
            ck_assert_ptr_nonnull(copy);
            memcpy(copy, frame, caplen);
            struct packet_view pv;
            enum decode_status st = decode_packet(dlts[i], copy, caplen, len, 1, &pv);
            if (st == DECODE_OK && pv.l4)
                ck_assert_uint_le((uint32_t)(pv.l4 - copy) + pv.l4_caplen, caplen);
            free(copy);
        }
    }
}
END_TEST

Suite *tunnel_suite(void)
{
    Suite *s = suite_create("tunnel");
    TCase *tc = tcase_create("decapsulation");
    tcase_add_loop_test(tc, every_tunnel_decodes_to_its_inner_packet, 0, NCASES);
    tcase_add_loop_test(tc, every_tunnel_survives_every_truncation, 0, NCASES);
    tcase_add_test(tc, outer_vlan_stays_the_flows);
    tcase_add_test(tc, no_decode_tunnels_meters_the_outer_packet);
    tcase_add_test(tc, nesting_stops_at_the_limit);
    tcase_add_test(tc, malformed_headers_meter_the_outer_packet_by_reason);
    tcase_add_test(tc, later_outer_fragments_of_a_decapsulated_packet_add_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("key");
    tcase_add_test(tc, same_inner_flow_in_two_vnis_is_two_flows);
    tcase_add_test(tc, gtp_teids_two_directions_one_flow_two_tunnels_two_flows);
    tcase_add_test(tc, erspan_mirror_carries_both_directions_of_one_flow);
    suite_add_tcase(s, tc);
    tc = tcase_create("wlan");
    tcase_add_test(tc, wlan_data_frames_are_metered);
    tcase_add_test(tc, wlan_other_frames_are_counted_by_reason);
    tcase_add_test(tc, wlan_frames_survive_every_truncation);
    suite_add_tcase(s, tc);
    return s;
}
