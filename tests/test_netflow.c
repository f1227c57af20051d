/* test_netflow.c — NetFlow v9 and v5 encoders and their sysUptime clock,
 * read back byte by byte as RFC 3954 and the v5 layout define them. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "elements.h"
#include "netflow5.h"
#include "netflow9.h"
#include "sysuptime.h"
#include "unit.h"
#include "util.h"

/* ---- captured messages ------------------------------------------------------ */

#define MAX_MSGS 64
struct captured {
    uint8_t msg[MAX_MSGS][2048];
    size_t len[MAX_MSGS];
    uint32_t nrec[MAX_MSGS];
    bool templates[MAX_MSGS];
    int n;
};

static int capture_msg(void *ctx, const uint8_t *msg, size_t len, uint32_t nrecords,
                       enum msg_kind kind)
{
    struct captured *c = ctx;
    ck_assert_int_lt(c->n, MAX_MSGS);
    ck_assert_uint_le(len, sizeof c->msg[0]);
    memcpy(c->msg[c->n], msg, len);
    c->len[c->n] = len;
    c->nrec[c->n] = nrecords;
    c->templates[c->n] = kind == MSG_TEMPLATES;
    c->n++;
    return 0;
}

void ipv4_record(struct flow_record *r, uint64_t first_ms, uint64_t last_ms, uint8_t host)
{
    memset(r, 0, sizeof *r);
    r->id = host;
    r->ip_version = 4;
    r->proto = 6;
    uint8_t a[4] = {192, 0, 2, host}, b[4] = {198, 51, 100, 1};
    memcpy(r->src, a, 4);
    memcpy(r->dst, b, 4);
    r->sport = 40000;
    r->dport = 443;
    r->first_ms[0] = first_ms;
    r->last_ms[0] = last_ms - 1;
    r->first_ms[1] = first_ms + 1;
    r->last_ms[1] = last_ms;
    r->packets[0] = 3;
    r->packets[1] = 2;
    r->ip_octets[0] = 180;
    r->ip_octets[1] = 120;
    r->tcp_flags[0] = 0x1b;
    r->tcp_flags[1] = 0x12;
}

/* ---- sysUptime ------------------------------------------------------------------ */

/* nfdump's reading: boot = unix_secs * 1000 - sysUptime; a flow starts at
 * boot + FIRST_SWITCHED. Both must come out to the millisecond. */
START_TEST(uptime_header_gives_exact_boot_and_times)
{
    struct sysuptime c;
    memset(&c, 0, sizeof c);
    uint64_t first = 1470104373025ull, last = 1470104432419ull;
    ck_assert(!sysuptime_fits(&c, first, last));
    sysuptime_rebase(&c, first);
    ck_assert(sysuptime_fits(&c, first, last));
    uint32_t off_first = sysuptime_offset(&c, first), off_last = sysuptime_offset(&c, last);
    sysuptime_note(&c, last);
    uint32_t uptime, secs;
    sysuptime_header(&c, &uptime, &secs);
    uint64_t boot = (uint64_t)secs * 1000 - uptime;
    ck_assert_uint_eq(boot + off_first, first);
    ck_assert_uint_eq(boot + off_last, last);
    ck_assert_uint_ge((uint64_t)secs * 1000, last);     /* exported after the flow ended */
    ck_assert_uint_le(off_last, uptime);                /* no flow in the future */
    /* A flow too old for this base, or beyond 32 bits of it, does not fit. */
    ck_assert(!sysuptime_fits(&c, c.boot_ms - 1, last));
    ck_assert(!sysuptime_fits(&c, first, c.boot_ms + (1ull << 32)));
}
END_TEST

/* ---- v9 ------------------------------------------------------------------------- */

struct v9_template {
    uint16_t tid, n, ids[64], lens[64];
};

static size_t parse_template_set(const uint8_t *set, size_t setlen, struct v9_template *out, size_t max)
{
    size_t off = 4, n = 0;
    while (off + 4 <= setlen && n < max) {
        struct v9_template *t = &out[n++];
        t->tid = rd16(set + off);
        t->n = rd16(set + off + 2);
        ck_assert_uint_le(t->n, 64);
        for (uint16_t i = 0; i < t->n; i++) {
            t->ids[i] = rd16(set + off + 4 + 4 * i);
            t->lens[i] = rd16(set + off + 6 + 4 * i);
        }
        off += 4 + 4u * t->n;
    }
    return n;
}

static int field_offset(const struct v9_template *t, uint16_t id, uint16_t *len)
{
    int off = 0;
    for (uint16_t i = 0; i < t->n; i++) {
        if (t->ids[i] == id) {
            *len = t->lens[i];
            return off;
        }
        off += t->lens[i];
    }
    return -1;
}

static struct template_def default_template(void)
{
    struct template_def t;
    char err[256];
    ck_assert_msg(template_parse("default", template_builtin("default"), &t, err, sizeof err) == 0, "%s", err);
    return t;
}

START_TEST(v9_templates_then_records_with_uptime_times)
{
    struct template_def def = default_template();
    static struct captured cap;
    memset(&cap, 0, sizeof cap);
    struct nf9_config cfg = {42, 1400, 0, &def};
    char err[256];
    struct nf9_encoder *e = nf9_new(&cfg, capture_msg, &cap, err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    ck_assert_int_eq(nf9_send_templates(e), 0);
    struct flow_record r;
    ipv4_record(&r, 1470104373025ull, 1470104432419ull, 7);
    ck_assert_int_eq(nf9_add_flow(e, &r), 0);
    ck_assert_int_eq(nf9_flush(e), 0);
    ck_assert_int_eq(cap.n, 2);

    /* message 0: the templates, sequence 0, source id 42 */
    const uint8_t *m = cap.msg[0];
    ck_assert(cap.templates[0]);
    ck_assert_uint_eq(rd16(m), 9);
    ck_assert_uint_eq(rd16(m + 2), 2);
    ck_assert_uint_eq(rd32(m + 12), 0);
    ck_assert_uint_eq(rd32(m + 16), 42);
    ck_assert_uint_eq(rd16(m + 20), 0);
    struct v9_template t[2];
    ck_assert_uint_eq(parse_template_set(m + 20, rd16(m + 22), t, 2), 2);
    ck_assert_uint_eq(t[0].tid, 256);
    ck_assert_uint_eq(t[1].tid, 257);
    uint16_t len;
    ck_assert_int_ge(field_offset(&t[0], 6, &len), 0);
    ck_assert_uint_eq(len, 1);                       /* TCP_FLAGS: 1 byte in v9 */
    ck_assert_int_ge(field_offset(&t[0], 22, &len), 0);
    ck_assert_uint_eq(len, 4);
    ck_assert_int_lt(field_offset(&t[0], 352, &len), 0);   /* no v9 id: left out */
    ck_assert_int_lt(field_offset(&t[0], 27, &len), 0);    /* IPv6 address: not in 256 */
    ck_assert_int_ge(field_offset(&t[1], 27, &len), 0);

    /* message 1: one data set, two one-way records, sequence 1 */
    m = cap.msg[1];
    ck_assert(!cap.templates[1]);
    ck_assert_uint_eq(cap.nrec[1], 2);
    ck_assert_uint_eq(rd16(m + 2), 2);
    ck_assert_uint_eq(rd32(m + 12), 1);
    ck_assert_uint_eq(rd16(m + 20), 256);
    ck_assert_uint_eq(rd16(m + 22) % 4, 0);
    ck_assert_uint_eq(20 + rd16(m + 22), cap.len[1]);
    uint64_t boot = (uint64_t)rd32(m + 8) * 1000 - rd32(m + 4);
    size_t reclen = 0;
    for (uint16_t i = 0; i < t[0].n; i++)
        reclen += t[0].lens[i];
    const uint8_t *rec = m + 24;
    int o_first = field_offset(&t[0], 22, &len), o_last = field_offset(&t[0], 21, &len);
    int o_flags = field_offset(&t[0], 6, &len), o_src = field_offset(&t[0], 8, &len);
    int o_pkts = field_offset(&t[0], 2, &len);
    ck_assert_uint_eq(boot + rd32(rec + o_first), r.first_ms[0]);
    ck_assert_uint_eq(boot + rd32(rec + o_last), r.last_ms[0]);
    ck_assert_uint_eq(rec[o_flags], 0x1b);
    ck_assert_uint_eq(rec[o_src + 3], 7);
    ck_assert_uint_eq(rd32(rec + o_pkts + 4), 3);
    rec += reclen;                                   /* the responder's record */
    ck_assert_uint_eq(boot + rd32(rec + o_first), r.first_ms[1]);
    ck_assert_uint_eq(boot + rd32(rec + o_last), r.last_ms[1]);
    ck_assert_uint_eq(rec[o_flags], 0x12);
    ck_assert_uint_eq(rec[o_src + 3], 1);            /* source is the responder */
    ck_assert_uint_eq(rd32(rec + o_pkts + 4), 2);
    nf9_free(e);
    template_free(&def);
}
END_TEST

START_TEST(v9_messages_fit_mtu_and_templates_refresh)
{
    struct template_def def = default_template();
    static struct captured cap;
    memset(&cap, 0, sizeof cap);
    struct nf9_config cfg = {1, 512, 3, &def};
    char err[256];
    struct nf9_encoder *e = nf9_new(&cfg, capture_msg, &cap, err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    ck_assert_int_eq(nf9_send_templates(e), 0);
    struct flow_record r;
    for (int i = 0; i < 60; i++) {
        ipv4_record(&r, 1700000000000ull + 10 * (uint64_t)i, 1700000000500ull + 10 * (uint64_t)i, (uint8_t)i);
        ck_assert_int_eq(nf9_add_flow(e, &r), 0);
    }
    ck_assert_int_eq(nf9_flush(e), 0);
    uint32_t records = 0;
    int since = 0;
    for (int i = 0; i < cap.n; i++) {
        ck_assert_uint_le(cap.len[i], 512);
        ck_assert_uint_eq(rd32(cap.msg[i] + 12), (uint32_t)i);  /* packet sequence */
        records += cap.nrec[i];
        if (cap.templates[i]) {
            ck_assert_uint_eq(rd16(cap.msg[i] + 20), 0);
            since = 0;
        } else {
            ck_assert_int_le(++since, 3);
        }
    }
    ck_assert_uint_eq(records, 120);
    ck_assert_uint_eq(nf9_counters(e)->records, 120);
    nf9_free(e);
    template_free(&def);
}
END_TEST

/* Application names: an options template (set 1, scope System) beside the
 * flow templates, then one options record per data set. */
START_TEST(v9_application_names_as_options)
{
    struct template_def def = default_template();
    static struct captured cap;
    memset(&cap, 0, sizeof cap);
    struct nf9_config cfg = {9, 1400, 0, &def};
    char err[256];
    struct nf9_encoder *e = nf9_new(&cfg, capture_msg, &cap, err, sizeof err);
    ck_assert_ptr_nonnull(e);
    static const struct ipfix_app_name apps[] = {
        {{13, 0, 0, 0, 7}, "HTTP", "nDPI protocol 7: HTTP", "Web"},
        {{13, 0, 0, 0, 91}, "TLS", "nDPI protocol 91: TLS", "Web"},
    };
    static const struct ipfix_app_table table = {apps, 2, 5};
    ck_assert_int_eq(nf9_set_app_names(e, &table, err, sizeof err), 0);
    ck_assert_int_eq(nf9_send_templates(e), 0);
    ck_assert_int_eq(cap.n, 2);
    /* templates: set 0 (two templates), then set 1 (options template 258) */
    const uint8_t *m = cap.msg[0];
    ck_assert_uint_eq(rd16(m + 2), 3);
    size_t off = 20 + rd16(m + 22);
    ck_assert_uint_eq(rd16(m + off), 1);
    ck_assert_uint_eq(rd16(m + off + 4), 258);
    ck_assert_uint_eq(rd16(m + off + 6), 4);         /* scope length */
    ck_assert_uint_eq(rd16(m + off + 8), 12);        /* option fields length */
    ck_assert_uint_eq(rd16(m + off + 10), 1);        /* scope System */
    ck_assert_uint_eq(rd16(m + off + 14), 95);
    ck_assert_uint_eq(rd16(m + off + 16), 5);
    ck_assert_uint_eq(rd16(m + off + 18), 96);
    ck_assert_uint_eq(rd16(m + off + 22), 94);
    ck_assert_uint_eq(off + rd16(m + off + 2), cap.len[0]);
    /* options data: two sets of one record each */
    m = cap.msg[1];
    ck_assert_uint_eq(rd16(m + 2), 2);
    ck_assert_uint_eq(rd16(m + 20), 258);
    size_t set = rd16(m + 22);
    ck_assert_uint_eq(set % 4, 0);
    ck_assert_uint_eq(rd32(m + 24), 9);              /* scope: the source id */
    ck_assert_uint_eq(m[28 + 4], 7);
    ck_assert_str_eq((const char *)m + 33, "HTTP");
    ck_assert_uint_eq(rd16(m + 20 + set), 258);
    ck_assert_uint_eq(m[20 + set + 4 + 4 + 4], 91);
    ck_assert_uint_eq(20 + 2 * set, cap.len[1]);
    nf9_free(e);
    template_free(&def);
}
END_TEST

/* ---- v5 --------------------------------------------------------------------------- */

START_TEST(v5_ipv4_records_ipv6_counted_sequence)
{
    static struct captured cap;
    memset(&cap, 0, sizeof cap);
    struct nf5_config cfg = {3, 1500};
    char err[256];
    struct nf5_encoder *e = nf5_new(&cfg, capture_msg, &cap, err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    struct flow_record r;
    for (int i = 0; i < 20; i++) {      /* 40 one-way records */
        ipv4_record(&r, 1700000000000ull, 1700000001234ull, (uint8_t)i);
        ck_assert_int_eq(nf5_add_flow(e, &r), 0);
    }
    r.ip_version = 6;
    ck_assert_int_eq(nf5_add_flow(e, &r), 0);
    ck_assert_int_eq(nf5_flush(e), 0);
    ck_assert_uint_eq(nf5_not_exportable(e), 1);
    ck_assert_int_eq(cap.n, 2);
    ck_assert_uint_eq(rd16(cap.msg[0] + 2), 30);      /* at most 30 a message */
    ck_assert_uint_eq(cap.len[0], 24 + 30 * 48);
    ck_assert_uint_eq(rd32(cap.msg[0] + 16), 0);
    ck_assert_uint_eq(rd32(cap.msg[1] + 16), 30);     /* flow_sequence */
    ck_assert_uint_eq(rd16(cap.msg[1] + 2), 10);
    ck_assert_uint_eq(cap.msg[0][21], 3);             /* engine id */
    const uint8_t *m = cap.msg[0], *rec = m + 24;
    uint64_t boot = (uint64_t)rd32(m + 8) * 1000 - rd32(m + 4);
    ck_assert_uint_eq(boot + rd32(rec + 24), 1700000000000ull);
    ck_assert_uint_eq(boot + rd32(rec + 28), 1700000001233ull);
    ck_assert_uint_eq(rd32(rec + 16), 3);
    ck_assert_uint_eq(rd32(rec + 20), 180);
    ck_assert_uint_eq(rd16(rec + 32), 40000);
    ck_assert_uint_eq(rec[37], 0x1b);
    ck_assert_uint_eq(rec[38], 6);
    nf5_free(e);
}
END_TEST

/* Octets beyond 32 bits are spread over records whose sum is exact. */
START_TEST(v5_big_counters_split_exactly)
{
    static struct captured cap;
    memset(&cap, 0, sizeof cap);
    struct nf5_config cfg = {0, 1500};
    char err[256];
    struct nf5_encoder *e = nf5_new(&cfg, capture_msg, &cap, err, sizeof err);
    ck_assert_ptr_nonnull(e);
    struct flow_record r;
    ipv4_record(&r, 1700000000000ull, 1700000001234ull, 1);
    r.packets[1] = 0;
    r.ip_octets[0] = 10000000000ull;
    r.packets[0] = 7000000;
    ck_assert_int_eq(nf5_add_flow(e, &r), 0);
    ck_assert_int_eq(nf5_flush(e), 0);
    uint64_t octets = 0, packets = 0;
    uint16_t n = rd16(cap.msg[0] + 2);
    ck_assert_uint_eq(n, 3);
    for (uint16_t i = 0; i < n; i++) {
        packets += rd32(cap.msg[0] + 24 + 48 * i + 16);
        octets += rd32(cap.msg[0] + 24 + 48 * i + 20);
    }
    ck_assert_uint_eq(octets, 10000000000ull);
    ck_assert_uint_eq(packets, 7000000);
    nf5_free(e);
}
END_TEST

/* Counts just under a multiple of 2^32 (found by fuzz/fuzz_export.c):
 * 2^34 - 9 packets go in 4 records, none of them past 32 bits (the whole
 * remainder on the first made it 2^32, written as 0). */
START_TEST(v5_split_parts_fit_32_bits)
{
    static struct captured cap;
    memset(&cap, 0, sizeof cap);
    struct nf5_config cfg = {0, 1500};
    char err[256];
    struct nf5_encoder *e = nf5_new(&cfg, capture_msg, &cap, err, sizeof err);
    ck_assert_ptr_nonnull(e);
    struct flow_record r;
    ipv4_record(&r, 1700000000000ull, 1700000001234ull, 1);
    r.packets[1] = 0;
    r.packets[0] = (1ull << 34) - 9;
    r.ip_octets[0] = (1ull << 34) - 5;
    ck_assert_int_eq(nf5_add_flow(e, &r), 0);
    ck_assert_int_eq(nf5_flush(e), 0);
    uint64_t octets = 0, packets = 0;
    uint16_t n = rd16(cap.msg[0] + 2);
    ck_assert_uint_eq(n, 4);
    for (uint16_t i = 0; i < n; i++) {
        packets += rd32(cap.msg[0] + 24 + 48 * i + 16);
        octets += rd32(cap.msg[0] + 24 + 48 * i + 20);
    }
    ck_assert_uint_eq(packets, (1ull << 34) - 9);
    ck_assert_uint_eq(octets, (1ull << 34) - 5);
    nf5_free(e);
}
END_TEST

/* A v9 string field (fixed length) from bytes that are not UTF-8, cut in
 * the middle of a character by that length: '?' for each stray byte. */
static bool get_raw_name(const struct element *el, const struct flow_record *r, int view,
                         struct elem_value *v)
{
    (void)el, (void)r, (void)view;
    static uint8_t name[70];
    memset(name, 'x', sizeof name);
    name[0] = 0xff;
    name[62] = 0xe2, name[63] = 0x82, name[64] = 0xac;     /* a euro sign across the 64-byte cut */
    v->bytes = name;
    v->nbytes = sizeof name;
    return true;
}

START_TEST(v9_strings_that_are_not_utf8_go_out_scrubbed)
{
    static const struct element row = {
        .name = "testV9Name", .pen = 32473, .id = 990, .v9_id = 57990, .type = ET_STRING,
        .len = ELEM_VARLEN, .get_row = get_raw_name,
    };
    ck_assert_int_eq(elements_register(&row, 1), 0);
    struct template_def def;
    char err[256];
    ck_assert_msg(template_parse("t", "flowId\ntestV9Name\n", &def, err, sizeof err) == 0, "%s", err);
    static struct captured cap;
    memset(&cap, 0, sizeof cap);
    struct nf9_config cfg = {42, 1400, 0, &def};
    struct nf9_encoder *e = nf9_new(&cfg, capture_msg, &cap, err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    struct flow_record r;
    ipv4_record(&r, 1470104373025ull, 1470104432419ull, 7);
    r.packets[1] = 0;
    ck_assert_int_eq(nf9_add_flow(e, &r), 0);
    ck_assert_int_eq(nf9_flush(e), 0);
    uint8_t want[64];
    memset(want, 'x', sizeof want);
    want[0] = '?';
    want[62] = '?', want[63] = '?';
    const uint8_t *m = cap.msg[cap.n - 1];
    ck_assert_ptr_nonnull(memmem(m, cap.len[cap.n - 1], want, sizeof want));
    nf9_free(e);
    template_free(&def);
    elements_unregister_last(1);
}
END_TEST

Suite *netflow_suite(void)
{
    Suite *s = suite_create("netflow");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, uptime_header_gives_exact_boot_and_times);
    tcase_add_test(tc, v9_templates_then_records_with_uptime_times);
    tcase_add_test(tc, v9_messages_fit_mtu_and_templates_refresh);
    tcase_add_test(tc, v9_application_names_as_options);
    tcase_add_test(tc, v9_strings_that_are_not_utf8_go_out_scrubbed);
    tcase_add_test(tc, v5_ipv4_records_ipv6_counted_sequence);
    tcase_add_test(tc, v5_big_counters_split_exactly);
    tcase_add_test(tc, v5_split_parts_fit_32_bits);
    suite_add_tcase(s, tc);
    return s;
}
