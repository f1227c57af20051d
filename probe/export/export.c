#include "export.h"
#include "extend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "feeds.h"
#include "json.h"
#include "flowselect.h"
#include "selector.h"
#include "util.h"

#define FLUSH_AFTER_US 1000000ull     /* live: no record waits longer for a full message */
#define TEMPLATE_FILE_MAX (1 << 20)

static int send_message(void *ctx, const uint8_t *msg, size_t len, uint32_t nrecords,
                        enum msg_kind kind)
{
    struct export_sink *s = ctx;
    int rc = 0;
    for (int i = 0; i < s->ntransports; i++)
        if (transport_send(s->transports[i], msg, len, nrecords, kind) < 0)
            rc = -1;
    return rc;
}

static char *read_small_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "template '%s': not a built-in template, and %s", path, strerror(errno));
        return NULL;
    }
    size_t n;
    char *text = read_stream_text(f, TEMPLATE_FILE_MAX, &n);
    fclose(f);
    if (!text)
        snprintf(err, errlen, "template '%s': cannot read it (or larger than 1 MiB)", path);
    return text;
}

int exporter_load_template(const char *name, struct template_def *t, char *err, size_t errlen)
{
    const char *text = template_builtin(name);
    if (text)
        return template_parse(name, text, t, err, errlen);
    char *file = read_small_file(name, err, errlen);
    if (!file)
        return -1;
    int rc = template_parse(name, file, t, err, errlen);
    free(file);
    return rc;
}

static struct transport *open_collector(const struct options *o, const char *spec)
{
    char err[512];
    struct transport_options to = {o->queue_bytes, o->tls_ca, o->tls_cert, o->tls_key};
    struct transport *t = transport_open_collector(spec, &to, err, sizeof err);
    if (!t)
        log_error("%s", err);
    return t;
}

static void sink_add(struct export_sink *s, struct transport *t)
{
    s->transports[s->ntransports++] = t;
}

/* --rotate: a mistyped directory is a one-line error at start, not a run
 * that drops every record. A directory the pattern names by the time
 * (.../%Y/...) can only be tried when its file is due. */
static int check_rotation_directory(const char *pattern)
{
    char dir[EXPORT_PATH_MAX];
    const char *slash = strrchr(pattern, '/');
    size_t n = slash ? (size_t)(slash - pattern) : 0;
    if (n >= sizeof dir) {
        log_error("-o '%s': path too long", pattern);
        return -1;
    }
    memcpy(dir, slash ? pattern : ".", slash ? n : 1);
    dir[slash ? n : 1] = '\0';
    if (slash && n == 0)
        strcpy(dir, "/");
    if (strchr(dir, '%') || access(dir, W_OK | X_OK) == 0)
        return 0;
    log_error("-o '%s': cannot create files in '%s': %s", pattern, dir, strerror(errno));
    return -1;
}

/* With --rotate the first file waits for the clock (packet time offline):
 * the transport starts without one. */
static struct transport *open_file(struct export_file *f, const struct options *o)
{
    f->pattern = o->ipfix_file;
    f->rotate_us = o->rotate_us;
    if (f->rotate_us) {
        if (check_rotation_directory(f->pattern) < 0)
            return NULL;
        struct transport *t = transport_new_file(f->pattern);
        if (!t)
            log_error("out of memory");
        return t;
    }
    char err[EXPORT_PATH_MAX + 100];
    snprintf(f->path, sizeof f->path, "%s", f->pattern);
    struct transport *t = transport_open_file(f->pattern, err, sizeof err);
    if (!t)
        log_error("%s", err);
    return t;
}

/* ntopng (zmq://) reads its own format: each such collector is a sink of
 * its own, which gets every flow. */
static bool is_zmq_sink(const struct export_sink *s)
{
    return s->ntransports == 1 && transport_kind(s->transports[0]) == TRANSPORT_ZMQ;
}

static void add_zmq_sinks(struct exporter *x)
{
    for (int i = 0; i < x->ntransports; i++)
        if (transport_kind(x->transports[i]) == TRANSPORT_ZMQ)
            sink_add(&x->sinks[x->nsinks++], x->transports[i]);
}

/* Open every transport and group them into sinks (see struct export_sink). */
static int open_sinks(struct exporter *x, const struct options *o)
{
    int nshared = 0;    /* IPFIX/NetFlow collectors: zmq:// ones get sinks of their own,
                           MQTT brokers are feeds.c's */
    for (int i = 0; i < o->ncollectors; i++) {
        if (feeds_is_feed_collector(o->collectors[i]))
            continue;
        struct transport *t = open_collector(o, o->collectors[i]);
        if (!t)
            return -1;
        if (transport_kind(t) == TRANSPORT_UDP)
            x->refresh_templates = true;
        transport_set_batching(t, o->export_rate == 0);
        x->transports[x->ntransports++] = t;
        if (transport_kind(t) == TRANSPORT_ZMQ)
            continue;
        sink_add(&x->sinks[o->balance ? nshared : 0], t);
        nshared++;
    }
    x->nsinks = o->balance ? nshared : nshared > 0;
    x->nbalanced = o->balance ? nshared : 0;
    add_zmq_sinks(x);
    if (o->ipfix_file) {
        struct transport *t = open_file(&x->file, o);
        if (!t)
            return -1;
        x->transports[x->ntransports++] = t;
        x->file.t = t;
        x->file.sink = &x->sinks[x->nsinks++];
        sink_add(x->file.sink, t);
    }
    return 0;
}

/* Message sizes without --mtu: as large as the way to every collector of
 * the sink carries in one piece (RFC 7011 §10.3.3: UDP messages must not be
 * fragmented), but at most what every collector we know reads in one
 * datagram (nfacctd 10,000 bytes, Filebeat 10 KiB), and 1400 bytes over UDP
 * when the route's MTU is unknown. Fewer, larger messages cost the exporter
 * and the collector less per record. */
enum { MESSAGE_MAX_AUTO = 8192, MESSAGE_UNKNOWN_PATH = 1400, MESSAGE_MIN = 512 };

static uint16_t message_size(const struct options *o, const struct export_sink *s)
{
    if (o->mtu)
        return o->mtu;
    size_t size = MESSAGE_MAX_AUTO;
    for (int i = 0; i < s->ntransports; i++) {
        if (transport_kind(s->transports[i]) != TRANSPORT_UDP)
            continue;
        size_t path = transport_path_payload(s->transports[i]);
        if (path == 0)
            path = MESSAGE_UNKNOWN_PATH;
        else if (path < MESSAGE_MIN)
            path = MESSAGE_MIN;     /* a route this narrow fragments them anyway */
        if (path < size)
            size = path;
    }
    return (uint16_t)size;
}

static int open_encoders(struct exporter *x, const struct options *o)
{
    struct encoder_config cfg = {(enum export_format)o->export_version, o->domain, o->mtu,
                                 o->biflow, o->template_refresh_packets, &x->tmpl};
    for (int i = 0; i < x->nsinks; i++) {
        char err[512];
        struct export_sink *s = &x->sinks[i];
        s->x = x;
        cfg.mtu = message_size(o, s);
        cfg.format = is_zmq_sink(s) ? FORMAT_NTOPNG : (enum export_format)o->export_version;
        cfg.times_now = o->zmq_now;
        cfg.zmq_compress = o->zmq_compress;
        s->enc = encoder_new(&cfg, send_message, s, err, sizeof err);
        if (!s->enc) {
            log_error("%s: %s", is_zmq_sink(s) ? "ntopng" : o->export_version == 10 ? "IPFIX" : "NetFlow", err);
            return -1;
        }
        if (encoder_send_templates(s->enc) < 0)
            return -1;
    }
    return 0;
}

/* Sampled flows carry the selectorId their packets were selected by, so a
 * collector finds the sampling rate to scale them by. */
static int append_selector_id(struct template_def *t)
{
    if (!selection_export_get()->n)
        return 0;
    struct template_field f = {elements_find("selectorId"), false};
    struct template_def more = {NULL, &f, 1};
    return template_append(t, &more);
}

int exporter_open(struct exporter *x, const struct options *o)
{
    memset(x, 0, sizeof *x);
    x->json = o->json ? stdout : NULL;
    x->rate = o->export_rate;
    x->biflow = o->biflow;
    x->format = (enum export_format)o->export_version;
    x->drain_ms = (unsigned)(o->drain_us / 1000);
    x->tokens = 1;
    x->refresh_us = o->template_refresh_us;
    selection_export_set(&o->select);
    if (feeds_open(x, o) < 0)
        return -1;
    if (feeds_ipfix_collectors(o) == 0 && !o->ipfix_file)
        return 0;
    if (open_sinks(x, o) < 0)
        return -1;
    char err[512];
    const char *tmpl = o->template_name ? o->template_name : o->biflow ? "biflow" : "default";
    if (exporter_load_template(tmpl, &x->tmpl, err, sizeof err) < 0) {
        log_error("%s", err);
        return -1;
    }
    /* A template the user chose (-T) says exactly what goes out: the DPI's
     * and plugins' elements are added to the built-in ones only. */
    if (!o->template_name && (extend_template_append(&x->tmpl) < 0 || append_selector_id(&x->tmpl) < 0)) {
        log_error("out of memory");
        return -1;
    }
    if (open_encoders(x, o) < 0)
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

/* Clock work of the export streams: a partial message waits at most
 * FLUSH_AFTER_US, templates go out again every --template-refresh over UDP.
 * Also run per record, since a long run of exports (a forced end, a paced
 * replay) happens between ticks. */
static void export_timers(struct exporter *x, uint64_t now_mono)
{
    if (x->flush_deadline_us && now_mono >= x->flush_deadline_us) {
        for (int i = 0; i < x->nsinks; i++)
            encoder_flush(x->sinks[i].enc);
        x->flush_deadline_us = 0;
    }
    if (x->refresh_templates && now_mono >= x->next_refresh_us) {
        for (int i = 0; i < x->nsinks; i++)
            encoder_send_templates(x->sinks[i].enc);
        x->next_refresh_us = now_mono + x->refresh_us;
    }
}

/* Balance mode: both records of a flow, and every record of the same key,
 * go to the same collector. FNV-1a over the key. */
static uint32_t flow_hash(const struct flow_record *r)
{
    uint32_t h = 2166136261u;
    uint8_t key[16 + 16 + 2 + 2 + 2 + 1];
    memcpy(key, r->src, 16);
    memcpy(key + 16, r->dst, 16);
    memcpy(key + 32, &r->sport, 2);
    memcpy(key + 34, &r->dport, 2);
    memcpy(key + 36, &r->vlan, 2);
    key[38] = r->proto;
    for (size_t i = 0; i < sizeof key; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

/* A write to stdout failed. Its reader going away (EPIPE: `nfprobe ... |
 * head`) is how a filter is told it is done, not a failure: nothing more
 * goes there. Any other error (a full disk) fails the run. */
void json_output_failed(struct exporter *x, int err)
{
    if (err == EPIPE) {
        x->json_reader_gone = true;
        x->json = NULL;
        return;
    }
    x->json_errors++;
    x->json_errno = err;
}

static void flush_json(struct exporter *x)
{
    if (x->json && fflush(x->json) != 0)
        json_output_failed(x, errno);
}

/* --flow-filter and --flow-sample: false when r stays out (counted). */
static bool record_selected(struct exporter *x, const struct flow_record *r)
{
    if (!x->flow_select)
        return true;
    enum flow_verdict v = flow_select_record(x->flow_select, r);
    x->flows_filtered += v == FLOW_FILTERED;
    x->flows_unsampled += v == FLOW_UNSAMPLED;
    return v == FLOW_KEEP;
}

void exporter_record(void *ctx, const struct flow_record *r)
{
    struct exporter *x = ctx;
    x->flows++;
    if (!record_selected(x, r))
        return;
    if (x->nmqtt && !x->nsinks)
        pace(x, 1);     /* MQTT alone: one message a record */
    feeds_record(x, r);
    if (!x->nsinks)
        return;
    if (x->format == FORMAT_NETFLOW5 && r->ip_version != 4)
        x->not_exportable++;
    pace(x, !x->biflow && r->packets[DIR_REV] ? 2 : 1);
    uint64_t now = now_mono_us();
    export_timers(x, now);
    if (x->flush_deadline_us == 0)
        x->flush_deadline_us = now + FLUSH_AFTER_US;
    int first = 0;
    if (x->nbalanced) {
        if (encoder_add_flow(x->sinks[flow_hash(r) % (uint32_t)x->nbalanced].enc, r) < 0)
            x->unencodable++;
        first = x->nbalanced;
    }
    for (int i = first; i < x->nsinks; i++)
        if (encoder_add_flow(x->sinks[i].enc, r) < 0)
            x->unencodable++;
}

/* ---- the -o file: rotation and reopening ------------------------------------ */

#define FILE_RETRY_US 1000000ull    /* a file that cannot be created: tried again */

/* End the current file (its last records, then the template withdrawal)
 * and start path with the templates, application names and element types,
 * as the first file starts. True when path is open. */
static bool start_file(struct exporter *x, const char *path)
{
    struct export_file *f = &x->file;
    struct encoder *enc = f->sink->enc;
    encoder_flush(enc);
    encoder_withdraw_templates(enc);
    bool retry = !transport_file_is_open(f->t) && strcmp(f->path, path) == 0;
    if (path != f->path)
        snprintf(f->path, sizeof f->path, "%s", path);
    char err[EXPORT_PATH_MAX + 100];
    if (transport_reopen_file(f->t, f->path, err, sizeof err) < 0) {
        if (!retry)
            log_error("%s: its records are counted as dropped; trying again every second", err);
        f->retry_mono_us = now_mono_us() + FILE_RETRY_US;
        return false;
    }
    f->retry_mono_us = 0;
    if (f->rotate_us)
        log_info("writing %s", f->path);
    encoder_begin_session(enc);
    return true;
}

/* The interval's file name: the pattern in local time (TZ), as nfcapd. */
static void interval_file_name(const struct export_file *f, uint64_t start_us, char *out,
                               size_t outlen)
{
    time_t secs = (time_t)(start_us / 1000000);
    struct tm tm;
    if (!localtime_r(&secs, &tm) || strftime(out, outlen, f->pattern, &tm) == 0) {
        log_error("-o '%s': no file name for %lld (empty or longer than %zu bytes)", f->pattern,
                  (long long)secs, outlen - 1);
        out[0] = '\0';
    }
}

uint64_t exporter_clock(void *ctx, uint64_t now_us)
{
    struct exporter *x = ctx;
    struct export_file *f = &x->file;
    uint64_t start = now_us - now_us % f->rotate_us;
    char path[EXPORT_PATH_MAX];
    interval_file_name(f, start, path, sizeof path);
    start_file(x, path);
    return start + f->rotate_us;
}

void exporter_reopen_file(struct exporter *x)
{
    struct export_file *f = &x->file;
    if (!f->sink) {
        log_info("SIGHUP: no -o file to reopen");
        return;
    }
    if (!f->path[0])
        return;     /* --rotate: the first file is not due yet */
    if (start_file(x, f->path))
        log_info("SIGHUP: reopened %s", f->path);
}

/* A file that could not be created is tried again (its interval's name, or
 * the name SIGHUP reopened). */
static void retry_file(struct exporter *x, uint64_t now_mono)
{
    struct export_file *f = &x->file;
    if (f->sink && f->retry_mono_us && now_mono >= f->retry_mono_us)
        start_file(x, f->path);
}

/* A run that ends before its clock started (an empty capture) still
 * leaves its file, named by the wall clock. */
static void open_due_file(struct exporter *x)
{
    struct export_file *f = &x->file;
    if (f->sink && f->rotate_us && !f->path[0])
        exporter_clock(x, now_wall_us());
}

void exporter_tick(struct exporter *x, uint64_t now_mono)
{
    flush_json(x);
    feeds_tick(x);
    if (!x->nsinks)
        return;
    export_timers(x, now_mono);
    retry_file(x, now_mono);
    for (int i = 0; i < x->ntransports; i++)
        transport_poll(x->transports[i]);
}

void exporter_send_stats(struct exporter *x, const struct probe_stats_record *s)
{
    for (int i = 0; i < x->nsinks; i++) {
        encoder_add_stats(x->sinks[i].enc, s);
        encoder_flush(x->sinks[i].enc);
    }
}

void exporter_finish(struct exporter *x, const struct probe_stats_record *final_stats)
{
    flush_json(x);
    feeds_finish(x);
    if (!x->nsinks)
        return;
    open_due_file(x);
    for (int i = 0; i < x->nsinks; i++)
        encoder_flush(x->sinks[i].enc);
    exporter_send_stats(x, final_stats);
    for (int i = 0; i < x->nsinks; i++)
        encoder_withdraw_templates(x->sinks[i].enc);
    for (int i = 0; i < x->ntransports; i++)
        transport_close(x->transports[i], x->drain_ms);
    if (x->not_exportable)
        log_error("%llu IPv6 flows not exportable in NetFlow v5 (IPv4 only): not sent",
                  (unsigned long long)x->not_exportable);
}

uint64_t exporter_records_dropped(const struct exporter *x)
{
    uint64_t n = x->unencodable + feeds_records_dropped(x);
    for (int i = 0; i < x->ntransports; i++)
        n += transport_stats(x->transports[i])->records_dropped;
    return n;
}

void exporter_close(struct exporter *x)
{
    feeds_close(x);
    for (int i = 0; i < x->nsinks; i++)
        encoder_free(x->sinks[i].enc);
    for (int i = 0; i < x->ntransports; i++)
        transport_free(x->transports[i]);
    template_free(&x->tmpl);
    memset(x, 0, sizeof *x);
}

int exporter_send_app_names(struct exporter *x, const struct ipfix_app_table *t)
{
    for (int i = 0; i < x->nsinks; i++) {
        char err[256];
        if (encoder_set_app_names(x->sinks[i].enc, t, err, sizeof err) < 0) {
            log_error("%s: %s", x->format == FORMAT_IPFIX ? "IPFIX" : "NetFlow v9", err);
            return -1;
        }
        if (encoder_send_templates(x->sinks[i].enc) < 0)
            return -1;
    }
    return 0;
}
