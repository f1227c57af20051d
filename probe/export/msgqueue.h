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
/* The head is lost: count its records as dropped and free it. */
void msgqueue_drop_oldest(struct msgqueue *q);
/* Every message is lost (the end of a run). */
void msgqueue_drop_all(struct msgqueue *q);

#endif
