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

void frag_reset(struct frag_table *t)
{
    /* Every entry is written by claim(), which counts it: none counted, none
     * to clear (the table stays as calloc() gave it). */
    if (t->remembered)
        memset(t->slots, 0, (size_t)(t->set_mask + 1) * FRAG_WAYS * sizeof *t->slots);
    t->remembered = t->resolved = t->orphans = t->evicted = 0;
}

void frag_free(struct frag_table *t)
{
    free(t->slots);
    t->slots = NULL;
}

/* A datagram's identity: addresses, fragment id and what it carries. */
struct datagram {
    const uint8_t *src, *dst;
    uint32_t id;
    uint8_t next_header;
    uint8_t ip_version;
};

static struct datagram datagram_of(const struct packet_view *pv)
{
    return (struct datagram){pv->src, pv->dst, pv->frag.id, pv->frag.next_header, pv->ip_version};
}

static uint32_t frag_hash(const struct datagram *d)
{
    uint32_t h = d->id * 0x9E3779B1u ^ d->next_header;
    for (int i = 0; i < 16; i += 4) {
        uint32_t a, b;
        memcpy(&a, d->src + i, 4);
        memcpy(&b, d->dst + i, 4);
        h = (h ^ a) * 0x85EBCA6Bu;
        h = (h ^ b) * 0xC2B2AE35u;
    }
    return h ^ (h >> 16);
}

static bool entry_matches(const struct frag_entry *e, const struct datagram *d)
{
    return e->expires_us && e->id == d->id && e->next_header == d->next_header &&
           e->ip_version == d->ip_version && memcmp(e->src, d->src, 16) == 0 &&
           memcmp(e->dst, d->dst, 16) == 0;
}

static struct frag_entry *set_of(struct frag_table *t, const struct datagram *d)
{
    return t->slots + (size_t)(frag_hash(d) & t->set_mask) * FRAG_WAYS;
}

/* The entry for datagram d: its own, an expired one, or the one that
 * expires first (counted as evicted). */
static struct frag_entry *claim(struct frag_table *t, const struct datagram *d, uint64_t now_us)
{
    struct frag_entry *set = set_of(t, d);
    struct frag_entry *victim = &set[0];
    for (int i = 0; i < FRAG_WAYS; i++) {
        struct frag_entry *e = &set[i];
        if (entry_matches(e, d) || e->expires_us <= now_us) {
            victim = e;
            break;
        }
        if (e->expires_us < victim->expires_us)
            victim = e;
    }
    if (victim->expires_us > now_us && !entry_matches(victim, d))
        t->evicted++;
    memcpy(victim->src, d->src, 16);
    memcpy(victim->dst, d->dst, 16);
    victim->id = d->id;
    victim->next_header = d->next_header;
    victim->ip_version = d->ip_version;
    victim->expires_us = now_us + t->timeout_us;
    t->remembered++;
    return victim;
}

void frag_remember(struct frag_table *t, const struct packet_view *pv)
{
    struct datagram d = datagram_of(pv);
    struct frag_entry *e = claim(t, &d, pv->ts_us);
    e->proto = pv->proto;
    e->sport = pv->sport;
    e->dport = pv->dport;
    e->decapsulated = 0;
}

void frag_remember_tunnelled(struct frag_table *t, const struct packet_view *pv)
{
    const struct tunnel_view *o = &pv->tun;
    struct datagram d = {o->outer_src, o->outer_dst, o->outer_frag.id, o->outer_frag.next_header,
                         o->ip_version};
    struct frag_entry *e = claim(t, &d, pv->ts_us);
    e->proto = o->outer_frag.next_header;
    e->sport = e->dport = 0;
    e->decapsulated = 1;
}

bool frag_resolve(struct frag_table *t, struct packet_view *pv)
{
    struct datagram d = datagram_of(pv);
    struct frag_entry *set = set_of(t, &d);
    for (int i = 0; i < FRAG_WAYS; i++) {
        struct frag_entry *e = &set[i];
        if (entry_matches(e, &d) && e->expires_us > pv->ts_us) {
            pv->sport = e->sport;
            pv->dport = e->dport;
            pv->proto = e->proto;
            pv->tunnel_tail = e->decapsulated;
            t->resolved++;
            return true;
        }
    }
    t->orphans++;
    return false;
}
