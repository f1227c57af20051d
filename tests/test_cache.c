/* test_cache.c — the flow pool, its hash index and its three time lists. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "unit.h"

static struct flow_key key_n(uint32_t n)
{
    struct flow_key k;
    memset(&k, 0, sizeof k);
    k.addr[0][0] = 10;
    k.addr[0][2] = (uint8_t)(n >> 8);
    k.addr[0][3] = (uint8_t)n;
    k.addr[1][0] = 192;
    k.port[0] = (uint16_t)(1000 + n);
    k.port[1] = 80;
    k.proto = 6;
    k.ip_version = 4;
    return k;
}

static struct flow *insert_n(struct flow_cache *c, uint32_t n)
{
    struct flow_key k = key_n(n);
    return cache_insert(c, &k, flowkey_hash(&k));
}

static struct flow *lookup_n(struct flow_cache *c, uint32_t n)
{
    struct flow_key k = key_n(n);
    return cache_lookup(c, &k, flowkey_hash(&k));
}

/* Hot-loop assertion: Check's ck_assert_* record a location on every pass,
 * which the randomized test would do millions of times. */
#define REQUIRE(cond, ...)                                                                   \
    do {                                                                                     \
        if (!(cond))                                                                         \
            ck_abort_msg(__VA_ARGS__);                                                       \
    } while (0)

/* The list as pool indexes, head to tail; checks the back links too. */
enum which { LRU, START, CLOSING };

static size_t list_walk(struct flow_cache *c, enum which w, uint32_t *out, size_t max)
{
    const struct list_head *h = w == LRU ? &c->lru : w == START ? &c->start : &c->closing;
    size_t n = 0;
    uint32_t prev = FLOW_NONE;
    for (uint32_t i = h->head; i != FLOW_NONE;) {
        REQUIRE(n < max, "list %d: longer than %zu (a cycle?)", w, max);
        const struct list_link *l = w == LRU ? &c->flows[i].lru : &c->flows[i].start;
        REQUIRE(l->prev == prev, "list %d: flow %u prev %u, expected %u", w, i, l->prev, prev);
        out[n++] = i;
        prev = i;
        i = l->next;
    }
    REQUIRE(h->tail == prev, "list %d: tail %u, last walked %u", w, h->tail, prev);
    return n;
}

/* The list holds exactly the flows of keys ns[0..n), in that order. */
static void assert_list(struct flow_cache *c, enum which w, const uint32_t *ns, size_t n)
{
    uint32_t got[64];
    size_t len = list_walk(c, w, got, 64);
    REQUIRE(len == n, "list %d: %zu flows, expected %zu", w, len, n);
    for (size_t i = 0; i < n; i++) {
        struct flow *f = lookup_n(c, ns[i]);
        REQUIRE(f, "key %u not in the cache", ns[i]);
        REQUIRE(got[i] == cache_index(c, f), "list %d position %zu: key %u not there", w, i,
                      ns[i]);
    }
}
#define LIST(c, w, ...)                                                                      \
    do {                                                                                     \
        static const uint32_t want_[] = {__VA_ARGS__};                                       \
        assert_list((c), (w), want_, sizeof want_ / sizeof want_[0]);                        \
    } while (0)

START_TEST(init_rejects_zero_capacity)
{
    struct flow_cache c;
    errno = 0;
    ck_assert_int_eq(cache_init(&c, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

START_TEST(insert_lookup_remove)
{
    struct flow_cache c;
    ck_assert_int_eq(cache_init(&c, 8), 0);
    ck_assert_ptr_null(lookup_n(&c, 1));
    ck_assert_ptr_null(cache_lru_oldest(&c));
    struct flow *f = insert_n(&c, 1);
    ck_assert_ptr_nonnull(f);
    struct flow_key k = key_n(1);
    ck_assert(flowkey_equal(&f->key, &k));
    ck_assert_uint_eq(f->hash, flowkey_hash(&k));
    ck_assert_uint_eq(f->state, FLOW_IN_USE);
    ck_assert_uint_eq(f->c.packets[0] + f->c.packets[1] + f->list_us, 0);
    ck_assert_ptr_eq(lookup_n(&c, 1), f);
    ck_assert_ptr_null(lookup_n(&c, 2));
    ck_assert_uint_eq(c.used, 1);
    /* Right key, wrong hash: not found (the hash picks the bucket and is
     * compared first). */
    ck_assert_ptr_null(cache_lookup(&c, &k, flowkey_hash(&k) ^ 1));
    struct flow *g = insert_n(&c, 2);
    ck_assert_ptr_ne(f, g);
    ck_assert_ptr_eq(lookup_n(&c, 2), g);
    cache_remove(&c, f);
    ck_assert_ptr_null(lookup_n(&c, 1));
    ck_assert_ptr_eq(lookup_n(&c, 2), g);
    ck_assert_uint_eq(c.used, 1);
    ck_assert_uint_eq(f->state, 0);
    LIST(&c, LRU, 2);
    LIST(&c, START, 2);
    cache_free(&c);
}
END_TEST

START_TEST(keys_sharing_a_hash_are_told_apart)
{
    struct flow_cache c;
    ck_assert_int_eq(cache_init(&c, 16), 0);
    struct flow *f[10];
    for (uint32_t i = 0; i < 10; i++) {
        struct flow_key k = key_n(i);
        f[i] = cache_insert(&c, &k, 0xABCD);
    }
    for (uint32_t i = 0; i < 10; i++) {
        struct flow_key k = key_n(i);
        ck_assert_ptr_eq(cache_lookup(&c, &k, 0xABCD), f[i]);
    }
    cache_remove(&c, f[0]);
    cache_remove(&c, f[5]);
    cache_remove(&c, f[9]);
    for (uint32_t i = 0; i < 10; i++) {
        struct flow_key k = key_n(i);
        struct flow *want = (i == 0 || i == 5 || i == 9) ? NULL : f[i];
        ck_assert_ptr_eq(cache_lookup(&c, &k, 0xABCD), want);
    }
    cache_free(&c);
}
END_TEST

START_TEST(full_cache_refuses_insert_until_a_remove)
{
    struct flow_cache c;
    ck_assert_int_eq(cache_init(&c, 4), 0);
    struct flow *f[4];
    for (uint32_t i = 0; i < 4; i++) {
        ck_assert(!cache_full(&c));
        f[i] = insert_n(&c, i);
        ck_assert_ptr_nonnull(f[i]);
    }
    ck_assert(cache_full(&c));
    ck_assert_ptr_null(insert_n(&c, 99));
    ck_assert_ptr_null(lookup_n(&c, 99));
    ck_assert_uint_eq(c.used, 4);
    cache_remove(&c, f[2]);
    ck_assert(!cache_full(&c));
    struct flow *g = insert_n(&c, 99);
    ck_assert_ptr_eq(g, f[2]);      /* the freed slot */
    ck_assert_ptr_null(insert_n(&c, 100));
    cache_free(&c);
}
END_TEST

START_TEST(free_list_reuses_latest_freed_first)
{
    struct flow_cache c;
    ck_assert_int_eq(cache_init(&c, 8), 0);
    struct flow *f[4];
    for (uint32_t i = 0; i < 4; i++)
        f[i] = insert_n(&c, i);
    for (uint32_t i = 0; i < 4; i++)
        ck_assert_uint_eq(cache_index(&c, f[i]), i);
    cache_remove(&c, f[1]);
    cache_remove(&c, f[3]);
    ck_assert_ptr_eq(insert_n(&c, 10), f[3]);
    ck_assert_ptr_eq(insert_n(&c, 11), f[1]);
    ck_assert_uint_eq(cache_index(&c, insert_n(&c, 12)), 4);    /* then never-used slots */
    /* A reused slot starts clean. */
    ck_assert_uint_eq(f[3]->state, FLOW_IN_USE);
    ck_assert_uint_eq(f[3]->c.packets[0], 0);
    ck_assert_ptr_eq(lookup_n(&c, 10), f[3]);
    ck_assert_ptr_null(lookup_n(&c, 3));
    cache_free(&c);
}
END_TEST

START_TEST(lru_order_follows_touches)
{
    struct flow_cache c;
    ck_assert_int_eq(cache_init(&c, 8), 0);
    for (uint32_t i = 1; i <= 4; i++)
        insert_n(&c, i);
    LIST(&c, LRU, 1, 2, 3, 4);
    cache_touch(&c, lookup_n(&c, 2));
    LIST(&c, LRU, 1, 3, 4, 2);
    cache_touch(&c, lookup_n(&c, 1));
    LIST(&c, LRU, 3, 4, 2, 1);
    cache_touch(&c, lookup_n(&c, 1));   /* already newest */
    LIST(&c, LRU, 3, 4, 2, 1);
    ck_assert_ptr_eq(cache_lru_oldest(&c), lookup_n(&c, 3));
    cache_remove(&c, lookup_n(&c, 4));
    LIST(&c, LRU, 3, 2, 1);
    cache_remove(&c, lookup_n(&c, 3));
    LIST(&c, LRU, 2, 1);
    cache_remove(&c, lookup_n(&c, 1));
    LIST(&c, LRU, 2);
    /* Touches do not move the start list. */
    LIST(&c, START, 2);
    cache_free(&c);
}
END_TEST

START_TEST(closing_and_restart_move_between_lists)
{
    struct flow_cache c;
    ck_assert_int_eq(cache_init(&c, 8), 0);
    for (uint32_t i = 1; i <= 4; i++)
        insert_n(&c, i);
    LIST(&c, START, 1, 2, 3, 4);
    ck_assert_ptr_null(cache_closing_oldest(&c));
    cache_mark_closing(&c, lookup_n(&c, 3));
    cache_mark_closing(&c, lookup_n(&c, 1));
    LIST(&c, START, 2, 4);
    LIST(&c, CLOSING, 3, 1);
    ck_assert(lookup_n(&c, 3)->state & FLOW_CLOSING);
    cache_mark_closing(&c, lookup_n(&c, 3));    /* already closing: stays put */
    LIST(&c, CLOSING, 3, 1);
    ck_assert_ptr_eq(cache_closing_oldest(&c), lookup_n(&c, 3));
    ck_assert_ptr_eq(cache_start_oldest(&c), lookup_n(&c, 2));
    /* Restart: off both lists, no longer closing, until scheduled again
     * (its next packet), then at the start list's tail. */
    cache_restart(&c, lookup_n(&c, 3));
    LIST(&c, START, 2, 4);
    LIST(&c, CLOSING, 1);
    ck_assert(!(lookup_n(&c, 3)->state & FLOW_CLOSING));
    ck_assert(lookup_n(&c, 3)->state & FLOW_UNSCHEDULED);
    cache_restart(&c, lookup_n(&c, 2));
    LIST(&c, START, 4);
    cache_schedule(&c, lookup_n(&c, 3));
    cache_schedule(&c, lookup_n(&c, 2));
    LIST(&c, START, 4, 3, 2);
    ck_assert(!(lookup_n(&c, 3)->state & FLOW_UNSCHEDULED));
    /* Removing a closing flow unlinks it from the close list. */
    cache_remove(&c, lookup_n(&c, 1));
    ck_assert_ptr_null(cache_closing_oldest(&c));
    LIST(&c, START, 4, 3, 2);
    LIST(&c, LRU, 2, 3, 4);
    cache_free(&c);
}
END_TEST

/* ---- randomized, against a reference model ---------------------------------- */

enum { KEYS = 200, CAP = 48 };

struct model {
    int present[KEYS];
    int closing[KEYS];
    int unscheduled[KEYS];      /* on neither start nor close list */
    uint32_t lru[KEYS], start[KEYS], close[KEYS];   /* key numbers, oldest first */
    size_t nlru, nstart, nclose;
    size_t used;
};

static void seq_remove(uint32_t *s, size_t *n, uint32_t k)
{
    for (size_t i = 0; i < *n; i++)
        if (s[i] == k) {
            memmove(s + i, s + i + 1, (*n - i - 1) * sizeof *s);
            (*n)--;
            return;
        }
    ck_abort_msg("model lost key %u", k);
}

static void seq_append(uint32_t *s, size_t *n, uint32_t k) { s[(*n)++] = k; }

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void check_against_model(struct flow_cache *c, const struct model *m)
{
    REQUIRE(c->used == m->used, "used %u, model %zu", c->used, m->used);
    for (uint32_t k = 0; k < KEYS; k++) {
        struct flow *f = lookup_n(c, k);
        REQUIRE((f != NULL) == m->present[k], "key %u: present %d in model", k, m->present[k]);
        if (f)
            REQUIRE(!!(f->state & FLOW_CLOSING) == m->closing[k], "key %u: closing state", k);
    }
    assert_list(c, LRU, m->lru, m->nlru);
    assert_list(c, START, m->start, m->nstart);
    assert_list(c, CLOSING, m->close, m->nclose);
}

START_TEST(random_operations_match_a_reference_model)
{
    struct flow_cache c;
    ck_assert_int_eq(cache_init(&c, CAP), 0);
    static struct model m;
    memset(&m, 0, sizeof m);
    for (int op = 0; op < 5000; op++) {
        uint32_t k = rnd(KEYS);
        struct flow *f = lookup_n(&c, k);
        switch (rnd(7)) {
        case 0: case 1:     /* insert */
            if (m.present[k])
                break;
            f = insert_n(&c, k);
            if (m.used == CAP) {
                ck_assert_ptr_null(f);
                break;
            }
            ck_assert_ptr_nonnull(f);
            m.present[k] = 1;
            m.used++;
            seq_append(m.lru, &m.nlru, k);
            seq_append(m.start, &m.nstart, k);
            break;
        case 2:             /* remove */
            if (!m.present[k])
                break;
            cache_remove(&c, f);
            m.present[k] = 0;
            m.used--;
            seq_remove(m.lru, &m.nlru, k);
            if (m.closing[k])
                seq_remove(m.close, &m.nclose, k);
            else if (!m.unscheduled[k])
                seq_remove(m.start, &m.nstart, k);
            m.closing[k] = m.unscheduled[k] = 0;
            break;
        case 3:             /* touch */
            if (!m.present[k])
                break;
            cache_touch(&c, f);
            seq_remove(m.lru, &m.nlru, k);
            seq_append(m.lru, &m.nlru, k);
            break;
        case 4:             /* start closing */
            if (!m.present[k])
                break;
            cache_mark_closing(&c, f);
            if (!m.closing[k]) {
                if (!m.unscheduled[k])
                    seq_remove(m.start, &m.nstart, k);
                m.unscheduled[k] = 0;
                seq_append(m.close, &m.nclose, k);
                m.closing[k] = 1;
            }
            break;
        case 5:             /* record exported at its active timeout */
            if (!m.present[k] || m.unscheduled[k])
                break;
            cache_restart(&c, f);
            if (m.closing[k])
                seq_remove(m.close, &m.nclose, k);
            else
                seq_remove(m.start, &m.nstart, k);
            m.closing[k] = 0;
            m.unscheduled[k] = 1;
            break;
        case 6:             /* the next record's first packet */
            if (!m.present[k] || !m.unscheduled[k])
                break;
            cache_schedule(&c, f);
            seq_append(m.start, &m.nstart, k);
            m.unscheduled[k] = 0;
            break;
        }
        check_against_model(&c, &m);
    }
    cache_free(&c);
}
END_TEST

Suite *cache_suite(void)
{
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("cache");
    tcase_add_test(tc, init_rejects_zero_capacity);
    tcase_add_test(tc, insert_lookup_remove);
    tcase_add_test(tc, keys_sharing_a_hash_are_told_apart);
    tcase_add_test(tc, full_cache_refuses_insert_until_a_remove);
    tcase_add_test(tc, free_list_reuses_latest_freed_first);
    tcase_add_test(tc, lru_order_follows_touches);
    tcase_add_test(tc, closing_and_restart_move_between_lists);
    tcase_add_test(tc, random_operations_match_a_reference_model);
    suite_add_tcase(s, tc);
    return s;
}
