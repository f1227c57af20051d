/* test_decode.c — link layers, encapsulations, IP and transport decoding,
 * and every truncation of every header (run under ASan: each truncated copy
 * lives in a heap block of exactly caplen bytes, so an over-read aborts). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "pktbuild.h"
#include "unit.h"

/* DLT numbers as pcap_datalink() returns them on Linux. */
enum {
    L_NULL = 0, L_EN10MB = 1, L_PPP = 9, L_RAW = 12, L_RAW_BSD = 14, L_PPP_SERIAL = 50,
    L_PPP_ETHER = 51, L_RAW_LINKTYPE = 101, L_C_HDLC = 104, L_LOOP = 108, L_SLL = 113,
    L_IPV4 = 228, L_IPV6 = 229, L_NFLOG = 239, L_SLL2 = 276,
};

#define A4 IP4(192, 0, 2, 1)
#define B4 IP4(198, 51, 100, 2)
#define A6 IP6(0x20, 0x01, 0x0d, 0xb8, [15] = 0x01)
#define B6 IP6(0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xef)

static uint8_t frame[2048];

/* ---- helpers ---------------------------------------------------------------- */

static enum decode_status decode(int dlt, const uint8_t *pkt, uint32_t len, struct packet_view *pv)
{
    return decode_packet(dlt, pkt, len, len, 1700000000123456ull, pv);
}

static void assert_addr(const uint8_t got[16], struct pb_addr want, int version)
{
    size_t n = version == 4 ? 4 : 16;
    ck_assert_mem_eq(got, want.b, n);
    static const uint8_t zero[16];
    if (version == 4)
        ck_assert_mem_eq(got + 4, zero, 12);
}

/* The frame's ports, flags etc. are right and l3/l4 point where they should. */
static void assert_view(const struct packet_view *pv, const uint8_t *pkt, uint32_t l3_off,
                        uint32_t l4_off, int version, uint8_t proto)
{
    ck_assert_uint_eq(pv->ip_version, version);
    ck_assert_uint_eq(pv->proto, proto);
    ck_assert_ptr_eq(pv->l3, pkt + l3_off);
    ck_assert_ptr_eq(pv->l4, pkt + l4_off);
    ck_assert_uint_eq(pv->l4_truncated, 0);
    if (version == 4) {
        assert_addr(pv->src, A4, 4);
        assert_addr(pv->dst, B4, 4);
    } else {
        assert_addr(pv->src, A6, 6);
        assert_addr(pv->dst, B6, 6);
    }
}

/* What each truncation of a frame must decode to:
 *   caplen < link_len   DECODE_TRUNCATED_L2
 *   caplen < ip_need    DECODE_TRUNCATED_IP
 *   caplen < l4_need    DECODE_OK, l4_truncated, transport facts 0
 *                       (ports are kept once caplen >= ports_need)
 *   otherwise           DECODE_OK and the same view as the whole frame. */
struct trunc_spec {
    int dlt;
    uint32_t link_len;
    uint32_t ip_need;
    uint32_t l4_need;       /* 0: the frame has no transport facts to lose */
    uint32_t ports_need;
};

static void check_every_truncation(const struct trunc_spec *s, const uint8_t *pkt, uint32_t len)
{
    struct packet_view full;
    ck_assert_int_eq(decode(s->dlt, pkt, len, &full), DECODE_OK);
    /* A wrong status is collected, not fatal at once, so the remaining
     * lengths still run (and ASan still sees every one of them). */
    char wrong[512] = "";
    size_t nwrong = 0;
    for (uint32_t caplen = 0; caplen <= len; caplen++) {
        uint8_t *copy = malloc(caplen ? caplen : 1);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, pkt, caplen);
        struct packet_view pv;
        enum decode_status st = decode_packet(s->dlt, copy, caplen, len, 42, &pv);
        enum decode_status want = caplen < s->link_len ? DECODE_TRUNCATED_L2
                                : caplen < s->ip_need ? DECODE_TRUNCATED_IP
                                : DECODE_OK;
        if (st != want) {
            nwrong += (size_t)snprintf(wrong + nwrong, sizeof wrong - nwrong,
                                       " [caplen %u: %s]", caplen, decode_status_name(st));
            if (nwrong >= sizeof wrong)
                nwrong = sizeof wrong - 1;
        } else if (st == DECODE_OK) {
            int cut = s->l4_need && caplen < s->l4_need;
            ck_assert_msg(pv.l4_truncated == cut, "caplen %u: l4_truncated %u", caplen,
                          pv.l4_truncated);
            ck_assert_uint_eq(pv.ip_len, full.ip_len);
            ck_assert_uint_eq(pv.proto, full.proto);
            ck_assert_uint_eq(pv.wirelen, len);
            ck_assert_uint_eq(pv.caplen, caplen);
            ck_assert_mem_eq(pv.src, full.src, 16);
            ck_assert_mem_eq(pv.dst, full.dst, 16);
            int ports = !s->l4_need || caplen >= s->ports_need;
            ck_assert_uint_eq(pv.sport, ports ? full.sport : 0);
            ck_assert_uint_eq(pv.dport, ports ? full.dport : 0);
            ck_assert_uint_eq(pv.tcp_flags, cut ? 0 : full.tcp_flags);
            ck_assert_uint_eq(pv.icmp_type_code, cut ? 0 : full.icmp_type_code);
            if (pv.l4) {
                ck_assert_uint_le((uint32_t)(pv.l4 - copy) + pv.l4_caplen, caplen);
            }
        }
        free(copy);
    }
    ck_assert_msg(wrong[0] == '\0',
                  "dlt %d, %u-byte frame, link header %u bytes, IP header(s) end at %u; "
                  "wrong status at%s", s->dlt, len, s->link_len, s->ip_need, wrong);
}

/* ---- link layers: one table, IPv4/TCP and IPv6/UDP over each ------------- */

struct link_case {
    const char *name;
    int dlt;
    uint32_t link_len;
    uint16_t vlan;
    int families;               /* 4, 6, or 46 for both */
    void (*build)(struct pb *b, int v6, int param);
    int param;
};

static void lk_eth(struct pb *b, int v6, int p) { (void)p; pb_eth(b, v6 ? ETY_IP6 : ETY_IP4); }
static void lk_vlan(struct pb *b, int v6, int p)
{
    pb_eth(b, ETY_8021Q);
    pb_vlan(b, (uint16_t)p, v6 ? ETY_IP6 : ETY_IP4);
}
static void lk_qinq(struct pb *b, int v6, int p)
{
    pb_eth(b, (uint16_t)p);
    pb_vlan(b, 100, ETY_8021Q);
    pb_vlan(b, 200, v6 ? ETY_IP6 : ETY_IP4);
}
static void lk_mpls(struct pb *b, int v6, int labels)
{
    (void)v6;
    pb_eth(b, ETY_MPLS_UC);
    for (int i = 1; i <= labels; i++)
        pb_mpls(b, 1000u + (uint32_t)i, i == labels);
}
static void lk_mpls_mc(struct pb *b, int v6, int p)
{
    (void)v6, (void)p;
    pb_eth(b, ETY_MPLS_MC);
    pb_mpls(b, 77, 1);
}
static void lk_vlan_mpls(struct pb *b, int v6, int p)
{
    (void)v6, (void)p;
    pb_eth(b, ETY_8021Q);
    pb_vlan(b, 10, ETY_MPLS_UC);
    pb_mpls(b, 16, 0);
    pb_mpls(b, 17, 1);
}
static void lk_pppoe(struct pb *b, int v6, int p)
{
    (void)p;
    pb_eth(b, ETY_PPPOE_SESS);
    pb_pppoe(b, v6 ? PPP_IP6 : PPP_IP4);
}
static void lk_vlan_pppoe(struct pb *b, int v6, int p)
{
    (void)p;
    pb_eth(b, ETY_8021Q);
    pb_vlan(b, 7, ETY_PPPOE_SESS);
    pb_pppoe(b, v6 ? PPP_IP6 : PPP_IP4);
}
static void lk_llc_snap(struct pb *b, int v6, int p)
{
    (void)p;
    pb_eth(b, 0x0100);      /* an 802.3 length, not an ethertype */
    pb_llc_snap(b, v6 ? ETY_IP6 : ETY_IP4);
}
static void lk_sll(struct pb *b, int v6, int p) { (void)p; pb_sll(b, v6 ? ETY_IP6 : ETY_IP4); }
static void lk_sll_vlan(struct pb *b, int v6, int p)
{
    (void)p;
    pb_sll(b, ETY_8021Q);
    pb_vlan(b, 33, v6 ? ETY_IP6 : ETY_IP4);
}
static void lk_sll2(struct pb *b, int v6, int p) { (void)p; pb_sll2(b, v6 ? ETY_IP6 : ETY_IP4); }
static void lk_none(struct pb *b, int v6, int p) { (void)b, (void)v6, (void)p; }
/* param: AF_INET6 value; its sign says byte order (negative: big endian). */
static void lk_null(struct pb *b, int v6, int af6)
{
    int be = af6 < 0;
    pb_null(b, v6 ? (uint32_t)abs(af6) : 2u, be);
}
static void lk_loop(struct pb *b, int v6, int af6) { pb_loop(b, v6 ? (uint32_t)af6 : 2u); }
/* param: bit 0 address/control bytes, bit 1 compressed protocol. */
static void lk_ppp(struct pb *b, int v6, int p)
{
    pb_ppp(b, p & 1, v6 ? PPP_IP6 : PPP_IP4, (p & 2) != 0);
}
static void lk_ppp_ether(struct pb *b, int v6, int p) { (void)p; pb_pppoe(b, v6 ? PPP_IP6 : PPP_IP4); }
static void lk_chdlc(struct pb *b, int v6, int p) { (void)p; pb_chdlc(b, v6 ? ETY_IP6 : ETY_IP4); }
/* param -1: family AF_UNSPEC (version from the IP header). */
static void lk_nflog(struct pb *b, int v6, int p) { pb_nflog(b, p < 0 ? 0 : v6 ? 10 : 2); }

static const struct link_case link_cases[] = {
    {"ethernet", L_EN10MB, 14, 0, 46, lk_eth, 0},
    {"802.1Q", L_EN10MB, 18, 100, 46, lk_vlan, 100},
    {"802.1Q vid 4095", L_EN10MB, 18, 4095, 46, lk_vlan, 4095},
    {"QinQ 88a8+8100", L_EN10MB, 22, 100, 46, lk_qinq, ETY_8021AD},
    {"QinQ 9100+8100", L_EN10MB, 22, 100, 46, lk_qinq, ETY_QINQ_OLD},
    {"MPLS 1 label", L_EN10MB, 18, 0, 46, lk_mpls, 1},
    {"MPLS 3 labels", L_EN10MB, 26, 0, 46, lk_mpls, 3},
    {"MPLS multicast", L_EN10MB, 18, 0, 46, lk_mpls_mc, 0},
    {"802.1Q + MPLS", L_EN10MB, 26, 10, 46, lk_vlan_mpls, 0},
    {"PPPoE session", L_EN10MB, 22, 0, 46, lk_pppoe, 0},
    {"802.1Q + PPPoE", L_EN10MB, 26, 7, 46, lk_vlan_pppoe, 0},
    {"LLC/SNAP", L_EN10MB, 22, 0, 46, lk_llc_snap, 0},
    {"Linux SLL", L_SLL, 16, 0, 46, lk_sll, 0},
    {"Linux SLL + 802.1Q", L_SLL, 20, 33, 46, lk_sll_vlan, 0},
    {"Linux SLL2", L_SLL2, 20, 0, 46, lk_sll2, 0},
    {"raw 12", L_RAW, 0, 0, 46, lk_none, 0},
    {"raw 14", L_RAW_BSD, 0, 0, 46, lk_none, 0},
    {"raw 101", L_RAW_LINKTYPE, 0, 0, 46, lk_none, 0},
    {"IPv4 228", L_IPV4, 0, 0, 4, lk_none, 0},
    {"IPv6 229", L_IPV6, 0, 0, 6, lk_none, 0},
    {"NULL little-endian, AF_INET6 10", L_NULL, 4, 0, 46, lk_null, 10},
    {"NULL little-endian, AF_INET6 24", L_NULL, 4, 0, 46, lk_null, 24},
    {"NULL little-endian, AF_INET6 28", L_NULL, 4, 0, 46, lk_null, 28},
    {"NULL little-endian, AF_INET6 30", L_NULL, 4, 0, 46, lk_null, 30},
    {"NULL big-endian, AF_INET6 10", L_NULL, 4, 0, 46, lk_null, -10},
    {"NULL big-endian, AF_INET6 24", L_NULL, 4, 0, 46, lk_null, -24},
    {"NULL big-endian, AF_INET6 28", L_NULL, 4, 0, 46, lk_null, -28},
    {"NULL big-endian, AF_INET6 30", L_NULL, 4, 0, 46, lk_null, -30},
    {"LOOP, AF_INET6 24", L_LOOP, 4, 0, 46, lk_loop, 24},
    {"LOOP, AF_INET6 30", L_LOOP, 4, 0, 46, lk_loop, 30},
    {"PPP", L_PPP, 2, 0, 46, lk_ppp, 0},
    {"PPP ff 03", L_PPP, 4, 0, 46, lk_ppp, 1},
    {"PPP compressed protocol", L_PPP, 1, 0, 46, lk_ppp, 2},
    {"PPP ff 03, compressed protocol", L_PPP, 3, 0, 46, lk_ppp, 3},
    {"PPP_SERIAL ff 03", L_PPP_SERIAL, 4, 0, 46, lk_ppp, 1},
    {"PPP_SERIAL", L_PPP_SERIAL, 2, 0, 46, lk_ppp, 0},
    {"PPP carrying Cisco HDLC", L_PPP, 4, 0, 46, lk_chdlc, 0},
    {"PPP_SERIAL carrying Cisco HDLC", L_PPP_SERIAL, 4, 0, 46, lk_chdlc, 0},
    {"PPP_ETHER (PPPoE)", L_PPP_ETHER, 8, 0, 46, lk_ppp_ether, 0},
    {"Cisco HDLC", L_C_HDLC, 4, 0, 46, lk_chdlc, 0},
    {"NFLOG", L_NFLOG, 20, 0, 46, lk_nflog, 0},
    {"NFLOG AF_UNSPEC", L_NFLOG, 20, 0, 46, lk_nflog, -1},
};
#define N_LINK_CASES ((int)(sizeof link_cases / sizeof link_cases[0]))

/* IPv4/TCP: 20 + 20 + 10 payload; IPv6/UDP: 40 + 8 + 12. */
static uint32_t build_over_link(const struct link_case *lc, int v6, struct pb *b)
{
    pb_init(b, frame, sizeof frame);
    lc->build(b, v6, lc->param);
    if (v6) {
        pb_ipv6(b, A6, B6, 17, 44);
        pb_udp(b, 5353, 53);
        pb_payload(b, 12);
    } else {
        pb_ipv4(b, &(struct pb_ip4){.src = A4, .dst = B4, .proto = 6, .ttl = 33, .id = 7});
        pb_tcp(b, 40000, 443, TCPF_SYN | TCPF_ACK);
        pb_payload(b, 10);
    }
    return pb_finish(b);
}

START_TEST(every_link_type_decodes_ip_and_transport)
{
    const struct link_case *lc = &link_cases[_i];
    ck_assert_msg(decode_link_supported(lc->dlt), "%s: dlt %d unsupported", lc->name, lc->dlt);
    for (int v6 = 0; v6 <= 1; v6++) {
        if (lc->families == (v6 ? 4 : 6))
            continue;
        struct pb b;
        uint32_t len = build_over_link(lc, v6, &b);
        struct packet_view pv;
        enum decode_status st = decode(lc->dlt, frame, len, &pv);
        ck_assert_msg(st == DECODE_OK, "%s IPv%d: %s", lc->name, v6 ? 6 : 4, decode_status_name(st));
        ck_assert_uint_eq(b.l3, lc->link_len);
        assert_view(&pv, frame, lc->link_len, (uint32_t)b.l4, v6 ? 6 : 4, v6 ? 17 : 6);
        ck_assert_uint_eq(pv.vlan, lc->vlan);
        ck_assert_uint_eq(pv.ts_us, 1700000000123456ull);
        ck_assert_uint_eq(pv.caplen, len);
        ck_assert_uint_eq(pv.wirelen, len);
        ck_assert_uint_eq(pv.l3_caplen, len - lc->link_len);
        ck_assert_uint_eq(pv.ip_len, len - lc->link_len);
        if (v6) {
            ck_assert_uint_eq(pv.sport, 5353);
            ck_assert_uint_eq(pv.dport, 53);
            ck_assert_uint_eq(pv.ttl, 44);
            ck_assert_uint_eq(pv.tcp_flags, 0);
            ck_assert_uint_eq(pv.l4_caplen, 8 + 12);
        } else {
            ck_assert_uint_eq(pv.sport, 40000);
            ck_assert_uint_eq(pv.dport, 443);
            ck_assert_uint_eq(pv.ttl, 33);
            ck_assert_uint_eq(pv.tcp_flags, TCPF_SYN | TCPF_ACK);
            ck_assert_uint_eq(pv.l4_caplen, 20 + 10);
        }
        ck_assert_uint_eq(pv.frag.is_fragment, 0);
    }
}
END_TEST

START_TEST(every_link_type_survives_every_truncation)
{
    const struct link_case *lc = &link_cases[_i];
    for (int v6 = 0; v6 <= 1; v6++) {
        if (lc->families == (v6 ? 4 : 6))
            continue;
        struct pb b;
        uint32_t len = build_over_link(lc, v6, &b);
        uint32_t l4 = (uint32_t)b.l4;
        struct trunc_spec s = {lc->dlt, lc->link_len, lc->link_len + (v6 ? 40 : 20),
                               l4 + (v6 ? 4 : 14), l4 + 4};
        check_every_truncation(&s, frame, len);
    }
}
END_TEST

START_TEST(supported_link_types_are_exactly_the_decoded_ones)
{
    static const int yes[] = {L_EN10MB, L_SLL, L_SLL2, L_RAW, L_RAW_BSD, L_RAW_LINKTYPE, L_IPV4,
                              L_IPV6, L_NULL, L_LOOP, L_PPP, L_PPP_SERIAL, L_PPP_ETHER, L_C_HDLC,
                              L_NFLOG, 105, 127, 192};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        ck_assert_msg(decode_link_supported(yes[i]), "dlt %d", yes[i]);
    static const int no[] = {-1, 2, 6, 147, 220, 275, 1000};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        ck_assert_msg(!decode_link_supported(no[i]), "dlt %d", no[i]);
}
END_TEST

START_TEST(unknown_dlt_is_unknown_link)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_ipv4(&b, &(struct pb_ip4){.src = A4, .dst = B4, .proto = 17});
    pb_udp(&b, 1, 2);
    uint32_t len = pb_finish(&b);
    struct packet_view pv;
    ck_assert_int_eq(decode(127, frame, len, &pv), DECODE_UNKNOWN_LINK);
    ck_assert_int_eq(decode(147, frame, len, &pv), DECODE_UNKNOWN_LINK);
    ck_assert_int_eq(decode(-1, frame, len, &pv), DECODE_UNKNOWN_LINK);
}
END_TEST

/* ---- link-layer odds and ends ------------------------------------------- */

static enum decode_status decode_built(int dlt, struct pb *b, struct packet_view *pv)
{
    uint32_t len = pb_finish(b);
    return decode(dlt, frame, len, pv);
}

static void ip4_udp(struct pb *b)
{
    pb_ipv4(b, &(struct pb_ip4){.src = A4, .dst = B4, .proto = 17});
    pb_udp(b, 1000, 2000);
}

START_TEST(null_with_unknown_family_is_not_ip)
{
    struct pb b;
    struct packet_view pv;
    pb_init(&b, frame, sizeof frame);
    pb_null(&b, 7, 0);
    ip4_udp(&b);
    ck_assert_int_eq(decode_built(L_NULL, &b, &pv), DECODE_NOT_IP);
    pb_init(&b, frame, sizeof frame);
    pb_null(&b, 7, 1);
    ip4_udp(&b);
    ck_assert_int_eq(decode_built(L_NULL, &b, &pv), DECODE_NOT_IP);
}
END_TEST

START_TEST(loop_family_is_network_order_only)
{
    struct pb b;
    struct packet_view pv;
    pb_init(&b, frame, sizeof frame);
    pb_null(&b, 2, 0);  /* little-endian AF_INET: 02 00 00 00 */
    ip4_udp(&b);
    ck_assert_int_eq(decode_built(L_LOOP, &b, &pv), DECODE_NOT_IP);
}
END_TEST

START_TEST(ppp_non_ip_protocols_are_not_ip)
{
    struct pb b;
    struct packet_view pv;
    pb_init(&b, frame, sizeof frame);
    pb_ppp(&b, 1, PPP_LCP, 0);
    pb_payload(&b, 20);
    ck_assert_int_eq(decode_built(L_PPP, &b, &pv), DECODE_NOT_IP);
    pb_init(&b, frame, sizeof frame);
    pb_ppp(&b, 0, 0x0031, 1);       /* compressed, not IP */
    pb_payload(&b, 20);
    ck_assert_int_eq(decode_built(L_PPP, &b, &pv), DECODE_NOT_IP);
}
END_TEST

START_TEST(pppoe_non_ip_is_not_ip)
{
    struct pb b;
    struct packet_view pv;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_PPPOE_SESS);
    pb_pppoe(&b, PPP_LCP);
    pb_payload(&b, 20);
    ck_assert_int_eq(decode_built(L_EN10MB, &b, &pv), DECODE_NOT_IP);
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_PPPOE_DISC);
    pb_payload(&b, 30);
    ck_assert_int_eq(decode_built(L_EN10MB, &b, &pv), DECODE_NOT_IP);
    pb_init(&b, frame, sizeof frame);
    pb_pppoe(&b, PPP_LCP);
    pb_payload(&b, 20);
    ck_assert_int_eq(decode_built(L_PPP_ETHER, &b, &pv), DECODE_NOT_IP);
}
END_TEST

START_TEST(non_ip_ethertypes_are_not_ip)
{
    static const uint16_t types[] = {ETY_ARP, 0x88CC /* LLDP */, 0x8035 /* RARP */,
                                     0x88E5 /* MACsec */, 0x0600};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        struct pb b;
        struct packet_view pv;
        pb_init(&b, frame, sizeof frame);
        pb_eth(&b, types[i]);
        pb_payload(&b, 46);
        ck_assert_msg(decode_built(L_EN10MB, &b, &pv) == DECODE_NOT_IP, "ethertype %04x", types[i]);
    }
    /* ARP behind a VLAN tag too. */
    struct pb b;
    struct packet_view pv;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_8021Q);
    pb_vlan(&b, 5, ETY_ARP);
    pb_payload(&b, 28);
    ck_assert_int_eq(decode_built(L_EN10MB, &b, &pv), DECODE_NOT_IP);
}
END_TEST

START_TEST(llc_without_snap_is_not_ip)
{
    struct pb b;
    struct packet_view pv;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, 38);
    static const uint8_t stp_llc[] = {0x42, 0x42, 0x03, 0, 0, 0, 0, 0};
    pb_bytes(&b, stp_llc, sizeof stp_llc);
    pb_payload(&b, 30);
    ck_assert_int_eq(decode_built(L_EN10MB, &b, &pv), DECODE_NOT_IP);
    /* SNAP carrying ARP. */
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, 36);
    pb_llc_snap(&b, ETY_ARP);
    pb_payload(&b, 28);
    ck_assert_int_eq(decode_built(L_EN10MB, &b, &pv), DECODE_NOT_IP);
}
END_TEST

START_TEST(nflog_without_payload_tlv_is_not_ip)
{
    struct pb b;
    struct packet_view pv;
    pb_init(&b, frame, sizeof frame);
    pb_u8(&b, 2);
    pb_u8(&b, 0);
    pb_u16(&b, 0);
    pb_u16le(&b, 8);
    pb_u16le(&b, 1);        /* NFULA_PACKET_HDR only */
    pb_u32(&b, 0);
    ck_assert_int_eq(decode_built(L_NFLOG, &b, &pv), DECODE_NOT_IP);
}
END_TEST

START_TEST(nflog_tlv_shorter_than_its_header_is_rejected)
{
    struct pb b;
    struct packet_view pv;
    pb_init(&b, frame, sizeof frame);
    pb_u8(&b, 2);
    pb_u8(&b, 0);
    pb_u16(&b, 0);
    pb_u16le(&b, 2);        /* a TLV length below 4 would loop forever if trusted */
    pb_u16le(&b, 10);
    ip4_udp(&b);
    ck_assert_int_ne(decode_built(L_NFLOG, &b, &pv), DECODE_OK);
}
END_TEST

START_TEST(nflog_payload_type_flag_bits_are_ignored)
{
    struct pb b;
    struct packet_view pv;
    pb_init(&b, frame, sizeof frame);
    pb_u8(&b, 2);
    pb_u8(&b, 0);
    pb_u16(&b, 0);
    pb_u16le(&b, 4 + 28);
    pb_u16le(&b, 0x8000 | 9);   /* NLA_F_NESTED set */
    ip4_udp(&b);
    ck_assert_int_eq(decode_built(L_NFLOG, &b, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.dport, 2000);
    ck_assert_ptr_eq(pv.l3, frame + 8);
}
END_TEST

START_TEST(raw_with_other_version_nibble_is_not_ip)
{
    for (unsigned v = 0; v < 16; v++) {
        if (v == 4 || v == 6)
            continue;
        struct pb b;
        struct packet_view pv;
        pb_init(&b, frame, sizeof frame);
        ip4_udp(&b);
        uint32_t len = pb_finish(&b);
        frame[0] = (uint8_t)(v << 4 | 5);
        ck_assert_msg(decode(L_RAW, frame, len, &pv) == DECODE_NOT_IP, "version %u", v);
    }
}
END_TEST

START_TEST(mpls_payload_with_other_nibble_is_not_ip)
{
    struct pb b;
    struct packet_view pv;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_MPLS_UC);
    pb_mpls(&b, 100, 1);
    pb_u32(&b, 0);          /* pseudowire control word: nibble 0 */
    pb_payload(&b, 40);
    ck_assert_int_eq(decode_built(L_EN10MB, &b, &pv), DECODE_NOT_IP);
}
END_TEST

/* n tags of alternating 802.1ad/802.1Q, the first with id 101. */
static uint32_t build_stacked_vlans(int n)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_8021AD);
    for (int i = 0; i < n; i++)
        pb_vlan(&b, (uint16_t)(101 + i), i == n - 1 ? ETY_IP4 : ETY_8021Q);
    ip4_udp(&b);
    return pb_finish(&b);
}

START_TEST(seventeen_vlan_tags_are_unknown_link)
{
    uint32_t len = build_stacked_vlans(17);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_UNKNOWN_LINK);
}
END_TEST

START_TEST(fifteen_vlan_tags_decode_with_outer_id)
{
    uint32_t len = build_stacked_vlans(15);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.vlan, 101);
    ck_assert_uint_eq(pv.dport, 2000);
    ck_assert_ptr_eq(pv.l3, frame + 14 + 15 * 4);
}
END_TEST

static uint32_t build_mpls_stack(int labels, int bos_on_last)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_MPLS_UC);
    for (int i = 1; i <= labels; i++)
        pb_mpls(&b, (uint32_t)i, bos_on_last && i == labels);
    ip4_udp(&b);
    return pb_finish(&b);
}

START_TEST(mpls_sixteen_labels_decode)
{
    uint32_t len = build_mpls_stack(16, 1);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_OK);
    ck_assert_ptr_eq(pv.l3, frame + 14 + 16 * 4);
    ck_assert_uint_eq(pv.sport, 1000);
}
END_TEST

START_TEST(mpls_without_bottom_of_stack_is_rejected)
{
    struct packet_view pv;
    /* 17 labels with no bottom-of-stack bit: given up on. */
    uint32_t len = build_mpls_stack(17, 0);
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_UNKNOWN_LINK);
    /* 3 labels, none at the bottom, then the capture ends. */
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_MPLS_UC);
    pb_mpls(&b, 1, 0);
    pb_mpls(&b, 2, 0);
    pb_mpls(&b, 3, 0);
    len = pb_finish(&b);
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_TRUNCATED_L2);
}
END_TEST

START_TEST(wirelen_below_caplen_counts_as_caplen)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP4);
    ip4_udp(&b);
    pb_payload(&b, 20);
    uint32_t len = pb_finish(&b);
    pb_put16(frame + 14 + 2, 2000);     /* total length lies: beyond the wire */
    struct packet_view pv;
    ck_assert_int_eq(decode_packet(L_EN10MB, frame, len, 10, 0, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.caplen, len);
    ck_assert_uint_eq(pv.wirelen, len);
    ck_assert_uint_eq(pv.ip_len, len - 14);
    ck_assert_uint_eq(pv.dport, 2000);
}
END_TEST

START_TEST(view_is_cleared_before_decoding)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP4);
    ip4_udp(&b);
    uint32_t len = pb_finish(&b);
    struct packet_view pv;
    memset(&pv, 0xA5, sizeof pv);
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.vlan, 0);
    ck_assert_uint_eq(pv.tcp_flags, 0);
    ck_assert_uint_eq(pv.icmp_type_code, 0);
    ck_assert_uint_eq(pv.l4_truncated, 0);
    ck_assert_uint_eq(pv.frag.is_fragment, 0);
    ck_assert_uint_eq(pv.frag.offset, 0);
    ck_assert_uint_eq(pv.frag.more, 0);
    static const uint8_t zero[12];
    ck_assert_mem_eq(pv.src + 4, zero, 12);
    ck_assert_mem_eq(pv.dst + 4, zero, 12);
}
END_TEST

START_TEST(status_names_are_distinct)
{
    for (int i = 0; i < DECODE_STATUS_COUNT; i++) {
        ck_assert_ptr_nonnull(decode_status_name(i));
        ck_assert_str_ne(decode_status_name(i), "?");
        for (int j = 0; j < i; j++)
            ck_assert_str_ne(decode_status_name(i), decode_status_name(j));
    }
    ck_assert_str_eq(decode_status_name(DECODE_STATUS_COUNT), "?");
    ck_assert_str_eq(decode_status_name((enum decode_status)-1), "?");
}
END_TEST

/* ---- IPv4 ------------------------------------------------------------------- */

START_TEST(ipv4_options_move_the_transport_header)
{
    static const uint8_t opts[12] = {0x07, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0x01}; /* RR + NOP */
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP4);
    pb_ipv4(&b, &(struct pb_ip4){.src = A4, .dst = B4, .proto = 6, .ttl = 9, .options = opts,
                                 .optlen = sizeof opts});
    pb_tcp(&b, 22, 51000, TCPF_PSH | TCPF_ACK);
    pb_payload(&b, 5);
    uint32_t len = pb_finish(&b);
    ck_assert_uint_eq(frame[14], 0x48);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_OK);
    assert_view(&pv, frame, 14, 14 + 32, 4, 6);
    ck_assert_uint_eq(pv.sport, 22);
    ck_assert_uint_eq(pv.dport, 51000);
    ck_assert_uint_eq(pv.tcp_flags, TCPF_PSH | TCPF_ACK);
    ck_assert_uint_eq(pv.ip_len, 32 + 20 + 5);
    ck_assert_uint_eq(pv.ttl, 9);
    struct trunc_spec s = {L_EN10MB, 14, 14 + 32, 14 + 32 + 14, 14 + 32 + 4};
    check_every_truncation(&s, frame, len);
}
END_TEST

static uint32_t eth_ip4_udp_padded(size_t pad)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP4);
    ip4_udp(&b);
    pb_payload(&b, 4);
    pb_finish(&b);
    pb_fill(&b, 0, pad);    /* after pb_finish: not part of the datagram */
    return (uint32_t)b.len;
}

START_TEST(ipv4_ihl_below_five_is_bad_ip)
{
    for (uint8_t ihl = 0; ihl < 5; ihl++) {
        uint32_t len = eth_ip4_udp_padded(20);
        frame[14] = (uint8_t)(0x40 | ihl);
        struct packet_view pv;
        ck_assert_msg(decode(L_EN10MB, frame, len, &pv) == DECODE_BAD_IP, "ihl %u", ihl);
    }
}
END_TEST

START_TEST(ipv4_ihl_beyond_capture_is_truncated_ip)
{
    uint32_t len = eth_ip4_udp_padded(0);  /* 14 + 20 + 8 + 4 = 46 */
    frame[14] = 0x4F;                       /* 60-byte header claimed */
    struct packet_view pv;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_TRUNCATED_IP);
}
END_TEST

START_TEST(ip_version_must_match_the_link_type)
{
    struct packet_view pv;
    uint32_t len = eth_ip4_udp_padded(40);
    frame[14] = 0x65;       /* version 6 under ethertype IPv4 */
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_BAD_IP);
    frame[14] = 0x15;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_BAD_IP);
    /* An IPv4 packet under ethertype IPv6, DLT_IPV6 or an AF_INET6 family. */
    len = eth_ip4_udp_padded(40);
    pb_put16(frame + 12, ETY_IP6);
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_BAD_IP);
    ck_assert_int_eq(decode(L_IPV6, frame + 14, len - 14, &pv), DECODE_BAD_IP);
    /* An IPv6 packet on DLT_IPV4. */
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_ipv6(&b, A6, B6, 17, 1);
    pb_udp(&b, 1, 2);
    ck_assert_int_eq(decode_built(L_IPV4, &b, &pv), DECODE_BAD_IP);
}
END_TEST

START_TEST(ipv4_total_length_beyond_wire_falls_back_to_wire_bytes)
{
    uint32_t len = eth_ip4_udp_padded(0);
    pb_put16(frame + 14 + 2, 1500);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.ip_len, len - 14);
    ck_assert_uint_eq(pv.sport, 1000);
    ck_assert_uint_eq(pv.l4_caplen, len - 34);
    /* Snapped capture: the wire length, not caplen, bounds the fallback. */
    ck_assert_int_eq(decode_packet(L_EN10MB, frame, len, 1000, 0, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.ip_len, 1000 - 14);
}
END_TEST

START_TEST(ipv4_total_length_below_header_falls_back_to_wire_bytes)
{
    static const uint16_t lies[] = {0, 1, 19};
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        uint32_t len = eth_ip4_udp_padded(0);
        pb_put16(frame + 14 + 2, lies[i]);
        struct packet_view pv;
        ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_OK);
        ck_assert_uint_eq(pv.ip_len, len - 14);
        ck_assert_uint_eq(pv.dport, 2000);
    }
}
END_TEST

START_TEST(ipv4_ethernet_padding_is_not_counted)
{
    uint32_t len = eth_ip4_udp_padded(14);  /* 46 bytes + 14 padding = 60 */
    ck_assert_uint_eq(len, 60);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.ip_len, 32);
    ck_assert_uint_eq(pv.l4_caplen, 12);
    ck_assert_uint_eq(pv.wirelen, 60);
}
END_TEST

/* ---- IPv6 ------------------------------------------------------------------- */

START_TEST(ipv6_extension_headers_before_tcp)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP6);
    pb_ipv6(&b, A6, B6, 0, 250);
    pb_ip6_ext(&b, 43, 8);      /* hop-by-hop */
    pb_ip6_ext(&b, 60, 24);     /* routing */
    pb_ip6_ext(&b, 6, 16);      /* destination options */
    pb_tcp(&b, 1025, 8080, TCPF_FIN | TCPF_ACK);
    pb_payload(&b, 3);
    uint32_t len = pb_finish(&b);
    uint32_t l4 = 14 + 40 + 8 + 24 + 16;
    ck_assert_uint_eq(b.l4, l4);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_OK);
    assert_view(&pv, frame, 14, l4, 6, 6);
    ck_assert_uint_eq(pv.sport, 1025);
    ck_assert_uint_eq(pv.dport, 8080);
    ck_assert_uint_eq(pv.tcp_flags, TCPF_FIN | TCPF_ACK);
    ck_assert_uint_eq(pv.ttl, 250);
    ck_assert_uint_eq(pv.ip_len, len - 14);
    ck_assert_uint_eq(pv.l4_caplen, 23);
    /* Cut inside the last extension header: its next-header byte is there,
     * so the packet is metered, portless. */
    struct trunc_spec s = {L_EN10MB, 14, 14 + 40 + 8 + 24 + 8, l4 + 14, l4 + 4};
    check_every_truncation(&s, frame, len);
}
END_TEST

START_TEST(ipv6_authentication_header_before_udp)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_ipv6(&b, A6, B6, 51, 1);
    pb_ip6_ah(&b, 17, 24);
    pb_udp(&b, 500, 4500);
    uint32_t len = pb_finish(&b);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_RAW, frame, len, &pv), DECODE_OK);
    assert_view(&pv, frame, 0, 40 + 24, 6, 17);
    ck_assert_uint_eq(pv.sport, 500);
    ck_assert_uint_eq(pv.dport, 4500);
}
END_TEST

START_TEST(ipv6_esp_and_no_next_header_have_no_ports)
{
    static const uint8_t protos[] = {50, 59};
    for (size_t i = 0; i < 2; i++) {
        struct pb b;
        pb_init(&b, frame, sizeof frame);
        pb_ipv6(&b, A6, B6, 0, 1);
        pb_ip6_ext(&b, protos[i], 8);
        pb_payload(&b, 32);
        uint32_t len = pb_finish(&b);
        struct packet_view pv;
        ck_assert_int_eq(decode(L_RAW, frame, len, &pv), DECODE_OK);
        ck_assert_uint_eq(pv.proto, protos[i]);
        ck_assert_uint_eq(pv.sport, 0);
        ck_assert_uint_eq(pv.dport, 0);
        ck_assert_uint_eq(pv.l4_truncated, 0);
        ck_assert_ptr_eq(pv.l4, frame + 48);
    }
}
END_TEST

static uint32_t raw_ip6_udp(size_t payload)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_ipv6(&b, A6, B6, 17, 1);
    pb_udp(&b, 7, 9);
    pb_payload(&b, payload);
    return pb_finish(&b);
}

START_TEST(ipv6_payload_length_beyond_wire_falls_back_to_wire_bytes)
{
    uint32_t len = raw_ip6_udp(20);
    pb_put16(frame + 4, 9000);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_RAW, frame, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.ip_len, len);
    ck_assert_uint_eq(pv.l4_caplen, 28);
    ck_assert_uint_eq(pv.dport, 9);
}
END_TEST

START_TEST(ipv6_payload_length_short_of_capture_bounds_transport)
{
    uint32_t len = raw_ip6_udp(20);         /* 40 + 8 + 20 */
    pb_put16(frame + 4, 8);                 /* says: UDP header only */
    struct packet_view pv;
    ck_assert_int_eq(decode(L_RAW, frame, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.ip_len, 48);
    ck_assert_uint_eq(pv.l4_caplen, 8);
    ck_assert_uint_eq(pv.dport, 9);
}
END_TEST

/* TSO/GSO captures (and Linux BIG TCP) write 0 in the length field; IPv4
 * falls back to the wire bytes then, IPv6 must as well. */
START_TEST(ipv6_payload_length_zero_falls_back_to_wire_bytes)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP6);
    pb_ipv6(&b, A6, B6, 6, 64);
    pb_tcp(&b, 33000, 443, TCPF_ACK);
    pb_payload(&b, 1000);
    uint32_t len = pb_finish(&b);
    pb_put16(frame + 14 + 4, 0);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.ip_len, len - 14);
    ck_assert_uint_eq(pv.l4_truncated, 0);
    ck_assert_uint_eq(pv.sport, 33000);
    ck_assert_uint_eq(pv.dport, 443);
    ck_assert_uint_eq(pv.tcp_flags, TCPF_ACK);
}
END_TEST

START_TEST(ipv6_extension_chain_beyond_capture)
{
    struct packet_view pv;
    /* Hop-by-hop claiming 2048 bytes, then TCP: metered without ports. */
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_ipv6(&b, A6, B6, 0, 1);
    pb_ip6_ext(&b, 6, 8);
    pb_tcp(&b, 1, 2, TCPF_SYN);
    uint32_t len = pb_finish(&b);
    frame[41] = 255;
    ck_assert_int_eq(decode(L_RAW, frame, len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.proto, 6);
    ck_assert_uint_eq(pv.l4_truncated, 1);
    ck_assert_uint_eq(pv.sport, 0);
    ck_assert_ptr_null(pv.l4);
    /* The same, followed by another extension header: the chain cannot be
     * walked to its transport protocol. */
    frame[40] = 60;
    ck_assert_int_eq(decode(L_RAW, frame, len, &pv), DECODE_TRUNCATED_IP);
}
END_TEST

static enum decode_status decode_ip6_ext_chain(int n, struct packet_view *pv)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_ipv6(&b, A6, B6, 60, 1);
    for (int i = 0; i < n; i++)
        pb_ip6_ext(&b, i == n - 1 ? 17 : 60, 8);
    pb_udp(&b, 1, 2);
    return decode_built(L_RAW, &b, pv);
}

START_TEST(ipv6_sixteen_extension_headers_decode)
{
    struct packet_view pv;
    ck_assert_int_eq(decode_ip6_ext_chain(16, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.proto, 17);
    ck_assert_uint_eq(pv.dport, 2);
    ck_assert_ptr_eq(pv.l4, frame + 40 + 16 * 8);
}
END_TEST

START_TEST(ipv6_seventeen_extension_headers_are_bad_ip)
{
    struct packet_view pv;
    ck_assert_int_eq(decode_ip6_ext_chain(17, &pv), DECODE_BAD_IP);
}
END_TEST

START_TEST(ipv6_header_truncated_and_version_checked)
{
    uint32_t len = raw_ip6_udp(0);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_IPV6, frame, 39, &pv), DECODE_TRUNCATED_IP);
    frame[0] = 0x40;
    ck_assert_int_eq(decode(L_IPV6, frame, len, &pv), DECODE_BAD_IP);
}
END_TEST

/* ---- transports ------------------------------------------------------------ */

struct transport_case {
    const char *name;
    int v6;
    uint8_t proto;
    uint16_t sport, dport;
    uint8_t flags;
    uint16_t icmp;
    uint32_t l4_need;       /* transport bytes needed for every fact */
    uint32_t ports_need;
};

static const struct transport_case transport_cases[] = {
    {"TCP/IPv4", 0, 6, 80, 61000, 0xD2, 0, 14, 4},  /* CWR|ECE|ACK|SYN */
    {"UDP/IPv4", 0, 17, 123, 123, 0, 0, 4, 4},
    {"SCTP/IPv4", 0, 132, 2905, 2906, 0, 0, 4, 4},
    {"DCCP/IPv4", 0, 33, 5001, 5002, 0, 0, 4, 4},
    {"UDP-Lite/IPv4", 0, 136, 6001, 6002, 0, 0, 4, 4},
    {"ICMP/IPv4", 0, 1, 0, 0, 0, 0x0304, 2, 0},
    {"GRE/IPv4", 0, 47, 0, 0, 0, 0, 0, 0},
    {"TCP/IPv6", 1, 6, 443, 50000, TCPF_RST, 0, 14, 4},
    {"UDP/IPv6", 1, 17, 546, 547, 0, 0, 4, 4},
    {"SCTP/IPv6", 1, 132, 36412, 36412, 0, 0, 4, 4},
    {"ICMPv6", 1, 58, 0, 0, 0, 0x8000, 2, 0},
};
#define N_TRANSPORT_CASES ((int)(sizeof transport_cases / sizeof transport_cases[0]))

static uint32_t build_transport(const struct transport_case *tc, struct pb *b)
{
    pb_init(b, frame, sizeof frame);
    pb_eth(b, tc->v6 ? ETY_IP6 : ETY_IP4);
    if (tc->v6)
        pb_ipv6(b, A6, B6, tc->proto, 77);
    else
        pb_ipv4(b, &(struct pb_ip4){.src = A4, .dst = B4, .proto = tc->proto, .ttl = 77});
    switch (tc->proto) {
    case 6: pb_tcp(b, tc->sport, tc->dport, tc->flags); break;
    case 132: pb_sctp(b, tc->sport, tc->dport); break;
    case 1: case 58: pb_icmp(b, (uint8_t)(tc->icmp >> 8), (uint8_t)tc->icmp); break;
    case 47: pb_u32(b, 0x00000800); break;
    default: pb_udp(b, tc->sport, tc->dport); break;
    }
    pb_payload(b, 16);
    return pb_finish(b);
}

START_TEST(transport_facts_are_decoded)
{
    const struct transport_case *tc = &transport_cases[_i];
    struct pb b;
    uint32_t len = build_transport(tc, &b);
    struct packet_view pv;
    ck_assert_int_eq(decode(L_EN10MB, frame, len, &pv), DECODE_OK);
    assert_view(&pv, frame, 14, (uint32_t)b.l4, tc->v6 ? 6 : 4, tc->proto);
    ck_assert_uint_eq(pv.sport, tc->sport);
    ck_assert_uint_eq(pv.dport, tc->dport);
    ck_assert_uint_eq(pv.tcp_flags, tc->flags);
    ck_assert_uint_eq(pv.icmp_type_code, tc->icmp);
    ck_assert_uint_eq(pv.ttl, 77);
    ck_assert_uint_eq(pv.ip_len, len - 14);
    ck_assert_uint_eq(pv.l4_caplen, len - b.l4);
}
END_TEST

START_TEST(transport_survives_every_truncation)
{
    const struct transport_case *tc = &transport_cases[_i];
    struct pb b;
    uint32_t len = build_transport(tc, &b);
    uint32_t l4 = (uint32_t)b.l4;
    struct trunc_spec s = {L_EN10MB, 14, l4, tc->l4_need ? l4 + tc->l4_need : 0,
                           l4 + tc->ports_need};
    check_every_truncation(&s, frame, len);
}
END_TEST

Suite *decode_suite(void)
{
    Suite *s = suite_create("decode");
    TCase *tc = tcase_create("links");
    tcase_add_loop_test(tc, every_link_type_decodes_ip_and_transport, 0, N_LINK_CASES);
    tcase_add_loop_test(tc, every_link_type_survives_every_truncation, 0, N_LINK_CASES);
    tcase_add_test(tc, supported_link_types_are_exactly_the_decoded_ones);
    tcase_add_test(tc, unknown_dlt_is_unknown_link);
    tcase_add_test(tc, null_with_unknown_family_is_not_ip);
    tcase_add_test(tc, loop_family_is_network_order_only);
    tcase_add_test(tc, ppp_non_ip_protocols_are_not_ip);
    tcase_add_test(tc, pppoe_non_ip_is_not_ip);
    tcase_add_test(tc, non_ip_ethertypes_are_not_ip);
    tcase_add_test(tc, llc_without_snap_is_not_ip);
    tcase_add_test(tc, nflog_without_payload_tlv_is_not_ip);
    tcase_add_test(tc, nflog_tlv_shorter_than_its_header_is_rejected);
    tcase_add_test(tc, nflog_payload_type_flag_bits_are_ignored);
    tcase_add_test(tc, raw_with_other_version_nibble_is_not_ip);
    tcase_add_test(tc, mpls_payload_with_other_nibble_is_not_ip);
    tcase_add_test(tc, seventeen_vlan_tags_are_unknown_link);
    tcase_add_test(tc, fifteen_vlan_tags_decode_with_outer_id);
    tcase_add_test(tc, mpls_sixteen_labels_decode);
    tcase_add_test(tc, mpls_without_bottom_of_stack_is_rejected);
    tcase_add_test(tc, wirelen_below_caplen_counts_as_caplen);
    tcase_add_test(tc, view_is_cleared_before_decoding);
    tcase_add_test(tc, status_names_are_distinct);
    suite_add_tcase(s, tc);

    tc = tcase_create("ip");
    tcase_add_test(tc, ipv4_options_move_the_transport_header);
    tcase_add_test(tc, ipv4_ihl_below_five_is_bad_ip);
    tcase_add_test(tc, ipv4_ihl_beyond_capture_is_truncated_ip);
    tcase_add_test(tc, ip_version_must_match_the_link_type);
    tcase_add_test(tc, ipv4_total_length_beyond_wire_falls_back_to_wire_bytes);
    tcase_add_test(tc, ipv4_total_length_below_header_falls_back_to_wire_bytes);
    tcase_add_test(tc, ipv4_ethernet_padding_is_not_counted);
    tcase_add_test(tc, ipv6_extension_headers_before_tcp);
    tcase_add_test(tc, ipv6_authentication_header_before_udp);
    tcase_add_test(tc, ipv6_esp_and_no_next_header_have_no_ports);
    tcase_add_test(tc, ipv6_payload_length_beyond_wire_falls_back_to_wire_bytes);
    tcase_add_test(tc, ipv6_payload_length_short_of_capture_bounds_transport);
    tcase_add_test(tc, ipv6_payload_length_zero_falls_back_to_wire_bytes);
    tcase_add_test(tc, ipv6_extension_chain_beyond_capture);
    tcase_add_test(tc, ipv6_sixteen_extension_headers_decode);
    tcase_add_test(tc, ipv6_seventeen_extension_headers_are_bad_ip);
    tcase_add_test(tc, ipv6_header_truncated_and_version_checked);
    suite_add_tcase(s, tc);

    tc = tcase_create("transport");
    tcase_add_loop_test(tc, transport_facts_are_decoded, 0, N_TRANSPORT_CASES);
    tcase_add_loop_test(tc, transport_survives_every_truncation, 0, N_TRANSPORT_CASES);
    suite_add_tcase(s, tc);
    return s;
}
