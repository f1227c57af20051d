/* meter.h — one worker's metering: packets in, finished flow records out.
 *
 * Everything a packet touches lives here (cache, fragment table, counters),
 * so several workers can later run side by side without sharing state.
 * Expiry looks only at the heads of the cache's time lists. */
#ifndef NFPROBE_METER_H
#define NFPROBE_METER_H

#include <stdint.h>
#include "cache.h"
#include "capture.h"
#include "decode.h"
#include "extension.h"
#include "frag.h"
#include "record.h"
#include "slab.h"
#include "tunnel.h"

struct meter_config {
    uint64_t idle_us;
    uint64_t active_us;
    uint64_t tcp_close_us;
    uint32_t max_flows;
    bool dynamic_timeouts;      /* shorten the idle timeout as the cache fills */
};

struct meter_stats {
    uint64_t packets;               /* seen */
    uint64_t decoded;               /* metered */
    uint64_t undecoded[DECODE_STATUS_COUNT];
    uint64_t l4_truncated;          /* metered with ports 0 */
    uint64_t flows_created;
    uint64_t records;               /* handed to the exporter */
    uint64_t records_by_reason[6];  /* indexed by enum end_reason */
    uint64_t active_flows_peak;
    uint64_t ext_unavailable;       /* flows metered without extensions: no memory */
    uint64_t ext_exports;           /* records exported because an extension asked */
    uint64_t decapsulated;          /* metered as the packet inside a tunnel */
    uint64_t tunnel_stops[TUNNEL_STOP_COUNT];  /* metered short of a tunnel, by reason */
    uint64_t tunnel_tails;          /* later fragments of decapsulated packets */
    uint64_t dynamic_expired;       /* records ended by a shortened idle timeout (reason 5) */
};

typedef void (*record_sink_fn)(void *ctx, const struct flow_record *r);
/* Runs when the meter clock reaches an alarm time; returns the next one
 * (UINT64_MAX: none). */
typedef uint64_t (*clock_alarm_fn)(void *ctx, uint64_t now_us);

struct meter {
    struct meter_config cfg;
    struct flow_cache cache;
    struct frag_table frags;
    struct meter_stats stats;
    uint64_t now_us;                /* meter clock: packet time offline */
    uint64_t next_id;               /* last flow id given to a record */
    uint64_t id_stride;             /* see meter_number_flows() */
    uint64_t touch_slack_us;        /* see touch() */
    uint64_t idle_us;               /* the idle timeout now (see adjust_idle_timeout()) */
    record_sink_fn sink;
    void *sink_ctx;
    uint64_t alarm_us;              /* UINT64_MAX: none */
    clock_alarm_fn alarm;
    void *alarm_ctx;
    /* Extensions: one block per flow holds all their states. */
    struct ext_slot ext[EXT_MAX];
    int next;
    size_t block_size;
    struct slab blocks;
};

int meter_init(struct meter *m, const struct meter_config *cfg, record_sink_fn sink, void *ctx);
void meter_free(struct meter *m);
/* The meter as meter_init() with cfg would leave it (no flow, fragment,
 * count or alarm, its clock at 0, flow ids from 1), but with the same sink
 * and extensions and the memory of its fragment table and extension blocks
 * kept: for a process that meters many independent inputs in turn (the fuzz
 * targets). Call it after meter_flush(): -1 while flows are left (nothing
 * changed), or when the cache cannot be allocated (then only meter_free()). */
int meter_reset(struct meter *m, const struct meter_config *cfg);

/* Attach an extension to every flow created from now on; call before the
 * first packet. Its callbacks get ctx (each worker can have its own, e.g.
 * its nDPI module). *offset tells where its state sits (see ext_state()).
 * 0, or -1 when EXT_MAX extensions are attached already. */
int meter_add_extension(struct meter *m, const struct extension *e, void *ctx, size_t *offset);

/* Records get flow ids first + stride, first + 2 stride, ...: unique over
 * several workers (default 0, 1: 1, 2, 3, ...). */
void meter_number_flows(struct meter *m, uint64_t first, uint64_t stride);

/* A record as a copy that outlives its flow (for another thread): the
 * record, its extension block and what the extensions' states point to, in
 * out (meter_record_copy_max() bytes), the copy's ext pointing into out.
 * Returns the bytes used. */
size_t meter_record_copy_max(const struct meter *m);
size_t meter_record_copy(const struct meter *m, const struct flow_record *r, void *out);

/* Count one decoded (or undecodable) packet. */
void meter_packet(struct meter *m, enum decode_status st, struct packet_view *pv);

/* Decode and count pkts[0..n), in order: the same as decode_packet() and
 * meter_packet() for each, with the clock moved to the packet's clock_us (its
 * ts_us when 0) before each metered packet. Their data are read only during
 * the call. */
void meter_packets(struct meter *m, int dlt, const struct capture_packet *pkts, unsigned n);
/* Call fn when the clock reaches at_us, before anything expires at the new
 * time: what expires then belongs to the new time (--rotate starts a new
 * file there). One compare when the clock moves, nothing per packet else. */
void meter_set_alarm(struct meter *m, uint64_t at_us, clock_alarm_fn fn, void *ctx);

/* Move the clock to now_us (never backwards) and export what has expired. */
void meter_advance(struct meter *m, uint64_t now_us);

/* Export every flow with reason END_FORCED (end of file, signal). */
void meter_flush(struct meter *m);

#endif
