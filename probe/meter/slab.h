/* slab.h — fixed-size objects from chunks, reused through a free list: per-flow
 * state costs no malloc per flow once the pool has grown to the peak. */
#ifndef NFPROBE_SLAB_H
#define NFPROBE_SLAB_H

#include <stddef.h>

struct slab {
    size_t size;            /* object size, rounded up to 16 */
    size_t per_chunk;
    void *free_list;
    void **chunks;
    size_t nchunks;
    size_t in_use;
    size_t peak;
};

void slab_init(struct slab *s, size_t object_size, size_t per_chunk);
/* NULL when memory runs out. The object is not zeroed. */
void *slab_alloc(struct slab *s);
void slab_free(struct slab *s, void *p);
/* Objects that are zeroed when freed, while their cache lines are still
 * hot, come back zeroed from slab_alloc_zeroed() without touching them
 * again. Use the pair for every object of a slab. */
void *slab_alloc_zeroed(struct slab *s);
void slab_free_zeroed(struct slab *s, void *p);
void slab_destroy(struct slab *s);

#endif
