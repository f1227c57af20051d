/* test_flowkey.c — the canonical bidirectional key and its hash. */
#include <check.h>
#include <string.h>

#include "flowkey.h"
#include "unit.h"

/* A view as decode would leave it, on top of whatever the memory held. */
static void make_view(struct packet_view *pv, int fill, int version, uint8_t src_last,
                      uint16_t sport, uint8_t dst_last, uint16_t dport, uint8_t proto,
                      uint16_t vlan)
{
    memset(pv, fill, sizeof *pv);
    memset(&pv->tun, 0, sizeof pv->tun);    /* decode always sets it: zero outside tunnels */
    memset(pv->src, 0, 16);
    memset(pv->dst, 0, 16);
    if (version == 4) {
        pv->src[0] = 10, pv->src[3] = src_last;
        pv->dst[0] = 10, pv->dst[3] = dst_last;
    } else {
        pv->src[0] = 0x20, pv->src[1] = 0x01, pv->src[15] = src_last;
        pv->dst[0] = 0x20, pv->dst[1] = 0x01, pv->dst[15] = dst_last;
    }
    pv->ip_version = (uint8_t)version;
    pv->sport = sport;
    pv->dport = dport;
    pv->proto = proto;
    pv->vlan = vlan;
}

static void assert_same_flow(const struct packet_view *a, const struct packet_view *b)
{
    struct flow_key ka, kb;
    flowkey_from_packet(a, &ka);
    flowkey_from_packet(b, &kb);
    ck_assert(flowkey_equal(&ka, &kb));
    ck_assert_uint_eq(flowkey_hash(&ka), flowkey_hash(&kb));
}

static void assert_other_flow(const struct packet_view *a, const struct packet_view *b)
{
    struct flow_key ka, kb;
    flowkey_from_packet(a, &ka);
    flowkey_from_packet(b, &kb);
    ck_assert(!flowkey_equal(&ka, &kb));
    ck_assert(!flowkey_equal(&kb, &ka));
}

START_TEST(both_directions_give_one_key_and_opposite_ends)
{
    for (int version = 4; version <= 6; version += 2) {
        struct packet_view fwd, rev;
        make_view(&fwd, 0, version, 1, 40000, 2, 80, 6, 0);
        make_view(&rev, 0, version, 2, 80, 1, 40000, 6, 0);
        struct flow_key kf, kr;
        int ef = flowkey_from_packet(&fwd, &kf);
        int er = flowkey_from_packet(&rev, &kr);
        ck_assert(flowkey_equal(&kf, &kr));
        ck_assert_uint_eq(flowkey_hash(&kf), flowkey_hash(&kr));
        ck_assert_int_eq(ef, 0);    /* .1 is the lower address */
        ck_assert_int_eq(er, 1);
        /* The key stores the lower end first. */
        ck_assert_uint_eq(kf.addr[0][version == 4 ? 3 : 15], 1);
        ck_assert_uint_eq(kf.port[0], 40000);
        ck_assert_uint_eq(kf.port[1], 80);
        ck_assert_uint_eq(kf.proto, 6);
        ck_assert_uint_eq(kf.ip_version, version);
    }
}
END_TEST

START_TEST(same_address_orders_ends_by_port)
{
    struct packet_view a, b;
    make_view(&a, 0, 4, 5, 9000, 5, 53, 17, 0);
    make_view(&b, 0, 4, 5, 53, 5, 9000, 17, 0);
    struct flow_key ka, kb;
    ck_assert_int_eq(flowkey_from_packet(&a, &ka), 1);
    ck_assert_int_eq(flowkey_from_packet(&b, &kb), 0);
    ck_assert(flowkey_equal(&ka, &kb));
    ck_assert_uint_eq(ka.port[0], 53);
}
END_TEST

START_TEST(vlan_proto_ports_and_version_separate_flows)
{
    struct packet_view base, other;
    make_view(&base, 0, 4, 1, 1000, 2, 53, 17, 10);
    make_view(&other, 0, 4, 1, 1000, 2, 53, 17, 11);
    assert_other_flow(&base, &other);
    make_view(&other, 0, 4, 1, 1000, 2, 53, 6, 10);
    assert_other_flow(&base, &other);
    make_view(&other, 0, 4, 1, 1001, 2, 53, 17, 10);
    assert_other_flow(&base, &other);
    make_view(&other, 0, 4, 1, 1000, 2, 54, 17, 10);
    assert_other_flow(&base, &other);
    make_view(&other, 0, 4, 1, 1000, 3, 53, 17, 10);
    assert_other_flow(&base, &other);
    /* Swapping only the ports is another conversation. */
    make_view(&other, 0, 4, 1, 53, 2, 1000, 17, 10);
    assert_other_flow(&base, &other);
    /* Same 16 address bytes, other version. */
    make_view(&other, 0, 4, 1, 1000, 2, 53, 17, 10);
    other.ip_version = 6;
    assert_other_flow(&base, &other);
}
END_TEST

START_TEST(garbage_in_the_view_does_not_reach_the_key)
{
    for (int fill = 0x00; fill <= 0xFF; fill += 0x55) {
        struct packet_view clean, dirty, dirty_rev;
        make_view(&clean, 0, 6, 7, 1234, 8, 4321, 17, 3);
        make_view(&dirty, fill, 6, 7, 1234, 8, 4321, 17, 3);
        make_view(&dirty_rev, 0xFF - fill, 6, 8, 4321, 7, 1234, 17, 3);
        assert_same_flow(&clean, &dirty);
        assert_same_flow(&clean, &dirty_rev);
    }
}
END_TEST

START_TEST(key_builder_overwrites_a_dirty_key)
{
    struct packet_view pv;
    make_view(&pv, 0, 4, 1, 1, 2, 2, 17, 0);
    struct flow_key dirty, clean;
    memset(&dirty, 0xEE, sizeof dirty);
    memset(&clean, 0x00, sizeof clean);
    flowkey_from_packet(&pv, &dirty);
    flowkey_from_packet(&pv, &clean);
    ck_assert_mem_eq(&dirty, &clean, sizeof dirty);
    ck_assert_uint_eq(sizeof dirty, 80);
}
END_TEST

START_TEST(hash_spreads_nearby_keys)
{
    /* 4096 flows differing in one port: the low 10 bits (a 1024-bucket
     * index) must not collapse onto a few values. */
    static uint8_t seen[1024];
    int distinct = 0;
    for (int p = 0; p < 4096; p++) {
        struct packet_view pv;
        make_view(&pv, 0, 4, 1, (uint16_t)(10000 + p), 2, 443, 6, 0);
        struct flow_key k;
        flowkey_from_packet(&pv, &k);
        uint32_t b = flowkey_hash(&k) & 1023;
        if (!seen[b]++)
            distinct++;
    }
    ck_assert_int_gt(distinct, 900);
}
END_TEST

Suite *flowkey_suite(void)
{
    Suite *s = suite_create("flowkey");
    TCase *tc = tcase_create("key");
    tcase_add_test(tc, both_directions_give_one_key_and_opposite_ends);
    tcase_add_test(tc, same_address_orders_ends_by_port);
    tcase_add_test(tc, vlan_proto_ports_and_version_separate_flows);
    tcase_add_test(tc, garbage_in_the_view_does_not_reach_the_key);
    tcase_add_test(tc, key_builder_overwrites_a_dirty_key);
    tcase_add_test(tc, hash_spreads_nearby_keys);
    suite_add_tcase(s, tc);
    return s;
}
