/* export.h — where finished records go: JSON lines, and IPFIX or NetFlow
 * messages to every collector and file, at a bounded rate, with templates
 * kept fresh. */
#ifndef NFPROBE_EXPORT_H
#define NFPROBE_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "encoder.h"
#include "options.h"
#include "record.h"
#include "textbuf.h"
#include "transport.h"

struct exporter;

/* One encoder and the transports its messages go to. With --collector-mode
 * all there is one sink for every collector and the file; with balance, one
 * per collector (own sequence numbers, own messages), plus one for the file,
 * which gets every flow. */
struct export_sink {
    struct exporter *x;
    struct encoder *enc;
    struct transport *transports[MAX_COLLECTORS + 1];
    int ntransports;
};

/* The -o file: its own sink (own messages and sequence numbers), so a new
 * file can start with the templates and the old one end with their
 * withdrawal without touching what collectors get. */
enum { EXPORT_PATH_MAX = 4096 };
struct export_file {
    struct export_sink *sink;
    struct transport *t;
    const char *pattern;        /* -o: a path, or with --rotate a strftime pattern */
    uint64_t rotate_us;         /* 0: one file */
    uint64_t retry_mono_us;     /* no file open: try again then */
    char path[EXPORT_PATH_MAX]; /* the file now written, or failed to be created */
};

struct exporter {
    FILE *json;
    struct export_sink sinks[MAX_COLLECTORS + 1];
    int nsinks;
    int nbalanced;              /* sinks[0..nbalanced) share the flows by key hash */
    struct template_def tmpl;
    struct transport *transports[MAX_COLLECTORS + 1];   /* all of them, for statistics */
    int ntransports;
    enum export_format format;
    bool biflow;
    bool refresh_templates;     /* a UDP collector needs periodic templates */
    uint64_t refresh_us, next_refresh_us;
    uint64_t flush_deadline_us; /* a partial message waits at most this long */
    uint64_t rate;              /* records per second, 0: unlimited */
    unsigned drain_ms;
    double tokens;
    uint64_t tokens_at_us;
    uint64_t flows;             /* records handed to the exporter */
    uint64_t not_exportable;    /* flows the format cannot carry (v5: IPv6) */
    uint64_t json_errors;       /* records stdout could not take (a full disk) */
    int json_errno;             /* why, for the message at exit */
    bool json_reader_gone;      /* stdout's reader went away (EPIPE): stop quietly */
    uint64_t unencodable;       /* flows an encoder could not put in a message */
    struct flow_select *flow_select;    /* --flow-filter, --flow-sample; NULL: every record */
    uint64_t flows_filtered;    /* records --flow-filter left out */
    uint64_t flows_unsampled;   /* records --flow-sample left out */
    struct export_file file;    /* sink NULL: no -o */
    /* JSON formats, CSV and MQTT (issue 15, feeds.c) */
    int json_format;            /* enum json_format */
    struct textbuf line;        /* the record's JSON line, for stdout and the brokers */
    struct csv_writer *csv;     /* --csv */
    FILE *csv_file;             /* --csv -o FILE; NULL: stdout */
    const char *csv_name;
    uint64_t csv_errors;        /* rows the CSV file could not take */
    struct mqtt_out *mqtt[MAX_COLLECTORS];
    int nmqtt;
};

/* A write to stdout failed (errno err): see export.c. */
void json_output_failed(struct exporter *x, int err);

int exporter_open(struct exporter *x, const struct options *o);
/* record_sink_fn: one finished flow. */
void exporter_record(void *ctx, const struct flow_record *r);
/* Periodic work: template refresh, flushing, TCP reconnects. */
void exporter_tick(struct exporter *x, uint64_t now_mono);
/* Flush, send the final statistics, drain and close every transport. */
void exporter_finish(struct exporter *x, const struct probe_stats_record *final_stats);
void exporter_send_stats(struct exporter *x, const struct probe_stats_record *s);
/* --rotate (a clock_alarm_fn for the meter): at the first time and at each
 * multiple of the interval, end the current file (template withdrawal) and
 * start the interval's own (templates first). Returns the next boundary. */
uint64_t exporter_clock(void *x, uint64_t now_us);
/* SIGHUP: end the current file and open its name again (a log rotator moved
 * it away: a new file; it did not: appended to, templates again). */
void exporter_reopen_file(struct exporter *x);

/* Records lost on the way to collectors, over all transports. */
uint64_t exporter_records_dropped(const struct exporter *x);
void exporter_close(struct exporter *x);

/* From now on the application names follow the templates of every IPFIX
 * stream (sent at once, and with each refresh). 0 or -1. */
int exporter_send_app_names(struct exporter *x, const struct ipfix_app_table *t);

/* Load a template: a built-in one by name, else a file of element names.
 * -1 with a one-line message in err. */
int exporter_load_template(const char *name_or_file, struct template_def *t, char *err,
                           size_t errlen);

#endif
