/* selector.h — the packet selection (select.h) as collectors learn it, so
 * they can scale sampled counts back up (README: "Selection"): one report
 * per selector, read by each encoder in its own form (IPFIX RFC 5476
 * selector reports, NetFlow v9 sampler options, the v5 header), and the
 * selectorId every flow record carries. Set once at start, read-only after. */
#ifndef NFPROBE_SELECTOR_H
#define NFPROBE_SELECTOR_H

#include <stdint.h>
#include "select.h"

enum { SELECTOR_ID_SAMPLE = 1, SELECTOR_ID_HASH = 2, SELECTORS_MAX = 2 };

struct selector_report {
    uint16_t id;                /* selectorId */
    uint8_t algorithm;          /* selectorAlgorithm (SELECTOR_ALG_*) */
    uint32_t interval;          /* sampling: 1 in interval; hash: 0 */
    uint32_t hash_from, hash_to;
    uint32_t hash_init;         /* BOB's initval */
};

struct selection_export {
    struct selector_report sel[SELECTORS_MAX];
    int n;                      /* 0: every packet metered, nothing to report */
    uint16_t record_selector;   /* selectorId of the flow records: the sampler's if any */
};

/* The reports of a selection configuration; also what selector_record_id()
 * says from now on. */
void selection_export_set(const struct select_config *c);
const struct selection_export *selection_export_get(void);
/* The sampler (count or random), or NULL. */
const struct selector_report *selection_sampler(const struct selection_export *s);
/* NetFlow v5 header's sampling field: mode (1 count, 2 random) in the top
 * 2 bits, the interval in the low 14; 0 without sampling. */
uint16_t selection_v5_field(const struct selection_export *s);

#endif
