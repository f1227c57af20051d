/* export.h — where finished records go: JSON lines, and IPFIX messages to
 * every collector and file, at a bounded rate, with templates kept fresh. */
#ifndef NFPROBE_EXPORT_H
#define NFPROBE_EXPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "ipfix.h"
#include "options.h"
#include "record.h"
#include "transport.h"

struct exporter {
    FILE *json;
    struct ipfix_encoder *ipfix;
    struct template_def tmpl;
    struct transport *transports[MAX_COLLECTORS + 1];
    int ntransports;
    bool biflow;
    bool refresh_templates;     /* a UDP collector needs periodic templates */
    uint64_t refresh_us, next_refresh_us;
    uint64_t flush_deadline_us; /* a partial message waits at most this long */
    uint64_t rate;              /* records per second, 0: unlimited */
    unsigned drain_ms;
    double tokens;
    uint64_t tokens_at_us;
    uint64_t flows;             /* records handed to the exporter */
    uint64_t json_errors;
};

int exporter_open(struct exporter *x, const struct options *o);
/* record_sink_fn: one finished flow. */
void exporter_record(void *ctx, const struct flow_record *r);
/* Periodic work: template refresh, flushing, TCP reconnects. */
void exporter_tick(struct exporter *x, uint64_t now_mono);
/* Flush, send the final statistics, drain and close every transport. */
void exporter_finish(struct exporter *x, const struct probe_stats_record *final_stats);
void exporter_send_stats(struct exporter *x, const struct probe_stats_record *s);
/* Records lost on the way to collectors, over all transports. */
uint64_t exporter_records_dropped(const struct exporter *x);
void exporter_close(struct exporter *x);

#endif
