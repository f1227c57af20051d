/* test_dpi.c — the nDPI extension on decoded frames fed through the meter:
 * verdicts, guesses, the packet budget, and that nDPI's per-flow struct is
 * released as soon as the verdict is taken. */
#include <check.h>
#include <pcap/dlt.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "dpi.h"
#include "meter.h"
#include "pktbuild.h"
#include "unit.h"

#define SEC 1000000ull
#define MS 1000ull
#define T0 (1700000000ull * SEC)

/* What the sink keeps of a record: the record is only valid during the
 * call, the DPI strings live in the flow's state. */
struct seen {
    struct flow_record r;
    struct dpi_result res;
    bool has_dpi;
    char name[64], server[128], ja3c[40];
};

enum { MAX_SEEN = 16 };
static struct seen seen[MAX_SEEN];
static int nseen;
static struct meter m;
static struct dpi *d;

static void sink(void *ctx, const struct flow_record *r)
{
    (void)ctx;
    ck_assert_int_lt(nseen, MAX_SEEN);
    struct seen *s = &seen[nseen++];
    memset(s, 0, sizeof *s);
    s->r = *r;
    s->has_dpi = dpi_result_of(dpi_state_of_record(r), &s->res);
    if (s->has_dpi) {
        snprintf(s->name, sizeof s->name, "%s", s->res.application_name);
        snprintf(s->server, sizeof s->server, "%s", s->res.server_name);
        snprintf(s->ja3c, sizeof s->ja3c, "%s", s->res.ja3c);
    }
}

static void start(uint32_t tcp_budget, uint32_t udp_budget)
{
    struct meter_config cfg = {300 * SEC, 3600 * SEC, 2 * SEC, 1000};
    nseen = 0;
    ck_assert_int_eq(meter_init(&m, &cfg, sink, NULL), 0);
    char err[256];
    struct dpi_config dc = {tcp_budget, udp_budget};
    d = dpi_new(&dc, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    size_t offset;
    ck_assert_int_eq(meter_add_extension(&m, dpi_extension(d), d, &offset), 0);
    dpi_set_state_offset(offset);
}

static void teardown(void)
{
    meter_flush(&m);
    meter_free(&m);
    dpi_free(d);
    d = NULL;
}

/* ---- frames ----------------------------------------------------------------- */

/* Hosts 10.0.0.1 (client) and 10.0.0.2 (server); seq/ack are not tracked by
 * these tests' dissectors beyond what nDPI needs, so they advance by payload. */
static uint32_t seq[2];

static void send_tcp(uint64_t ts, int from_client, uint16_t cport, uint16_t sport, uint8_t flags,
                     const void *payload, size_t n)
{
    uint8_t buf[2048];
    struct pb b;
    pb_init(&b, buf, sizeof buf);
    pb_eth(&b, ETY_IP4);
    struct pb_addr c = IP4(10, 0, 0, 1), s = IP4(10, 0, 0, 2);
    pb_ipv4(&b, &(struct pb_ip4){.src = from_client ? c : s, .dst = from_client ? s : c, .proto = 6});
    pb_tcp(&b, from_client ? cport : sport, from_client ? sport : cport, flags);
    /* sequence and acknowledgement numbers, so nDPI's TCP tracking follows */
    int me = from_client ? 0 : 1;
    pb_put16(buf + b.l4 + 4, (uint16_t)(seq[me] >> 16));
    pb_put16(buf + b.l4 + 6, (uint16_t)seq[me]);
    pb_put16(buf + b.l4 + 8, (uint16_t)(seq[!me] >> 16));
    pb_put16(buf + b.l4 + 10, (uint16_t)seq[!me]);
    if (n)
        pb_bytes(&b, payload, n);
    uint32_t len = pb_finish(&b);
    seq[me] += (uint32_t)n + ((flags & (TCPF_SYN | TCPF_FIN)) ? 1u : 0u);
    struct packet_view pv;
    enum decode_status st = decode_packet(DLT_EN10MB, buf, len, len, ts, &pv);
    ck_assert_int_eq(st, DECODE_OK);
    meter_packet(&m, st, &pv);
}

static void send_udp(uint64_t ts, int from_client, uint16_t cport, uint16_t sport,
                     const void *payload, size_t n)
{
    uint8_t buf[2048];
    struct pb b;
    pb_init(&b, buf, sizeof buf);
    pb_eth(&b, ETY_IP4);
    struct pb_addr c = IP4(10, 0, 0, 1), s = IP4(10, 0, 0, 2);
    pb_ipv4(&b, &(struct pb_ip4){.src = from_client ? c : s, .dst = from_client ? s : c, .proto = 17});
    pb_udp(&b, from_client ? cport : sport, from_client ? sport : cport);
    pb_bytes(&b, payload, n);
    uint32_t len = pb_finish(&b);
    struct packet_view pv;
    enum decode_status st = decode_packet(DLT_EN10MB, buf, len, len, ts, &pv);
    ck_assert_int_eq(st, DECODE_OK);
    meter_packet(&m, st, &pv);
}

static void handshake(uint64_t t, uint16_t cport, uint16_t sport)
{
    seq[0] = 1000, seq[1] = 5000;
    send_tcp(t, 1, cport, sport, TCPF_SYN, NULL, 0);
    send_tcp(t + 1 * MS, 0, cport, sport, TCPF_SYN | TCPF_ACK, NULL, 0);
    send_tcp(t + 2 * MS, 1, cport, sport, TCPF_ACK, NULL, 0);
}

/* Bytes no dissector recognises (a fixed pseudo-random sequence). */
static void noise(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

/* ---- tests ------------------------------------------------------------------ */

static const char http_get[] =
    "GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: nfprobe-test/1.0\r\n"
    "Accept: */*\r\n\r\n";
static const char http_ok[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";

START_TEST(http_is_detected_and_ndpi_state_freed_at_the_verdict)
{
    start(10, 16);
    handshake(T0, 40000, 80);
    ck_assert_uint_eq(dpi_ndpi_flows_in_use(d), 0);     /* no payload yet: no nDPI state */
    send_tcp(T0 + 3 * MS, 1, 40000, 80, TCPF_ACK | TCPF_PSH, http_get, strlen(http_get));
    ck_assert_uint_eq(dpi_ndpi_flows_in_use(d), 1);     /* dissecting */
    send_tcp(T0 + 4 * MS, 0, 40000, 80, TCPF_ACK | TCPF_PSH, http_ok, strlen(http_ok));
    /* the verdict may wait for a few more packets (nDPI's extra dissection),
     * never beyond the budget */
    for (int i = 0; i < 6; i++)
        send_tcp(T0 + (5 + i) * MS, i & 1, 40000, 80, TCPF_ACK, NULL, 0);
    ck_assert_uint_eq(dpi_ndpi_flows_in_use(d), 0);     /* freed while the flow lives */
    ck_assert_uint_eq(m.cache.used, 1);
    ck_assert_uint_le(dpi_get_stats(d)->packets_fed, 10);
    meter_flush(&m);
    ck_assert_int_eq(nseen, 1);
    ck_assert(seen[0].has_dpi);
    ck_assert_str_eq(seen[0].name, "HTTP");
    ck_assert_str_eq(seen[0].server, "www.example.com");
    ck_assert(!seen[0].res.guessed);
    ck_assert_uint_eq(seen[0].res.app, 7);
    ck_assert_uint_eq(seen[0].r.packets[0] + seen[0].r.packets[1], 11);
}
END_TEST

START_TEST(the_packet_budget_is_respected)
{
    start(4, 16);
    handshake(T0, 40001, 45678);
    uint8_t p[200];
    for (int i = 0; i < 20; i++) {
        noise(p, sizeof p, (uint32_t)i + 7);
        send_tcp(T0 + (3 + i) * MS, i & 1, 40001, 45678, TCPF_ACK | TCPF_PSH, p, sizeof p);
    }
    ck_assert_uint_le(dpi_get_stats(d)->packets_fed, 4);
    ck_assert_uint_eq(dpi_ndpi_flows_in_use(d), 0);
    meter_flush(&m);
    ck_assert_int_eq(nseen, 1);
    ck_assert_uint_eq(seen[0].r.packets[0] + seen[0].r.packets[1], 23);
}
END_TEST

START_TEST(a_flow_exported_before_its_verdict_is_guessed_at_export)
{
    start(10, 16);
    seq[0] = 1, seq[1] = 1;
    send_tcp(T0, 1, 40002, 443, TCPF_SYN, NULL, 0);
    ck_assert_uint_eq(dpi_ndpi_flows_in_use(d), 0);     /* a SYN alone takes no nDPI state */
    meter_flush(&m);
    ck_assert_uint_eq(dpi_ndpi_flows_in_use(d), 0);
    ck_assert_int_eq(nseen, 1);
    ck_assert(seen[0].res.concluded);
    ck_assert(seen[0].res.guessed);                     /* by port */
    ck_assert_str_eq(seen[0].name, "TLS");
    ck_assert_uint_eq(dpi_get_stats(d)->flows_guessed, 1);
}
END_TEST

/* A TCP flow that never carries payload (a scan, a refused connection)
 * counts its segments to the budget and is concluded with the guess. */
START_TEST(a_tcp_flow_without_payload_is_guessed_within_the_budget)
{
    start(3, 16);
    seq[0] = 1, seq[1] = 1;
    send_tcp(T0, 1, 40005, 22, TCPF_SYN, NULL, 0);                 /* unanswered, retried */
    send_tcp(T0 + 1000 * MS, 1, 40005, 22, TCPF_SYN, NULL, 0);
    ck_assert_uint_eq(dpi_get_stats(d)->flows_guessed, 0);         /* not concluded yet */
    send_tcp(T0 + 3000 * MS, 1, 40005, 22, TCPF_SYN, NULL, 0);     /* third: budget reached */
    ck_assert_uint_eq(dpi_get_stats(d)->flows_guessed, 1);
    ck_assert_uint_eq(dpi_ndpi_flows_in_use(d), 0);
    ck_assert_uint_eq(dpi_get_stats(d)->packets_fed, 0);
    meter_flush(&m);
    ck_assert_int_eq(nseen, 1);
    ck_assert_str_eq(seen[0].name, "SSH");
    ck_assert(seen[0].res.guessed);
}
END_TEST

START_TEST(an_unknown_flow_is_exported_as_unknown_with_its_counters)
{
    start(10, 3);
    uint8_t p[100];
    for (int i = 0; i < 8; i++) {
        noise(p, sizeof p, (uint32_t)i * 31 + 1);
        send_udp(T0 + (uint64_t)i * MS, i % 3 != 2, 40003, 40004, p, sizeof p);
    }
    ck_assert_uint_le(dpi_get_stats(d)->packets_fed, 3);
    ck_assert_uint_eq(dpi_ndpi_flows_in_use(d), 0);
    meter_flush(&m);
    ck_assert_int_eq(nseen, 1);
    ck_assert_str_eq(seen[0].name, "Unknown");
    ck_assert_uint_eq(seen[0].res.app, 0);
    ck_assert_uint_eq(seen[0].res.master, 0);
    ck_assert(!seen[0].res.guessed);
    ck_assert_uint_eq(seen[0].r.packets[0], 6);
    ck_assert_uint_eq(seen[0].r.packets[1], 2);
    ck_assert_uint_eq(seen[0].r.ip_octets[0], 6 * (20 + 8 + 100));
    ck_assert_uint_eq(dpi_get_stats(d)->flows_unknown, 1);
}
END_TEST

START_TEST(application_id_is_rfc6759_engine_13_or_the_pen_form)
{
    uint8_t out[8];
    dpi_set_app_id_pen_form(false);
    ck_assert_uint_eq(dpi_app_id_len(), 5);
    dpi_encode_app_id(0x1234, out);
    const uint8_t want[5] = {13, 0, 0, 0x12, 0x34};
    ck_assert_mem_eq(out, want, 5);
    dpi_set_app_id_pen_form(true);
    ck_assert_uint_eq(dpi_app_id_len(), 7);
    dpi_encode_app_id(91, out);
    const uint8_t want_pen[7] = {20, 0, 0, 0x8B, 0x30, 0, 91};   /* PEN 35632 = 0x8B30 */
    ck_assert_mem_eq(out, want_pen, 7);
    dpi_set_app_id_pen_form(false);
}
END_TEST

Suite *dpi_suite(void)
{
    Suite *s = suite_create("dpi");
    TCase *tc = tcase_create("verdicts");
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, http_is_detected_and_ndpi_state_freed_at_the_verdict);
    tcase_add_test(tc, the_packet_budget_is_respected);
    tcase_add_test(tc, a_flow_exported_before_its_verdict_is_guessed_at_export);
    tcase_add_test(tc, a_tcp_flow_without_payload_is_guessed_within_the_budget);
    tcase_add_test(tc, an_unknown_flow_is_exported_as_unknown_with_its_counters);
    suite_add_tcase(s, tc);
    tc = tcase_create("encoding");
    tcase_add_test(tc, application_id_is_rfc6759_engine_13_or_the_pen_form);
    suite_add_tcase(s, tc);
    return s;
}
