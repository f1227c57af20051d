/* test_frag.c — fragment facts from the decoder, the fragment table, and
 * non-first fragments joining their datagram's flow in the meter. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "frag.h"
#include "meter.h"
#include "pktbuild.h"
#include "unit.h"

#define SEC 1000000ull
#define A4 IP4(203, 0, 113, 5)
#define B4 IP4(203, 0, 113, 77)
#define A6 IP6(0xfd, 0, [15] = 0x05)
#define B6 IP6(0xfd, 0, [15] = 0x77)

static uint8_t frame[2048];

static enum decode_status decode_eth(uint32_t len, struct packet_view *pv)
{
    return decode_packet(1, frame, len, len, 5 * SEC, pv);
}

/* Same rule as the decode suite: every truncation is a clean status, never
 * an over-read (each copy is a heap block of exactly caplen bytes). */
static void check_truncations(uint32_t len, uint32_t ip_need, uint32_t l4_need)
{
    struct packet_view full;
    ck_assert_int_eq(decode_eth(len, &full), DECODE_OK);
    for (uint32_t caplen = 0; caplen <= len; caplen++) {
        uint8_t *copy = malloc(caplen ? caplen : 1);
        memcpy(copy, frame, caplen);
        struct packet_view pv;
        enum decode_status st = decode_packet(1, copy, caplen, len, 0, &pv);
        enum decode_status want = caplen < 14 ? DECODE_TRUNCATED_L2
                                : caplen < ip_need ? DECODE_TRUNCATED_IP : DECODE_OK;
        ck_assert_msg(st == want, "caplen %u: %s", caplen, decode_status_name(st));
        if (st == DECODE_OK) {
            ck_assert_uint_eq(pv.l4_truncated, l4_need && caplen < l4_need);
            ck_assert_uint_eq(pv.frag.id, full.frag.id);
            ck_assert_uint_eq(pv.frag.offset, full.frag.offset);
            ck_assert_uint_eq(pv.frag.more, full.frag.more);
            ck_assert_uint_eq(pv.proto, full.proto);
        }
        free(copy);
    }
}

/* ---- decoder ---------------------------------------------------------------- */

static uint32_t ip4_fragment(uint16_t id, uint16_t offset, int more, int with_udp)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP4);
    pb_ipv4(&b, &(struct pb_ip4){.src = A4, .dst = B4, .proto = 17, .id = id,
                                 .frag_offset = offset, .more_fragments = more});
    if (with_udp)
        pb_udp(&b, 4444, 53);
    pb_payload(&b, 64);
    return pb_finish(&b);
}

START_TEST(ipv4_first_fragment_has_ports_and_fragment_facts)
{
    uint32_t len = ip4_fragment(0xBEEF, 0, 1, 1);
    struct packet_view pv;
    ck_assert_int_eq(decode_eth(len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.frag.is_fragment, 1);
    ck_assert_uint_eq(pv.frag.more, 1);
    ck_assert_uint_eq(pv.frag.offset, 0);
    ck_assert_uint_eq(pv.frag.id, 0xBEEF);
    ck_assert_ptr_eq(pv.l4, frame + 34);
    ck_assert_uint_eq(pv.sport, 4444);
    ck_assert_uint_eq(pv.dport, 53);
    check_truncations(len, 34, 38);
}
END_TEST

START_TEST(ipv4_non_first_fragment_has_no_transport_header)
{
    uint32_t len = ip4_fragment(0xBEEF, 185, 1, 0);
    /* Payload bytes where ports would be must not be read as ports. */
    struct packet_view pv;
    ck_assert_int_eq(decode_eth(len, &pv), DECODE_OK);
    ck_assert_ptr_null(pv.l4);
    ck_assert_uint_eq(pv.l4_caplen, 0);
    ck_assert_uint_eq(pv.l4_truncated, 0);
    ck_assert_uint_eq(pv.sport, 0);
    ck_assert_uint_eq(pv.dport, 0);
    ck_assert_uint_eq(pv.proto, 17);
    ck_assert_uint_eq(pv.frag.is_fragment, 1);
    ck_assert_uint_eq(pv.frag.offset, 185);
    ck_assert_uint_eq(pv.frag.more, 1);
    ck_assert_uint_eq(pv.frag.id, 0xBEEF);
    ck_assert_uint_eq(pv.ip_len, len - 14);
    check_truncations(len, 34, 0);
}
END_TEST

START_TEST(ipv4_last_fragment_and_df_only)
{
    struct packet_view pv;
    uint32_t len = ip4_fragment(7, 8191, 0, 0);
    ck_assert_int_eq(decode_eth(len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.frag.is_fragment, 1);
    ck_assert_uint_eq(pv.frag.more, 0);
    ck_assert_uint_eq(pv.frag.offset, 8191);
    ck_assert_ptr_null(pv.l4);
    /* DF alone: a whole datagram. */
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP4);
    pb_ipv4(&b, &(struct pb_ip4){.src = A4, .dst = B4, .proto = 17, .id = 9, .dont_fragment = 1});
    pb_udp(&b, 1, 2);
    len = pb_finish(&b);
    ck_assert_int_eq(decode_eth(len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.frag.is_fragment, 0);
    ck_assert_uint_eq(pv.frag.more, 0);
    ck_assert_uint_eq(pv.sport, 1);
}
END_TEST

static uint32_t ip6_fragment(uint32_t id, uint16_t offset, int more, int with_udp, int hbh)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP6);
    pb_ipv6(&b, A6, B6, hbh ? 0 : 44, 64);
    if (hbh)
        pb_ip6_ext(&b, 44, 8);
    pb_ip6_frag(&b, 17, offset, more, id);
    if (with_udp)
        pb_udp(&b, 6666, 123);
    pb_payload(&b, 64);
    return pb_finish(&b);
}

START_TEST(ipv6_first_fragment_has_ports_and_fragment_facts)
{
    uint32_t len = ip6_fragment(0xDEADBEEF, 0, 1, 1, 0);
    struct packet_view pv;
    ck_assert_int_eq(decode_eth(len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.proto, 17);
    ck_assert_uint_eq(pv.frag.is_fragment, 1);
    ck_assert_uint_eq(pv.frag.more, 1);
    ck_assert_uint_eq(pv.frag.offset, 0);
    ck_assert_uint_eq(pv.frag.id, 0xDEADBEEF);
    ck_assert_ptr_eq(pv.l4, frame + 14 + 48);
    ck_assert_uint_eq(pv.sport, 6666);
    ck_assert_uint_eq(pv.dport, 123);
    check_truncations(len, 14 + 48, 14 + 48 + 4);
}
END_TEST

START_TEST(ipv6_non_first_fragment_has_no_transport_header)
{
    uint32_t len = ip6_fragment(0x01020304, 100, 0, 0, 1);
    struct packet_view pv;
    ck_assert_int_eq(decode_eth(len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.proto, 17);
    ck_assert_ptr_null(pv.l4);
    ck_assert_uint_eq(pv.sport, 0);
    ck_assert_uint_eq(pv.dport, 0);
    ck_assert_uint_eq(pv.l4_truncated, 0);
    ck_assert_uint_eq(pv.frag.is_fragment, 1);
    ck_assert_uint_eq(pv.frag.more, 0);
    ck_assert_uint_eq(pv.frag.offset, 100);
    ck_assert_uint_eq(pv.frag.id, 0x01020304);
    check_truncations(len, 14 + 56, 0);
}
END_TEST

START_TEST(ipv6_atomic_fragment_is_whole)
{
    uint32_t len = ip6_fragment(5, 0, 0, 1, 1);
    struct packet_view pv;
    ck_assert_int_eq(decode_eth(len, &pv), DECODE_OK);
    ck_assert_uint_eq(pv.frag.is_fragment, 1);
    ck_assert_uint_eq(pv.frag.more, 0);
    ck_assert_uint_eq(pv.frag.offset, 0);
    ck_assert_uint_eq(pv.sport, 6666);
}
END_TEST

/* ---- the table -------------------------------------------------------------- */

static struct packet_view frag_view(uint64_t ts, uint32_t id, uint16_t offset, uint16_t sport,
                                    uint16_t dport)
{
    struct packet_view pv;
    memset(&pv, 0, sizeof pv);
    pv.ts_us = ts;
    pv.ip_version = 4;
    memcpy(pv.src, A4.b, 4);
    memcpy(pv.dst, B4.b, 4);
    pv.proto = 17;
    pv.frag = (struct frag_info){.id = id, .offset = offset, .is_fragment = 1, .more = 1, .next_header = 17};
    pv.sport = sport;
    pv.dport = dport;
    return pv;
}

START_TEST(init_wants_a_power_of_two)
{
    struct frag_table t;
    ck_assert_int_eq(frag_init(&t, 0, SEC), -1);
    ck_assert_int_eq(frag_init(&t, 3, SEC), -1);
    ck_assert_int_eq(frag_init(&t, 1, SEC), 0);
    frag_free(&t);
    ck_assert_int_eq(frag_init(&t, 256, SEC), 0);
    frag_free(&t);
}
END_TEST

START_TEST(remembered_ports_resolve_a_later_fragment)
{
    struct frag_table t;
    ck_assert_int_eq(frag_init(&t, 64, 30 * SEC), 0);
    struct packet_view first = frag_view(10 * SEC, 42, 0, 4444, 53);
    frag_remember(&t, &first);
    struct packet_view later = frag_view(11 * SEC, 42, 185, 0, 0);
    ck_assert(frag_resolve(&t, &later));
    ck_assert_uint_eq(later.sport, 4444);
    ck_assert_uint_eq(later.dport, 53);
    ck_assert_uint_eq(t.remembered, 1);
    ck_assert_uint_eq(t.resolved, 1);
    ck_assert_uint_eq(t.orphans, 0);
    /* Every later fragment resolves, not only the first one asked for. */
    struct packet_view last = frag_view(12 * SEC, 42, 370, 0, 0);
    ck_assert(frag_resolve(&t, &last));
    ck_assert_uint_eq(last.dport, 53);
    frag_free(&t);
}
END_TEST

START_TEST(resolve_without_first_fragment_is_an_orphan)
{
    struct frag_table t;
    ck_assert_int_eq(frag_init(&t, 64, 30 * SEC), 0);
    struct packet_view pv = frag_view(SEC, 42, 185, 0, 0);
    ck_assert(!frag_resolve(&t, &pv));
    ck_assert_uint_eq(pv.sport, 0);
    ck_assert_uint_eq(pv.dport, 0);
    ck_assert_uint_eq(t.orphans, 1);
    ck_assert_uint_eq(t.resolved, 0);
    frag_free(&t);
}
END_TEST

START_TEST(entries_expire_after_the_timeout)
{
    struct frag_table t;
    ck_assert_int_eq(frag_init(&t, 64, 30 * SEC), 0);
    struct packet_view first = frag_view(100 * SEC, 42, 0, 4444, 53);
    frag_remember(&t, &first);
    struct packet_view pv = frag_view(130 * SEC - 1, 42, 185, 0, 0);
    ck_assert(frag_resolve(&t, &pv));
    pv = frag_view(130 * SEC, 42, 185, 0, 0);
    ck_assert(!frag_resolve(&t, &pv));
    ck_assert_uint_eq(pv.sport, 0);
    ck_assert_uint_eq(t.orphans, 1);
    frag_free(&t);
}
END_TEST

START_TEST(reset_forgets_every_fragment_and_count)
{
    struct frag_table t;
    ck_assert_int_eq(frag_init(&t, 64, 30 * SEC), 0);
    for (uint16_t id = 0; id < 300; id++) {         /* every set, some evicted */
        struct packet_view first = frag_view(10 * SEC, id, 0, 4444, 53);
        frag_remember(&t, &first);
    }
    ck_assert_uint_gt(t.evicted, 0);
    frag_reset(&t);
    ck_assert_uint_eq(t.remembered + t.resolved + t.orphans + t.evicted, 0);
    for (uint32_t i = 0; i < 64 * FRAG_WAYS; i++)
        ck_assert_uint_eq(t.slots[i].expires_us, 0);
    struct packet_view later = frag_view(11 * SEC, 299, 185, 0, 0);
    ck_assert(!frag_resolve(&t, &later));
    ck_assert_uint_eq(t.orphans, 1);
    frag_free(&t);
}
END_TEST

START_TEST(match_needs_same_addresses_protocol_id_and_version)
{
    struct frag_table t;
    ck_assert_int_eq(frag_init(&t, 1, 30 * SEC), 0);    /* one set: all candidates collide */
    struct packet_view first = frag_view(SEC, 42, 0, 4444, 53);
    frag_remember(&t, &first);
    struct packet_view pv;

    pv = frag_view(SEC, 43, 185, 0, 0);
    ck_assert(!frag_resolve(&t, &pv));
    pv = frag_view(SEC, 42, 185, 0, 0);
    pv.proto = pv.frag.next_header = 6;
    ck_assert(!frag_resolve(&t, &pv));
    pv = frag_view(SEC, 42, 185, 0, 0);
    pv.src[3]++;
    ck_assert(!frag_resolve(&t, &pv));
    pv = frag_view(SEC, 42, 185, 0, 0);
    pv.dst[3]++;
    ck_assert(!frag_resolve(&t, &pv));
    pv = frag_view(SEC, 42, 185, 0, 0);     /* addresses swapped: another datagram */
    memcpy(pv.src, B4.b, 4);
    memcpy(pv.dst, A4.b, 4);
    ck_assert(!frag_resolve(&t, &pv));
    pv = frag_view(SEC, 42, 185, 0, 0);
    pv.ip_version = 6;
    ck_assert(!frag_resolve(&t, &pv));
    ck_assert_uint_eq(t.orphans, 6);

    pv = frag_view(SEC, 42, 185, 0, 0);
    ck_assert(frag_resolve(&t, &pv));
    ck_assert_uint_eq(pv.sport, 4444);
    frag_free(&t);
}
END_TEST

START_TEST(full_set_evicts_the_entry_closest_to_expiry)
{
    struct frag_table t;
    ck_assert_int_eq(frag_init(&t, 1, 30 * SEC), 0);
    for (uint32_t id = 1; id <= FRAG_WAYS; id++) {
        struct packet_view first = frag_view(id * SEC, id, 0, (uint16_t)(1000 + id), 53);
        frag_remember(&t, &first);
    }
    /* id 1 seen again: now id 2 is the closest to expiry. */
    struct packet_view again = frag_view(5 * SEC, 1, 0, 1001, 53);
    frag_remember(&t, &again);
    ck_assert_uint_eq(t.evicted, 0);
    struct packet_view fifth = frag_view(10 * SEC, 5, 0, 1005, 53);
    frag_remember(&t, &fifth);
    ck_assert_uint_eq(t.evicted, 1);
    ck_assert_uint_eq(t.remembered, 6);
    struct packet_view pv = frag_view(11 * SEC, 2, 8, 0, 0);
    ck_assert(!frag_resolve(&t, &pv));
    static const uint32_t kept[] = {1, 3, 4, 5};
    for (size_t i = 0; i < 4; i++) {
        pv = frag_view(11 * SEC, kept[i], 8, 0, 0);
        ck_assert_msg(frag_resolve(&t, &pv), "id %u", kept[i]);
        ck_assert_uint_eq(pv.sport, 1000 + kept[i]);
    }
    /* Once entries have expired, reusing their ways is no eviction. */
    struct packet_view late = frag_view(100 * SEC, 6, 0, 1006, 53);
    frag_remember(&t, &late);
    ck_assert_uint_eq(t.evicted, 1);
    frag_free(&t);
}
END_TEST

START_TEST(remembering_a_datagram_again_updates_its_entry)
{
    struct frag_table t;
    ck_assert_int_eq(frag_init(&t, 1, 30 * SEC), 0);
    for (uint32_t id = 1; id <= FRAG_WAYS; id++) {
        struct packet_view first = frag_view(SEC, id, 0, 1000, 53);
        frag_remember(&t, &first);
    }
    struct packet_view again = frag_view(2 * SEC, 3, 0, 3333, 53);
    frag_remember(&t, &again);
    ck_assert_uint_eq(t.evicted, 0);
    struct packet_view pv = frag_view(3 * SEC, 3, 8, 0, 0);
    ck_assert(frag_resolve(&t, &pv));
    ck_assert_uint_eq(pv.sport, 3333);
    for (uint32_t id = 1; id <= FRAG_WAYS; id++) {
        pv = frag_view(3 * SEC, id, 8, 0, 0);
        ck_assert_msg(frag_resolve(&t, &pv), "id %u", id);
    }
    frag_free(&t);
}
END_TEST

/* ---- in the meter ----------------------------------------------------------- */

static struct flow_record recs[8];
static int nrecs;
static void sink(void *ctx, const struct flow_record *r)
{
    (void)ctx;
    ck_assert_int_lt(nrecs, 8);
    recs[nrecs++] = *r;
}

START_TEST(fragments_join_the_flow_of_their_first_fragment)
{
    struct meter m;
    struct meter_config cfg = {60 * SEC, 600 * SEC, 5 * SEC, 100};
    nrecs = 0;
    ck_assert_int_eq(meter_init(&m, &cfg, sink, NULL), 0);
    uint64_t octets = 0;
    static const struct { uint16_t id, offset; int more, udp; } seq[] = {
        {77, 0, 1, 1}, {77, 9, 1, 0}, {77, 18, 0, 0}, /* one datagram */
        {78, 9, 0, 0},                                  /* an orphan */
    };
    for (size_t i = 0; i < 4; i++) {
        uint32_t len = ip4_fragment(seq[i].id, seq[i].offset, seq[i].more, seq[i].udp);
        struct packet_view pv;
        enum decode_status st = decode_packet(1, frame, len, len, 1000 * SEC + i, &pv);
        ck_assert_int_eq(st, DECODE_OK);
        if (seq[i].id == 77)
            octets += pv.ip_len;
        meter_packet(&m, st, &pv);
    }
    ck_assert_uint_eq(m.frags.remembered, 1);
    ck_assert_uint_eq(m.frags.resolved, 2);
    ck_assert_uint_eq(m.frags.orphans, 1);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 2);
    const struct flow_record *whole = recs[0].packets[0] == 3 ? &recs[0] : &recs[1];
    const struct flow_record *orphan = whole == &recs[0] ? &recs[1] : &recs[0];
    ck_assert_uint_eq(whole->packets[0], 3);
    ck_assert_uint_eq(whole->sport, 4444);
    ck_assert_uint_eq(whole->dport, 53);
    ck_assert_uint_eq(whole->ip_octets[0], octets);
    ck_assert_uint_eq(orphan->packets[0], 1);
    ck_assert_uint_eq(orphan->sport, 0);
    ck_assert_uint_eq(orphan->dport, 0);
    ck_assert_uint_eq(orphan->proto, 17);
    meter_free(&m);
}
END_TEST

/* Destination options after the fragment header travel in the first
 * fragment only; later fragments say 60 where the first said UDP. */
static uint32_t ip6_fragment_with_dstopts(uint16_t offset, int more)
{
    struct pb b;
    pb_init(&b, frame, sizeof frame);
    pb_eth(&b, ETY_IP6);
    pb_ipv6(&b, A6, B6, 44, 64);
    pb_ip6_frag(&b, 60, offset, more, 0x5151);
    if (offset == 0) {
        pb_ip6_ext(&b, 17, 8);
        pb_udp(&b, 6666, 123);
    }
    pb_payload(&b, 64);
    return pb_finish(&b);
}

START_TEST(ipv6_fragments_with_options_after_the_fragment_header_join_one_flow)
{
    struct meter m;
    struct meter_config cfg = {60 * SEC, 600 * SEC, 5 * SEC, 100};
    nrecs = 0;
    ck_assert_int_eq(meter_init(&m, &cfg, sink, NULL), 0);
    for (int i = 0; i < 3; i++) {
        uint32_t len = ip6_fragment_with_dstopts((uint16_t)(i * 10), i < 2);
        struct packet_view pv;
        enum decode_status st = decode_packet(1, frame, len, len, 1000 * SEC + (uint64_t)i, &pv);
        ck_assert_int_eq(st, DECODE_OK);
        meter_packet(&m, st, &pv);
    }
    ck_assert_uint_eq(m.frags.resolved, 2);
    ck_assert_uint_eq(m.frags.orphans, 0);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].packets[0], 3);
    ck_assert_uint_eq(recs[0].proto, 17);
    ck_assert_uint_eq(recs[0].sport, 6666);
    ck_assert_uint_eq(recs[0].dport, 123);
    meter_free(&m);
}
END_TEST

Suite *frag_suite(void)
{
    Suite *s = suite_create("frag");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, ipv4_first_fragment_has_ports_and_fragment_facts);
    tcase_add_test(tc, ipv4_non_first_fragment_has_no_transport_header);
    tcase_add_test(tc, ipv4_last_fragment_and_df_only);
    tcase_add_test(tc, ipv6_first_fragment_has_ports_and_fragment_facts);
    tcase_add_test(tc, ipv6_non_first_fragment_has_no_transport_header);
    tcase_add_test(tc, ipv6_atomic_fragment_is_whole);
    suite_add_tcase(s, tc);

    tc = tcase_create("table");
    tcase_add_test(tc, init_wants_a_power_of_two);
    tcase_add_test(tc, remembered_ports_resolve_a_later_fragment);
    tcase_add_test(tc, resolve_without_first_fragment_is_an_orphan);
    tcase_add_test(tc, entries_expire_after_the_timeout);
    tcase_add_test(tc, reset_forgets_every_fragment_and_count);
    tcase_add_test(tc, match_needs_same_addresses_protocol_id_and_version);
    tcase_add_test(tc, full_set_evicts_the_entry_closest_to_expiry);
    tcase_add_test(tc, remembering_a_datagram_again_updates_its_entry);
    suite_add_tcase(s, tc);

    tc = tcase_create("meter");
    tcase_add_test(tc, fragments_join_the_flow_of_their_first_fragment);
    tcase_add_test(tc, ipv6_fragments_with_options_after_the_fragment_header_join_one_flow);
    suite_add_tcase(s, tc);
    return s;
}
