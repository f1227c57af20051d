#include "frag.h"

#include <stdlib.h>
#include <string.h>

int frag_init(struct frag_table *t, uint32_t sets, uint64_t timeout_us)
{
    memset(t, 0, sizeof *t);
    if (sets == 0 || (sets & (sets - 1)))
        return -1;
    t->slots = calloc((size_t)sets * FRAG_WAYS, sizeof *t->slots);
    if (!t->slots)
        return -1;
    t->set_mask = sets - 1;
    t->timeout_us = timeout_us;
    return 0;
}

void frag_free(struct frag_table *t)
{
    free(t->slots);
    t->slots = NULL;
}

static uint32_t frag_hash(const struct packet_view *pv)
{
    uint32_t h = pv->frag.id * 0x9E3779B1u ^ pv->frag.next_header;
    for (int i = 0; i < 16; i += 4) {
        uint32_t a, b;
        memcpy(&a, pv->src + i, 4);
        memcpy(&b, pv->dst + i, 4);
        h = (h ^ a) * 0x85EBCA6Bu;
        h = (h ^ b) * 0xC2B2AE35u;
    }
    return h ^ (h >> 16);
}

static bool entry_matches(const struct frag_entry *e, const struct packet_view *pv)
{
    return e->expires_us && e->id == pv->frag.id && e->next_header == pv->frag.next_header &&
           e->ip_version == pv->ip_version && memcmp(e->src, pv->src, 16) == 0 &&
           memcmp(e->dst, pv->dst, 16) == 0;
}

static struct frag_entry *set_of(struct frag_table *t, const struct packet_view *pv)
{
    return t->slots + (size_t)(frag_hash(pv) & t->set_mask) * FRAG_WAYS;
}

void frag_remember(struct frag_table *t, const struct packet_view *pv)
{
    struct frag_entry *set = set_of(t, pv);
    struct frag_entry *victim = &set[0];
    for (int i = 0; i < FRAG_WAYS; i++) {
        struct frag_entry *e = &set[i];
        if (entry_matches(e, pv) || e->expires_us <= pv->ts_us) {
            victim = e;
            break;
        }
        if (e->expires_us < victim->expires_us)
            victim = e;
    }
    if (victim->expires_us > pv->ts_us && !entry_matches(victim, pv))
        t->evicted++;
    memcpy(victim->src, pv->src, 16);
    memcpy(victim->dst, pv->dst, 16);
    victim->id = pv->frag.id;
    victim->next_header = pv->frag.next_header;
    victim->proto = pv->proto;
    victim->ip_version = pv->ip_version;
    victim->sport = pv->sport;
    victim->dport = pv->dport;
    victim->expires_us = pv->ts_us + t->timeout_us;
    t->remembered++;
}

bool frag_resolve(struct frag_table *t, struct packet_view *pv)
{
    struct frag_entry *set = set_of(t, pv);
    for (int i = 0; i < FRAG_WAYS; i++) {
        struct frag_entry *e = &set[i];
        if (entry_matches(e, pv) && e->expires_us > pv->ts_us) {
            pv->sport = e->sport;
            pv->dport = e->dport;
            pv->proto = e->proto;
            t->resolved++;
            return true;
        }
    }
    t->orphans++;
    return false;
}
