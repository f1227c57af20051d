/* stats.h — what the probe counted, for people (stderr) and collectors
 * (IPFIX options records). */
#ifndef NFPROBE_STATS_H
#define NFPROBE_STATS_H

#include <stdio.h>
#include "capture.h"
#include "dpi.h"
#include "export.h"
#include "meter.h"

struct stats_sources {
    const struct meter *meter;
    struct capture *capture;
    const struct exporter *exporter;
    uint64_t start_ms;
    const struct dpi *dpi;          /* NULL with --no-dissect */
};

void stats_print(FILE *out, const struct stats_sources *s);
void stats_to_record(const struct stats_sources *s, struct probe_stats_record *r);

#endif
