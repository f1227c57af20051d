/* test_ntopng.c — the zmq:// output: ntopng's message header, and flows as
 * JSON objects keyed by nProbe's field ids, batched into messages ntopng
 * takes (at most 100 flows and 16 KiB each). */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "textbuf.h"
#include "ntopng.h"
#include "unit.h"
#include "zmq_link.h"

/* test_netflow.c's flow (unit.h): 1700000000.250 s to 1700000005.100 s */
static void tcp_record(struct flow_record *r, uint8_t host)
{
    ipv4_record(r, 1700000000250ull, 1700000005100ull, host);
}

START_TEST(header_as_ntopng_reads_it)
{
    uint8_t h[ZMQ_HEADER_LEN];
    zmq_link_header(h, 7, 0x01020304, 300);
    static const uint8_t want[ZMQ_HEADER_LEN] = {
        'f', 'l', 'o', 'w', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,    /* url[16] */
        2, 7, 0x01, 0x2c, 0x01, 0x02, 0x03, 0x04,                  /* version, source, size, id */
    };
    ck_assert_mem_eq(h, want, sizeof want);
}
END_TEST

static const char *format(const struct flow_record *r, uint64_t shift_ms, struct textbuf *t)
{
    tb_reset(t);
    ck_assert_int_eq(ntopng_format_flow(t, r, shift_ms), 0);
    size_t len = t->len;
    const char *p = t->p;
    static char buf[1024];
    ck_assert_uint_lt(len, sizeof buf);
    memcpy(buf, p, len);
    buf[len] = '\0';
    return buf;
}

START_TEST(flow_keyed_by_nprobe_ids)
{
    struct flow_record r;
    tcp_record(&r, 9);
    struct textbuf tb = {0}, *t = &tb;
    ck_assert_str_eq(format(&r, 0, t),
        "{\"8\":\"192.0.2.9\",\"12\":\"198.51.100.1\",\"7\":40000,\"11\":443,\"4\":6,"
        "\"1\":180,\"2\":3,\"23\":120,\"24\":2,\"22\":1700000000,\"21\":1700000005,"
        "\"57550\":27,\"57551\":18}");
    /* --zmq-now: the flow moved whole, an hour later */
    ck_assert_ptr_nonnull(strstr(format(&r, 3600000, t), "\"22\":1700003600,\"21\":1700003605,"));
    r.proto = 17;
    r.vlan = 12;
    const char *udp = format(&r, 0, t);
    ck_assert_ptr_null(strstr(udp, "\"57550\""));
    ck_assert_ptr_nonnull(strstr(udp, "\"58\":12}"));
    tb_free(t);
}
END_TEST

START_TEST(ipv6_addresses_under_their_ids)
{
    struct flow_record r;
    tcp_record(&r, 1);
    r.ip_version = 6;
    memset(r.src, 0, 16);
    memset(r.dst, 0, 16);
    r.src[0] = 0x20, r.src[1] = 0x01, r.src[2] = 0x0d, r.src[3] = 0xb8, r.src[15] = 1;
    r.dst[0] = 0x20, r.dst[1] = 0x01, r.dst[2] = 0x0d, r.dst[3] = 0xb8, r.dst[15] = 2;
    struct textbuf tb = {0}, *t = &tb;
    ck_assert_ptr_nonnull(strstr(format(&r, 0, t), "{\"27\":\"2001:db8::1\",\"28\":\"2001:db8::2\","));
    tb_free(t);
}
END_TEST

struct sent {
    int messages;
    uint32_t flows[8];
    size_t len[8];
    bool array[8];
};

static int keep(void *ctx, const uint8_t *msg, size_t len, uint32_t nrecords, enum msg_kind kind)
{
    struct sent *s = ctx;
    ck_assert_int_eq(kind, MSG_DATA);
    ck_assert_int_lt(s->messages, 8);
    s->flows[s->messages] = nrecords;
    s->len[s->messages] = len;
    s->array[s->messages] = msg[0] == '[' && msg[len - 1] == ']';
    s->messages++;
    return 0;
}

START_TEST(messages_of_at_most_100_flows)
{
    struct sent s = {0};
    char err[128];
    struct ntopng_config cfg = {false, false};
    struct ntopng_encoder *e = ntopng_new(&cfg, keep, &s, err, sizeof err);
    ck_assert_ptr_nonnull(e);
    struct flow_record r;
    for (int i = 0; i < 250; i++) {
        tcp_record(&r, (uint8_t)i);
        ck_assert_int_eq(ntopng_add_flow(e, &r), 0);
    }
    ck_assert_int_eq(s.messages, 2);     /* the third is still open */
    ck_assert_int_eq(ntopng_flush(e), 0);
    ck_assert_int_eq(ntopng_flush(e), 0);   /* nothing more: no empty message */
    ck_assert_int_eq(s.messages, 3);
    uint32_t want[3] = {100, 100, 50};
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(s.flows[i], want[i]);
        ck_assert(s.array[i]);
        ck_assert_uint_le(s.len[i], NTOPNG_MAX_PAYLOAD);
    }
    ck_assert_uint_eq(ntopng_counters(e)->records, 250);
    ck_assert_uint_eq(ntopng_counters(e)->messages, 3);
    ntopng_free(e);
}
END_TEST

struct packed {
    uint8_t msg[4096];
    size_t len;
};

static int keep_packed(void *ctx, const uint8_t *msg, size_t len, uint32_t nrecords,
                       enum msg_kind kind)
{
    struct packed *p = ctx;
    (void)nrecords;
    (void)kind;
    ck_assert_uint_le(len, sizeof p->msg);
    memcpy(p->msg, msg, len);
    p->len = len;
    return 0;
}

START_TEST(compressed_payload_unpacks_to_the_json)
{
    struct packed got = {{0}, 0};
    char err[128];
    struct ntopng_config cfg = {false, true};
    struct ntopng_encoder *e = ntopng_new(&cfg, keep_packed, &got, err, sizeof err);
    ck_assert_ptr_nonnull(e);
    struct flow_record r;
    tcp_record(&r, 9);
    ck_assert_int_eq(ntopng_add_flow(e, &r), 0);
    ck_assert_int_eq(ntopng_flush(e), 0);
    ck_assert_uint_gt(got.len, 1);
    ck_assert_uint_eq(got.msg[0], 0);   /* ntopng: "compressed" */
    char json[1024];
    uLongf n = sizeof json - 1;
    ck_assert_int_eq(uncompress((Bytef *)json, &n, got.msg + 1, (uLong)(got.len - 1)), Z_OK);
    json[n] = '\0';
    struct textbuf tb = {0}, *t = &tb;
    char want[1024];
    snprintf(want, sizeof want, "[%s]", format(&r, 0, t));
    ck_assert_str_eq(json, want);
    tb_free(t);
    ntopng_free(e);
}
END_TEST

Suite *ntopng_suite(void)
{
    Suite *s = suite_create("ntopng");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, header_as_ntopng_reads_it);
    tcase_add_test(tc, flow_keyed_by_nprobe_ids);
    tcase_add_test(tc, ipv6_addresses_under_their_ids);
    tcase_add_test(tc, messages_of_at_most_100_flows);
    tcase_add_test(tc, compressed_payload_unpacks_to_the_json);
    suite_add_tcase(s, tc);
    return s;
}
