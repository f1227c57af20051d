#include "msgqueue.h"

#include <stdlib.h>
#include <string.h>

void msgqueue_init(struct msgqueue *q, size_t limit, uint64_t *dropped)
{
    memset(q, 0, sizeof *q);
    q->limit = limit;
    q->dropped = dropped;
}

struct queued_msg *msgqueue_take(struct msgqueue *q)
{
    struct queued_msg *m = q->head;
    if (!m)
        return NULL;
    q->head = m->next;
    if (!q->head)
        q->tail = NULL;
    q->bytes -= m->len;
    m->next = NULL;
    return m;
}

void msgqueue_pop(struct msgqueue *q)
{
    free(msgqueue_take(q));
}

void msgqueue_append(struct msgqueue *q, struct queued_msg *m)
{
    m->next = NULL;
    if (q->tail)
        q->tail->next = m;
    else
        q->head = m;
    q->tail = m;
    q->bytes += m->len;
}

void msgqueue_prepend(struct msgqueue *q, struct msgqueue *front)
{
    if (!front->head)
        return;
    front->tail->next = q->head;
    q->head = front->head;
    if (!q->tail)
        q->tail = front->tail;
    q->bytes += front->bytes;
    front->head = front->tail = NULL;
    front->bytes = 0;
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
    m->len = len;
    m->wire = 0;
    m->nrecords = nrecords;
    memcpy(m->bytes, msg, len);
    msgqueue_append(q, m);
    while (q->bytes > q->limit && q->head != m)
        msgqueue_drop_oldest(q);
}
