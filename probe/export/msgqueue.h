/* msgqueue.h — messages waiting for a connection (TCP, TLS and SCTP
 * collectors, MQTT brokers), oldest first, bounded in bytes: past the
 * bound the oldest go, their records counted as dropped. */
#ifndef NFPROBE_MSGQUEUE_H
#define NFPROBE_MSGQUEUE_H

#include <stddef.h>
#include <stdint.h>

struct queued_msg {
    struct queued_msg *next;
    size_t len;
    size_t wire;            /* bytes it took on a connection (TLS: ciphertext),
                               set by the sender that tracks acknowledgements */
    uint32_t nrecords;
    uint8_t bytes[];
};

struct msgqueue {
    struct queued_msg *head, *tail;
    size_t bytes, limit;
    uint64_t *dropped;      /* the owner's count of records dropped */
};

void msgqueue_init(struct msgqueue *q, size_t limit, uint64_t *dropped);
/* Append a copy (a message that cannot be copied is counted as dropped),
 * then drop the oldest until the queue is within its bound again; the new
 * message stays even when it alone is larger. */
void msgqueue_push(struct msgqueue *q, const void *msg, size_t len, uint32_t nrecords);
/* The head was delivered: free it. */
void msgqueue_pop(struct msgqueue *q);
/* Unlink the head and hand it to the caller (NULL when empty). */
struct queued_msg *msgqueue_take(struct msgqueue *q);
/* Append a message taken from a queue, unbounded (a list of messages
 * written but not yet acknowledged keeps all of them). */
void msgqueue_append(struct msgqueue *q, struct queued_msg *m);
/* Move every message of front ahead of q's, in order, leaving front empty;
 * q's bound applies from its next push. */
void msgqueue_prepend(struct msgqueue *q, struct msgqueue *front);
/* The head is lost: count its records as dropped and free it. */
void msgqueue_drop_oldest(struct msgqueue *q);
/* Every message is lost (the end of a run). */
void msgqueue_drop_all(struct msgqueue *q);

#endif
