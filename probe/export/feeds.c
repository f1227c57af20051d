#include "feeds.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "csv.h"
#include "ecs.h"
#include "json.h"
#include "mqtt.h"
#include "util.h"

bool feeds_is_feed_collector(const char *spec)
{
    return mqtt_is_spec(spec);
}

int feeds_ipfix_collectors(const struct options *o)
{
    int n = 0;
    for (int i = 0; i < o->ncollectors; i++)
        n += !feeds_is_feed_collector(o->collectors[i]);
    return n;
}

static int open_brokers(struct exporter *x, const struct options *o)
{
    struct transport_options to = {o->queue_bytes, o->tls_ca, o->tls_cert, o->tls_key};
    for (int i = 0; i < o->ncollectors; i++) {
        if (!mqtt_is_spec(o->collectors[i]))
            continue;
        char err[512];
        struct mqtt_out *m = mqtt_open(o->collectors[i], &to, err, sizeof err);
        if (!m) {
            log_error("%s", err);
            return -1;
        }
        mqtt_wait_when_full(m, o->read_file != NULL);
        x->mqtt[x->nmqtt++] = m;
    }
    return 0;
}

static int open_csv(struct exporter *x, const struct options *o)
{
    if (!o->csv)
        return 0;
    FILE *out = stdout;
    if (o->csv_file && !(out = x->csv_file = fopen(o->csv_file, "we"))) {
        log_error("cannot create '%s': %s", o->csv_file, strerror(errno));
        return -1;
    }
    x->csv = csv_open(out);
    if (!x->csv) {
        log_error("cannot write the CSV header to %s: %s", o->csv_file ? o->csv_file : "stdout",
                  strerror(errno));
        return -1;
    }
    return 0;
}

int feeds_open(struct exporter *x, const struct options *o)
{
    x->json_format = o->json_format;
    x->csv_name = o->csv_file ? o->csv_file : "stdout";
    if (open_csv(x, o) < 0 || open_brokers(x, o) < 0)
        return -1;
    return 0;
}

/* A CSV write failed: on stdout as JSON's would (a reader gone ends it
 * quietly); to a file, said once and counted. */
static void csv_failed(struct exporter *x, int err)
{
    if (!x->csv_file) {
        json_output_failed(x, err);
        if (x->json_reader_gone) {
            csv_free(x->csv);
            x->csv = NULL;
        }
        return;
    }
    if (!x->csv_errors++)
        log_error("cannot write %s: %s (its records are counted as dropped)", x->csv_name,
                  strerror(err));
}

static int format_line(struct exporter *x, const struct flow_record *r)
{
    return x->json_format == JSON_FORMAT_ECS ? ecs_format_record(&x->line, r)
                                             : json_format_record(&x->line, r);
}

void feeds_record(struct exporter *x, const struct flow_record *r)
{
    if (x->json || x->nmqtt) {
        if (format_line(x, r) < 0) {
            json_output_failed(x, errno);
        } else {
            if (x->json && json_write_line(x->json, &x->line) < 0)
                json_output_failed(x, errno);
            for (int i = 0; i < x->nmqtt; i++)
                mqtt_send(x->mqtt[i], x->line.p, x->line.len - 1);     /* no newline */
        }
    }
    if (x->csv && csv_write_record(x->csv, r) < 0)
        csv_failed(x, errno);
}

void feeds_tick(struct exporter *x)
{
    if (x->csv_file && fflush(x->csv_file) != 0)
        csv_failed(x, errno);
    for (int i = 0; i < x->nmqtt; i++)
        mqtt_poll(x->mqtt[i]);
}

void feeds_finish(struct exporter *x)
{
    if (x->csv_file) {
        if (fclose(x->csv_file) != 0)
            csv_failed(x, errno);
        x->csv_file = NULL;
        x->csv_name = "stdout";
    } else if (x->csv && fflush(stdout) != 0) {
        csv_failed(x, errno);
    }
    for (int i = 0; i < x->nmqtt; i++)
        mqtt_close(x->mqtt[i], x->drain_ms);
}

uint64_t feeds_records_dropped(const struct exporter *x)
{
    uint64_t n = x->csv_errors;
    for (int i = 0; i < x->nmqtt; i++)
        n += mqtt_stats(x->mqtt[i])->records_dropped;
    return n;
}

void feeds_print_stats(FILE *out, const struct exporter *x)
{
    for (int i = 0; i < x->nmqtt; i++) {
        const struct transport_stats *ts = mqtt_stats(x->mqtt[i]);
        fprintf(out, "nfprobe: export %s: %" PRIu64 " messages, %" PRIu64 " records sent, %" PRIu64
                " records dropped, %" PRIu64 " connections\n", mqtt_name(x->mqtt[i]),
                ts->messages_sent, ts->records_sent, ts->records_dropped, ts->reconnects);
    }
}

void feeds_close(struct exporter *x)
{
    csv_free(x->csv);
    x->csv = NULL;
    if (x->csv_file)
        fclose(x->csv_file);
    x->csv_file = NULL;
    for (int i = 0; i < x->nmqtt; i++)
        mqtt_free(x->mqtt[i]);
    x->nmqtt = 0;
    tb_free(&x->line);
}
