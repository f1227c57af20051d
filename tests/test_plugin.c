/* test_plugin.c — the plugin host (probe/meter/plugin.c) on a real capture: how
 * often each callback runs (on_init once per record, on_update once per
 * later packet, on_expire once per exported record, active-timeout splits
 * included), the verdicts, the fields as element rows, nfp_flow_dpi(), and
 * the load errors. Each test runs in its own process (Check forks), so
 * registrations do not leak between tests. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "decode.h"
#include "dpi.h"
#include "elements.h"
#include "extend.h"
#include "meter.h"
#include "plugin.h"
#include "unit.h"

#define SEC 1000000ull

/* ---- a counting plugin ---------------------------------------------------- */

struct count_state {
    uint64_t packets;       /* packets this record showed the plugin */
    uint64_t first_dir;
    uint8_t touched;        /* the state was zero when the record started */
};

static struct {
    uint64_t init, update, expire, cleanup;
    uint64_t stop_after;        /* NFP_DONE once a record has this many (0: never) */
    uint64_t export_after;      /* NFP_EXPORT once a record has this many (0: never) */
    uint64_t dpi_named;         /* on_expire saw a DPI application name */
} calls;

static int verdict(const struct count_state *st)
{
    if (calls.export_after && st->packets == calls.export_after)
        return NFP_EXPORT;
    if (calls.stop_after && st->packets == calls.stop_after)
        return NFP_DONE;
    return NFP_CONTINUE;
}

static int count_init(void *ctx, void *state, const struct nfp_packet *pkt,
                      const struct nfp_flow *flow)
{
    (void)ctx;
    struct count_state *st = state;
    ck_assert_uint_eq(st->packets + st->touched + st->first_dir, 0);   /* fresh state */
    ck_assert_uint_eq(flow->packets[pkt->direction] >= 1, 1);         /* counted first */
    st->touched = 1;
    st->packets = 1;
    st->first_dir = pkt->direction;
    calls.init++;
    return verdict(st);
}

static int count_update(void *ctx, void *state, const struct nfp_packet *pkt,
                        const struct nfp_flow *flow)
{
    (void)ctx, (void)pkt, (void)flow;
    struct count_state *st = state;
    ck_assert_uint_eq(st->touched, 1);
    st->packets++;
    calls.update++;
    return verdict(st);
}

static void count_expire(void *ctx, void *state, const struct nfp_flow *flow,
                         enum nfp_end_reason reason)
{
    (void)ctx, (void)state;
    ck_assert_int_ge(reason, NFP_END_IDLE);
    ck_assert_int_le(reason, NFP_END_LACK_OF_RESOURCES);
    struct nfp_dpi d;
    if (nfp_flow_dpi(flow, &d) == 0 && d.application_name && d.application_name[0])
        calls.dpi_named++;
    calls.expire++;
}

static void count_cleanup(void *ctx)
{
    (void)ctx;
    calls.cleanup++;
}

static const struct nfp_field count_fields[] = {
    {.name = "testRecordPackets", .id = 1, .type = NFP_U64,
     .offset = offsetof(struct count_state, packets), .json = "test_record_packets"},
    {.name = "testFirstDirection", .id = 2, .type = NFP_U8,
     .offset = offsetof(struct count_state, touched)},
};

static const struct nfp_plugin counter = {
    .api_version = NFP_API_VERSION, .name = "counter", .state_size = sizeof(struct count_state),
    .fields = count_fields, .nfields = 2, .on_init = count_init, .on_update = count_update,
    .on_expire = count_expire, .cleanup = count_cleanup,
};

/* ---- a capture through a meter -------------------------------------------- */

static struct {
    uint64_t records, packets, active_splits, ext_exports, max_record_packets;
    uint64_t field_mismatch;
} got;

static void sink(void *ctx, const struct flow_record *r)
{
    (void)ctx;
    uint64_t n = r->packets[0] + r->packets[1];
    got.records++;
    got.packets += n;
    got.active_splits += r->end_reason == END_ACTIVE;
    if (n > got.max_record_packets)
        got.max_record_packets = n;
    ck_assert_uint_eq(calls.expire, got.records);    /* on_expire ran just before */
    struct elem_value v;
    memset(&v, 0, sizeof v);
    const struct element *el = elements_find("testRecordPackets");
    ck_assert_ptr_nonnull(el);
    ck_assert(element_get(el, r, VIEW_FWD, &v));
    /* With NFP_DONE the plugin stops counting; otherwise its count is the record's. */
    uint64_t want = calls.stop_after && n > calls.stop_after ? calls.stop_after : n;
    got.field_mismatch += v.u != want;
}

static void load_counter(void)
{
    char err[512] = "";
    ck_assert_msg(plugin_load_descriptor(&counter, "counter", NULL, NFP_DEFAULT_PEN, 0, err,
                                         sizeof err) == 0, "%s", err);
}

static const size_t *dpi_offset_after_attach;

/* Meter a capture with the registered extensions; active timeout in s. */
static void run_capture(const char *name, uint64_t active_s)
{
    char err[512];
    struct meter m;
    struct meter_config cfg = {30 * SEC, active_s * SEC, 2 * SEC, 100000};
    ck_assert_int_eq(meter_init(&m, &cfg, sink, NULL), 0);
    ck_assert_int_eq(extend_attach(&m, 0), 0);
    if (dpi_offset_after_attach)    /* as main.c: the DPI learns where its state sits */
        dpi_set_state_offset(*dpi_offset_after_attach);
    struct capture *c = capture_open_file(shared_capture(name), NULL, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    int dlt = capture_datalink(c);
    struct capture_packet pkt;
    while (capture_next(c, &pkt) == CAPTURE_PACKET) {
        struct packet_view pv;
        enum decode_status st = decode_packet(dlt, pkt.data, pkt.caplen, pkt.wirelen, pkt.ts_us, &pv);
        meter_packet(&m, st, &pv);
    }
    meter_flush(&m);
    ck_assert_uint_eq(got.packets, m.stats.decoded);    /* every metered packet in a record */
    got.ext_exports = m.stats.ext_exports;
    capture_close(c);
    meter_free(&m);
}

/* 1kxun: 145 flows; with a 1 s active timeout, 353 of its records are splits. */
START_TEST(callbacks_run_once_per_record_packet_and_export)
{
    load_counter();
    run_capture("1kxun.pcap", 1);
    ck_assert_uint_gt(got.active_splits, 300);
    ck_assert_uint_eq(calls.init, got.records);
    ck_assert_uint_eq(calls.update, got.packets - got.records);
    ck_assert_uint_eq(calls.expire, got.records);
    ck_assert_uint_eq(got.field_mismatch, 0);
    plugins_unload();
    ck_assert_uint_eq(calls.cleanup, 1);
    plugins_unload();
    ck_assert_uint_eq(calls.cleanup, 1);    /* once */
}
END_TEST

START_TEST(without_splits_init_runs_once_per_flow)
{
    load_counter();
    run_capture("1kxun.pcap", 10000);
    ck_assert_uint_eq(got.active_splits, 0);
    ck_assert_uint_eq(got.records, 145);
    ck_assert_uint_eq(calls.init, 145);
    ck_assert_uint_eq(calls.update, got.packets - 145);
    ck_assert_uint_eq(got.field_mismatch, 0);
}
END_TEST

/* NFP_DONE: no more updates in that record; a split starts a new one. */
START_TEST(done_stops_updates_until_the_next_record)
{
    calls.stop_after = 3;
    load_counter();
    run_capture("1kxun.pcap", 1);
    ck_assert_uint_gt(got.active_splits, 300);
    ck_assert_uint_eq(calls.init, got.records);
    ck_assert_uint_eq(got.field_mismatch, 0);     /* each record counted min(n, 3) */
    ck_assert_uint_lt(calls.update, 2 * got.records);
}
END_TEST

/* NFP_EXPORT: the flow goes out at once; its next packet starts a new flow. */
START_TEST(export_verdict_exports_the_flow_now)
{
    calls.export_after = 4;
    load_counter();
    run_capture("1kxun.pcap", 10000);
    ck_assert_uint_eq(got.max_record_packets, 4);
    ck_assert_uint_gt(got.ext_exports, 0);
    ck_assert_uint_gt(got.records, 145);
    ck_assert_uint_eq(calls.init, got.records);
    ck_assert_uint_eq(got.field_mismatch, 0);
}
END_TEST

START_TEST(plugins_read_the_dpi_result)
{
    char err[512];
    struct dpi_config cfg = {10, 16};
    struct dpi *d = dpi_new(&cfg, err, sizeof err);
    ck_assert_msg(d != NULL, "%s", err);
    size_t dpi_offset = 0;
    ck_assert_int_eq(dpi_extend(d, &dpi_offset, err, sizeof err), 0);
    load_counter();
    plugins_set_dpi(d);
    dpi_offset_after_attach = &dpi_offset;
    run_capture("1kxun.pcap", 10000);
    ck_assert_uint_eq(calls.expire, 145);
    ck_assert_uint_gt(calls.dpi_named, 100);     /* most of 1kxun's flows are named */
    plugins_set_dpi(NULL);
    dpi_free(d);
}
END_TEST

START_TEST(without_dpi_nfp_flow_dpi_says_so)
{
    load_counter();
    run_capture("1kxun.pcap", 10000);
    ck_assert_uint_eq(calls.dpi_named, 0);
    struct nfp_dpi out;
    struct nfp_flow f = {0};
    ck_assert_int_eq(nfp_flow_dpi(&f, &out), -1);
}
END_TEST

/* The field rows: names, ids under the PEN, types, JSON names. */
START_TEST(fields_become_element_rows)
{
    char err[512] = "";
    ck_assert_int_eq(plugin_load_descriptor(&counter, "counter", NULL, 12345, 0, err, sizeof err), 0);
    const struct element *a = elements_find("testRecordPackets");
    const struct element *b = elements_find("testFirstDirection");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(a->pen, 12345);
    ck_assert_uint_eq(a->id, 1);
    ck_assert_int_eq(a->type, ET_UNSIGNED);
    ck_assert_uint_eq(a->len, 8);
    ck_assert_str_eq(a->json, "test_record_packets");
    ck_assert_uint_eq(b->len, 1);
    ck_assert_str_eq(b->json, "testFirstDirection");   /* no JSON name: the IPFIX one */
    ck_assert_uint_eq(b->v9_id, 0);                     /* NetFlow v9 has no PEN */
    /* the built-in templates gain both */
    struct template_def t = {0};
    ck_assert_int_eq(extend_template_append(&t), 0);
    ck_assert_uint_eq(t.nfields, 2);
    template_free(&t);
}
END_TEST

/* ---- load errors ------------------------------------------------------------ */

static void expect_load_error(const struct nfp_plugin *p, const char *args, const char *want)
{
    char err[512] = "";
    ck_assert_int_eq(plugin_load_descriptor(p, "bad.so", args, NFP_DEFAULT_PEN, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "plugin bad.so: ") == err, "message names the plugin: %s", err);
    ck_assert_msg(strstr(err, want) != NULL, "'%s' in '%s'", want, err);
}

static int failing_init(struct nfp_plugin *self, const char *args, char *err, size_t errlen)
{
    (void)self;
    snprintf(err, errlen, "bad argument '%s'", args ? args : "");
    return -1;
}

START_TEST(load_errors_name_the_plugin_and_the_reason)
{
    struct nfp_plugin p = counter;
    p.api_version = NFP_API_VERSION + 1;
    expect_load_error(&p, NULL, "plugin API version 2");
    p = counter;
    p.name = NULL;
    expect_load_error(&p, NULL, "no name");
    p = counter;
    expect_load_error(&p, "x=1", "takes no arguments");
    p = counter;
    p.init = failing_init;
    expect_load_error(&p, "n=0", "bad argument 'n=0'");

    struct nfp_field f[2] = {count_fields[0], count_fields[1]};
    p = counter;
    p.fields = f;
    f[0].offset = sizeof(struct count_state) - 4;      /* 8 bytes from 4 before the end */
    expect_load_error(&p, NULL, "outside the per-flow state");
    f[0] = count_fields[0];
    f[0].id = 0;
    expect_load_error(&p, NULL, "element id outside 1..16383");
    f[0] = count_fields[0];
    f[0].name = "octetDeltaCount";
    expect_load_error(&p, NULL, "clashes with element octetDeltaCount");
    f[0] = count_fields[0];
    f[0].json = "src_ip";
    expect_load_error(&p, NULL, "clashes with element sourceIPv4Address");
    f[0] = count_fields[0];
    f[1].id = f[0].id;
    expect_load_error(&p, NULL, "share a name or an id");
    f[1] = count_fields[1];
    f[0].list = 1;
    f[0].size = 2;
    f[0].count_offset = sizeof(struct count_state);
    expect_load_error(&p, NULL, "item count outside");
    f[0] = count_fields[0];
    f[0].type = (enum nfp_type)99;
    expect_load_error(&p, NULL, "unknown type");
    /* after all that, a good one still loads, and a second copy clashes */
    load_counter();
    char err[512] = "";
    ck_assert_int_eq(plugin_load_descriptor(&counter, "again", NULL, NFP_DEFAULT_PEN, 0, err,
                                            sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "clashes with element testRecordPackets"));
}
END_TEST

START_TEST(unknown_names_and_paths_are_refused)
{
    char err[512] = "";
    ck_assert_int_eq(plugin_load("nosuch", NFP_DEFAULT_PEN, 0, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no such built-in plugin"));
    ck_assert_ptr_nonnull(strstr(err, "splt"));
    ck_assert_int_eq(plugin_load("/nonexistent/x.so:a=1", NFP_DEFAULT_PEN, 0, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "plugin /nonexistent/x.so: cannot load it"));
    ck_assert_int_eq(plugin_load(":a", NFP_DEFAULT_PEN, 0, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "no name or path"));
}
END_TEST

static void reset(void)
{
    memset(&calls, 0, sizeof calls);
    memset(&got, 0, sizeof got);
}

Suite *plugin_suite(void)
{
    Suite *s = suite_create("plugin");
    TCase *tc = tcase_create("host");
    /* It meters ../shared captures: a build without them (a Debian package
     * build, debian/rules) leaves it out with CK_EXCLUDE_TAGS. */
    tcase_set_tags(tc, "shared-captures");
    tcase_add_checked_fixture(tc, reset, NULL);
    tcase_add_test(tc, callbacks_run_once_per_record_packet_and_export);
    tcase_add_test(tc, without_splits_init_runs_once_per_flow);
    tcase_add_test(tc, done_stops_updates_until_the_next_record);
    tcase_add_test(tc, export_verdict_exports_the_flow_now);
    tcase_add_test(tc, plugins_read_the_dpi_result);
    tcase_add_test(tc, without_dpi_nfp_flow_dpi_says_so);
    tcase_add_test(tc, fields_become_element_rows);
    tcase_add_test(tc, load_errors_name_the_plugin_and_the_reason);
    tcase_add_test(tc, unknown_names_and_paths_are_refused);
    suite_add_tcase(s, tc);
    return s;
}
