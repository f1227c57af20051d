/* flowselect.h — flow selection before export (RFC 7014): --flow-filter
 * (flowfilter.h) and --flow-sample N, which keeps 1 in N flows by a hash of
 * the flow key, so every record of a kept flow goes out (both directions,
 * every active-timeout split) and none of a dropped one. */
#ifndef NFPROBE_FLOWSELECT_H
#define NFPROBE_FLOWSELECT_H

#include <stddef.h>
#include <stdint.h>
#include "flowfilter.h"
#include "record.h"

struct flow_select {
    struct flow_filter *filter;     /* NULL: every record */
    uint32_t sample_n;              /* 1 in N flows; 0 or 1: all */
    uint32_t seed;                  /* BOB's initval */
};

enum flow_verdict { FLOW_KEEP, FLOW_FILTERED, FLOW_UNSAMPLED };

/* NULL with nothing to select; else the selection, or NULL with err set
 * (the filter's position in it) when the expression is bad. */
struct flow_select *flow_select_new(const char *filter, uint32_t sample_n, uint32_t seed, char *err,
                                    size_t errlen, int *failed);
void flow_select_free(struct flow_select *s);
enum flow_verdict flow_select_record(const struct flow_select *s, const struct flow_record *r);

/* BOB over the flow key in a direction-free order (README: "Flow sampling"). */
uint32_t flow_sample_hash(const struct flow_record *r, uint32_t seed);

#endif
