/* test_splt_flowstats.c — the `splt` and `flowstats` built-in plugins,
 * driven directly through their descriptors as the host does: init on a copy
 * of the descriptor with the -P arguments, a zeroed state of state_size per
 * record, on_init with the record's first packet, on_update with the later
 * ones (until NFP_DONE), on_expire, cleanup. Every value is read back
 * through the returned nfp_field rows (offset, type, list count), so the
 * field descriptors are tested along with the numbers. Expected values are
 * worked out by hand from nfstream's definitions (see the plugins' headers);
 * standard deviations are also checked against a two-pass computation. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/builtin.h"
#include "unit.h"

#define TCP 6
#define UDP 17

enum { F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10,
       F_URG = 0x20, F_ECE = 0x40, F_CWR = 0x80 };

/* One packet of a hand-made record. */
struct tpkt {
    uint64_t t_us;
    uint8_t dir;
    uint32_t ip_len;
    uint8_t flags;
};

/* ---- a minimal host ------------------------------------------------------- */

struct host {
    struct nfp_plugin p;        /* the plugin's own copy */
    char err[256];
};

static int host_init(struct host *h, const struct nfp_plugin *desc, const char *args)
{
    memset(h, 0, sizeof *h);
    h->p = *desc;
    ck_assert_uint_eq(h->p.api_version, NFP_API_VERSION);
    ck_assert_ptr_nonnull(h->p.init);
    return h->p.init(&h->p, args, h->err, sizeof h->err);
}

static void host_cleanup(struct host *h)
{
    if (h->p.cleanup)
        h->p.cleanup(h->p.ctx);
}

/* A record: a fresh zeroed state, the callbacks as the host calls them
 * (packets counted into the flow first; no on_update after NFP_DONE), then
 * on_expire. Returns the state (free it); *done_at = packet index (1-based)
 * at which the plugin said NFP_DONE, 0 if never. */
static uint8_t *run_record(struct host *h, const struct tpkt *pk, size_t n, uint8_t proto,
                           size_t *done_at)
{
    uint8_t *state = calloc(1, h->p.state_size ? h->p.state_size : 1);
    ck_assert_ptr_nonnull(state);
    struct nfp_flow flow = {0};
    uint8_t ip[40] = {0x45};
    int done = 0;
    if (done_at)
        *done_at = 0;
    for (size_t i = 0; i < n; i++) {
        int d = pk[i].dir;
        if (!flow.first_us[d])
            flow.first_us[d] = pk[i].t_us;
        flow.last_us[d] = pk[i].t_us;
        flow.packets[d]++;
        flow.ip_octets[d] += pk[i].ip_len;
        flow.l2_octets[d] += pk[i].ip_len + 14;
        struct nfp_packet p = {
            .time_us = pk[i].t_us, .caplen = pk[i].ip_len + 14, .wirelen = pk[i].ip_len + 14,
            .ip_len = pk[i].ip_len, .ip = ip, .ip_caplen = sizeof ip, .l4 = ip + 20,
            .l4_caplen = 20, .src = ip, .dst = ip, .sport = 1234, .dport = 80,
            .ip_version = 4, .proto = proto, .tcp_flags = pk[i].flags,
            .direction = pk[i].dir,
        };
        if (done)
            continue;
        int rc = i == 0 ? h->p.on_init(h->p.ctx, state, &p, &flow)
                        : h->p.on_update(h->p.ctx, state, &p, &flow);
        ck_assert(rc == NFP_CONTINUE || rc == NFP_DONE);
        if (rc == NFP_DONE) {
            done = 1;
            if (done_at)
                *done_at = i + 1;
        }
    }
    if (h->p.on_expire)
        h->p.on_expire(h->p.ctx, state, &flow, NFP_END_IDLE);
    return state;
}

static size_t type_size(enum nfp_type t)
{
    size_t n = nfp_type_size(t);
    ck_assert_msg(n != 0, "bad type %d", (int)t);
    return n;
}

static const struct nfp_field *field(const struct host *h, const char *json)
{
    for (size_t i = 0; i < h->p.nfields; i++) {
        const struct nfp_field *f = &h->p.fields[i];
        if (strcmp(f->json ? f->json : f->name, json) == 0)
            return f;
    }
    ck_abort_msg("no field %s", json);
    return NULL;
}

static uint64_t read_uint(const uint8_t *at, enum nfp_type t)
{
    switch (t) {
    case NFP_U8: return *at;
    case NFP_U16: { uint16_t x; memcpy(&x, at, 2); return x; }
    case NFP_U32: { uint32_t x; memcpy(&x, at, 4); return x; }
    case NFP_U64: { uint64_t x; memcpy(&x, at, 8); return x; }
    default: ck_abort_msg("not an unsigned type: %d", (int)t);
    }
    return 0;
}

static uint64_t get_u(const struct host *h, const uint8_t *state, const char *json)
{
    const struct nfp_field *f = field(h, json);
    ck_assert_int_eq(f->list, 0);
    return read_uint(state + f->offset, f->type);
}

static double get_f(const struct host *h, const uint8_t *state, const char *json)
{
    const struct nfp_field *f = field(h, json);
    ck_assert_int_eq(f->list, 0);
    ck_assert_int_eq(f->type, NFP_F64);
    double x;
    memcpy(&x, state + f->offset, 8);
    return x;
}

static uint32_t list_count(const struct host *h, const uint8_t *state, const char *json)
{
    const struct nfp_field *f = field(h, json);
    ck_assert_int_eq(f->list, 1);
    uint32_t c;
    memcpy(&c, state + f->count_offset, sizeof c);
    ck_assert_uint_le(c, f->size);
    return c;
}

static uint64_t list_item(const struct host *h, const uint8_t *state, const char *json, uint32_t i)
{
    const struct nfp_field *f = field(h, json);
    ck_assert_uint_lt(i, list_count(h, state, json));
    return read_uint(state + f->offset + (size_t)i * type_size(f->type), f->type);
}

/* The field rows are well formed: unique names and ids in range, every
 * field (and list count) inside the state, no two fields overlapping. */
static void check_layout(const struct host *h, uint16_t id_lo, uint16_t id_hi)
{
    size_t n = h->p.nfields;
    ck_assert_uint_gt(n, 0);
    uint8_t *used = calloc(1, h->p.state_size);
    ck_assert_ptr_nonnull(used);
    for (size_t i = 0; i < n; i++) {
        const struct nfp_field *f = &h->p.fields[i];
        ck_assert_ptr_nonnull(f->name);
        ck_assert_ptr_nonnull(f->json);
        ck_assert_msg(f->id >= id_lo && f->id <= id_hi, "%s: id %u", f->name, f->id);
        size_t len = type_size(f->type) * (f->list ? f->size : 1);
        ck_assert_uint_le(f->offset + len, h->p.state_size);
        ck_assert_uint_eq(f->offset % type_size(f->type), 0);
        for (size_t b = f->offset; b < f->offset + len; b++) {
            ck_assert_msg(!used[b], "%s overlaps another field at byte %zu", f->name, b);
            used[b] = 1;
        }
        if (f->list) {
            ck_assert_uint_le(f->count_offset + sizeof(uint32_t), h->p.state_size);
            ck_assert_uint_eq(f->count_offset % sizeof(uint32_t), 0);
        }
        for (size_t j = 0; j < i; j++) {
            ck_assert_str_ne(f->name, h->p.fields[j].name);
            ck_assert_str_ne(f->json, h->p.fields[j].json);
            ck_assert_uint_ne(f->id, h->p.fields[j].id);
        }
    }
    /* A list count must not sit inside any exported item. */
    for (size_t i = 0; i < n; i++)
        if (h->p.fields[i].list)
            ck_assert_int_eq(used[h->p.fields[i].count_offset], 0);
    free(used);
}

/* ==== splt ================================================================== */

START_TEST(splt_fields_default)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_splt, NULL), 0);
    ck_assert_str_eq(h.p.name, "splt");
    ck_assert_uint_eq(h.p.nfields, 3);
    ck_assert_uint_eq(h.p.state_size, 88);      /* 16 + 7 * 10, rounded to 8 */
    static const struct { const char *name, *json; uint16_t id; enum nfp_type t; } want[] = {
        {"spltDirection", "splt_direction", 10, NFP_U8},
        {"spltPacketSize", "splt_ps", 11, NFP_U16},
        {"spltInterArrivalMs", "splt_piat_ms", 12, NFP_U32},
    };
    for (int i = 0; i < 3; i++) {
        const struct nfp_field *f = field(&h, want[i].json);
        ck_assert_str_eq(f->name, want[i].name);
        ck_assert_uint_eq(f->id, want[i].id);
        ck_assert_int_eq(f->type, want[i].t);
        ck_assert_int_eq(f->list, 1);
        ck_assert_uint_eq(f->size, 10);
    }
    check_layout(&h, 10, 19);
    /* The descriptor itself is untouched: init changed the copy only. */
    ck_assert_ptr_null(nfp_builtin_splt.fields);
    ck_assert_ptr_null(nfp_builtin_splt.ctx);
    host_cleanup(&h);

    /* An empty argument string is the default too. */
    ck_assert_int_eq(host_init(&h, &nfp_builtin_splt, ""), 0);
    ck_assert_uint_eq(h.p.state_size, 88);
    ck_assert_uint_eq(field(&h, "splt_ps")->size, 10);
    host_cleanup(&h);
}
END_TEST

/* 13 packets (N + 3) both directions: the first 10 are kept, NFP_DONE comes
 * with the 10th, piat is the gap to the previous packet of either direction
 * on millisecond-truncated times. */
START_TEST(splt_thirteen_packets)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_splt, NULL), 0);
    const struct tpkt pk[] = {
        {1000000900, 0, 60, F_SYN},          /* 1000000 ms */
        {1000010500, 1, 60, F_SYN | F_ACK},  /* 1000010 ms: 9.6 ms later, counts 10 */
        {1000021000, 0, 52, F_ACK},          /* 1000021: 11 */
        {1000021999, 0, 517, F_PSH | F_ACK}, /* 1000021: 0 (0.999 ms) */
        {1000080000, 1, 1500, F_ACK},        /* 1000080: 59 */
        {1000080000, 1, 1500, F_ACK},        /* same time: 0 */
        {1003080000, 1, 1420, F_PSH},        /* 3 s later: 3000 */
        {1003080100, 0, 40, F_ACK},          /* 0 */
        {1003081050, 0, 40, F_ACK},          /* 1003081 - 1003080 = 1 */
        {1003581050, 1, 99, F_ACK},          /* 500 */
        {1003590000, 0, 40, F_FIN},          /* beyond N */
        {1003600000, 1, 40, F_FIN},
        {1003610000, 0, 40, F_ACK},
    };
    size_t done_at;
    uint8_t *st = run_record(&h, pk, 13, TCP, &done_at);
    ck_assert_uint_eq(done_at, 10);
    static const uint8_t dir[] = {0, 1, 0, 0, 1, 1, 1, 0, 0, 1};
    static const uint16_t ps[] = {60, 60, 52, 517, 1500, 1500, 1420, 40, 40, 99};
    static const uint32_t piat[] = {0, 10, 11, 0, 59, 0, 3000, 0, 1, 500};
    ck_assert_uint_eq(list_count(&h, st, "splt_direction"), 10);
    ck_assert_uint_eq(list_count(&h, st, "splt_ps"), 10);
    ck_assert_uint_eq(list_count(&h, st, "splt_piat_ms"), 10);
    for (uint32_t i = 0; i < 10; i++) {
        ck_assert_uint_eq(list_item(&h, st, "splt_direction", i), dir[i]);
        ck_assert_uint_eq(list_item(&h, st, "splt_ps", i), ps[i]);
        ck_assert_uint_eq(list_item(&h, st, "splt_piat_ms", i), piat[i]);
    }

    /* A host that kept calling after NFP_DONE changes nothing (no overrun). */
    uint8_t *copy = malloc(h.p.state_size);
    memcpy(copy, st, h.p.state_size);
    struct nfp_flow flow = {0};
    struct nfp_packet p = {.time_us = 1003700000, .ip_len = 777, .direction = 1, .proto = TCP};
    ck_assert_int_eq(h.p.on_update(h.p.ctx, st, &p, &flow), NFP_DONE);
    ck_assert_mem_eq(copy, st, h.p.state_size);
    free(copy);
    free(st);
    host_cleanup(&h);
}
END_TEST

START_TEST(splt_one_packet)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_splt, NULL), 0);
    const struct tpkt pk[] = {{1234567890123, 0, 1280, 0}};
    size_t done_at;
    uint8_t *st = run_record(&h, pk, 1, UDP, &done_at);
    ck_assert_uint_eq(done_at, 0);
    ck_assert_uint_eq(list_count(&h, st, "splt_direction"), 1);
    ck_assert_uint_eq(list_count(&h, st, "splt_ps"), 1);
    ck_assert_uint_eq(list_count(&h, st, "splt_piat_ms"), 1);
    ck_assert_uint_eq(list_item(&h, st, "splt_direction", 0), 0);
    ck_assert_uint_eq(list_item(&h, st, "splt_ps", 0), 1280);
    ck_assert_uint_eq(list_item(&h, st, "splt_piat_ms", 0), 0);
    free(st);
    host_cleanup(&h);
}
END_TEST

START_TEST(splt_n1)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_splt, "n=1"), 0);
    ck_assert_uint_eq(h.p.state_size, 24);      /* 16 + 7 = 23 -> 24 */
    ck_assert_uint_eq(field(&h, "splt_direction")->size, 1);
    check_layout(&h, 10, 19);
    const struct tpkt pk[] = {{5000, 0, 100, 0}, {9000, 1, 200, 0}, {19000, 0, 300, 0}};
    size_t done_at;
    uint8_t *st = run_record(&h, pk, 3, UDP, &done_at);
    ck_assert_uint_eq(done_at, 1);              /* on_init already says done */
    ck_assert_uint_eq(list_count(&h, st, "splt_ps"), 1);
    ck_assert_uint_eq(list_item(&h, st, "splt_ps", 0), 100);
    ck_assert_uint_eq(list_item(&h, st, "splt_direction", 0), 0);
    ck_assert_uint_eq(list_item(&h, st, "splt_piat_ms", 0), 0);
    free(st);
    host_cleanup(&h);
}
END_TEST

START_TEST(splt_n255)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_splt, "n=255"), 0);
    ck_assert_uint_eq(h.p.state_size, 1808);    /* 16 + 7 * 255 = 1801 -> 1808 */
    ck_assert_uint_eq(field(&h, "splt_piat_ms")->size, 255);
    check_layout(&h, 10, 19);
    enum { NPK = 300 };
    struct tpkt *pk = calloc(NPK, sizeof *pk);
    uint64_t t = 7000000;
    for (int i = 0; i < NPK; i++) {
        t += (uint64_t)i * 1000 + 250;       /* gap i ms + 0.25 ms */
        pk[i] = (struct tpkt){t, (uint8_t)(i % 3 == 1), (uint32_t)(40 + i), 0};
    }
    size_t done_at;
    uint8_t *st = run_record(&h, pk, NPK, TCP, &done_at);
    ck_assert_uint_eq(done_at, 255);
    ck_assert_uint_eq(list_count(&h, st, "splt_ps"), 255);
    for (uint32_t i = 0; i < 255; i++) {
        ck_assert_uint_eq(list_item(&h, st, "splt_ps", i), 40 + i);
        ck_assert_uint_eq(list_item(&h, st, "splt_direction", i), i % 3 == 1);
        uint64_t want = i == 0 ? 0 : pk[i].t_us / 1000 - pk[i - 1].t_us / 1000;
        ck_assert_uint_eq(list_item(&h, st, "splt_piat_ms", i), want);
    }
    /* Spot values worked out by hand: t_i = 7000000 + i(i+1)/2 ms + 250(i+1) us. */
    ck_assert_uint_eq(list_item(&h, st, "splt_piat_ms", 1), 1);     /* 7001.500 - 7000.250 */
    ck_assert_uint_eq(list_item(&h, st, "splt_piat_ms", 3), 4);     /* 7007.000 - 7003.750 -> 7007 - 7003 */
    ck_assert_uint_eq(list_item(&h, st, "splt_piat_ms", 254), 254);
    ck_assert_uint_eq(list_item(&h, st, "splt_ps", 254), 294);
    free(pk);
    free(st);
    host_cleanup(&h);
}
END_TEST

/* Sizes above 65535 (IPv6 jumbograms) are capped; a packet timed before the
 * previous one gets 0, not a wrapped difference. */
START_TEST(splt_edges)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_splt, "n=4"), 0);
    ck_assert_uint_eq(h.p.state_size, 48);      /* 16 + 28 = 44 -> 48 */
    const struct tpkt pk[] = {
        {50000000, 0, 70000, 0}, {49990000, 1, 65535, 0}, {50005000, 0, 65536, 0}, {50005000, 1, 0, 0},
    };
    uint8_t *st = run_record(&h, pk, 4, UDP, NULL);
    ck_assert_uint_eq(list_count(&h, st, "splt_ps"), 4);
    ck_assert_uint_eq(list_item(&h, st, "splt_ps", 0), 65535);
    ck_assert_uint_eq(list_item(&h, st, "splt_ps", 1), 65535);
    ck_assert_uint_eq(list_item(&h, st, "splt_ps", 2), 65535);
    ck_assert_uint_eq(list_item(&h, st, "splt_ps", 3), 0);
    ck_assert_uint_eq(list_item(&h, st, "splt_piat_ms", 1), 0);
    ck_assert_uint_eq(list_item(&h, st, "splt_piat_ms", 2), 15);    /* 50005 - 49990 */
    ck_assert_uint_eq(list_item(&h, st, "splt_piat_ms", 3), 0);
    free(st);
    host_cleanup(&h);
}
END_TEST

START_TEST(splt_bad_arguments)
{
    static const struct { const char *args, *msg; } bad[] = {
        {"n=x", "splt: n must be 1..255, got 'x'"},
        {"n=0", "splt: n must be 1..255, got '0'"},
        {"n=256", "splt: n must be 1..255, got '256'"},
        {"n=", "splt: n must be 1..255, got ''"},
        {"n=10x", "splt: n must be 1..255, got '10x'"},
        {"n=-1", "splt: n must be 1..255, got '-1'"},
        {"n= 5", "splt: n must be 1..255, got ' 5'"},
        {"n=99999999999999999999", "splt: n must be 1..255, got '99999999999999999999'"},
        {"m=3", "splt: unknown argument 'm=3' (expected n=N, N = 1..255)"},
        {"10", "splt: unknown argument '10' (expected n=N, N = 1..255)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct host h;
        ck_assert_int_eq(host_init(&h, &nfp_builtin_splt, bad[i].args), -1);
        ck_assert_str_eq(h.err, bad[i].msg);
        ck_assert_ptr_null(h.p.ctx);            /* nothing to clean up */
    }
    /* A short error buffer is truncated, not overrun. */
    struct nfp_plugin p = nfp_builtin_splt;
    char small[8];
    memset(small, 'Z', sizeof small);
    ck_assert_int_eq(p.init(&p, "n=x", small, 6), -1);
    ck_assert_str_eq(small, "splt:");
    ck_assert_int_eq(small[6], 'Z');
}
END_TEST

/* Records are independent: each starts from a zeroed state, and nothing of a
 * flow is kept in the plugin's context. */
START_TEST(splt_fresh_state_per_record)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_splt, "n=3"), 0);
    struct nfp_field before[3];
    memcpy(before, h.p.fields, sizeof before);
    const struct tpkt a[] = {{1000000, 0, 100, 0}, {1005000, 1, 200, 0}, {1010000, 0, 300, 0},
                             {1020000, 1, 400, 0}};
    const struct tpkt b[] = {{2000000, 0, 77, 0}, {2500000, 0, 88, 0}};
    uint8_t *sa = run_record(&h, a, 4, UDP, NULL);
    uint8_t *sb = run_record(&h, b, 2, UDP, NULL);
    uint8_t *sa2 = run_record(&h, a, 4, UDP, NULL);
    ck_assert_mem_eq(sa, sa2, h.p.state_size);
    ck_assert_mem_eq(before, h.p.fields, sizeof before);
    ck_assert_uint_eq(list_count(&h, sb, "splt_ps"), 2);
    ck_assert_uint_eq(list_item(&h, sb, "splt_ps", 0), 77);
    ck_assert_uint_eq(list_item(&h, sb, "splt_ps", 1), 88);
    ck_assert_uint_eq(list_item(&h, sb, "splt_piat_ms", 0), 0);
    ck_assert_uint_eq(list_item(&h, sb, "splt_piat_ms", 1), 500);
    ck_assert_uint_eq(list_count(&h, sa, "splt_ps"), 3);
    ck_assert_uint_eq(list_item(&h, sa, "splt_piat_ms", 2), 5);
    ck_assert_uint_eq(list_item(&h, sa, "splt_direction", 1), 1);
    free(sa);
    free(sb);
    free(sa2);
    host_cleanup(&h);
}
END_TEST

/* ==== flowstats ============================================================= */

static const char *const scopes[3] = {"bidirectional", "src2dst", "dst2src"};
static const char *const flag_names[8] = {"syn", "cwr", "ece", "urg", "ack", "psh", "rst", "fin"};

/* "src2dst_stddev_piat_ms" -> "src2dstStddevPiatMs" */
static void camel(const char *json, char *out, size_t outlen)
{
    size_t o = 0;
    int up = 0;
    for (const char *c = json; *c && o + 1 < outlen; c++) {
        if (*c == '_') {
            up = 1;
            continue;
        }
        out[o++] = up && *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;
        up = 0;
    }
    out[o] = 0;
}

START_TEST(flowstats_fields)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, NULL), 0);
    ck_assert_str_eq(h.p.name, "flowstats");
    ck_assert_uint_eq(h.p.nfields, 48);
    ck_assert_uint_eq(h.p.state_size, 272);
    check_layout(&h, 100, 199);

    /* Every nfstream name, in nfstream's order, with its id and type. */
    uint16_t id = 100;
    char json[64], ipfix[64];
    static const char *const ps[4] = {"min_ps", "mean_ps", "stddev_ps", "max_ps"};
    static const char *const piat[4] = {"min_piat_ms", "mean_piat_ms", "stddev_piat_ms", "max_piat_ms"};
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 4; k++) {
            snprintf(json, sizeof json, "%s_%s", scopes[s], ps[k]);
            const struct nfp_field *f = field(&h, json);
            camel(json, ipfix, sizeof ipfix);
            ck_assert_str_eq(f->name, ipfix);
            ck_assert_uint_eq(f->id, id++);
            ck_assert_int_eq(f->type, k == 0 || k == 3 ? NFP_U32 : NFP_F64);
        }
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 4; k++) {
            snprintf(json, sizeof json, "%s_%s", scopes[s], piat[k]);
            const struct nfp_field *f = field(&h, json);
            camel(json, ipfix, sizeof ipfix);
            ck_assert_str_eq(f->name, ipfix);
            ck_assert_uint_eq(f->id, id++);
            ck_assert_int_eq(f->type, k == 0 || k == 3 ? NFP_U64 : NFP_F64);
        }
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 8; k++) {
            snprintf(json, sizeof json, "%s_%s_packets", scopes[s], flag_names[k]);
            const struct nfp_field *f = field(&h, json);
            camel(json, ipfix, sizeof ipfix);
            ck_assert_str_eq(f->name, ipfix);
            ck_assert_uint_eq(f->id, id++);
            ck_assert_int_eq(f->type, NFP_U32);
        }
    ck_assert_uint_eq(id, 148);
    /* A few spelled out, in case camel() is wrong the same way. */
    ck_assert_str_eq(field(&h, "bidirectional_min_ps")->name, "bidirectionalMinPs");
    ck_assert_str_eq(field(&h, "src2dst_syn_packets")->name, "src2dstSynPackets");
    ck_assert_str_eq(field(&h, "dst2src_stddev_piat_ms")->name, "dst2srcStddevPiatMs");
    ck_assert_uint_eq(field(&h, "dst2src_fin_packets")->id, 147);
    host_cleanup(&h);
}
END_TEST

START_TEST(flowstats_bad_arguments)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, "n=3"), -1);
    ck_assert_str_eq(h.err, "flowstats: takes no arguments, got 'n=3'");
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, ""), 0);
    host_cleanup(&h);
}
END_TEST

/* Two-pass sample standard deviation. */
static double two_pass_sd(const double *x, size_t n)
{
    if (n < 2)
        return 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i];
    double mean = sum / (double)n, ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    return sqrt(ss / (double)(n - 1));
}

/* Everything for one scope, computed the slow way from the packet list. */
struct expect {
    uint64_t n, min_ps, max_ps, min_piat, max_piat, flags[8];
    double mean_ps, sd_ps, mean_piat, sd_piat;
};

static void expect_scope(const struct tpkt *pk, size_t n, int scope, uint8_t proto, struct expect *e)
{
    static const uint8_t bits[8] = {F_SYN, F_CWR, F_ECE, F_URG, F_ACK, F_PSH, F_RST, F_FIN};
    memset(e, 0, sizeof *e);
    double *ps = calloc(n + 1, sizeof *ps), *piat = calloc(n + 1, sizeof *piat);
    size_t np = 0, ni = 0;
    uint64_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (scope == 1 && pk[i].dir != 0)
            continue;
        if (scope == 2 && pk[i].dir != 1)
            continue;
        uint64_t ms = pk[i].t_us / 1000;
        if (np) {
            uint64_t d = ms > last ? ms - last : 0;
            piat[ni++] = (double)d;
            if (ni == 1 || d < e->min_piat) e->min_piat = d;
            if (d > e->max_piat) e->max_piat = d;
        }
        last = ms;
        ps[np++] = pk[i].ip_len;
        if (np == 1 || pk[i].ip_len < e->min_ps) e->min_ps = pk[i].ip_len;
        if (pk[i].ip_len > e->max_ps) e->max_ps = pk[i].ip_len;
        for (int k = 0; k < 8; k++)
            e->flags[k] += proto == TCP && (pk[i].flags & bits[k]);
    }
    e->n = np;
    double s = 0;
    for (size_t i = 0; i < np; i++) s += ps[i];
    e->mean_ps = np ? s / (double)np : 0;
    s = 0;
    for (size_t i = 0; i < ni; i++) s += piat[i];
    e->mean_piat = ni ? s / (double)ni : 0;
    e->sd_ps = two_pass_sd(ps, np);
    e->sd_piat = two_pass_sd(piat, ni);
    free(ps);
    free(piat);
}

static double stat_rel = 1e-9;     /* relative tolerance of the float checks */

static double rel_tol(double x)
{
    return fabs(x) * stat_rel + 1e-9;
}

/* Compare every field of every scope with the two-pass computation. */
static void check_against_two_pass(const struct host *h, const uint8_t *st, const struct tpkt *pk,
                                   size_t n, uint8_t proto)
{
    char name[64];
    for (int s = 0; s < 3; s++) {
        struct expect e;
        expect_scope(pk, n, s, proto, &e);
#define NAME(suffix) (snprintf(name, sizeof name, "%s_%s", scopes[s], suffix), name)
        ck_assert_uint_eq(get_u(h, st, NAME("min_ps")), e.min_ps);
        ck_assert_uint_eq(get_u(h, st, NAME("max_ps")), e.max_ps);
        ck_assert_double_eq_tol(get_f(h, st, NAME("mean_ps")), e.mean_ps, rel_tol(e.mean_ps));
        ck_assert_double_eq_tol(get_f(h, st, NAME("stddev_ps")), e.sd_ps, rel_tol(e.sd_ps));
        ck_assert_uint_eq(get_u(h, st, NAME("min_piat_ms")), e.min_piat);
        ck_assert_uint_eq(get_u(h, st, NAME("max_piat_ms")), e.max_piat);
        ck_assert_double_eq_tol(get_f(h, st, NAME("mean_piat_ms")), e.mean_piat, rel_tol(e.mean_piat));
        ck_assert_double_eq_tol(get_f(h, st, NAME("stddev_piat_ms")), e.sd_piat, rel_tol(e.sd_piat));
        for (int k = 0; k < 8; k++) {
            snprintf(name, sizeof name, "%s_%s_packets", scopes[s], flag_names[k]);
            ck_assert_uint_eq(get_u(h, st, name), e.flags[k]);
        }
#undef NAME
    }
}

/* A TCP conversation in both directions, every value worked out by hand. */
static const struct tpkt conv[] = {
    {900, 0, 60, F_SYN},                        /* 0 ms */
    {10500, 1, 60, F_SYN | F_ACK},              /* 10 ms (9.6 ms later: 10 on truncated times) */
    {21000, 0, 52, F_ACK},                      /* 21 */
    {25900, 0, 500, F_PSH | F_ACK},             /* 25 */
    {80000, 1, 1500, F_ACK | F_ECE},            /* 80 */
    {81999, 1, 40, F_FIN | F_ACK | F_CWR},      /* 81 */
    {90000, 0, 40, F_FIN | F_ACK | F_URG},      /* 90 */
    {95000, 0, 40, F_RST},                      /* 95 */
};

START_TEST(flowstats_conversation)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, NULL), 0);
    size_t done_at;
    uint8_t *st = run_record(&h, conv, 8, TCP, &done_at);
    ck_assert_uint_eq(done_at, 0);      /* never stops */

    /* bidirectional: sizes 60 60 52 500 1500 40 40 40; piats 10 11 4 55 1 9 5 */
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_min_ps"), 40);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_max_ps"), 1500);
    ck_assert_double_eq_tol(get_f(&h, st, "bidirectional_mean_ps"), 286.5, 1e-12);
    /* sum of squares about 286.5: 2*226.5^2 + 234.5^2 + 213.5^2 + 1213.5^2 + 3*246.5^2 */
    ck_assert_double_eq_tol(get_f(&h, st, "bidirectional_stddev_ps"), sqrt(1858046.0 / 7), 1e-9);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_min_piat_ms"), 1);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_max_piat_ms"), 55);
    ck_assert_double_eq_tol(get_f(&h, st, "bidirectional_mean_piat_ms"), 95.0 / 7, 1e-12);

    /* src2dst: sizes 60 52 500 40 40; times 0 21 25 90 95 -> piats 21 4 65 5 */
    ck_assert_uint_eq(get_u(&h, st, "src2dst_min_ps"), 40);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_max_ps"), 500);
    ck_assert_double_eq_tol(get_f(&h, st, "src2dst_mean_ps"), 138.4, 1e-12);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_min_piat_ms"), 4);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_max_piat_ms"), 65);
    ck_assert_double_eq_tol(get_f(&h, st, "src2dst_mean_piat_ms"), 23.75, 1e-12);
    /* (2.75^2 + 19.75^2 + 41.25^2 + 18.75^2) / 3 = 2450.75 / 3 */
    ck_assert_double_eq_tol(get_f(&h, st, "src2dst_stddev_piat_ms"), sqrt(2450.75 / 3), 1e-9);

    /* dst2src: sizes 60 1500 40; times 10 80 81 -> piats 70 1 */
    ck_assert_uint_eq(get_u(&h, st, "dst2src_min_ps"), 40);
    ck_assert_uint_eq(get_u(&h, st, "dst2src_max_ps"), 1500);
    ck_assert_double_eq_tol(get_f(&h, st, "dst2src_mean_ps"), 1600.0 / 3, 1e-9);
    ck_assert_uint_eq(get_u(&h, st, "dst2src_min_piat_ms"), 1);
    ck_assert_uint_eq(get_u(&h, st, "dst2src_max_piat_ms"), 70);
    ck_assert_double_eq_tol(get_f(&h, st, "dst2src_mean_piat_ms"), 35.5, 1e-12);
    ck_assert_double_eq_tol(get_f(&h, st, "dst2src_stddev_piat_ms"), 34.5 * sqrt(2.0), 1e-9);

    /* flags: syn cwr ece urg ack psh rst fin */
    static const uint64_t fb[8] = {2, 1, 1, 1, 6, 1, 1, 2};
    static const uint64_t fs[8] = {1, 0, 0, 1, 3, 1, 1, 1};
    static const uint64_t fd[8] = {1, 1, 1, 0, 3, 0, 0, 1};
    const uint64_t *want[3] = {fb, fs, fd};
    char name[64];
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 8; k++) {
            snprintf(name, sizeof name, "%s_%s_packets", scopes[s], flag_names[k]);
            ck_assert_msg(get_u(&h, st, name) == want[s][k], "%s = %llu, want %llu", name,
                          (unsigned long long)get_u(&h, st, name), (unsigned long long)want[s][k]);
        }

    check_against_two_pass(&h, st, conv, 8, TCP);
    free(st);
    host_cleanup(&h);
}
END_TEST

/* Sample, not population, standard deviation: two sizes 100 and 200. */
START_TEST(flowstats_sample_stddev)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, NULL), 0);
    const struct tpkt pk[] = {{1000, 0, 100, 0}, {3000, 0, 200, 0}, {9000, 0, 100, 0}};
    uint8_t *st = run_record(&h, pk, 2, UDP, NULL);
    ck_assert_double_eq_tol(get_f(&h, st, "src2dst_stddev_ps"), 70.71067811865476, 1e-9);
    ck_assert_double_eq_tol(get_f(&h, st, "bidirectional_mean_ps"), 150.0, 1e-12);
    /* one inter-arrival time: stddev 0, min = max = mean = 2 */
    ck_assert_double_eq(get_f(&h, st, "src2dst_stddev_piat_ms"), 0.0);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_min_piat_ms"), 2);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_max_piat_ms"), 2);
    ck_assert_double_eq(get_f(&h, st, "src2dst_mean_piat_ms"), 2.0);
    free(st);
    /* three packets: piats 2 and 6 -> sample stddev sqrt(8) */
    st = run_record(&h, pk, 3, UDP, NULL);
    ck_assert_double_eq_tol(get_f(&h, st, "bidirectional_stddev_piat_ms"), sqrt(8.0), 1e-12);
    ck_assert_double_eq_tol(get_f(&h, st, "bidirectional_stddev_ps"), sqrt(10000.0 / 3), 1e-9);
    free(st);
    host_cleanup(&h);
}
END_TEST

/* One packet: its scope has min = max = mean = the size and zeros for the
 * rest; the empty scope is all zeros. */
START_TEST(flowstats_one_packet)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, NULL), 0);
    const struct tpkt pk[] = {{1700000000123456, 0, 1337, F_SYN | F_ECE | F_CWR}};
    uint8_t *st = run_record(&h, pk, 1, TCP, NULL);
    char name[64];
    for (int s = 0; s < 2; s++) {
        snprintf(name, sizeof name, "%s_min_ps", scopes[s]);
        ck_assert_uint_eq(get_u(&h, st, name), 1337);
        snprintf(name, sizeof name, "%s_max_ps", scopes[s]);
        ck_assert_uint_eq(get_u(&h, st, name), 1337);
        snprintf(name, sizeof name, "%s_mean_ps", scopes[s]);
        ck_assert_double_eq(get_f(&h, st, name), 1337.0);
        snprintf(name, sizeof name, "%s_stddev_ps", scopes[s]);
        ck_assert_double_eq(get_f(&h, st, name), 0.0);
        static const char *const zero_u[] = {"min_piat_ms", "max_piat_ms"};
        static const char *const zero_f[] = {"mean_piat_ms", "stddev_piat_ms"};
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "%s_%s", scopes[s], zero_u[k]);
            ck_assert_uint_eq(get_u(&h, st, name), 0);
            snprintf(name, sizeof name, "%s_%s", scopes[s], zero_f[k]);
            ck_assert_double_eq(get_f(&h, st, name), 0.0);
        }
        static const uint64_t flags[8] = {1, 1, 1, 0, 0, 0, 0, 0};
        for (int k = 0; k < 8; k++) {
            snprintf(name, sizeof name, "%s_%s_packets", scopes[s], flag_names[k]);
            ck_assert_uint_eq(get_u(&h, st, name), flags[k]);
        }
    }
    /* dst2src saw nothing: every exported field is zero */
    for (size_t i = 0; i < h.p.nfields; i++) {
        const struct nfp_field *f = &h.p.fields[i];
        if (strncmp(f->json, "dst2src_", 8) != 0)
            continue;
        if (f->type == NFP_F64)
            ck_assert_double_eq(get_f(&h, st, f->json), 0.0);
        else
            ck_assert_uint_eq(get_u(&h, st, f->json), 0);
    }
    check_against_two_pass(&h, st, pk, 1, TCP);
    free(st);
    host_cleanup(&h);
}
END_TEST

/* Flags count only for TCP (the packets below carry a stray flags byte,
 * which nfprobe's decoder never sets for UDP); a record that begins with a dst2src packet
 * (after an active-timeout split) leaves src2dst empty until one comes. */
START_TEST(flowstats_udp_and_reverse_start)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, NULL), 0);
    const struct tpkt pk[] = {{5000000, 1, 300, F_SYN | F_ACK}, {5002000, 1, 310, F_FIN},
                              {5004500, 0, 90, F_RST}};
    uint8_t *st = run_record(&h, pk, 3, UDP, NULL);
    char name[64];
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 8; k++) {
            snprintf(name, sizeof name, "%s_%s_packets", scopes[s], flag_names[k]);
            ck_assert_uint_eq(get_u(&h, st, name), 0);
        }
    ck_assert_uint_eq(get_u(&h, st, "src2dst_min_ps"), 90);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_max_piat_ms"), 0);
    ck_assert_uint_eq(get_u(&h, st, "dst2src_min_piat_ms"), 2);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_max_piat_ms"), 2);   /* 5002 -> 5004 */
    ck_assert_double_eq_tol(get_f(&h, st, "bidirectional_mean_ps"), 700.0 / 3, 1e-12);
    check_against_two_pass(&h, st, pk, 3, UDP);
    free(st);
    host_cleanup(&h);
}
END_TEST

/* Exact integer sums stay accurate where a naive floating sum-of-squares
 * formula does not: large values with a tiny spread, plus a long
 * pseudo-random record. */
START_TEST(flowstats_stability)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, NULL), 0);

    enum { NPK = 5000 };
    struct tpkt *pk = calloc(NPK, sizeof *pk);
    /* The largest realistic values: sizes 65533..65535, piats at a 300 s
     * idle timeout + 0..3 ms. Within 1e-9 of the two-pass results. */
    uint64_t t = 1000000000000000ull;
    for (int i = 0; i < NPK; i++) {
        t += 300000000ull + (uint64_t)(i % 4) * 1000;
        pk[i] = (struct tpkt){t, (uint8_t)(i & 1), 65533u + (uint32_t)(i % 3), 0};
    }
    uint8_t *st = run_record(&h, pk, NPK, UDP, NULL);
    check_against_two_pass(&h, st, pk, NPK, UDP);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_max_ps"), 65535);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_min_piat_ms"), 300000);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_max_piat_ms"), 300003);
    /* src2dst packets are every other one: gaps 1+2 or 3+0 ms over 600 s */
    ck_assert_uint_eq(get_u(&h, st, "src2dst_min_piat_ms"), 600003);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_max_piat_ms"), 600003);
    ck_assert_double_eq(get_f(&h, st, "src2dst_stddev_piat_ms"), 0.0);
    free(st);

    /* Far beyond real traffic: sizes 4e9 + {0,1,2} (sum of squares ~8e22,
     * where a naive floating E[x^2] - E[x]^2 has an error of ~1e7 against a
     * true value of ~3333). The 128-bit integer sums give the stddev to the
     * last bit (it was 8 digits with Welford). */
    t = 1000000000000000ull;
    for (int i = 0; i < NPK; i++) {
        t += 1000000000000ull + (uint64_t)(i % 4) * 1000;
        pk[i] = (struct tpkt){t, (uint8_t)(i & 1), 4000000000u + (uint32_t)(i % 3), 0};
    }
    st = run_record(&h, pk, NPK, UDP, NULL);
    check_against_two_pass(&h, st, pk, NPK, UDP);     /* 1e-9 now (was 1e-7) */
    /* offsets 0,1,2 cycling (1667, 1667, 1666 of each) */
    ck_assert_double_eq_tol(get_f(&h, st, "bidirectional_mean_ps"), 4000000000.0 + 4999.0 / 5000, 1e-3);
    ck_assert_double_eq(get_f(&h, st, "bidirectional_mean_ps"), 4000000000.9998);
    /* sqrt(0.66673330666133226645...), correctly rounded */
    ck_assert_double_eq_tol(get_f(&h, st, "bidirectional_stddev_ps"), 0.8165373884038208, 1e-7);
    ck_assert_double_eq(get_f(&h, st, "bidirectional_stddev_ps"), 0.8165373884038208);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_min_piat_ms"), 1000000000ull);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_max_piat_ms"), 1000000003ull);
    free(st);

    /* pseudo-random TCP traffic */
    uint32_t x = 12345;
    t = 1600000000000000ull;
    for (int i = 0; i < NPK; i++) {
        x = x * 1103515245u + 12345u;
        uint32_t r = x >> 8;
        t += r % 250000;                        /* 0..250 ms */
        pk[i] = (struct tpkt){t, (uint8_t)((r >> 3) & 1), 40 + r % 1461, (uint8_t)(r >> 11)};
    }
    st = run_record(&h, pk, NPK, TCP, NULL);
    check_against_two_pass(&h, st, pk, NPK, TCP);
    free(st);
    free(pk);
    host_cleanup(&h);
}
END_TEST

/* More than 255 packets with a flag in one direction: the per-packet byte
 * counters are folded into the 32-bit ones before they can overflow. */
START_TEST(flowstats_many_flags)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, NULL), 0);
    enum { NPK = 1500 };
    struct tpkt *pk = calloc(NPK, sizeof *pk);
    /* src2dst: 1000 packets, all ACK, every other one PSH, every 3rd SYN;
     * dst2src: 500 packets with every flag set */
    for (int i = 0; i < NPK; i++) {
        uint8_t f = i < 1000 ? (uint8_t)(F_ACK | (i % 2 ? F_PSH : 0) | (i % 3 ? 0 : F_SYN)) : 0xff;
        pk[i] = (struct tpkt){1000000 + (uint64_t)i * 700, (uint8_t)(i >= 1000), 60, f};
    }
    uint8_t *st = run_record(&h, pk, NPK, TCP, NULL);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_ack_packets"), 1000);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_psh_packets"), 500);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_syn_packets"), 334);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_fin_packets"), 0);
    for (int k = 0; k < 8; k++) {
        char name[64];
        snprintf(name, sizeof name, "dst2src_%s_packets", flag_names[k]);
        ck_assert_uint_eq(get_u(&h, st, name), 500);
    }
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_ack_packets"), 1500);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_syn_packets"), 834);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_cwr_packets"), 500);
    check_against_two_pass(&h, st, pk, NPK, TCP);
    free(st);
    /* exactly 128, 255 and 256 packets of one flag (around the folds) */
    static const size_t counts[] = {127, 128, 129, 255, 256, 257};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        for (size_t i = 0; i < counts[c]; i++)
            pk[i] = (struct tpkt){1000000 + (uint64_t)i * 1000, 0, 40, F_RST};
        st = run_record(&h, pk, counts[c], TCP, NULL);
        ck_assert_uint_eq(get_u(&h, st, "src2dst_rst_packets"), counts[c]);
        ck_assert_uint_eq(get_u(&h, st, "bidirectional_rst_packets"), counts[c]);
        check_against_two_pass(&h, st, pk, counts[c], TCP);
        free(st);
    }
    free(pk);
    host_cleanup(&h);
}
END_TEST

/* Gaps above UINT32_MAX ms are not clamped: min, max, mean and stddev are
 * exact. The second record's n * M2 of the inter-arrival times overflows
 * 128 bits (1.5M piats, one of ~1.8e16 ms), the long double path. */
START_TEST(flowstats_huge_gaps)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, NULL), 0);
    const uint64_t g = 5000000000ull;          /* ms, > UINT32_MAX */
    const struct tpkt pk[] = {{1000, 0, 100, 0}, {1000 + g * 1000, 1, 200, 0},
                              {1000 + g * 1000 + 1000, 0, 300, 0},
                              {1000 + 3 * g * 1000, 1, 400, 0}};
    uint8_t *st = run_record(&h, pk, 4, UDP, NULL);
    /* bidirectional piats: g, 1, 2g - 1 */
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_min_piat_ms"), 1);
    ck_assert_uint_eq(get_u(&h, st, "bidirectional_max_piat_ms"), 2 * g - 1);
    ck_assert_double_eq(get_f(&h, st, "bidirectional_mean_piat_ms"), (double)g);
    /* src2dst: one piat g + 1; dst2src: one piat 2g */
    ck_assert_uint_eq(get_u(&h, st, "src2dst_min_piat_ms"), g + 1);
    ck_assert_uint_eq(get_u(&h, st, "dst2src_max_piat_ms"), 2 * g);
    ck_assert_double_eq(get_f(&h, st, "dst2src_mean_piat_ms"), 2.0 * (double)g);
    /* sample variance of g, 1, 2g - 1 about g: ((g-1)^2 + (g-1)^2) / 2 */
    ck_assert_double_eq_tol(get_f(&h, st, "bidirectional_stddev_piat_ms"), (double)(g - 1), 1e-6);
    check_against_two_pass(&h, st, pk, 4, UDP);
    free(st);

    enum { NPK = 1500000 };
    struct tpkt *big = calloc(NPK, sizeof *big);
    for (int i = 0; i < NPK; i++)
        big[i] = (struct tpkt){i < NPK / 2 ? 1000 : 18000000000000000000ull, 0, 40, 0};
    st = run_record(&h, big, NPK, UDP, NULL);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_max_piat_ms"), 18000000000000000ull - 1);
    ck_assert_uint_eq(get_u(&h, st, "src2dst_min_piat_ms"), 0);
    check_against_two_pass(&h, st, big, NPK, UDP);
    free(st);
    free(big);
    host_cleanup(&h);
}
END_TEST

START_TEST(flowstats_fresh_state_per_record)
{
    struct host h;
    ck_assert_int_eq(host_init(&h, &nfp_builtin_flowstats, NULL), 0);
    const struct tpkt b[] = {{7000000, 0, 1000, F_ACK}, {7100000, 1, 20, F_ACK}};
    uint8_t *sa = run_record(&h, conv, 8, TCP, NULL);
    uint8_t *sb = run_record(&h, b, 2, TCP, NULL);
    uint8_t *sa2 = run_record(&h, conv, 8, TCP, NULL);
    ck_assert_mem_eq(sa, sa2, h.p.state_size);
    check_against_two_pass(&h, sb, b, 2, TCP);
    ck_assert_uint_eq(get_u(&h, sb, "bidirectional_ack_packets"), 2);
    ck_assert_uint_eq(get_u(&h, sb, "bidirectional_max_piat_ms"), 100);
    ck_assert_uint_eq(get_u(&h, sb, "src2dst_max_piat_ms"), 0);
    free(sa);
    free(sb);
    free(sa2);
    host_cleanup(&h);
}
END_TEST

Suite *splt_flowstats_suite(void)
{
    Suite *s = suite_create("splt_flowstats");
    TCase *tc = tcase_create("splt");
    tcase_add_test(tc, splt_fields_default);
    tcase_add_test(tc, splt_thirteen_packets);
    tcase_add_test(tc, splt_one_packet);
    tcase_add_test(tc, splt_n1);
    tcase_add_test(tc, splt_n255);
    tcase_add_test(tc, splt_edges);
    tcase_add_test(tc, splt_bad_arguments);
    tcase_add_test(tc, splt_fresh_state_per_record);
    suite_add_tcase(s, tc);
    tc = tcase_create("flowstats");
    tcase_add_test(tc, flowstats_fields);
    tcase_add_test(tc, flowstats_bad_arguments);
    tcase_add_test(tc, flowstats_conversation);
    tcase_add_test(tc, flowstats_sample_stddev);
    tcase_add_test(tc, flowstats_one_packet);
    tcase_add_test(tc, flowstats_udp_and_reverse_start);
    tcase_add_test(tc, flowstats_stability);
    tcase_add_test(tc, flowstats_many_flags);
    tcase_add_test(tc, flowstats_huge_gaps);
    tcase_add_test(tc, flowstats_fresh_state_per_record);
    suite_add_tcase(s, tc);
    return s;
}
