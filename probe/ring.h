/* ring.h — a single-producer single-consumer ring of variable-size entries.
 *
 * What one thread hands to one other without a lock: packets from the file
 * reader to a worker, finished records from a worker to the exporter. The
 * producer reserves room, writes the entry in place and publishes it; the
 * consumer reads entries in place and releases them, several at a time, so
 * the shared indices move once per batch, not once per entry. Entries never
 * wrap: one that does not fit before the end starts again at the beginning. */
#ifndef NFPROBE_RING_H
#define NFPROBE_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct ring {
    uint8_t *buf;
    size_t size;                    /* a power of two */
    /* each on a line of its own: one thread writes it, the other reads */
    _Alignas(64) _Atomic size_t head;   /* bytes published (producer) */
    _Alignas(64) _Atomic size_t tail;   /* bytes released (consumer) */
    _Alignas(64) size_t reserved;       /* producer: end of the published + written bytes */
    size_t cached_tail;             /* producer's last look at tail */
    _Alignas(64) size_t read;           /* consumer: end of the entries read so far */
    size_t cached_head;             /* consumer's last look at head */
};

/* size: at least twice the largest entry; rounded up to a power of two.
 * 0, or -1 (out of memory). */
int ring_init(struct ring *r, size_t size);
void ring_free(struct ring *r);

/* Room for an entry of len bytes (8-byte aligned), NULL while the ring is
 * too full. Then ring_commit() publishes every entry written since the last
 * commit (the consumer sees none of them before). */
void *ring_reserve(struct ring *r, size_t len);
void ring_commit(struct ring *r);
/* The entry just reserved (entry) holds only len bytes: give back the rest. */
void ring_trim(struct ring *r, void *entry, size_t len);

/* The next published entry and its length, NULL when there is none yet.
 * It stays valid until ring_release(), which gives back every entry read. */
void *ring_next(struct ring *r, size_t *len);
void ring_release(struct ring *r);

/* The largest entry ring_reserve() can ever give. */
size_t ring_max_entry(const struct ring *r);

#endif
