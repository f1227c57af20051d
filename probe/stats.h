/* stats.h — what the probe counted, for people (stderr) and collectors
 * (IPFIX options records): the sums over every worker. */
#ifndef NFPROBE_STATS_H
#define NFPROBE_STATS_H

#include <stdbool.h>
#include <stdio.h>
#include "capture.h"
#include "dpi.h"
#include "export.h"
#include "meter.h"
#include "worker.h"

struct stats_sources {
    const struct worker_pool *pool;
    struct capture *capture;        /* the file, or the one live socket; NULL when
                                       each live worker has its own */
    const struct exporter *exporter;
    uint64_t start_ms;
};

void stats_print(FILE *out, const struct stats_sources *s);
void stats_to_record(const struct stats_sources *s, struct probe_stats_record *r);

#endif
