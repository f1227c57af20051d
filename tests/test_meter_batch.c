/* test_meter_batch.c — meter_packets() (batches, prefetching pipeline) gives
 * exactly the records of decode_packet() + meter_packet() one packet at a
 * time: same records, same order, same ids, on real captures with fragments,
 * a cache small enough to evict, active and idle splits and TCP closes, at
 * every batch size; and with clock_us set, expiry runs at that clock. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "decode.h"
#include "meter.h"
#include "unit.h"

#define SEC 1000000ull

struct records {
    struct flow_record *r;
    size_t n, cap;
};

static void keep_record(void *ctx, const struct flow_record *r)
{
    struct records *rs = ctx;
    if (rs->n == rs->cap) {
        rs->cap = rs->cap ? 2 * rs->cap : 256;
        rs->r = realloc(rs->r, rs->cap * sizeof *rs->r);
        ck_assert_ptr_nonnull(rs->r);
    }
    rs->r[rs->n] = *r;
    rs->r[rs->n].ext = NULL;    /* a pointer, not content */
    rs->n++;
}

/* clock_step_us > 0: packet i's clock_us is its time + i * clock_step_us. */
struct run {
    const char *capture;
    unsigned batch;             /* 0: one at a time with meter_packet() */
    uint64_t clock_step_us;
};

static struct meter m;

static void meter_capture(const struct run *run, struct records *out)
{
    struct meter_config cfg = {2 * SEC, 1 * SEC, 1 * SEC, 8};
    ck_assert_int_eq(meter_init(&m, &cfg, keep_record, out), 0);
    char err[512];
    struct capture *c = capture_open_file(shared_capture(run->capture), NULL, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    int dlt = capture_datalink(c);
    uint64_t index = 0;
    enum capture_result rc = CAPTURE_PACKET;
    while (rc == CAPTURE_PACKET) {
        struct capture_packet pkts[CAPTURE_BATCH_MAX];
        unsigned n = capture_next_batch(c, pkts, run->batch ? run->batch : 1, &rc);
        for (unsigned i = 0; i < n; i++, index++)
            if (run->clock_step_us)
                pkts[i].clock_us = pkts[i].ts_us + index * run->clock_step_us;
        if (run->batch) {
            meter_packets(&m, dlt, pkts, n);
            continue;
        }
        for (unsigned i = 0; i < n; i++) {
            struct packet_view pv;
            enum decode_status st = decode_packet(dlt, pkts[i].data, pkts[i].caplen, pkts[i].wirelen,
                                                  pkts[i].ts_us, &pv);
            if (st == DECODE_OK && pkts[i].clock_us)
                meter_advance(&m, pkts[i].clock_us);
            meter_packet(&m, st, &pv);
        }
    }
    ck_assert_int_eq(rc, CAPTURE_END);
    meter_flush(&m);
    capture_close(c);
}

/* Returns how many fragments were resolved to their first fragment's flow. */
static uint64_t assert_same_records(const char *name, uint64_t clock_step_us)
{
    struct records want = {0};
    struct run one = {name, 0, clock_step_us};
    meter_capture(&one, &want);
    struct meter_stats want_stats = m.stats;
    uint64_t want_resolved = m.frags.resolved;
    meter_free(&m);
    ck_assert_msg(want.n > 0, "%s: no records", name);
    static const unsigned batches[] = {1, 2, 7, 16, CAPTURE_BATCH_MAX};
    for (size_t b = 0; b < sizeof batches / sizeof batches[0]; b++) {
        struct records got = {0};
        struct run batched = {name, batches[b], clock_step_us};
        meter_capture(&batched, &got);
        ck_assert_msg(got.n == want.n, "%s, batch %u: %zu records, one at a time %zu", name,
                      batches[b], got.n, want.n);
        for (size_t i = 0; i < want.n; i++)
            ck_assert_msg(memcmp(&got.r[i], &want.r[i], sizeof want.r[i]) == 0,
                          "%s, batch %u: record %zu differs", name, batches[b], i);
        ck_assert_int_eq(memcmp(&m.stats, &want_stats, sizeof want_stats), 0);
        ck_assert_uint_eq(m.frags.resolved, want_resolved);
        meter_free(&m);
        free(got.r);
    }
    free(want.r);
    return want_resolved;
}

START_TEST(batches_give_the_records_of_one_packet_at_a_time)
{
    static const char *const names[] = {
        "1kxun.pcap",                               /* many flows through an 8-flow cache */
        "fragmented-1.pcap",                        /* fragments resolved in order */
        "dns_fragmented.pcap",
        "gtp1_gn_normal_incl_fragmentation.pcap",
        "dhcp_big_endian.pcapng",                   /* read by libpcap, staged */
    };
    uint64_t resolved = 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        resolved += assert_same_records(names[i], 0);
    ck_assert_uint_gt(resolved, 0);
}
END_TEST

/* A clock running ahead of packet time (workers sharing one clock): expiry
 * happens at clock_us, before the packet, in the batch as one at a time. */
START_TEST(clock_us_drives_expiry)
{
    assert_same_records("1kxun.pcap", 5000);
    struct records late = {0}, own = {0};
    struct run with_clock = {"1kxun.pcap", CAPTURE_BATCH_MAX, 5000}, without = {"1kxun.pcap", CAPTURE_BATCH_MAX, 0};
    meter_capture(&with_clock, &late);
    uint64_t idle_with_clock = m.stats.records_by_reason[END_IDLE];
    meter_free(&m);
    meter_capture(&without, &own);
    uint64_t idle_own = m.stats.records_by_reason[END_IDLE];
    meter_free(&m);
    ck_assert_uint_gt(idle_with_clock, idle_own);   /* the clock ran ahead: more flows idled out */
    free(late.r);
    free(own.r);
}
END_TEST

Suite *meter_batch_suite(void)
{
    Suite *s = suite_create("meter_batch");
    TCase *tc = tcase_create("meter_batch");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, batches_give_the_records_of_one_packet_at_a_time);
    tcase_add_test(tc, clock_us_drives_expiry);
    suite_add_tcase(s, tc);
    return s;
}
