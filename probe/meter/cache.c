#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

#include "util.h"

_Static_assert(offsetof(struct flow, c) == 104, "packet counters follow the key and the state bits");
_Static_assert(sizeof(struct flow) == 224, "a flow stays small");

/* ---- intrusive index lists ---------------------------------------------- */

typedef struct list_link *(*link_of_fn)(struct flow *f);

static struct list_link *lru_link(struct flow *f) { return &f->lru; }
static struct list_link *start_link(struct flow *f) { return &f->start; }

static void list_append(struct flow_cache *c, struct list_head *l, link_of_fn link, uint32_t i)
{
    struct list_link *n = link(&c->flows[i]);
    n->prev = l->tail;
    n->next = FLOW_NONE;
    if (l->tail == FLOW_NONE)
        l->head = i;
    else
        link(&c->flows[l->tail])->next = i;
    l->tail = i;
}

static void list_unlink(struct flow_cache *c, struct list_head *l, link_of_fn link, uint32_t i)
{
    struct list_link *n = link(&c->flows[i]);
    if (n->prev == FLOW_NONE)
        l->head = n->next;
    else
        link(&c->flows[n->prev])->next = n->next;
    if (n->next == FLOW_NONE)
        l->tail = n->prev;
    else
        link(&c->flows[n->next])->prev = n->prev;
    n->prev = n->next = FLOW_NONE;
}

static void list_init(struct list_head *l) { l->head = l->tail = FLOW_NONE; }


/* ---- cache ---------------------------------------------------------------- */

static uint32_t buckets_for(uint32_t capacity)
{
    uint32_t n = 1024;
    while (n < capacity && n < (1u << 31))
        n <<= 1;
    return n;
}

int cache_init(struct flow_cache *c, uint32_t capacity)
{
    memset(c, 0, sizeof *c);
    if (capacity == 0 || capacity >= FLOW_NONE) {
        errno = EINVAL;
        return -1;
    }
    uint32_t nb = buckets_for(capacity);
    c->capacity = capacity;
    c->bucket_mask = nb - 1;
    /* A large pool is mmap'd: its pages become resident only as flows are
     * handed out (in order, then reused from the free list), so a large
     * --max-flows costs address space, not memory. */
    c->flows = alloc_large_table((size_t)capacity * sizeof *c->flows);
    c->buckets = alloc_large_table((size_t)nb * sizeof *c->buckets);
    if (!c->flows || !c->buckets) {
        cache_free(c);
        errno = ENOMEM;
        return -1;
    }
    memset(c->buckets, 0xFF, (size_t)nb * sizeof *c->buckets);
    c->free_head = FLOW_NONE;
    c->removal_hinted[0] = c->removal_hinted[1] = FLOW_NONE;
    list_init(&c->lru);
    list_init(&c->start);
    list_init(&c->closing);
    list_init(&c->fresh);
    return 0;
}

void cache_free(struct flow_cache *c)
{
    free_large_table(c->flows, (size_t)c->capacity * sizeof *c->flows);
    free_large_table(c->buckets, ((size_t)c->bucket_mask + 1) * sizeof *c->buckets);
    c->flows = NULL;
    c->buckets = NULL;
}

bool cache_full(const struct flow_cache *c) { return c->used >= c->capacity; }

struct flow *cache_lookup(struct flow_cache *c, const struct flow_key *key, uint32_t hash)
{
    for (uint32_t i = c->buckets[hash & c->bucket_mask]; i != FLOW_NONE; i = c->flows[i].hash_next) {
        struct flow *f = &c->flows[i];
        if (f->hash == hash && flowkey_equal(&f->key, key))
            return f;
    }
    return NULL;
}

static uint32_t take_free(struct flow_cache *c)
{
    if (c->free_head != FLOW_NONE) {
        uint32_t i = c->free_head;
        c->free_head = c->flows[i].hash_next;
        return i;
    }
    return c->never_used < c->capacity ? c->never_used++ : FLOW_NONE;
}

struct flow *cache_insert(struct flow_cache *c, const struct flow_key *key, uint32_t hash)
{
    uint32_t i = take_free(c);
    if (i == FLOW_NONE)
        return NULL;
    struct flow *f = &c->flows[i];
    memset(f, 0, sizeof *f);
    f->key = *key;
    f->hash = hash;
    uint32_t *b = &c->buckets[hash & c->bucket_mask];
    f->hash_next = *b;
    *b = i;
    f->state = c->use_fresh ? FLOW_IN_USE | FLOW_FRESH : FLOW_IN_USE;
    list_append(c, c->use_fresh ? &c->fresh : &c->lru, lru_link, i);
    list_append(c, &c->start, start_link, i);
    c->used++;
    return f;
}

static void unindex(struct flow_cache *c, struct flow *f, uint32_t i)
{
    uint32_t *p = &c->buckets[f->hash & c->bucket_mask];
    while (*p != i)
        p = &c->flows[*p].hash_next;
    *p = f->hash_next;
}

void cache_remove(struct flow_cache *c, struct flow *f)
{
    uint32_t i = cache_index(c, f);
    unindex(c, f, i);
    list_unlink(c, (f->state & FLOW_FRESH) ? &c->fresh : &c->lru, lru_link, i);
    if (!(f->state & FLOW_UNSCHEDULED))
        list_unlink(c, (f->state & FLOW_CLOSING) ? &c->closing : &c->start, start_link, i);
    f->state = 0;
    f->hash_next = c->free_head;
    c->free_head = i;
    c->used--;
}

void cache_touch(struct flow_cache *c, struct flow *f)
{
    uint32_t i = cache_index(c, f);
    if (f->state & FLOW_FRESH) {
        list_unlink(c, &c->fresh, lru_link, i);
        f->state &= (uint8_t)~FLOW_FRESH;
        list_append(c, &c->lru, lru_link, i);
        return;
    }
    if (c->lru.tail == i)
        return;
    list_unlink(c, &c->lru, lru_link, i);
    list_append(c, &c->lru, lru_link, i);
}

void cache_restart(struct flow_cache *c, struct flow *f)
{
    if (f->state & FLOW_UNSCHEDULED)
        return;
    uint32_t i = cache_index(c, f);
    struct list_head *from = (f->state & FLOW_CLOSING) ? &c->closing : &c->start;
    list_unlink(c, from, start_link, i);
    f->state = (uint8_t)((f->state & ~FLOW_CLOSING) | FLOW_UNSCHEDULED);
}

void cache_schedule(struct flow_cache *c, struct flow *f)
{
    f->state &= (uint8_t)~FLOW_UNSCHEDULED;
    list_append(c, &c->start, start_link, cache_index(c, f));
}

void cache_mark_closing(struct flow_cache *c, struct flow *f)
{
    if (f->state & FLOW_CLOSING)
        return;
    uint32_t i = cache_index(c, f);
    if (f->state & FLOW_UNSCHEDULED)
        f->state &= (uint8_t)~FLOW_UNSCHEDULED;
    else
        list_unlink(c, &c->start, start_link, i);
    f->state |= FLOW_CLOSING;
    list_append(c, &c->closing, start_link, i);
}

