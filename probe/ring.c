#include "ring.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Each entry starts with its length; a length of PAD_MARK sends the reader
 * back to the start of the buffer. */
struct entry_header {
    uint32_t len;
    uint32_t unused;
};
enum { HEADER = sizeof(struct entry_header), ALIGN = 8 };
#define PAD_MARK UINT32_MAX

int ring_init(struct ring *r, size_t size)
{
    memset(r, 0, sizeof *r);
    size_t n = 4096;
    while (n < size)
        n <<= 1;
    r->size = n;
    r->buf = alloc_large_table(n);
    if (!r->buf)
        return -1;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

void ring_free(struct ring *r)
{
    free_large_table(r->buf, r->size);
    r->buf = NULL;
}

size_t ring_max_entry(const struct ring *r)
{
    return r->size / 2 - HEADER;
}

/* The consumer's position is read only when the last look at it leaves too
 * little room: one shared-line read per many entries. */
static bool has_room(struct ring *r, size_t bytes)
{
    if (r->size - (r->reserved - r->cached_tail) >= bytes)
        return true;
    r->cached_tail = atomic_load_explicit(&r->tail, memory_order_acquire);
    return r->size - (r->reserved - r->cached_tail) >= bytes;
}

void *ring_reserve(struct ring *r, size_t len)
{
    size_t need = HEADER + align_up(len, ALIGN);
    if (need > r->size / 2)
        return NULL;
    size_t at = r->reserved & (r->size - 1);
    size_t to_end = r->size - at;
    /* an entry that would cross the end waits at the start: pad the rest */
    size_t total = need <= to_end ? need : to_end + need;
    if (!has_room(r, total))
        return NULL;
    if (need > to_end) {
        ((struct entry_header *)(r->buf + at))->len = PAD_MARK;
        r->reserved += to_end;
        at = 0;
    }
    struct entry_header *h = (struct entry_header *)(r->buf + at);
    h->len = (uint32_t)len;
    r->reserved += need;
    return h + 1;
}

void ring_trim(struct ring *r, void *entry, size_t len)
{
    struct entry_header *h = (struct entry_header *)entry - 1;
    r->reserved -= align_up(h->len, ALIGN) - align_up(len, ALIGN);
    h->len = (uint32_t)len;
}

void ring_commit(struct ring *r)
{
    atomic_store_explicit(&r->head, r->reserved, memory_order_release);
}

void *ring_next(struct ring *r, size_t *len)
{
    for (;;) {
        if (r->read == r->cached_head) {
            r->cached_head = atomic_load_explicit(&r->head, memory_order_acquire);
            if (r->read == r->cached_head)
                return NULL;
        }
        size_t at = r->read & (r->size - 1);
        struct entry_header *h = (struct entry_header *)(r->buf + at);
        if (h->len == PAD_MARK) {
            r->read += r->size - at;
            continue;
        }
        *len = h->len;
        r->read += HEADER + align_up(h->len, ALIGN);
        return h + 1;
    }
}

void ring_release(struct ring *r)
{
    atomic_store_explicit(&r->tail, r->read, memory_order_release);
}
