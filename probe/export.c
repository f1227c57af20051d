#include "export.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "util.h"

#define FLUSH_AFTER_US 1000000ull     /* live: no record waits longer for a full message */

static int send_message(void *ctx, const uint8_t *msg, size_t len, uint32_t nrecords, bool templates)
{
    struct exporter *x = ctx;
    int rc = 0;
    for (int i = 0; i < x->ntransports; i++)
        if (transport_send(x->transports[i], msg, len, nrecords, templates) < 0)
            rc = -1;
    return rc;
}

static int load_template(const char *name, struct template_def *t)
{
    char err[256];
    const char *text = template_builtin(name);
    if (!text) {
        log_error("built-in template '%s' is missing", name);
        return -1;
    }
    if (template_parse(name, text, t, err, sizeof err) < 0) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

static int open_transports(struct exporter *x, const struct options *o)
{
    char err[512];
    for (int i = 0; i < o->ncollectors; i++) {
        struct transport *t = transport_open_collector(o->collectors[i], o->queue_bytes, err, sizeof err);
        if (!t) {
            log_error("%s", err);
            return -1;
        }
        if (transport_kind(t) == TRANSPORT_UDP)
            x->refresh_templates = true;
        transport_set_batching(t, o->export_rate == 0);
        x->transports[x->ntransports++] = t;
    }
    if (o->ipfix_file) {
        struct transport *t = transport_open_file(o->ipfix_file, err, sizeof err);
        if (!t) {
            log_error("%s", err);
            return -1;
        }
        x->transports[x->ntransports++] = t;
    }
    return 0;
}

int exporter_open(struct exporter *x, const struct options *o)
{
    memset(x, 0, sizeof *x);
    x->json = o->json ? stdout : NULL;
    x->rate = o->export_rate;
    x->biflow = o->biflow;
    x->drain_ms = (unsigned)(o->drain_us / 1000);
    x->tokens = 1;
    x->refresh_us = o->template_refresh_us;
    if (o->ncollectors == 0 && !o->ipfix_file)
        return 0;
    if (open_transports(x, o) < 0)
        return -1;
    if (load_template(o->biflow ? "biflow" : "default", &x->tmpl) < 0)
        return -1;
    struct ipfix_config cfg = {o->domain, o->mtu, o->biflow, &x->tmpl};
    char err[512];
    x->ipfix = ipfix_new(&cfg, send_message, x, err, sizeof err);
    if (!x->ipfix) {
        log_error("IPFIX: %s", err);
        return -1;
    }
    if (ipfix_send_templates(x->ipfix) < 0)
        return -1;
    x->next_refresh_us = now_mono_us() + x->refresh_us;
    return 0;
}

/* Token bucket: sleep until a record may go (replaying a capture into a
 * collector must not overrun its socket buffer). */
static void pace(struct exporter *x, unsigned nrecords)
{
    if (!x->rate)
        return;
    uint64_t now = now_mono_us();
    if (x->tokens_at_us) {
        x->tokens += (double)(now - x->tokens_at_us) * (double)x->rate / 1e6;
        double burst = x->rate / 10.0 > 1 ? x->rate / 10.0 : 1;
        if (x->tokens > burst)
            x->tokens = burst;
    }
    x->tokens_at_us = now;
    x->tokens -= nrecords;
    if (x->tokens < 0) {
        uint64_t wait_us = (uint64_t)(-x->tokens * 1e6 / (double)x->rate);
        struct timespec ts = {(time_t)(wait_us / 1000000), (long)(wait_us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Clock work of the IPFIX stream: a partial message waits at most
 * FLUSH_AFTER_US, templates go out again every --template-refresh over UDP.
 * Also run per record, since a long run of exports (a forced end, a paced
 * replay) happens between ticks. */
static void ipfix_timers(struct exporter *x, uint64_t now_mono)
{
    if (x->flush_deadline_us && now_mono >= x->flush_deadline_us) {
        ipfix_flush(x->ipfix);
        x->flush_deadline_us = 0;
    }
    if (x->refresh_templates && now_mono >= x->next_refresh_us) {
        ipfix_send_templates(x->ipfix);
        x->next_refresh_us = now_mono + x->refresh_us;
    }
}

void exporter_record(void *ctx, const struct flow_record *r)
{
    struct exporter *x = ctx;
    x->flows++;
    if (x->json && json_write_record(x->json, r) < 0)
        x->json_errors++;
    if (!x->ipfix)
        return;
    pace(x, !x->biflow && r->packets[DIR_REV] ? 2 : 1);
    uint64_t now = now_mono_us();
    ipfix_timers(x, now);
    if (x->flush_deadline_us == 0)
        x->flush_deadline_us = now + FLUSH_AFTER_US;
    ipfix_add_flow(x->ipfix, r);
}

void exporter_tick(struct exporter *x, uint64_t now_mono)
{
    if (x->json)
        fflush(x->json);
    if (!x->ipfix)
        return;
    ipfix_timers(x, now_mono);
    for (int i = 0; i < x->ntransports; i++)
        transport_poll(x->transports[i]);
}

void exporter_send_stats(struct exporter *x, const struct probe_stats_record *s)
{
    if (x->ipfix) {
        ipfix_add_stats(x->ipfix, s);
        ipfix_flush(x->ipfix);
    }
}

void exporter_finish(struct exporter *x, const struct probe_stats_record *final_stats)
{
    if (x->json)
        fflush(x->json);
    if (!x->ipfix)
        return;
    ipfix_flush(x->ipfix);
    exporter_send_stats(x, final_stats);
    for (int i = 0; i < x->ntransports; i++)
        transport_close(x->transports[i], x->drain_ms);
}

uint64_t exporter_records_dropped(const struct exporter *x)
{
    uint64_t n = 0;
    for (int i = 0; i < x->ntransports; i++)
        n += transport_stats(x->transports[i])->records_dropped;
    return n;
}

void exporter_close(struct exporter *x)
{
    ipfix_free(x->ipfix);
    for (int i = 0; i < x->ntransports; i++)
        transport_free(x->transports[i]);
    template_free(&x->tmpl);
    memset(x, 0, sizeof *x);
}
