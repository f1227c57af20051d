/* extension.h — how DPI and plugins attach to flows.
 *
 * An extension declares the per-flow state it needs and the callbacks it
 * wants; the meter gives every flow one block holding all extensions' states
 * (from a slab: no allocation per packet, none per flow once warm) and calls
 * the callbacks at flow creation, on each packet, before export and when the
 * flow goes. What an extension exports it describes as element rows
 * (elements.h), read from its state through ext_state() at export. */
#ifndef NFPROBE_EXTENSION_H
#define NFPROBE_EXTENSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cache.h"
#include "decode.h"
#include "record.h"

/* What flow_packet asks for next. */
enum ext_verdict {
    EXT_MORE = 0,       /* keep calling me with this flow's packets */
    EXT_DONE = 1,       /* no more packets for me (my state stays until export) */
    EXT_EXPORT = 2,     /* export the flow now (custom expiry); implies done */
};

struct extension {
    const char *name;
    size_t state_size;  /* bytes of per-flow state, zeroed at flow creation */
    void *ctx;          /* the extension's own, passed to every callback */
    /* Per record (plugins): every record of the flow starts from a zeroed
     * state and flow_init; otherwise (DPI) the state lives as long as the
     * flow, across active-timeout splits. */
    bool per_record;
    /* The first packet of the flow (dir is DIR_FWD), or with per_record of
     * each record (either direction), after it was counted. */
    enum ext_verdict (*flow_init)(void *ctx, void *state, const struct flow *f,
                                  const struct packet_view *pv, int dir);
    /* Every later packet, after it was counted, until the extension says done. */
    enum ext_verdict (*flow_packet)(void *ctx, void *state, const struct flow *f,
                                    const struct packet_view *pv, int dir);
    /* Just before a record of the flow is exported. */
    void (*flow_export)(void *ctx, void *state, const struct flow *f, enum end_reason reason);
    /* An active timeout split the flow: the next record starts now
     * (optional; per_record extensions get flow_free and a fresh state instead). */
    void (*flow_restart)(void *ctx, void *state, const struct flow *f);
    /* The flow leaves the cache: release what the state points to (optional). */
    void (*flow_free)(void *ctx, void *state);
    /* A record goes to the exporter thread as a copy of the flow's block
     * (--workers): copy what the copied state points to into out, at most
     * detach_max bytes, point the copy there and return the bytes used
     * (optional: a state without pointers travels as it is). */
    size_t (*flow_detach)(void *ctx, void *copy, uint8_t *out);
    size_t detach_max;
    /* A zeroed state means the flow has nothing of this extension's (the
     * tunnel extension on a flow in no tunnel): when every extension is done
     * at the first packet and left its state so, the flow keeps no block,
     * and its packets never touch one. */
    bool zero_state_is_none;
};

#define EXT_MAX 16

/* Where an extension's state sits in a flow's block; fixed at start-up. */
struct ext_slot {
    const struct extension *ext;
    size_t offset;
    void *ctx;          /* passed to its callbacks: ext->ctx, or a worker's own */
};

/* The state of the extension at offset, from an exported record (NULL when
 * the flow has no block: no extension was registered). */
static inline const void *ext_state(const struct flow_record *r, size_t offset)
{
    return r->ext ? (const uint8_t *)r->ext + offset : NULL;
}

#endif
