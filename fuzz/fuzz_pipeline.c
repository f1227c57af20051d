/* fuzz_pipeline.c — the whole per-packet path on a sequence of packets:
 * decode -> fragments -> flow cache (a small one, so emergency expiry runs)
 * -> the tunnel extension -> nDPI -> the built-in plugins (splt, flowstats,
 * early-classify, events to /dev/null) -> records -> the IPFIX (biflow, with
 * the tunnel's, DPI's and plugins' fields), NetFlow v9 and JSON encoders.
 *
 * Input: a byte choosing the link type (fuzz_link_type()), a byte of cache
 * size and timeouts, then packets, each a 2-byte length, a signed 2-byte
 * time step in milliseconds (time may go back, as in real captures) and the
 * frame. Each frame is copied to a buffer of its exact size, so
 * AddressSanitizer sees a read past caplen.
 *
 * Checked: every metered packet is in exactly one record (the records'
 * packets add up to the meter's decoded count), each record has a packet and
 * a consistent time span, and the encoders accept every record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "dpi.h"
#include "encoder.h"
#include "export.h"
#include "extend.h"
#include "json.h"
#include "meter.h"
#include "plugin.h"
#include "tunnel_fields.h"
#include "util.h"

#define BATCH 32

static struct {
    struct dpi *dpi;
    size_t dpi_offset;
    struct template_def biflow, plain;
    struct encoder *ipfix, *nf9;
    FILE *devnull;
    /* One meter for all inputs, reset before each (meter_reset()): a fresh
     * one per input spent most of the time faulting in its fragment table
     * and its first chunk of extension blocks. */
    struct meter meter;
} env;

static struct {
    uint64_t packets, records;
} seen;

static int discard_message(void *ctx, const uint8_t *msg, size_t len, uint32_t nrecords,
                           enum msg_kind kind)
{
    (void)ctx, (void)msg, (void)nrecords, (void)kind;
    if (len == 0)
        fuzz_fail("an empty message");
    return 0;
}

static void check_record(const struct flow_record *r)
{
    if (r->packets[0] + r->packets[1] == 0)
        fuzz_fail("record %llu has no packet", (unsigned long long)r->id);
    for (int d = 0; d < 2; d++)
        if (r->packets[d] && r->first_ms[d] > r->last_ms[d])
            fuzz_fail("record %llu: direction %d ends before it starts", (unsigned long long)r->id, d);
    if (r->ip_version != 4 && r->ip_version != 6)
        fuzz_fail("record %llu: ip_version %u", (unsigned long long)r->id, r->ip_version);
}

static void sink(void *ctx, const struct flow_record *r)
{
    (void)ctx;
    check_record(r);
    seen.packets += r->packets[0] + r->packets[1];
    seen.records++;
    if (encoder_add_flow(env.ipfix, r) < 0 || encoder_add_flow(env.nf9, r) < 0)
        fuzz_fail("an encoder refused record %llu", (unsigned long long)r->id);
    if (json_write_record(env.devnull, r) < 0)
        fuzz_fail("JSON refused record %llu", (unsigned long long)r->id);
}

static void must(int ok, const char *what, const char *err)
{
    if (!ok) {
        fprintf(stderr, "fuzz_pipeline: %s: %s\n", what, err);
        exit(1);
    }
}

static struct encoder *open_encoder(enum export_format f, bool biflow, const struct template_def *t)
{
    char err[512] = "";
    struct encoder_config cfg = {f, 1, 1400, biflow, 20, t};
    struct encoder *e = encoder_new(&cfg, discard_message, NULL, err, sizeof err);
    must(e != NULL, "encoder", err);
    must(encoder_send_templates(e) == 0, "templates", "refused");
    return e;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[1024] = "";
    log_set_quiet(true);
    /* The tunnel extension first, as main.c registers it (its elements
     * come before DPI's). */
    must(tunnel_fields_register(err, sizeof err) == 0, "tunnel fields", err);
    struct dpi_config dc = {10, 16, 0};
    env.dpi = dpi_new(&dc, err, sizeof err);
    must(env.dpi != NULL, "nDPI", err);
    must(dpi_extend(env.dpi, &env.dpi_offset, err, sizeof err) == 0, "nDPI", err);
    plugins_set_dpi(env.dpi);
    env.devnull = fopen("/dev/null", "w");
    must(env.devnull != NULL, "/dev/null", "cannot open");
    for (size_t i = 0; plugin_builtin_name(i); i++) {
        const char *name = plugin_builtin_name(i);
        char spec[64];
        /* events needs a descriptor to write its events to */
        if (strcmp(name, "events") == 0)
            snprintf(spec, sizeof spec, "%s:fd=%d", name, fileno(env.devnull));
        else
            snprintf(spec, sizeof spec, "%s", name);
        must(plugin_load(spec, NFP_DEFAULT_PEN, 0, err, sizeof err) == 0, name, err);
    }
    must(exporter_load_template("biflow", &env.biflow, err, sizeof err) == 0, "biflow", err);
    must(exporter_load_template("default", &env.plain, err, sizeof err) == 0, "default", err);
    must(extend_template_append(&env.biflow) == 0 && extend_template_append(&env.plain) == 0,
         "templates", "out of memory");
    env.ipfix = open_encoder(FORMAT_IPFIX, true, &env.biflow);
    env.nf9 = open_encoder(FORMAT_NETFLOW9, false, &env.plain);
    struct meter_config cfg = {1000000ull, 1000000ull, 1000000ull, 1};
    must(meter_init(&env.meter, &cfg, sink, NULL) == 0, "meter", "cannot start");
    must(extend_attach(&env.meter, 0) == 0, "extensions", "cannot attach");
    dpi_set_state_offset(env.dpi_offset);
    return 0;
}

struct packets {
    struct capture_packet pkt[BATCH];
    uint8_t *copy[BATCH];
    unsigned n;
};

static void meter_batch(struct meter *m, int dlt, struct packets *b)
{
    meter_packets(m, dlt, b->pkt, b->n);
    for (unsigned i = 0; i < b->n; i++)
        free(b->copy[i]);
    b->n = 0;
}

/* Read the next packet of the input into the batch; false at the end. */
static bool next_packet(struct fuzz_input *in, uint64_t *ts_us, struct packets *b)
{
    if (in->left < 4)
        return false;
    size_t want = fuzz_u16(in);
    int16_t step_ms = (int16_t)fuzz_u16(in);
    size_t len;
    const uint8_t *frame = fuzz_bytes(in, want, &len);
    *ts_us += (uint64_t)((int64_t)step_ms * 1000);
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    memcpy(copy, frame, len);
    uint32_t wirelen = (uint32_t)(want > len ? want : len);
    b->copy[b->n] = copy;
    b->pkt[b->n] = (struct capture_packet){*ts_us, 0, (uint32_t)len, wirelen, copy};
    b->n++;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    int dlt = fuzz_link_type(fuzz_u8(&in));
    uint8_t shape = fuzz_u8(&in);
    /* 1 to 16 flows in the cache; idle 1-4 s, active 2-16 s, TCP close 1 s. */
    struct meter_config cfg = {(1 + (shape >> 4 & 3)) * 1000000ull, (2 + (shape >> 6) * 4) * 1000000ull,
                               1000000ull, 1 + (shape & 15)};
    struct meter *m = &env.meter;
    must(meter_reset(m, &cfg) == 0, "meter", "cannot reset");
    memset(&seen, 0, sizeof seen);

    uint64_t ts_us = 1700000000ull * 1000000ull;
    struct packets b = {.n = 0};
    while (next_packet(&in, &ts_us, &b))
        if (b.n == BATCH)
            meter_batch(m, dlt, &b);
    meter_batch(m, dlt, &b);
    meter_flush(m);

    if (seen.packets != m->stats.decoded)
        fuzz_fail("records hold %llu packets, the meter metered %llu",
                  (unsigned long long)seen.packets, (unsigned long long)m->stats.decoded);
    if (seen.records != m->stats.records)
        fuzz_fail("%llu records reached the sink, the meter counts %llu",
                  (unsigned long long)seen.records, (unsigned long long)m->stats.records);
    if (dpi_ndpi_flows_in_use(env.dpi) != 0)
        fuzz_fail("%zu nDPI flows still in use after the flush", dpi_ndpi_flows_in_use(env.dpi));
    encoder_flush(env.ipfix);
    encoder_flush(env.nf9);
    return 0;
}
