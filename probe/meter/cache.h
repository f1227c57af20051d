/* cache.h — the flow cache: a fixed pool of flows, a hash index, and the
 * three time-ordered lists that make expiry cost O(expired flows).
 *
 *   lru list    ordered by last packet time  → idle timeout, emergency eviction
 *   start list  ordered by record start time → active timeout
 *   close list  ordered by close time        → TCP close timeout
 *
 * Every timeout is the same for all flows, so appending at the tail keeps each
 * list sorted and expiry only ever looks at list heads. */
#ifndef NFPROBE_CACHE_H
#define NFPROBE_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "flowkey.h"
#include "nfprobe/plugin.h"

#define FLOW_NONE UINT32_MAX

struct list_link {
    uint32_t prev, next;
};

struct list_head {
    uint32_t head, tail;
};

enum { DIR_FWD = 0, DIR_REV = 1 };

/* Flow state bits. */
enum {
    FLOW_FIN_FWD = 1u << 0,
    FLOW_FIN_REV = 1u << 1,
    FLOW_CLOSING = 1u << 2,     /* on the close list */
    FLOW_IN_USE = 1u << 3,
    FLOW_RST = 1u << 4,
    FLOW_UNSCHEDULED = 1u << 5, /* on neither start nor close list: see cache_restart() */
    FLOW_FRESH = 1u << 6,       /* one packet so far: on the fresh list, not the lru list */
};

/* One metered flow. "Forward" is the initiator's direction (sender of the
 * first packet); key_dir tells which end of the canonical key that is.
 *
 * Laid out for the packet path: the first 104 bytes hold what a lookup
 * compares (the key's second half is the tunnel's: zero outside tunnels)
 * and the state bits; the next 80 bytes are the counters one packet
 * updates, and their nanosecond remainders. 224 bytes in all: memory per flow matters as much as lines per
 * packet. (A record's flow id is given when it is exported.) */
struct flow {
    struct flow_key key;
    uint32_t hash;
    uint32_t hash_next;
    uint64_t list_us;           /* start list: record start; close list: close time */
    uint8_t state;
    uint8_t key_dir;            /* key end that initiated the flow */
    uint8_t tcp_flags[2];
    uint16_t icmp_type_code[2]; /* of each direction's first packet */
    /* -- second line: per-direction counters -- */
    struct nfp_flow c;          /* first/last packet time, packets, octets per direction
                                   (what plugins see: nfprobe/plugin.h) */
    uint16_t first_sub_ns[2];   /* nanoseconds past c.first_us / c.last_us (0-999) */
    uint16_t last_sub_ns[2];
    /* -- colder -- */
    uint64_t touch_us;          /* when it last moved to the lru tail */
    void *ext;                  /* cold per-flow data (DPI, plugins) */
    struct list_link lru;
    struct list_link start;     /* start list, or close list when closing */
};

struct flow_cache {
    struct flow *flows;         /* pool, capacity entries */
    uint32_t *buckets;          /* hash index heads */
    uint32_t capacity;
    uint32_t bucket_mask;
    uint32_t used;
    uint32_t free_head;         /* free list through hash_next */
    uint32_t never_used;        /* pool entries below this were handed out once */
    struct list_head lru, start, closing;
    uint32_t removal_hinted[2]; /* see cache_prefetch_removal() */
    /* Dynamic timeouts: flows that have seen one packet wait on a list of
     * their own (in the order they came, which is their last-seen order),
     * so they can age faster and be evicted first. */
    bool use_fresh;
    struct list_head fresh;
};

/* Allocate a cache for at most capacity flows. Returns 0, or -1 (errno). */
int cache_init(struct flow_cache *c, uint32_t capacity);
void cache_free(struct flow_cache *c);

/* Find the flow of key, or NULL. */
struct flow *cache_lookup(struct flow_cache *c, const struct flow_key *key, uint32_t hash);

/* Take a free flow for key and index it. NULL when the cache is full (the
 * caller evicts first). The flow is zeroed except for its key and links. */
struct flow *cache_insert(struct flow_cache *c, const struct flow_key *key, uint32_t hash);

/* Unindex the flow and return it to the pool. */
void cache_remove(struct flow_cache *c, struct flow *f);

bool cache_full(const struct flow_cache *c);

/* Keep the time lists in order: call when a flow sees a packet / starts
 * closing. A fresh flow's second packet moves it to the lru list. */
void cache_touch(struct flow_cache *c, struct flow *f);
void cache_mark_closing(struct flow_cache *c, struct flow *f);
/* A record of the flow was exported at its active timeout: the flow leaves
 * the start list until cache_schedule() puts it back with its next packet,
 * so the next record's timeout counts from that packet, whenever the clock
 * happened to be looked at. */
void cache_restart(struct flow_cache *c, struct flow *f);
void cache_schedule(struct flow_cache *c, struct flow *f);

/* Heads of the time lists, NULL when empty (inline: expiry looks at them
 * for every packet). */
static inline struct flow *cache_list_first(struct flow_cache *c, const struct list_head *l)
{
    return l->head == FLOW_NONE ? NULL : &c->flows[l->head];
}
static inline struct flow *cache_lru_oldest(struct flow_cache *c) { return cache_list_first(c, &c->lru); }
static inline struct flow *cache_start_oldest(struct flow_cache *c) { return cache_list_first(c, &c->start); }
static inline struct flow *cache_closing_oldest(struct flow_cache *c) { return cache_list_first(c, &c->closing); }
static inline struct flow *cache_fresh_oldest(struct flow_cache *c) { return cache_list_first(c, &c->fresh); }

/* The hash index slot of a hash (batches prefetch it). */
static inline const uint32_t *cache_bucket(const struct flow_cache *c, uint32_t hash)
{
    return &c->buckets[hash & c->bucket_mask];
}

/* The first flow of hash's bucket, or NULL. */
static inline const struct flow *cache_chain_first(const struct flow_cache *c, uint32_t hash)
{
    uint32_t i = *cache_bucket(c, hash);
    return i == FLOW_NONE ? NULL : &c->flows[i];
}

/* Ask for all the lines of a flow a packet reads and writes (224 bytes
 * straddle up to five lines). Read prefetches: for writes gcc emits nothing
 * unless the target has prefetchw (-march=x86-64 has not). always_inline:
 * gcc 12 takes a plain inline function that only loads and prefetches for
 * one without effects, and drops the call. */
static inline __attribute__((always_inline)) void cache_prefetch_flow(const struct flow *f)
{
    const char *p = (const char *)f;
    __builtin_prefetch(p);
    __builtin_prefetch(p + 64);
    __builtin_prefetch(p + 128);
    __builtin_prefetch(p + 192);
    __builtin_prefetch(p + sizeof(struct flow) - 1);
}

/* Ask for the first flow of hash's bucket. Read the bucket only once it has
 * arrived (prefetched a while before), or this waits for it. */
static inline __attribute__((always_inline)) void cache_prefetch_chain(const struct flow_cache *c,
                                                                       uint32_t hash)
{
    const struct flow *f = cache_chain_first(c, hash);
    if (f)
        cache_prefetch_flow(f);
}

/* The line of flow i holding its list links, unless i is FLOW_NONE. */
static inline __attribute__((always_inline)) void cache_prefetch_links(const struct flow_cache *c,
                                                                       uint32_t i)
{
    if (i != FLOW_NONE)
        __builtin_prefetch(&c->flows[i].lru);
}

/* f heads a time list (slot 0: close list, 1: lru list) and will be removed
 * when its time comes: that reads its lines and bucket and rewrites its
 * neighbours' links on the lists, with many flows random lines each. Asked
 * for while f waits, they are there when it goes. Unindexing also walks the
 * chain from the bucket to f: once f was seen here before (its bucket has
 * had a clock step to arrive), the flow ahead of it in the chain is asked
 * for too. Hints only: a stale slot costs a prefetch. always_inline: see
 * cache_prefetch_flow(). */
static inline __attribute__((always_inline)) void cache_prefetch_removal(struct flow_cache *c,
                                                                         const struct flow *f, int slot)
{
    uint32_t i = (uint32_t)(f - c->flows);
    if (c->removal_hinted[slot] == i) {
        uint32_t ahead = *cache_bucket(c, f->hash);
        if (ahead != i && ahead != FLOW_NONE)
            __builtin_prefetch(&c->flows[ahead].hash_next);
        return;
    }
    c->removal_hinted[slot] = i;
    cache_prefetch_flow(f);
    __builtin_prefetch(cache_bucket(c, f->hash));
    cache_prefetch_links(c, f->lru.prev);
    cache_prefetch_links(c, f->lru.next);
    cache_prefetch_links(c, f->start.prev);
    cache_prefetch_links(c, f->start.next);
}

static inline uint32_t cache_index(const struct flow_cache *c, const struct flow *f)
{
    return (uint32_t)(f - c->flows);
}

#endif
