#include "selector.h"

#include <string.h>

static struct selection_export current;

void selection_export_set(const struct select_config *c)
{
    memset(&current, 0, sizeof current);
    if (c->sample_n > 1) {
        uint8_t alg = c->mode == SAMPLE_COUNT ? SELECTOR_ALG_COUNT : SELECTOR_ALG_UNIFORM;
        current.sel[current.n++] = (struct selector_report){SELECTOR_ID_SAMPLE, alg, c->sample_n, 0, 0, 0};
    }
    if (c->hash)
        current.sel[current.n++] = (struct selector_report){SELECTOR_ID_HASH, SELECTOR_ALG_HASH_BOB, 0,
                                                            c->hash_from, c->hash_to, (uint32_t)c->seed};
    const struct selector_report *s = selection_sampler(&current);
    current.record_selector = s ? s->id : current.n ? current.sel[0].id : 0;
}

const struct selection_export *selection_export_get(void)
{
    return &current;
}

const struct selector_report *selection_sampler(const struct selection_export *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->sel[i].interval > 1)
            return &s->sel[i];
    return NULL;
}

uint16_t selection_v5_field(const struct selection_export *s)
{
    const struct selector_report *r = selection_sampler(s);
    if (!r || r->interval > 0x3FFF)
        return 0;
    uint16_t mode = r->algorithm == SELECTOR_ALG_COUNT ? 1 : 2;
    return (uint16_t)(mode << 14 | r->interval);
}
