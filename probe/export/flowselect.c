#include "flowselect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "select.h"

enum { END_LEN = 18, KEY_LEN = 2 * END_LEN + 1 + 2 };

static void put_end(uint8_t *p, const uint8_t addr[16], uint16_t port)
{
    memcpy(p, addr, 16);
    p[16] = (uint8_t)(port >> 8);
    p[17] = (uint8_t)port;
}

/* Key bytes: the lower (address, port) end first, then the other (each 16
 * address bytes, IPv4 in the first 4, and the port in network order), the
 * protocol, the VLAN id in network order. The same for both directions. */
uint32_t flow_sample_hash(const struct flow_record *r, uint32_t seed)
{
    uint8_t a[END_LEN], b[END_LEN], key[KEY_LEN];
    put_end(a, r->src, r->sport);
    put_end(b, r->dst, r->dport);
    bool a_first = memcmp(a, b, END_LEN) <= 0;
    memcpy(key, a_first ? a : b, END_LEN);
    memcpy(key + END_LEN, a_first ? b : a, END_LEN);
    key[2 * END_LEN] = r->proto;
    key[2 * END_LEN + 1] = (uint8_t)(r->vlan >> 8);
    key[2 * END_LEN + 2] = (uint8_t)r->vlan;
    return select_bob_hash(key, KEY_LEN, seed);
}

struct flow_select *flow_select_new(const char *filter, uint32_t sample_n, uint32_t seed, char *err,
                                    size_t errlen, int *failed)
{
    *failed = 0;
    if (!filter && sample_n <= 1)
        return NULL;
    struct flow_select *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        *failed = 1;
        return NULL;
    }
    s->sample_n = sample_n;
    s->seed = seed;
    if (filter) {
        char why[256];
        size_t pos = 0;
        s->filter = flow_filter_compile(filter, why, sizeof why, &pos);
        if (!s->filter) {
            snprintf(err, errlen, "--flow-filter: at character %zu: %s", pos, why);
            free(s);
            *failed = 1;
            return NULL;
        }
    }
    return s;
}

void flow_select_free(struct flow_select *s)
{
    if (!s)
        return;
    flow_filter_free(s->filter);
    free(s);
}

/* The filter first, then sampling: a flow the filter keeps is kept by
 * sampling with probability 1/N whatever else the capture holds. */
enum flow_verdict flow_select_record(const struct flow_select *s, const struct flow_record *r)
{
    if (s->filter && !flow_filter_match(s->filter, r))
        return FLOW_FILTERED;
    if (s->sample_n > 1 && ((uint64_t)flow_sample_hash(r, s->seed) * s->sample_n) >> 32 != 0)
        return FLOW_UNSAMPLED;
    return FLOW_KEEP;
}
