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
/* The other thread's core last wrote (or read) the lines an entry goes to:
 * each first touch is a transfer between cores, which costs more than
 * handling the packet. Both sides ask for the lines this far ahead, so the
 * transfers overlap the work on the entries before. */
enum { LINE = 64, WARM_AHEAD = 1024 };
#define PAD_MARK UINT32_MAX

int ring_init(struct ring *r, size_t size)
{
    memset(r, 0, sizeof *r);
    size_t n = 4096;
    while (n < size)
        n <<= 1;
    if (posix_memalign((void **)&r->buf, 64, n) != 0)
        return -1;
    r->size = n;
    atomic_init(&r->head, 0);
    atomic_init(&r->tail, 0);
    return 0;
}

void ring_free(struct ring *r)
{
    free(r->buf);
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

/* Ask for the lines of [*warmed, end) (positions in bytes), wrapping. */
static void warm_lines(const struct ring *r, size_t *warmed, size_t end, int for_write)
{
    if (end - *warmed > WARM_AHEAD)     /* far behind (a start, a wrap): only what is ahead */
        *warmed = end - WARM_AHEAD;
    for (; *warmed < end; *warmed += LINE) {
        const uint8_t *line = r->buf + (*warmed & (r->size - 1));
        if (for_write)
            __builtin_prefetch(line, 1);
        else
            __builtin_prefetch(line, 0);
    }
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
    size_t room_end = r->cached_tail + r->size;
    size_t ahead = r->reserved + WARM_AHEAD;
    warm_lines(r, &r->write_warmed, ahead < room_end ? ahead : room_end, 1);
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
        size_t ahead = r->read + WARM_AHEAD;
        warm_lines(r, &r->read_warmed, ahead < r->cached_head ? ahead : r->cached_head, 0);
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
