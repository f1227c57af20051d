/* test_msgqueue.c — the bounded queue shared by the TCP/TLS/SCTP, ZeroMQ
 * and MQTT transports: the byte bound drops the oldest (counted), and the
 * moves TCP/TLS's acknowledgement tracking makes (a written message taken
 * to the unacknowledged list, put back at the front after a break) keep
 * order, byte counts and record counts. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "msgqueue.h"
#include "unit.h"

/* Push message number n: n bytes of value n, carrying n records. */
static void push_n(struct msgqueue *q, uint8_t n)
{
    uint8_t msg[32];
    memset(msg, n, n);
    msgqueue_push(q, msg, n, n);
}

/* The queue holds exactly the messages numbered in want, in order. */
static void assert_holds(const struct msgqueue *q, const uint8_t *want, size_t nwant)
{
    size_t i = 0, bytes = 0;
    const struct queued_msg *last = NULL;
    for (const struct queued_msg *m = q->head; m; m = m->next, i++) {
        ck_assert_uint_lt(i, nwant);
        ck_assert_uint_eq(m->len, want[i]);
        ck_assert_uint_eq(m->nrecords, want[i]);
        ck_assert_uint_eq(m->bytes[0], want[i]);
        bytes += m->len;
        last = m;
    }
    ck_assert_uint_eq(i, nwant);
    ck_assert_ptr_eq(q->tail, last);
    ck_assert_uint_eq(q->bytes, bytes);
}

/* A queue bounded like a transport's and an unbounded one (the
 * unacknowledged list), both counting drops into *dropped. */
static void init_pair(struct msgqueue *q, struct msgqueue *unbounded, uint64_t *dropped)
{
    *dropped = 0;
    msgqueue_init(q, 1000, dropped);
    msgqueue_init(unbounded, SIZE_MAX, dropped);
}

START_TEST(bound_drops_the_oldest_and_counts_their_records)
{
    uint64_t dropped = 0;
    struct msgqueue q;
    msgqueue_init(&q, 20, &dropped);
    push_n(&q, 5);
    push_n(&q, 6);
    push_n(&q, 7);
    push_n(&q, 8);      /* 26 bytes: 5 goes, then 6 (21 > 20) */
    assert_holds(&q, (const uint8_t[]){7, 8}, 2);
    ck_assert_uint_eq(dropped, 5 + 6);
    push_n(&q, 30);     /* larger than the bound alone: it stays */
    assert_holds(&q, (const uint8_t[]){30}, 1);
    ck_assert_uint_eq(dropped, 5 + 6 + 7 + 8);
    msgqueue_drop_all(&q);
    ck_assert_ptr_null(q.head);
    ck_assert_uint_eq(dropped, 5 + 6 + 7 + 8 + 30);
}
END_TEST

START_TEST(taken_messages_go_back_to_the_front_in_order)
{
    uint64_t dropped;
    struct msgqueue q, unacked;
    init_pair(&q, &unacked, &dropped);
    for (uint8_t n = 1; n <= 5; n++)
        push_n(&q, n);
    /* 1, 2, 3 written: on the unacknowledged list */
    for (int i = 0; i < 3; i++)
        msgqueue_append(&unacked, msgqueue_take(&q));
    assert_holds(&q, (const uint8_t[]){4, 5}, 2);
    assert_holds(&unacked, (const uint8_t[]){1, 2, 3}, 3);
    /* 1 acknowledged; the connection breaks: 2, 3 are sent again first */
    msgqueue_pop(&unacked);
    msgqueue_prepend(&q, &unacked);
    assert_holds(&q, (const uint8_t[]){2, 3, 4, 5}, 4);
    assert_holds(&unacked, NULL, 0);
    ck_assert_uint_eq(dropped, 0);
    msgqueue_drop_all(&q);
    ck_assert_uint_eq(dropped, 2 + 3 + 4 + 5);
}
END_TEST

START_TEST(prepend_to_an_empty_queue_and_take_from_one)
{
    uint64_t dropped;
    struct msgqueue q, front;
    init_pair(&q, &front, &dropped);
    ck_assert_ptr_null(msgqueue_take(&q));
    msgqueue_prepend(&q, &front);           /* nothing to move */
    assert_holds(&q, NULL, 0);
    push_n(&front, 9);
    push_n(&front, 10);
    msgqueue_prepend(&q, &front);
    assert_holds(&q, (const uint8_t[]){9, 10}, 2);
    push_n(&q, 11);                         /* the tail came along */
    assert_holds(&q, (const uint8_t[]){9, 10, 11}, 3);
    msgqueue_drop_all(&q);
    ck_assert_uint_eq(dropped, 9 + 10 + 11);
}
END_TEST

Suite *msgqueue_suite(void)
{
    Suite *s = suite_create("msgqueue");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, bound_drops_the_oldest_and_counts_their_records);
    tcase_add_test(tc, taken_messages_go_back_to_the_front_in_order);
    tcase_add_test(tc, prepend_to_an_empty_queue_and_take_from_one);
    suite_add_tcase(s, tc);
    return s;
}
