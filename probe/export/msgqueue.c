#include "msgqueue.h"

#include <stdlib.h>
#include <string.h>

void msgqueue_init(struct msgqueue *q, size_t limit, uint64_t *dropped)
{
    memset(q, 0, sizeof *q);
    q->limit = limit;
    q->dropped = dropped;
}

void msgqueue_pop(struct msgqueue *q)
{
    struct queued_msg *m = q->head;
    q->head = m->next;
    if (!q->head)
        q->tail = NULL;
    q->bytes -= m->len;
    free(m);
}

void msgqueue_drop_oldest(struct msgqueue *q)
{
    *q->dropped += q->head->nrecords;
    msgqueue_pop(q);
}

void msgqueue_drop_all(struct msgqueue *q)
{
    while (q->head)
        msgqueue_drop_oldest(q);
}

void msgqueue_push(struct msgqueue *q, const void *msg, size_t len, uint32_t nrecords)
{
    struct queued_msg *m = malloc(sizeof *m + len);
    if (!m) {
        *q->dropped += nrecords;
        return;
    }
    m->next = NULL;
    m->len = len;
    m->nrecords = nrecords;
    memcpy(m->bytes, msg, len);
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->bytes += len;
    while (q->bytes > q->limit && q->head != m)
        msgqueue_drop_oldest(q);
}
