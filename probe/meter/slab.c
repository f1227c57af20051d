#include "slab.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void slab_init(struct slab *s, size_t object_size, size_t per_chunk)
{
    memset(s, 0, sizeof *s);
    size_t min = sizeof(void *);
    s->size = align_up(object_size < min ? min : object_size, 16);
    s->per_chunk = per_chunk ? per_chunk : 1024;
}

static int grow(struct slab *s)
{
    void **chunks = realloc(s->chunks, (s->nchunks + 1) * sizeof *chunks);
    if (!chunks)
        return -1;
    s->chunks = chunks;
    char *chunk = calloc(s->per_chunk, s->size);     /* see slab_alloc_zeroed() */
    if (!chunk)
        return -1;
    s->chunks[s->nchunks++] = chunk;
    /* Thread the new objects onto the free list, first object first out. */
    for (size_t i = s->per_chunk; i-- > 0;) {
        void *obj = chunk + i * s->size;
        memcpy(obj, &s->free_list, sizeof s->free_list);
        s->free_list = obj;
    }
    return 0;
}

void *slab_alloc(struct slab *s)
{
    if (!s->free_list && grow(s) < 0)
        return NULL;
    void *obj = s->free_list;
    memcpy(&s->free_list, obj, sizeof s->free_list);
    if (++s->in_use > s->peak)
        s->peak = s->in_use;
    return obj;
}

void slab_free(struct slab *s, void *p)
{
    if (!p)
        return;
    memcpy(p, &s->free_list, sizeof s->free_list);
    s->free_list = p;
    s->in_use--;
}

void slab_destroy(struct slab *s)
{
    for (size_t i = 0; i < s->nchunks; i++)
        free(s->chunks[i]);
    free(s->chunks);
    memset(s, 0, sizeof *s);
}

void *slab_alloc_zeroed(struct slab *s)
{
    void *p = slab_alloc(s);
    if (p)
        memset(p, 0, sizeof s->free_list);  /* the free-list link it held */
    return p;
}

void slab_free_zeroed(struct slab *s, void *p)
{
    memset(p, 0, s->size);
    slab_free(s, p);
}
