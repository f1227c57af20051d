/* test_ring.c — the single-producer single-consumer ring between the file
 * reader, the workers and the exporter: order, wrap-around, trimming, a full
 * ring, and two threads passing a million entries of every size. */
#include <check.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "ring.h"
#include "unit.h"

/* An entry of len bytes (>= 8) whose content follows from its number. */
static void fill(uint8_t *p, size_t len, uint64_t n)
{
    memcpy(p, &n, sizeof n);
    for (size_t i = sizeof n; i < len; i++)
        p[i] = (uint8_t)(n * 31 + i);
}

static int holds(const uint8_t *p, size_t len, uint64_t n)
{
    uint64_t got;
    memcpy(&got, p, sizeof got);
    if (got != n)
        return 0;
    for (size_t i = sizeof n; i < len; i++)
        if (p[i] != (uint8_t)(n * 31 + i))
            return 0;
    return 1;
}

static size_t size_of(uint64_t n) { return 8 + (size_t)(n * 7919 % 600); }

START_TEST(entries_come_out_in_order_only_once_committed)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, 4096), 0);
    size_t len;
    for (uint64_t n = 0; n < 3; n++)
        fill(ring_reserve(&r, size_of(n)), size_of(n), n);
    ck_assert_ptr_null(ring_next(&r, &len));        /* not committed yet */
    ring_commit(&r);
    for (uint64_t n = 0; n < 3; n++) {
        const uint8_t *e = ring_next(&r, &len);
        ck_assert_ptr_nonnull(e);
        ck_assert_uint_eq(len, size_of(n));
        ck_assert(holds(e, len, n));
    }
    ck_assert_ptr_null(ring_next(&r, &len));
    ring_free(&r);
}
END_TEST

START_TEST(a_full_ring_refuses_until_released_and_wraps)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, 4096), 0);
    ck_assert_uint_eq(r.size, 4096);
    ck_assert_ptr_null(ring_reserve(&r, ring_max_entry(&r) + 1));
    uint64_t in = 0, out = 0;
    size_t len;
    /* many times round: entries that do not fit before the end start again
     * at the beginning */
    for (int round = 0; round < 200; round++) {
        void *e;
        while ((e = ring_reserve(&r, 1000))) {
            fill(e, 1000, in++);
            ring_commit(&r);
        }
        ck_assert_uint_le(in - out, 4);             /* 4 KiB: at most 4 of them */
        const uint8_t *got = ring_next(&r, &len);
        ck_assert_ptr_nonnull(got);
        ck_assert(holds(got, len, out++));
        ring_release(&r);
    }
    ring_free(&r);
}
END_TEST

START_TEST(a_trimmed_entry_gives_back_its_unused_room)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, 4096), 0);
    void *a = ring_reserve(&r, 2000);
    ring_trim(&r, a, 16);
    fill(a, 16, 1);
    void *b = ring_reserve(&r, 2000);               /* fits only after the trim */
    ck_assert_ptr_nonnull(b);
    fill(b, 2000, 2);
    ring_commit(&r);
    size_t len;
    const uint8_t *e = ring_next(&r, &len);
    ck_assert_uint_eq(len, 16);
    ck_assert(holds(e, len, 1));
    e = ring_next(&r, &len);
    ck_assert_uint_eq(len, 2000);
    ck_assert(holds(e, len, 2));
    ring_free(&r);
}
END_TEST

enum { THREADED_ENTRIES = 1000000 };

static void *produce(void *arg)
{
    struct ring *r = arg;
    for (uint64_t n = 0; n < THREADED_ENTRIES; n++) {
        void *e;
        while (!(e = ring_reserve(r, size_of(n)))) {
            ring_commit(r);
            sched_yield();
        }
        fill(e, size_of(n), n);
        if (n % 16 == 0)
            ring_commit(r);
    }
    ring_commit(r);
    return NULL;
}

START_TEST(two_threads_pass_every_entry_intact)
{
    struct ring r;
    ck_assert_int_eq(ring_init(&r, 64 * 1024), 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, produce, &r), 0);
    uint64_t n = 0, bad = 0;
    while (n < THREADED_ENTRIES) {
        size_t len;
        const uint8_t *e = ring_next(&r, &len);
        if (!e) {
            ring_release(&r);
            sched_yield();
            continue;
        }
        bad += len != size_of(n) || !holds(e, len, n);
        n++;
        if (n % 8 == 0)
            ring_release(&r);
    }
    pthread_join(t, NULL);
    ck_assert_uint_eq(bad, 0);
    size_t len;
    ck_assert_ptr_null(ring_next(&r, &len));
    ring_free(&r);
}
END_TEST

Suite *ring_suite(void)
{
    Suite *s = suite_create("ring");
    TCase *tc = tcase_create("ring");
    tcase_add_test(tc, entries_come_out_in_order_only_once_committed);
    tcase_add_test(tc, a_full_ring_refuses_until_released_and_wraps);
    tcase_add_test(tc, a_trimmed_entry_gives_back_its_unused_room);
    tcase_add_test(tc, two_threads_pass_every_entry_intact);
    suite_add_tcase(s, tc);
    return s;
}
