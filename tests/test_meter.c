/* test_meter.c — flow records out of packets: end reasons, timeouts,
 * per-direction counters, orientation and statistics. Packets are synthetic
 * packet_views except where decoded frames are the point. */
#include <check.h>
#include <string.h>

#include "meter.h"
#include "pktbuild.h"
#include "unit.h"

#define SEC 1000000ull
#define MS 1000ull
#define T0 (1700000000ull * SEC)    /* a realistic capture time */

/* ---- a meter and a sink that keeps what it is given -------------------------- */

enum { MAX_RECS = 64 };
static struct flow_record recs[MAX_RECS];
static int nrecs;
static struct meter m;

static void sink(void *ctx, const struct flow_record *r)
{
    ck_assert_ptr_eq(ctx, &m);
    ck_assert_int_lt(nrecs, MAX_RECS);
    recs[nrecs++] = *r;
}

static void start_meter(uint64_t idle_s, uint64_t active_s, uint64_t close_s, uint32_t max_flows)
{
    struct meter_config cfg = {idle_s * SEC, active_s * SEC, close_s * SEC, max_flows};
    nrecs = 0;
    memset(recs, 0, sizeof recs);
    ck_assert_int_eq(meter_init(&m, &cfg, sink, &m), 0);
}

static void teardown(void)
{
    meter_free(&m);
}

/* ---- packets ---------------------------------------------------------------- */

/* Hosts are 10.0.0.<n>. */
static struct packet_view view(uint64_t ts, uint8_t src, uint16_t sport, uint8_t dst,
                               uint16_t dport, uint8_t proto, uint8_t flags, uint32_t ip_len)
{
    struct packet_view pv;
    memset(&pv, 0, sizeof pv);
    pv.ts_us = ts;
    pv.ip_version = 4;
    pv.src[0] = 10, pv.src[3] = src;
    pv.dst[0] = 10, pv.dst[3] = dst;
    pv.sport = sport;
    pv.dport = dport;
    pv.proto = proto;
    pv.tcp_flags = flags;
    pv.ip_len = ip_len;
    pv.caplen = pv.wirelen = ip_len + 14;
    pv.ttl = 64;
    return pv;
}

static void send_view(struct packet_view pv) { meter_packet(&m, DECODE_OK, &pv); }

/* The TCP conversation most tests use: A = 10.0.0.1:40000, B = 10.0.0.2:80. */
static void a_to_b(uint64_t ts, uint8_t flags) { send_view(view(ts, 1, 40000, 2, 80, 6, flags, 60)); }
static void b_to_a(uint64_t ts, uint8_t flags) { send_view(view(ts, 2, 80, 1, 40000, 6, flags, 60)); }

/* Initiator A opens, B answers: SYN, SYN/ACK, ACK at t, t+1ms, t+2ms. */
static void handshake(uint64_t t)
{
    a_to_b(t, TCPF_SYN);
    b_to_a(t + 1 * MS, TCPF_SYN | TCPF_ACK);
    a_to_b(t + 2 * MS, TCPF_ACK);
}

static void assert_from_a(const struct flow_record *r)
{
    ck_assert_uint_eq(r->src[3], 1);
    ck_assert_uint_eq(r->dst[3], 2);
    ck_assert_uint_eq(r->sport, 40000);
    ck_assert_uint_eq(r->dport, 80);
}

static uint64_t ms(uint64_t us) { return us / 1000; }

/* ---- idle ------------------------------------------------------------------- */

START_TEST(idle_timeout_expires_exactly_at_the_boundary)
{
    start_meter(10, 600, 5, 100);
    a_to_b(T0 + 1 * SEC, TCPF_SYN);
    b_to_a(T0 + 2 * SEC, TCPF_SYN | TCPF_ACK);     /* the later direction counts */
    meter_advance(&m, T0 + 12 * SEC - 1);
    ck_assert_int_eq(nrecs, 0);
    meter_advance(&m, T0 + 12 * SEC);
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_IDLE);
    ck_assert_uint_eq(recs[0].packets[0], 1);
    ck_assert_uint_eq(recs[0].packets[1], 1);
    ck_assert_uint_eq(m.stats.records_by_reason[END_IDLE], 1);
    ck_assert_uint_eq(m.stats.records, 1);
    ck_assert_uint_eq(m.cache.used, 0);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 1);
}
END_TEST

/* A flow moves in the least-recently-seen order at most once per idle/64, so
 * a flow that idled out can wait behind the head for at most that slack. */
START_TEST(idle_expiry_is_late_by_at_most_the_touch_slack)
{
    start_meter(64, 6000, 5, 100);                  /* slack: 1 s */
    send_view(view(T0, 1, 1000, 2, 53, 17, 0, 40));                 /* A: head */
    send_view(view(T0 + 200 * MS, 3, 1000, 4, 53, 17, 0, 40));      /* B */
    send_view(view(T0 + 900 * MS, 1, 1000, 2, 53, 17, 0, 40));      /* A again, not moved */
    meter_advance(&m, T0 + 64 * SEC + 200 * MS);    /* B is idle, A is not */
    ck_assert_int_eq(nrecs, 0);
    meter_advance(&m, T0 + 64 * SEC + 900 * MS);    /* A idles out, then B */
    ck_assert_int_eq(nrecs, 2);
    ck_assert_uint_eq(recs[0].src[3], 1);
    ck_assert_uint_eq(recs[0].packets[0], 2);
    ck_assert_uint_eq(recs[1].src[3], 3);
    ck_assert_uint_eq(recs[1].end_reason, END_IDLE);
    /* Past the slack, a packet moves the flow to the tail again. */
    send_view(view(T0 + 100 * SEC, 1, 1000, 2, 53, 17, 0, 40));     /* A2 */
    send_view(view(T0 + 100 * SEC + 10 * MS, 3, 1000, 4, 53, 17, 0, 40)); /* B2 */
    send_view(view(T0 + 101 * SEC + 500 * MS, 1, 1000, 2, 53, 17, 0, 40)); /* A2 moves */
    meter_advance(&m, T0 + 164 * SEC + 10 * MS);
    ck_assert_int_eq(nrecs, 3);
    ck_assert_uint_eq(recs[2].src[3], 3);           /* B2 went first: A2 was moved behind it */
}
END_TEST

START_TEST(packet_at_the_idle_boundary_starts_a_new_flow)
{
    start_meter(10, 600, 5, 100);
    send_view(view(T0, 1, 5000, 2, 53, 17, 0, 40));
    send_view(view(T0 + 10 * SEC, 1, 5000, 2, 53, 17, 0, 40));
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_IDLE);
    ck_assert_uint_eq(recs[0].id, 1);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 2);
    ck_assert_uint_eq(recs[1].end_reason, END_FORCED);
    ck_assert_uint_eq(recs[1].id, 2);
    ck_assert_uint_eq(recs[1].packets[0], 1);
    ck_assert_uint_eq(recs[1].first_ms[0], ms(T0 + 10 * SEC));
    ck_assert_uint_eq(m.stats.flows_created, 2);
}
END_TEST

/* ---- active ----------------------------------------------------------------- */

/* A sends every 10 s from T0 to T0+50 s; B answered once at T0+1 s. */
static void long_conversation(void)
{
    a_to_b(T0, TCPF_SYN);
    b_to_a(T0 + 1 * SEC, TCPF_SYN | TCPF_ACK);
    for (int i = 1; i <= 5; i++)
        a_to_b(T0 + (uint64_t)i * 10 * SEC, TCPF_ACK);
}

START_TEST(active_timeout_continues_in_a_new_record_same_orientation)
{
    start_meter(30, 60, 5, 100);
    long_conversation();
    meter_advance(&m, T0 + 60 * SEC - 1);
    ck_assert_int_eq(nrecs, 0);
    b_to_a(T0 + 60 * SEC, TCPF_ACK | TCPF_PSH);    /* the responder speaks first */
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_ACTIVE);
    ck_assert_uint_eq(recs[0].id, 1);
    assert_from_a(&recs[0]);
    ck_assert_uint_eq(recs[0].packets[0], 6);
    ck_assert_uint_eq(recs[0].packets[1], 1);
    ck_assert_uint_eq(recs[0].last_ms[0], ms(T0 + 50 * SEC));
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 2);
    ck_assert_uint_eq(recs[1].end_reason, END_FORCED);
    ck_assert_uint_ne(recs[1].id, recs[0].id);
    assert_from_a(&recs[1]);
    ck_assert_uint_eq(recs[1].packets[0], 0);
    ck_assert_uint_eq(recs[1].packets[1], 1);
    ck_assert_uint_eq(recs[1].ip_octets[0], 0);
    ck_assert_uint_eq(recs[1].ip_octets[1], 60);
    ck_assert_uint_eq(recs[1].first_ms[0], 0);
    ck_assert_uint_eq(recs[1].first_ms[1], ms(T0 + 60 * SEC));
    ck_assert_uint_eq(recs[1].tcp_flags[0], 0);
    ck_assert_uint_eq(recs[1].tcp_flags[1], TCPF_ACK | TCPF_PSH);
    ck_assert_uint_eq(m.stats.flows_created, 1);
    ck_assert_uint_eq(m.stats.records_by_reason[END_ACTIVE], 1);
    ck_assert_uint_eq(m.stats.records_by_reason[END_FORCED], 1);
}
END_TEST

START_TEST(active_restarted_flow_without_packets_is_not_exported)
{
    start_meter(30, 60, 5, 100);
    long_conversation();
    meter_advance(&m, T0 + 60 * SEC);
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_ACTIVE);
    meter_advance(&m, T0 + 500 * SEC);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(m.stats.records, 1);
    ck_assert_uint_eq(m.cache.used, 0);
}
END_TEST

/* The clock also moves for other flows (and on live ticks). A flow restarted
 * by the active timeout is still the same conversation until its idle
 * timeout runs out: when the responder speaks next, the record keeps A as
 * the initiator. */
START_TEST(active_restart_keeps_orientation_while_the_clock_moves_on)
{
    start_meter(30, 60, 5, 100);
    long_conversation();
    send_view(view(T0 + 55 * SEC, 7, 1111, 8, 2222, 17, 0, 40));
    send_view(view(T0 + 61 * SEC, 7, 1111, 8, 2222, 17, 0, 40));  /* restarts A's flow */
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_ACTIVE);
    send_view(view(T0 + 62 * SEC, 7, 1111, 8, 2222, 17, 0, 40));
    b_to_a(T0 + 63 * SEC, TCPF_ACK);    /* 13 s after A's last packet: not idle */
    meter_flush(&m);
    const struct flow_record *cont = NULL;
    for (int i = 1; i < nrecs; i++)
        if (recs[i].proto == 6)
            cont = &recs[i];
    ck_assert_ptr_nonnull(cont);
    assert_from_a(cont);
    ck_assert_uint_eq(cont->packets[0], 0);
    ck_assert_uint_eq(cont->packets[1], 1);
    ck_assert_uint_eq(m.stats.flows_created, 2);   /* A's and the UDP one */
}
END_TEST

/* The next record's active timeout counts from its own first packet, not
 * from when the clock happened to pass the last one: records end the same
 * whichever worker (and clock steps) a flow has. */
START_TEST(active_timeout_of_the_next_record_counts_from_its_first_packet)
{
    start_meter(300, 60, 5, 100);
    a_to_b(T0, TCPF_SYN);
    meter_advance(&m, T0 + 100 * SEC);      /* long after the timeout: restart */
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_ACTIVE);
    a_to_b(T0 + 130 * SEC, TCPF_ACK);        /* the next record starts here */
    a_to_b(T0 + 189 * SEC, TCPF_ACK);        /* 59 s later: same record */
    ck_assert_int_eq(nrecs, 1);
    a_to_b(T0 + 190 * SEC, TCPF_ACK);        /* 60 s: a new one */
    ck_assert_int_eq(nrecs, 2);
    ck_assert_uint_eq(recs[1].end_reason, END_ACTIVE);
    ck_assert_uint_eq(recs[1].packets[0], 2);
    ck_assert_uint_eq(recs[1].first_ms[0], ms(T0 + 130 * SEC));
    ck_assert_uint_eq(recs[1].last_ms[0], ms(T0 + 189 * SEC));
}
END_TEST

/* Flow B's idle time runs out while busier flow A, touched before it within
 * the lru slack (idle/64), still heads the lru list and stops the idle
 * scan at T0 + 64.5 s. */
static void idle_b_behind_a(void)
{
    start_meter(64, 6000, 5, 100);          /* slack: 1 s */
    send_view(view(T0, 1, 1000, 2, 2000, 17, 0, 40));                   /* A */
    send_view(view(T0 + 100 * MS, 3, 1000, 4, 2000, 17, 0, 40));        /* B */
    send_view(view(T0 + 900 * MS, 1, 1000, 2, 2000, 17, 0, 40));        /* A, not moved */
    meter_advance(&m, T0 + 64 * SEC + 500 * MS);    /* B idle, A (last at 0.9 s) not */
    ck_assert_int_eq(nrecs, 0);                     /* the scan stopped at A */
}

/* B's next packet still starts a new record, as it would had the scan
 * reached B. */
START_TEST(idle_flow_behind_a_busier_one_ends_at_its_next_packet)
{
    idle_b_behind_a();
    send_view(view(T0 + 64 * SEC + 600 * MS, 3, 1000, 4, 2000, 17, 0, 40));   /* B again */
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_IDLE);
    ck_assert_uint_eq(recs[0].packets[0], 1);
    ck_assert_uint_eq(recs[0].src[3], 3);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 3);
    ck_assert_uint_eq(recs[1].end_reason, END_FORCED);
    ck_assert_uint_eq(recs[2].end_reason, END_FORCED);
}
END_TEST

/* At the end of the input an idle B ends idle, not forced. */
START_TEST(idle_flow_behind_a_busier_one_ends_idle_at_the_end)
{
    idle_b_behind_a();
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 2);
    for (int i = 0; i < 2; i++) {
        enum end_reason want = recs[i].src[3] == 3 ? END_IDLE : END_FORCED;
        ck_assert_uint_eq(recs[i].end_reason, want);
    }
}
END_TEST

START_TEST(flow_ids_follow_the_numbering_given)
{
    start_meter(30, 300, 5, 100);
    meter_number_flows(&m, 3, 4);           /* worker 3 of 4 */
    for (uint8_t i = 1; i <= 3; i++)
        send_view(view(T0, i, 1000, 9, 2000, 17, 0, 40));
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(recs[i].id, 3 + 4 * (uint64_t)(i + 1));
}
END_TEST

/* ---- TCP end ---------------------------------------------------------------- */

START_TEST(fin_both_ways_ends_after_close_timeout_with_last_ack)
{
    start_meter(60, 600, 5, 100);
    handshake(T0);
    a_to_b(T0 + 1000 * MS, TCPF_FIN | TCPF_ACK);
    b_to_a(T0 + 1500 * MS, TCPF_FIN | TCPF_ACK);   /* closing from here */
    a_to_b(T0 + 1600 * MS, TCPF_ACK);              /* the last ACK */
    ck_assert(m.cache.flows[0].state & FLOW_CLOSING);
    meter_advance(&m, T0 + 6500 * MS - 1);
    ck_assert_int_eq(nrecs, 0);
    meter_advance(&m, T0 + 6500 * MS);
    ck_assert_int_eq(nrecs, 1);
    const struct flow_record *r = &recs[0];
    ck_assert_uint_eq(r->end_reason, END_OF_FLOW);
    assert_from_a(r);
    ck_assert_uint_eq(r->packets[0], 4);
    ck_assert_uint_eq(r->packets[1], 2);
    ck_assert_uint_eq(r->tcp_flags[0], TCPF_SYN | TCPF_ACK | TCPF_FIN);
    ck_assert_uint_eq(r->tcp_flags[1], TCPF_SYN | TCPF_ACK | TCPF_FIN);
    ck_assert_uint_eq(r->last_ms[0], ms(T0 + 1600 * MS));
    ck_assert_uint_eq(r->last_ms[1], ms(T0 + 1500 * MS));
    ck_assert_uint_eq(m.stats.records_by_reason[END_OF_FLOW], 1);
}
END_TEST

START_TEST(fin_one_way_keeps_the_flow_until_idle)
{
    start_meter(60, 600, 5, 100);
    handshake(T0);
    a_to_b(T0 + 1 * SEC, TCPF_FIN | TCPF_ACK);
    a_to_b(T0 + 1500 * MS, TCPF_FIN | TCPF_ACK);   /* retransmitted: still one way */
    b_to_a(T0 + 2 * SEC, TCPF_ACK);
    ck_assert(!(m.cache.flows[0].state & FLOW_CLOSING));
    meter_advance(&m, T0 + 62 * SEC - 1);
    ck_assert_int_eq(nrecs, 0);
    meter_advance(&m, T0 + 62 * SEC);
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_IDLE);
    ck_assert_uint_eq(recs[0].packets[0], 4);
    ck_assert_uint_eq(recs[0].packets[1], 2);
}
END_TEST

START_TEST(rst_ends_the_flow_after_close_timeout)
{
    start_meter(60, 600, 5, 100);
    a_to_b(T0, TCPF_SYN);
    b_to_a(T0 + 1 * MS, TCPF_RST | TCPF_ACK);
    meter_advance(&m, T0 + 5 * SEC);
    ck_assert_int_eq(nrecs, 0);
    meter_advance(&m, T0 + 1 * MS + 5 * SEC);
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_OF_FLOW);
    assert_from_a(&recs[0]);
    ck_assert_uint_eq(recs[0].packets[0], 1);
    ck_assert_uint_eq(recs[0].packets[1], 1);
    ck_assert_uint_eq(recs[0].tcp_flags[1], TCPF_RST | TCPF_ACK);
}
END_TEST

START_TEST(new_syn_on_a_closing_flow_starts_a_new_flow)
{
    start_meter(60, 600, 5, 100);
    handshake(T0);
    a_to_b(T0 + 1 * SEC, TCPF_FIN | TCPF_ACK);
    b_to_a(T0 + 2 * SEC, TCPF_FIN | TCPF_ACK);
    b_to_a(T0 + 2100 * MS, TCPF_SYN | TCPF_ACK);   /* not a new connection */
    ck_assert_int_eq(nrecs, 0);
    a_to_b(T0 + 3 * SEC, TCPF_SYN);                /* port reuse */
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_OF_FLOW);
    ck_assert_uint_eq(recs[0].packets[0], 3);
    ck_assert_uint_eq(recs[0].packets[1], 3);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 2);
    ck_assert_uint_eq(recs[1].end_reason, END_FORCED);
    ck_assert_uint_ne(recs[1].id, recs[0].id);
    assert_from_a(&recs[1]);
    ck_assert_uint_eq(recs[1].packets[0], 1);
    ck_assert_uint_eq(recs[1].packets[1], 0);
    ck_assert_uint_eq(recs[1].tcp_flags[0], TCPF_SYN);
    ck_assert_uint_eq(recs[1].first_ms[0], ms(T0 + 3 * SEC));
    ck_assert_uint_eq(m.stats.flows_created, 2);
}
END_TEST

START_TEST(new_syn_from_the_responder_starts_a_flow_it_initiates)
{
    start_meter(60, 600, 5, 100);
    handshake(T0);
    a_to_b(T0 + 1 * SEC, TCPF_RST);
    b_to_a(T0 + 2 * SEC, TCPF_SYN);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 2);
    ck_assert_uint_eq(recs[1].src[3], 2);
    ck_assert_uint_eq(recs[1].sport, 80);
    ck_assert_uint_eq(recs[1].packets[0], 1);
}
END_TEST

/* ---- flush ------------------------------------------------------------------ */

START_TEST(flush_forces_open_flows_and_ends_closed_ones)
{
    start_meter(60, 600, 5, 100);
    handshake(T0);
    a_to_b(T0 + 1 * SEC, TCPF_FIN | TCPF_ACK);
    b_to_a(T0 + 1100 * MS, TCPF_FIN | TCPF_ACK);   /* closed, timeout not run out */
    send_view(view(T0 + 2 * SEC, 3, 5353, 4, 53, 17, 0, 80));
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 2);
    ck_assert_uint_eq(recs[0].proto, 6);
    ck_assert_uint_eq(recs[0].end_reason, END_OF_FLOW);
    ck_assert_uint_eq(recs[1].proto, 17);
    ck_assert_uint_eq(recs[1].end_reason, END_FORCED);
    ck_assert_uint_eq(m.stats.records_by_reason[END_OF_FLOW], 1);
    ck_assert_uint_eq(m.stats.records_by_reason[END_FORCED], 1);
    ck_assert_uint_eq(m.cache.used, 0);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 2);
}
END_TEST

/* ---- lack of resources ------------------------------------------------------ */

START_TEST(full_cache_evicts_the_least_recently_seen_flow)
{
    start_meter(60, 600, 5, 2);
    send_view(view(T0 + 1 * SEC, 1, 1001, 2, 53, 17, 0, 50));     /* F1 */
    send_view(view(T0 + 2 * SEC, 1, 1002, 2, 53, 17, 0, 50));     /* F2 */
    send_view(view(T0 + 3 * SEC, 2, 53, 1, 1001, 17, 0, 50));     /* F1 again */
    ck_assert_int_eq(nrecs, 0);
    send_view(view(T0 + 4 * SEC, 1, 1003, 2, 53, 17, 0, 50));     /* F3: F2 must go */
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_LACK_OF_RESOURCES);
    ck_assert_uint_eq(recs[0].sport, 1002);
    ck_assert_uint_eq(m.stats.records_by_reason[END_LACK_OF_RESOURCES], 1);
    ck_assert_uint_eq(m.stats.active_flows_peak, 2);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 3);
    ck_assert_uint_eq(recs[1].sport, 1001);
    ck_assert_uint_eq(recs[1].packets[1], 1);
    ck_assert_uint_eq(recs[1].end_reason, END_FORCED);
    ck_assert_uint_eq(recs[2].sport, 1003);
    ck_assert_uint_eq(recs[2].end_reason, END_FORCED);
    ck_assert_uint_eq(m.stats.flows_created, 3);
}
END_TEST

/* ---- what a record says ----------------------------------------------------- */

/* A record's first and last times per direction, in ms after T0. */
static void assert_times(const struct flow_record *r, uint64_t fwd_first, uint64_t fwd_last,
                         uint64_t rev_first, uint64_t rev_last)
{
    ck_assert_uint_eq(r->first_ms[0], ms(T0) + fwd_first);
    ck_assert_uint_eq(r->last_ms[0], ms(T0) + fwd_last);
    ck_assert_uint_eq(r->first_ms[1], ms(T0) + rev_first);
    ck_assert_uint_eq(r->last_ms[1], ms(T0) + rev_last);
}

START_TEST(per_direction_counters_and_times)
{
    start_meter(60, 600, 5, 100);
    send_view(view(T0 + 1234567, 1, 5000, 2, 53, 17, 0, 100));
    send_view(view(T0 + 2000000, 2, 53, 1, 5000, 17, 0, 50));
    send_view(view(T0 + 2500999, 1, 5000, 2, 53, 17, 0, 200));
    send_view(view(T0 + 3000001, 2, 53, 1, 5000, 17, 0, 60));
    send_view(view(T0 + 4999999, 1, 5000, 2, 53, 17, 0, 300));
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 1);
    const struct flow_record *r = &recs[0];
    ck_assert_uint_eq(r->ip_version, 4);
    ck_assert_uint_eq(r->proto, 17);
    ck_assert_uint_eq(r->src[3], 1);
    ck_assert_uint_eq(r->sport, 5000);
    ck_assert_uint_eq(r->dport, 53);
    ck_assert_uint_eq(r->packets[0], 3);
    ck_assert_uint_eq(r->packets[1], 2);
    ck_assert_uint_eq(r->ip_octets[0], 600);
    ck_assert_uint_eq(r->ip_octets[1], 110);
    ck_assert_uint_eq(r->l2_octets[0], 600 + 3 * 14);
    ck_assert_uint_eq(r->l2_octets[1], 110 + 2 * 14);
    assert_times(r, 1234, 4999, 2000, 3000);
    ck_assert_uint_eq(record_first_ms(r), ms(T0) + 1234);
    ck_assert_uint_eq(record_last_ms(r), ms(T0) + 4999);
    ck_assert_uint_eq(r->tcp_flags[0] | r->tcp_flags[1], 0);
}
END_TEST

/* Packets out of time order (merged captures): each direction reports its
 * earliest and latest packet, so no record ends before it starts. */
START_TEST(times_are_earliest_and_latest_when_packets_are_out_of_order)
{
    start_meter(60, 600, 5, 100);
    send_view(view(T0 + 3 * SEC, 1, 5000, 2, 53, 17, 0, 100));
    send_view(view(T0 + 5 * SEC, 2, 53, 1, 5000, 17, 0, 50));
    send_view(view(T0 + 1 * SEC, 1, 5000, 2, 53, 17, 0, 100));     /* earlier than the first */
    send_view(view(T0 + 2 * SEC, 1, 5000, 2, 53, 17, 0, 100));     /* earlier than the latest */
    send_view(view(T0 + 4 * SEC, 2, 53, 1, 5000, 17, 0, 50));      /* earlier than the latest */
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 1);
    const struct flow_record *r = &recs[0];
    ck_assert_uint_eq(r->packets[0], 3);
    ck_assert_uint_eq(r->packets[1], 2);
    assert_times(r, 1000, 3000, 4000, 5000);
    ck_assert_uint_eq(record_first_ms(r), ms(T0) + 1000);
    ck_assert_uint_eq(record_last_ms(r), ms(T0) + 5000);
}
END_TEST

START_TEST(initiator_is_the_first_sender_even_at_the_higher_end)
{
    start_meter(60, 600, 5, 100);
    send_view(view(T0, 9, 53, 2, 5000, 17, 0, 70));   /* .9:53 is the key's end 1 */
    send_view(view(T0 + 1, 2, 5000, 9, 53, 17, 0, 30));
    send_view(view(T0 + 2, 9, 53, 2, 5000, 17, 0, 70));
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].src[3], 9);
    ck_assert_uint_eq(recs[0].dst[3], 2);
    ck_assert_uint_eq(recs[0].sport, 53);
    ck_assert_uint_eq(recs[0].dport, 5000);
    ck_assert_uint_eq(recs[0].packets[0], 2);
    ck_assert_uint_eq(recs[0].ip_octets[0], 140);
    ck_assert_uint_eq(recs[0].packets[1], 1);
    ck_assert_uint_eq(recs[0].ip_octets[1], 30);
}
END_TEST

START_TEST(icmp_type_and_code_come_from_each_directions_first_packet)
{
    start_meter(60, 600, 5, 100);
    struct packet_view req = view(T0, 1, 0, 2, 0, 1, 0, 84);
    req.icmp_type_code = 0x0800;
    struct packet_view rep = view(T0 + 1000, 2, 0, 1, 0, 1, 0, 84);
    rep.icmp_type_code = 0x0000;
    send_view(req);
    send_view(rep);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].icmp_type_code[0], 0x0800);
    ck_assert_uint_eq(recs[0].icmp_type_code[1], 0x0000);
    ck_assert_uint_eq(recs[0].packets[0], 1);
    ck_assert_uint_eq(recs[0].packets[1], 1);
    ck_assert_uint_eq(recs[0].src[3], 1);
}
END_TEST

START_TEST(vlans_are_separate_flows)
{
    start_meter(60, 600, 5, 100);
    struct packet_view a = view(T0, 1, 5000, 2, 53, 17, 0, 40);
    struct packet_view b = a;
    a.vlan = 10;
    b.vlan = 20;
    send_view(a);
    send_view(b);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 2);
    ck_assert_uint_eq(recs[0].vlan + recs[1].vlan, 30);
    ck_assert_uint_ne(recs[0].id, recs[1].id);
}
END_TEST

START_TEST(stats_count_packets_flows_and_undecoded_reasons)
{
    start_meter(60, 600, 5, 100);
    struct packet_view junk;
    memset(&junk, 0, sizeof junk);
    meter_packet(&m, DECODE_NOT_IP, &junk);
    meter_packet(&m, DECODE_NOT_IP, &junk);
    meter_packet(&m, DECODE_TRUNCATED_IP, &junk);
    meter_packet(&m, DECODE_UNKNOWN_LINK, &junk);
    send_view(view(T0, 1, 1, 2, 2, 17, 0, 40));
    struct packet_view cut = view(T0 + 1, 1, 0, 2, 0, 6, 0, 40);
    cut.l4_truncated = 1;
    send_view(cut);
    send_view(view(T0 + 2, 2, 2, 1, 1, 17, 0, 40));
    ck_assert_uint_eq(m.stats.packets, 7);
    ck_assert_uint_eq(m.stats.decoded, 3);
    ck_assert_uint_eq(m.stats.undecoded[DECODE_NOT_IP], 2);
    ck_assert_uint_eq(m.stats.undecoded[DECODE_TRUNCATED_IP], 1);
    ck_assert_uint_eq(m.stats.undecoded[DECODE_UNKNOWN_LINK], 1);
    ck_assert_uint_eq(m.stats.undecoded[DECODE_BAD_IP], 0);
    ck_assert_uint_eq(m.stats.undecoded[DECODE_OK], 0);
    ck_assert_uint_eq(m.stats.l4_truncated, 1);
    ck_assert_uint_eq(m.stats.flows_created, 2);
    ck_assert_uint_eq(m.stats.active_flows_peak, 2);
    meter_flush(&m);
    ck_assert_uint_eq(m.stats.records, 2);
    ck_assert_uint_eq(m.stats.records_by_reason[END_FORCED], 2);
    ck_assert_uint_eq(m.stats.records_by_reason[END_IDLE], 0);
}
END_TEST

START_TEST(clock_never_moves_backwards)
{
    start_meter(10, 600, 5, 100);
    meter_advance(&m, T0 + 100 * SEC);
    meter_advance(&m, T0 + 50 * SEC);
    ck_assert_uint_eq(m.now_us, T0 + 100 * SEC);
    /* A late packet is metered, then idles out from its own time. */
    send_view(view(T0 + 95 * SEC, 1, 1, 2, 2, 17, 0, 40));
    ck_assert_int_eq(nrecs, 0);
    meter_advance(&m, T0 + 105 * SEC);
    ck_assert_int_eq(nrecs, 1);
    ck_assert_uint_eq(recs[0].end_reason, END_IDLE);
}
END_TEST

/* ---- clock alarm (--rotate) ------------------------------------------------- */

enum { MAX_ALARMS = 8 };
static uint64_t alarm_at[MAX_ALARMS];   /* the clock when the alarm ran */
static int alarm_records[MAX_ALARMS];   /* records exported before it ran */
static int nalarms;

/* Like --rotate 60: the next alarm at the next multiple of 60 s. */
static uint64_t on_alarm(void *ctx, uint64_t now_us)
{
    ck_assert_ptr_eq(ctx, &m);
    ck_assert_int_lt(nalarms, MAX_ALARMS);
    alarm_at[nalarms] = now_us;
    alarm_records[nalarms++] = nrecs;
    return now_us - now_us % (60 * SEC) + 60 * SEC;
}

START_TEST(alarm_runs_once_per_crossing_before_what_expires_at_the_new_time)
{
    start_meter(10, 600, 5, 100);
    nalarms = 0;
    uint64_t base = T0 - T0 % (60 * SEC);   /* a whole minute */
    meter_set_alarm(&m, 1, on_alarm, &m);
    send_view(view(base + 50 * SEC, 1, 1, 2, 2, 17, 0, 40));
    ck_assert_int_eq(nalarms, 1);           /* the clock started */
    ck_assert_uint_eq(alarm_at[0], base + 50 * SEC);
    send_view(view(base + 55 * SEC, 3, 3, 4, 4, 17, 0, 40));
    meter_advance(&m, base + 60 * SEC - 1);
    ck_assert_int_eq(nalarms, 1);
    ck_assert_int_eq(nrecs, 0);
    /* The boundary: the alarm first, then the first flow idles out (at 60 s)
     * into what the alarm started. */
    meter_advance(&m, base + 60 * SEC);
    ck_assert_int_eq(nalarms, 2);
    ck_assert_uint_eq(alarm_at[1], base + 60 * SEC);
    ck_assert_int_eq(alarm_records[1], 0);
    ck_assert_int_eq(nrecs, 1);
    /* A late packet does not move the clock, so no alarm. */
    send_view(view(base + 59 * SEC, 5, 5, 6, 6, 17, 0, 40));
    meter_advance(&m, base + 119 * SEC);
    ck_assert_int_eq(nalarms, 2);
    /* A jump over several boundaries: one alarm, at the new time. */
    meter_advance(&m, base + 300 * SEC + 7);
    ck_assert_int_eq(nalarms, 3);
    ck_assert_uint_eq(alarm_at[2], base + 300 * SEC + 7);
    ck_assert_int_eq(alarm_records[2], 3);
}
END_TEST

START_TEST(no_alarm_unless_set)
{
    start_meter(10, 600, 5, 100);
    ck_assert_uint_eq(m.alarm_us, UINT64_MAX);
    meter_advance(&m, UINT64_MAX - 1);      /* would call a NULL alarm */
    ck_assert_uint_eq(m.now_us, UINT64_MAX - 1);
}
END_TEST

/* ---- decoded frames --------------------------------------------------------- */

static uint32_t frame_tcp(uint8_t *buf, size_t cap, int from_a, uint8_t flags, size_t payload)
{
    struct pb b;
    pb_init(&b, buf, cap);
    pb_eth(&b, ETY_8021Q);
    pb_vlan(&b, 42, ETY_IP4);
    struct pb_addr a = IP4(192, 168, 1, 10), s = IP4(192, 168, 1, 1);
    pb_ipv4(&b, &(struct pb_ip4){.src = from_a ? a : s, .dst = from_a ? s : a, .proto = 6});
    pb_tcp(&b, from_a ? 51515 : 22, from_a ? 22 : 51515, flags);
    pb_payload(&b, payload);
    return pb_finish(&b);
}

START_TEST(decoded_frames_are_metered_with_wire_and_ip_lengths)
{
    start_meter(60, 600, 5, 100);
    static const struct { int from_a; uint8_t flags; size_t payload; } seq[] = {
        {1, TCPF_SYN, 0}, {0, TCPF_SYN | TCPF_ACK, 0}, {1, TCPF_ACK, 0},
        {1, TCPF_PSH | TCPF_ACK, 100}, {0, TCPF_PSH | TCPF_ACK, 1000}, {1, TCPF_ACK, 0},
    };
    uint64_t l2[2] = {0, 0}, ip[2] = {0, 0};
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        uint8_t buf[1600];
        uint32_t len = frame_tcp(buf, sizeof buf, seq[i].from_a, seq[i].flags, seq[i].payload);
        struct packet_view pv;
        enum decode_status st = decode_packet(1, buf, len, len, T0 + i * MS, &pv);
        ck_assert_int_eq(st, DECODE_OK);
        meter_packet(&m, st, &pv);
        int dir = !seq[i].from_a;
        l2[dir] += len;
        ip[dir] += len - 18;
    }
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 1);
    const struct flow_record *r = &recs[0];
    ck_assert_uint_eq(r->vlan, 42);
    ck_assert_uint_eq(r->src[3], 10);
    ck_assert_uint_eq(r->sport, 51515);
    ck_assert_uint_eq(r->dport, 22);
    ck_assert_uint_eq(r->packets[0], 4);
    ck_assert_uint_eq(r->packets[1], 2);
    ck_assert_uint_eq(r->l2_octets[0], l2[0]);
    ck_assert_uint_eq(r->l2_octets[1], l2[1]);
    ck_assert_uint_eq(r->ip_octets[0], ip[0]);
    ck_assert_uint_eq(r->ip_octets[1], ip[1]);
    ck_assert_uint_eq(r->ip_octets[1], 20 + 20 + 20 + 20 + 1000);
    ck_assert_uint_eq(r->tcp_flags[0], TCPF_SYN | TCPF_ACK | TCPF_PSH);
    ck_assert_uint_eq(r->tcp_flags[1], TCPF_SYN | TCPF_ACK | TCPF_PSH);
    ck_assert_uint_eq(r->end_reason, END_FORCED);
}
END_TEST

/* ---- extensions ------------------------------------------------------------- */

/* A counting extension: how often each callback ran, and what it saw. */
struct probe_ext_state {
    uint32_t packets;       /* init + packet calls for this flow */
    uint32_t restarts;
    uint8_t marker;         /* set at init: shows the state is the flow's own */
};
static struct {
    int init, packet, exported, restart, freed;
    uint32_t stop_after;    /* say done after this many packets (0: never) */
    uint32_t export_after;  /* ask for export after this many packets (0: never) */
    uint32_t packets_at_export[MAX_RECS];
} ext_log;
static size_t ext_offset;

static enum ext_verdict probe_verdict(struct probe_ext_state *st)
{
    if (ext_log.export_after && st->packets == ext_log.export_after)
        return EXT_EXPORT;
    if (ext_log.stop_after && st->packets == ext_log.stop_after)
        return EXT_DONE;
    return EXT_MORE;
}

static enum ext_verdict probe_init(void *ctx, void *state, const struct flow *f,
                                   const struct packet_view *pv, int dir)
{
    (void)ctx, (void)pv;
    ck_assert_int_eq(dir, DIR_FWD);
    struct probe_ext_state *st = state;
    ck_assert_uint_eq(st->packets + st->marker, 0);     /* zeroed */
    ck_assert_uint_eq(f->c.packets[0] + f->c.packets[1], 1); /* counted first */
    st->marker = 0xA5;
    st->packets = 1;
    ext_log.init++;
    return probe_verdict(st);
}

static enum ext_verdict probe_packet(void *ctx, void *state, const struct flow *f,
                                     const struct packet_view *pv, int dir)
{
    (void)ctx, (void)f, (void)pv, (void)dir;
    struct probe_ext_state *st = state;
    ck_assert_uint_eq(st->marker, 0xA5);
    st->packets++;
    ext_log.packet++;
    return probe_verdict(st);
}

static void probe_export(void *ctx, void *state, const struct flow *f, enum end_reason reason)
{
    (void)ctx, (void)f, (void)reason;
    ext_log.exported++;
    (void)state;
}

static void probe_restart(void *ctx, void *state, const struct flow *f)
{
    (void)ctx, (void)f;
    ((struct probe_ext_state *)state)->restarts++;
    ext_log.restart++;
}

static void probe_free(void *ctx, void *state)
{
    (void)ctx, (void)state;
    ext_log.freed++;
}

static void ext_sink(void *ctx, const struct flow_record *r)
{
    sink(ctx, r);
    const struct probe_ext_state *st = ext_state(r, ext_offset);
    ck_assert_ptr_nonnull(st);
    ext_log.packets_at_export[nrecs - 1] = st->packets;
}

static const struct extension probe_ext = {
    .name = "probe", .state_size = sizeof(struct probe_ext_state),
    .flow_init = probe_init, .flow_packet = probe_packet, .flow_export = probe_export,
    .flow_restart = probe_restart, .flow_free = probe_free,
};

static void start_meter_with_ext(uint32_t stop_after, uint32_t export_after)
{
    memset(&ext_log, 0, sizeof ext_log);
    ext_log.stop_after = stop_after;
    ext_log.export_after = export_after;
    struct meter_config cfg = {30 * SEC, 60 * SEC, 5 * SEC, 100};
    nrecs = 0;
    memset(recs, 0, sizeof recs);
    ck_assert_int_eq(meter_init(&m, &cfg, ext_sink, &m), 0);
    ck_assert_int_eq(meter_add_extension(&m, &probe_ext, probe_ext.ctx, &ext_offset), 0);
}

START_TEST(extension_callbacks_run_once_per_flow_packet_and_record)
{
    start_meter_with_ext(0, 0);
    long_conversation();                            /* 7 packets, one flow */
    send_view(view(T0 + 1 * SEC, 3, 5000, 4, 53, 17, 0, 40));    /* a second flow */
    b_to_a(T0 + 60 * SEC, TCPF_ACK);               /* active timeout splits the first */
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 3);
    ck_assert_int_eq(ext_log.init, 2);              /* once per flow, not per record */
    ck_assert_int_eq(ext_log.packet, 7);            /* 8 + 1 packets, minus the 2 first ones */
    ck_assert_int_eq(ext_log.exported, 3);          /* once per record */
    ck_assert_int_eq(ext_log.restart, 1);
    ck_assert_int_eq(ext_log.freed, 2);             /* once per flow */
    ck_assert_uint_eq(m.blocks.in_use, 0);
}
END_TEST

START_TEST(an_extension_that_is_done_gets_no_more_packets)
{
    start_meter_with_ext(3, 0);
    long_conversation();
    meter_flush(&m);
    ck_assert_int_eq(ext_log.init, 1);
    ck_assert_int_eq(ext_log.packet, 2);
    ck_assert_uint_eq(ext_log.packets_at_export[0], 3);
    ck_assert_uint_eq(recs[0].packets[0] + recs[0].packets[1], 7);
}
END_TEST

START_TEST(an_extension_can_export_its_flow_early)
{
    start_meter_with_ext(0, 3);
    long_conversation();
    ck_assert_int_eq(nrecs, 2);                     /* after packet 3, and after 3 more */
    ck_assert_uint_eq(recs[0].end_reason, END_OF_FLOW);
    ck_assert_uint_eq(recs[0].packets[0] + recs[0].packets[1], 3);
    ck_assert_uint_eq(m.stats.ext_exports, 2);
    meter_flush(&m);
    ck_assert_int_eq(nrecs, 3);
    ck_assert_uint_eq(recs[2].packets[0] + recs[2].packets[1], 1);
    ck_assert_int_eq(ext_log.freed, 3);
}
END_TEST

/* Three flows into a cache of two: an eviction, an active-timeout restart,
 * extension states; then flushed. */
static void reset_scenario(void)
{
    long_conversation();
    send_view(view(T0 + 1 * SEC, 3, 5000, 4, 53, 17, 0, 40));
    send_view(view(T0 + 2 * SEC, 5, 5001, 6, 53, 17, 0, 40));
    b_to_a(T0 + 70 * SEC, TCPF_ACK);
    meter_flush(&m);
}

START_TEST(reset_meter_makes_the_same_records_as_a_fresh_one)
{
    start_meter_with_ext(0, 0);
    struct meter_config small = {30 * SEC, 60 * SEC, 5 * SEC, 2};
    ck_assert_int_eq(meter_reset(&m, &small), 0);           /* no flow yet */
    reset_scenario();
    int first = nrecs;
    struct meter_stats first_stats = m.stats;
    ck_assert_int_ge(first, 4);
    ck_assert_uint_eq(first_stats.records_by_reason[END_LACK_OF_RESOURCES], 1);

    a_to_b(T0 + 100 * SEC, TCPF_ACK);
    ck_assert_int_eq(meter_reset(&m, &small), -1);          /* a flow is left */
    ck_assert_uint_eq(m.cache.used, 1);
    meter_flush(&m);
    first_stats = m.stats;
    ck_assert_int_eq(meter_reset(&m, &small), 0);
    struct meter_stats zero;
    memset(&zero, 0, sizeof zero);
    ck_assert_mem_eq(&m.stats, &zero, sizeof zero);
    ck_assert_uint_eq(m.now_us, 0);
    ck_assert_uint_eq(m.cache.capacity, 2);
    ck_assert_uint_eq(m.blocks.in_use, 0);

    int base = nrecs;
    reset_scenario();
    ck_assert_int_eq(nrecs - base, first);
    for (int i = 0; i < first; i++) {
        const struct flow_record *a = &recs[i], *b = &recs[base + i];
        ck_assert_uint_eq(a->id, b->id);                    /* ids from 1 again */
        ck_assert_uint_eq(a->end_reason, b->end_reason);
        ck_assert_mem_eq(a->packets, b->packets, sizeof a->packets);
        ck_assert_mem_eq(a->first_ms, b->first_ms, sizeof a->first_ms);
        ck_assert_mem_eq(a->last_ms, b->last_ms, sizeof a->last_ms);
        ck_assert_uint_eq(ext_log.packets_at_export[i], ext_log.packets_at_export[base + i]);
    }
    ck_assert_uint_eq(m.stats.records, (uint64_t)first);
    ck_assert_uint_eq(m.stats.flows_created, first_stats.flows_created - 1);
    ck_assert_uint_eq(ext_log.init, 2 * (int)m.stats.flows_created + 1);  /* probe_init saw zeroed states */

    /* A bigger cache on the next reset: no eviction. */
    struct meter_config big = {30 * SEC, 60 * SEC, 5 * SEC, 100};
    ck_assert_int_eq(meter_reset(&m, &big), 0);
    reset_scenario();
    ck_assert_uint_eq(m.stats.records_by_reason[END_LACK_OF_RESOURCES], 0);
}
END_TEST

Suite *meter_suite(void)
{
    Suite *s = suite_create("meter");
    TCase *tc = tcase_create("timeouts");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, idle_timeout_expires_exactly_at_the_boundary);
    tcase_add_test(tc, idle_expiry_is_late_by_at_most_the_touch_slack);
    tcase_add_test(tc, packet_at_the_idle_boundary_starts_a_new_flow);
    tcase_add_test(tc, active_timeout_continues_in_a_new_record_same_orientation);
    tcase_add_test(tc, active_restarted_flow_without_packets_is_not_exported);
    tcase_add_test(tc, active_restart_keeps_orientation_while_the_clock_moves_on);
    tcase_add_test(tc, active_timeout_of_the_next_record_counts_from_its_first_packet);
    tcase_add_test(tc, idle_flow_behind_a_busier_one_ends_at_its_next_packet);
    tcase_add_test(tc, idle_flow_behind_a_busier_one_ends_idle_at_the_end);
    tcase_add_test(tc, flow_ids_follow_the_numbering_given);
    tcase_add_test(tc, fin_both_ways_ends_after_close_timeout_with_last_ack);
    tcase_add_test(tc, fin_one_way_keeps_the_flow_until_idle);
    tcase_add_test(tc, rst_ends_the_flow_after_close_timeout);
    tcase_add_test(tc, new_syn_on_a_closing_flow_starts_a_new_flow);
    tcase_add_test(tc, new_syn_from_the_responder_starts_a_flow_it_initiates);
    tcase_add_test(tc, flush_forces_open_flows_and_ends_closed_ones);
    tcase_add_test(tc, full_cache_evicts_the_least_recently_seen_flow);
    suite_add_tcase(s, tc);

    tc = tcase_create("extensions");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, extension_callbacks_run_once_per_flow_packet_and_record);
    tcase_add_test(tc, an_extension_that_is_done_gets_no_more_packets);
    tcase_add_test(tc, an_extension_can_export_its_flow_early);
    tcase_add_test(tc, reset_meter_makes_the_same_records_as_a_fresh_one);
    suite_add_tcase(s, tc);

    tc = tcase_create("records");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, per_direction_counters_and_times);
    tcase_add_test(tc, times_are_earliest_and_latest_when_packets_are_out_of_order);
    tcase_add_test(tc, initiator_is_the_first_sender_even_at_the_higher_end);
    tcase_add_test(tc, icmp_type_and_code_come_from_each_directions_first_packet);
    tcase_add_test(tc, vlans_are_separate_flows);
    tcase_add_test(tc, stats_count_packets_flows_and_undecoded_reasons);
    tcase_add_test(tc, clock_never_moves_backwards);
    tcase_add_test(tc, alarm_runs_once_per_crossing_before_what_expires_at_the_new_time);
    tcase_add_test(tc, no_alarm_unless_set);
    tcase_add_test(tc, decoded_frames_are_metered_with_wire_and_ip_lengths);
    suite_add_tcase(s, tc);
    return s;
}
