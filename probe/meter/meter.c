#include "meter.h"

#include <string.h>

#include "util.h"

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_ACK = 0x10 };
enum { BLOCK_HEADER = 16, BLOCKS_PER_CHUNK = 4096 };

/* A flow's extension block starts with the set of extensions that said
 * they are done with its packets. */
struct block_header {
    uint32_t done;
    uint32_t export_requested;
    uint32_t record_pending;    /* per-record extensions waiting for a record's first packet */
};
_Static_assert(sizeof(struct block_header) <= BLOCK_HEADER, "the block header fits its space");

/* ---- dynamic timeouts --------------------------------------------------------
 * Past the high-water mark (3/4 of the cache) the idle timeout halves with
 * every further 1/20 of the cache filled, down to a floor of 1 s (or the
 * configured timeout, if shorter); it doubles back step by step as the cache
 * empties. A flood of short flows then ages out before the cache is full and
 * its least recently seen flow, often a long-lived one, has to go. */
enum { HIGH_WATER_PERCENT = 75, STEP_PERCENT = 5 };
#define DYNAMIC_FLOOR_US 1000000ull

static uint64_t dynamic_floor_us(const struct meter_config *cfg)
{
    return cfg->idle_us < DYNAMIC_FLOOR_US ? cfg->idle_us : DYNAMIC_FLOOR_US;
}

/* O(1), on every clock step: the level follows the fill. */
static void adjust_idle_timeout(struct meter *m)
{
    if (!m->cfg.dynamic_timeouts)
        return;
    uint64_t fill = (uint64_t)m->cache.used * 100, cap = m->cache.capacity;
    uint64_t idle = m->cfg.idle_us, floor = dynamic_floor_us(&m->cfg);
    if (fill >= cap * HIGH_WATER_PERCENT) {
        uint64_t steps = 1 + (fill - cap * HIGH_WATER_PERCENT) / (cap * STEP_PERCENT);
        for (uint64_t i = 0; i < steps && idle > floor; i++)
            idle = idle / 2 > floor ? idle / 2 : floor;
    }
    m->idle_us = idle;
}

/* Everything but the tables: a meter with no flow, no count, its clock at 0. */
static void meter_start(struct meter *m, const struct meter_config *cfg, record_sink_fn sink, void *ctx)
{
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->idle_us = cfg->idle_us;
    m->touch_slack_us = (cfg->dynamic_timeouts ? dynamic_floor_us(cfg) : cfg->idle_us) / 64;
    m->id_stride = 1;
    m->sink = sink;
    m->sink_ctx = ctx;
    m->alarm_us = UINT64_MAX;
}

static int meter_cache_init(struct meter *m)
{
    if (cache_init(&m->cache, m->cfg.max_flows) < 0)
        return -1;
    m->cache.use_fresh = m->cfg.dynamic_timeouts;
    return 0;
}

int meter_init(struct meter *m, const struct meter_config *cfg, record_sink_fn sink, void *ctx)
{
    meter_start(m, cfg, sink, ctx);
    if (meter_cache_init(m) < 0)
        return -1;
    if (frag_init(&m->frags, FRAG_SETS, FRAG_TIMEOUT_US) < 0) {
        cache_free(&m->cache);
        return -1;
    }
    return 0;
}

int meter_reset(struct meter *m, const struct meter_config *cfg)
{
    if (m->cache.used)
        return -1;
    struct meter kept = *m;
    meter_start(m, cfg, kept.sink, kept.sink_ctx);
    /* A new cache, as cfg may give it another size (and a large one costs
     * only the pages its flows touch); the fragment table and the blocks
     * (BLOCKS_PER_CHUNK at a time, back zeroed: slab_free_zeroed()) are
     * what a fresh meter would fault in again. */
    cache_free(&kept.cache);
    m->frags = kept.frags;
    frag_reset(&m->frags);
    memcpy(m->ext, kept.ext, sizeof m->ext);
    m->next = kept.next;
    m->block_size = kept.block_size;
    m->blocks = kept.blocks;
    return meter_cache_init(m);
}

int meter_add_extension(struct meter *m, const struct extension *e, void *ctx, size_t *offset)
{
    if (m->next == EXT_MAX)
        return -1;
    if (m->block_size == 0)
        m->block_size = BLOCK_HEADER;
    size_t at = align_up(m->block_size, 16);
    m->ext[m->next++] = (struct ext_slot){e, at, ctx};
    m->block_size = at + e->state_size;
    slab_destroy(&m->blocks);
    slab_init(&m->blocks, m->block_size, BLOCKS_PER_CHUNK);
    *offset = at;
    return 0;
}

static void *state_of(const struct flow *f, const struct ext_slot *s)
{
    return (uint8_t *)f->ext + s->offset;
}

/* ---- extension calls ----------------------------------------------------- */

static void ext_attach(struct meter *m, struct flow *f)
{
    if (!m->next)
        return;
    /* zeroed when the last flow gave it back: its lines were hot then */
    f->ext = slab_alloc_zeroed(&m->blocks);
    if (!f->ext)
        m->stats.ext_unavailable++;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* After the first packet: does the block hold anything (extension.h,
 * zero_state_is_none)? */
static bool block_unused(const struct meter *m, struct flow *f)
{
    const struct block_header *h = f->ext;
    if (h->export_requested || h->done != (1u << m->next) - 1)
        return false;
    for (int i = 0; i < m->next; i++) {
        const struct ext_slot *s = &m->ext[i];
        if (!s->ext->zero_state_is_none || !all_zero(state_of(f, s), s->ext->state_size))
            return false;
    }
    return true;
}

static void ext_verdict(struct flow *f, int i, enum ext_verdict v)
{
    struct block_header *h = f->ext;
    if (v != EXT_MORE)
        h->done |= 1u << i;
    if (v == EXT_EXPORT)
        h->export_requested = 1;
}

/* An extension's first packet of a flow, or of a record (per_record). */
static void ext_start(struct flow *f, int i, const struct ext_slot *s, const struct packet_view *pv,
                      int dir)
{
    const struct extension *e = s->ext;
    enum ext_verdict v = e->flow_init ? e->flow_init(s->ctx, state_of(f, s), f, pv, dir) : EXT_MORE;
    if (!e->flow_packet && v == EXT_MORE)
        v = EXT_DONE;
    ext_verdict(f, i, v);
}

static void ext_first_packet(struct meter *m, struct flow *f, const struct packet_view *pv)
{
    for (int i = 0; i < m->next && f->ext; i++)
        ext_start(f, i, &m->ext[i], pv, DIR_FWD);
}

static void ext_packet(struct meter *m, struct flow *f, const struct packet_view *pv, int dir)
{
    struct block_header *h = f->ext;
    for (int i = 0; i < m->next && h; i++) {
        const struct ext_slot *s = &m->ext[i];
        if (h->record_pending & (1u << i)) {
            h->record_pending &= ~(1u << i);
            ext_start(f, i, s, pv, dir);
            continue;
        }
        if (h->done & (1u << i))
            continue;
        ext_verdict(f, i, s->ext->flow_packet(s->ctx, state_of(f, s), f, pv, dir));
    }
}

static void ext_before_export(struct meter *m, const struct flow *f, enum end_reason reason)
{
    for (int i = 0; i < m->next && f->ext; i++) {
        const struct ext_slot *s = &m->ext[i];
        if (s->ext->flow_export)
            s->ext->flow_export(s->ctx, state_of(f, s), f, reason);
    }
}

static void ext_restart(struct meter *m, struct flow *f)
{
    struct block_header *h = f->ext;
    for (int i = 0; i < m->next && h; i++) {
        const struct ext_slot *s = &m->ext[i];
        const struct extension *e = s->ext;
        void *state = state_of(f, s);
        if (!e->per_record) {
            if (e->flow_restart)
                e->flow_restart(s->ctx, state, f);
            continue;
        }
        if (e->flow_free)
            e->flow_free(s->ctx, state);
        memset(state, 0, e->state_size);
        h->done &= ~(1u << i);
        h->record_pending |= 1u << i;
    }
}

static void ext_release(struct meter *m, struct flow *f)
{
    if (!f->ext)
        return;
    for (int i = 0; i < m->next; i++) {
        const struct ext_slot *s = &m->ext[i];
        if (s->ext->flow_free)
            s->ext->flow_free(s->ctx, state_of(f, s));
    }
    slab_free_zeroed(&m->blocks, f->ext);
    f->ext = NULL;
}

void meter_number_flows(struct meter *m, uint64_t first, uint64_t stride)
{
    m->next_id = first;
    m->id_stride = stride;
}

size_t meter_record_copy_max(const struct meter *m)
{
    size_t n = sizeof(struct flow_record) + align_up(m->block_size, 8);
    for (int i = 0; i < m->next; i++)
        n += align_up(m->ext[i].ext->detach_max, 8);
    return n;
}

size_t meter_record_copy(const struct meter *m, const struct flow_record *r, void *out)
{
    struct flow_record *c = out;
    *c = *r;
    uint8_t *p = (uint8_t *)(c + 1);
    if (!r->ext)
        return sizeof *c;
    memcpy(p, r->ext, m->block_size);
    c->ext = p;
    uint8_t *extra = p + align_up(m->block_size, 8);
    for (int i = 0; i < m->next; i++) {
        const struct ext_slot *s = &m->ext[i];
        if (s->ext->flow_detach)
            extra += align_up(s->ext->flow_detach(s->ctx, p + s->offset, extra), 8);
    }
    return (size_t)(extra - (uint8_t *)out);
}

void meter_free(struct meter *m)
{
    cache_free(&m->cache);
    frag_free(&m->frags);
    slab_destroy(&m->blocks);
}

static bool flow_has_packets(const struct flow *f)
{
    return f->c.packets[DIR_FWD] + f->c.packets[DIR_REV] > 0;
}

/* An exported flow's block is usually cold (an idle flow was last touched
 * long ago) and all of it is read now (extensions, encoder) and written when
 * it is freed: ask for all its lines at once rather than one miss after the
 * other. */
static void prefetch_block(const struct meter *m, const struct flow *f)
{
    const char *b = f->ext;
    if (!b)
        return;
    for (size_t at = 0; at < m->block_size; at += 64)
        __builtin_prefetch(b + at);
}

static void emit(struct meter *m, const struct flow *f, enum end_reason reason)
{
    if (!flow_has_packets(f))
        return;     /* a restarted record that saw nothing: nothing to say */
    prefetch_block(m, f);
    ext_before_export(m, f, reason);
    struct flow_record r;
    record_from_flow(f, reason, &r);
    m->next_id += m->id_stride;
    r.id = m->next_id;
    m->stats.records++;
    m->stats.records_by_reason[reason]++;
    m->sink(m->sink_ctx, &r);
}

static void expire_flow(struct meter *m, struct flow *f, enum end_reason reason)
{
    emit(m, f, reason);
    ext_release(m, f);
    cache_remove(&m->cache, f);
}

/* Active timeout: report what was metered so far, keep metering the same
 * conversation in a fresh record. */
static void restart_flow(struct meter *m, struct flow *f)
{
    emit(m, f, END_ACTIVE);
    memset(f->c.first_us, 0, sizeof f->c.first_us);
    memset(f->c.packets, 0, sizeof f->c.packets);
    memset(f->c.ip_octets, 0, sizeof f->c.ip_octets);
    memset(f->c.l2_octets, 0, sizeof f->c.l2_octets);
    memset(f->tcp_flags, 0, sizeof f->tcp_flags);
    cache_restart(&m->cache, f);
    ext_restart(m, f);
}

static uint64_t flow_last_us(const struct flow *f)
{
    uint64_t a = f->c.last_us[DIR_FWD], b = f->c.last_us[DIR_REV];
    return a > b ? a : b;
}

/* Idle by its own last packet: the expiry scans stop at the first flow on
 * the lru list that is not idle, and that order is exact only to the touch
 * slack, so an idle flow can wait behind a busier one; checked where it
 * matters (its next packet, the end), a record ends the same whenever the
 * scan ran, and so for any number of workers. */
static bool idle_for(const struct meter *m, const struct flow *f, uint64_t timeout_us)
{
    uint64_t last = flow_last_us(f);
    return last <= m->now_us && m->now_us - last >= timeout_us;
}

/* Dynamic timeouts shorten only the one-packet flows' idle timeout: the
 * established ones keep theirs, or any whose packets are further apart than
 * the floor would be cut up. */
static bool flow_is_idle(const struct meter *m, const struct flow *f)
{
    return idle_for(m, f, (f->state & FLOW_FRESH) ? m->idle_us : m->cfg.idle_us);
}

/* Idle by the timeout of now: END_IDLE, or END_LACK_OF_RESOURCES when only
 * the shortened timeout (dynamic timeouts) ends it. */
static enum end_reason idle_reason(struct meter *m, const struct flow *f)
{
    if (!(f->state & FLOW_FRESH) || idle_for(m, f, m->cfg.idle_us))
        return END_IDLE;
    m->stats.dynamic_expired++;
    return END_LACK_OF_RESOURCES;
}

void meter_set_alarm(struct meter *m, uint64_t at_us, clock_alarm_fn fn, void *ctx)
{
    m->alarm = fn;
    m->alarm_ctx = ctx;
    m->alarm_us = at_us;
}

/* The flows that expire next (heads of the close and lru lists, read above
 * anyway) get what their removal touches asked for now. always_inline: see
 * cache_prefetch_flow(). */
static inline __attribute__((always_inline)) void prefetch_next_expiry(struct meter *m)
{
    const struct flow *f = cache_closing_oldest(&m->cache);
    if (f)
        cache_prefetch_removal(&m->cache, f, 0);
    f = cache_lru_oldest(&m->cache);
    if (f)
        cache_prefetch_removal(&m->cache, f, 1);
}

void meter_advance(struct meter *m, uint64_t now_us)
{
    if (now_us > m->now_us) {
        m->now_us = now_us;
        if (now_us >= m->alarm_us)
            m->alarm_us = m->alarm(m->alarm_ctx, now_us);
    }
    uint64_t now = m->now_us;
    struct flow *f;
    adjust_idle_timeout(m);
    while ((f = cache_closing_oldest(&m->cache)) && now - f->list_us >= m->cfg.tcp_close_us &&
           f->list_us <= now)
        expire_flow(m, f, END_OF_FLOW);
    while ((f = cache_lru_oldest(&m->cache)) && flow_is_idle(m, f))
        expire_flow(m, f, idle_reason(m, f));
    while ((f = cache_fresh_oldest(&m->cache)) && flow_is_idle(m, f))
        expire_flow(m, f, idle_reason(m, f));
    /* an idle flow waiting behind a busier one on the lru list ends idle,
     * as it would had the idle scan reached it */
    while ((f = cache_start_oldest(&m->cache)) && f->list_us <= now &&
           now - f->list_us >= m->cfg.active_us) {
        if (flow_is_idle(m, f))
            expire_flow(m, f, idle_reason(m, f));
        else
            restart_flow(m, f);
    }
    prefetch_next_expiry(m);
}

/* The flush walks the lru list, a random flow at every step once there are
 * many: the flow after next is asked for, and what removing the next one
 * touches (its lines arrived a step ago). always_inline: see
 * cache_prefetch_flow(). */
static inline __attribute__((always_inline)) void prefetch_flush_ahead(struct meter *m,
                                                                       const struct flow *f)
{
    if (f->lru.next == FLOW_NONE)
        return;
    const struct flow *next = &m->cache.flows[f->lru.next];
    cache_prefetch_removal(&m->cache, next, 1);
    if (next->lru.next != FLOW_NONE)
        cache_prefetch_flow(&m->cache.flows[next->lru.next]);
}

/* A TCP conversation that already closed ended by itself, even if the input
 * stops before its close timeout ran out. */
static enum end_reason flush_reason(const struct meter *m, const struct flow *f)
{
    if (f->state & FLOW_CLOSING)
        return END_OF_FLOW;
    return idle_for(m, f, m->cfg.idle_us) ? END_IDLE : END_FORCED;
}

void meter_flush(struct meter *m)
{
    struct flow *f;
    while ((f = cache_lru_oldest(&m->cache))) {
        prefetch_flush_ahead(m, f);
        expire_flow(m, f, flush_reason(m, f));
    }
    while ((f = cache_fresh_oldest(&m->cache)))
        expire_flow(m, f, flush_reason(m, f));
}

/* The flow a full cache gives up: a one-packet flow before an established
 * one (dynamic timeouts), else the least recently seen. */
static struct flow *eviction_victim(struct meter *m)
{
    struct flow *f = cache_fresh_oldest(&m->cache);
    return f ? f : cache_lru_oldest(&m->cache);
}

static struct flow *new_flow(struct meter *m, const struct flow_key *key, uint32_t hash,
                             int src_end, const struct packet_view *pv)
{
    if (cache_full(&m->cache))
        expire_flow(m, eviction_victim(m), END_LACK_OF_RESOURCES);
    struct flow *f = cache_insert(&m->cache, key, hash);
    f->key_dir = (uint8_t)src_end;
    f->list_us = m->now_us;     /* the clock, not the packet: keeps the start list in order */
    f->touch_us = pv->ts_us;
    m->stats.flows_created++;
    if (m->cache.used > m->stats.active_flows_peak)
        m->stats.active_flows_peak = m->cache.used;
    return f;
}

/* FIN both ways or an RST ends a TCP conversation; it is reported after the
 * close timeout so the last ACKs still count to it. */
static void track_tcp_close(struct meter *m, struct flow *f, int dir, uint8_t flags)
{
    if (flags & TCP_FIN)
        f->state |= dir == DIR_FWD ? FLOW_FIN_FWD : FLOW_FIN_REV;
    if (flags & TCP_RST)
        f->state |= FLOW_RST;
    bool closed = (f->state & FLOW_RST) ||
                  ((f->state & FLOW_FIN_FWD) && (f->state & FLOW_FIN_REV));
    if (closed && !(f->state & FLOW_CLOSING)) {
        f->list_us = m->now_us;
        cache_mark_closing(&m->cache, f);
    }
}

/* A capture can hold packets out of time order (merged files, several capture
 * queues, a clock stepped back): a direction's first and last times are the
 * earliest and the latest of its packets (to the nanosecond: µs time, then
 * the ns past it), so a record never ends before it starts. A packet later
 * than the last cannot be earlier than the first: in order, one comparison. */
static void account(struct flow *f, int dir, const struct packet_view *pv)
{
    uint64_t ts = pv->ts_us;
    uint16_t sub = pv->ts_sub_ns;
    if (f->c.packets[dir] == 0) {
        f->c.first_us[dir] = ts;
        f->c.last_us[dir] = ts;
        f->first_sub_ns[dir] = f->last_sub_ns[dir] = sub;
        f->icmp_type_code[dir] = pv->icmp_type_code;
    } else if (ts > f->c.last_us[dir] || (ts == f->c.last_us[dir] && sub > f->last_sub_ns[dir])) {
        f->c.last_us[dir] = ts;
        f->last_sub_ns[dir] = sub;
    } else if (ts < f->c.first_us[dir] || (ts == f->c.first_us[dir] && sub < f->first_sub_ns[dir])) {
        f->c.first_us[dir] = ts;
        f->first_sub_ns[dir] = sub;
    }
    f->c.packets[dir]++;
    f->c.ip_octets[dir] += pv->ip_len;
    f->c.l2_octets[dir] += pv->wirelen;
    f->tcp_flags[dir] |= pv->tcp_flags;
}

/* Keep the least-recently-seen order, but move a flow at most once per
 * 1/64 of the idle timeout: moving it touches two other flows, and bursts of
 * one flow would pay that on every packet. The order is then exact to that
 * slack, and so is idle expiry (the list head is the next to idle out). */
static bool touch_due(const struct meter *m, const struct flow *f, uint64_t ts)
{
    return ts - f->touch_us >= m->touch_slack_us || ts < f->touch_us;
}

static void touch(struct meter *m, struct flow *f, uint64_t ts)
{
    if (f->state & FLOW_FRESH) {
        if (f->c.packets[DIR_FWD] + f->c.packets[DIR_REV] < 2)
            return;     /* its first packet: it stays fresh */
    } else if (!touch_due(m, f, ts)) {
        return;
    }
    f->touch_us = ts;
    cache_touch(&m->cache, f);
}

static void resolve_fragment(struct meter *m, struct packet_view *pv)
{
    if (pv->tun.outer_first_fragment)
        frag_remember_tunnelled(&m->frags, pv);
    if (!pv->frag.is_fragment)
        return;
    if (pv->frag.offset == 0)
        frag_remember(&m->frags, pv);
    else
        frag_resolve(&m->frags, pv);
}

/* The packet of f cannot join f's record: f went idle before it, or it is a
 * new SYN on a closed conversation (a new connection, port reuse). Export f
 * and return NULL, else f. */
static struct flow *end_if_over(struct meter *m, struct flow *f, const struct packet_view *pv)
{
    if (flow_is_idle(m, f)) {
        expire_flow(m, f, idle_reason(m, f));
        return NULL;
    }
    if ((f->state & FLOW_CLOSING) && pv->proto == 6 &&
        (pv->tcp_flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
        expire_flow(m, f, END_OF_FLOW);
        return NULL;
    }
    return f;
}

/* The first packet of a record that an active timeout split off: the next
 * timeout counts from here. */
static void schedule_if_restarted(struct meter *m, struct flow *f)
{
    if (f->state & FLOW_UNSCHEDULED) {
        f->list_us = m->now_us;
        cache_schedule(&m->cache, f);
    }
}

/* Counts the packet; true when it is metered. Fragments resolve in packet
 * order; a later fragment of a decapsulated tunnel packet adds nothing (the
 * inner packet counted whole). */
static bool count_packet(struct meter *m, enum decode_status st, struct packet_view *pv)
{
    m->stats.packets++;
    if (st != DECODE_OK) {
        m->stats.undecoded[st]++;
        return false;
    }
    resolve_fragment(m, pv);
    if (pv->tunnel_tail) {
        m->stats.tunnel_tails++;
        return false;
    }
    m->stats.decoded++;
    m->stats.l4_truncated += pv->l4_truncated;
    m->stats.tunnel_stops[pv->tun.stop]++;
    m->stats.decapsulated += pv->tun.depth != 0;
    return true;
}

/* A decoded packet whose fragment is resolved and whose key is built: into
 * its flow. */
static void meter_keyed(struct meter *m, const struct packet_view *pv, const struct flow_key *key,
                        uint32_t hash, int src_end)
{
    struct flow *f = cache_lookup(&m->cache, key, hash);
    if (f)
        f = end_if_over(m, f, pv);
    bool created = !f;
    if (f && f->ext)
        __builtin_prefetch(f->ext);     /* read below, after the counters */
    if (created) {
        f = new_flow(m, key, hash, src_end, pv);
        ext_attach(m, f);
    }
    int dir = src_end == f->key_dir ? DIR_FWD : DIR_REV;
    account(f, dir, pv);
    touch(m, f, pv->ts_us);
    schedule_if_restarted(m, f);
    if (pv->proto == 6)
        track_tcp_close(m, f, dir, pv->tcp_flags);
    if (!f->ext)
        return;
    if (created)
        ext_first_packet(m, f, pv);
    else
        ext_packet(m, f, pv, dir);
    if (created && block_unused(m, f)) {
        slab_free_zeroed(&m->blocks, f->ext);
        f->ext = NULL;
        return;
    }
    if (((struct block_header *)f->ext)->export_requested) {
        m->stats.ext_exports++;
        expire_flow(m, f, END_OF_FLOW);
    }
}

/* Every frame read moves the clock, metered or not: a frame's time is the
 * capture's time either way, and the reader that hands packets to several
 * workers need not decode a frame to know it. */
void meter_packet(struct meter *m, enum decode_status st, struct packet_view *pv)
{
    meter_advance(m, pv->ts_us);
    if (!count_packet(m, st, pv))
        return;
    struct flow_key key;
    int src_end = flowkey_from_packet(pv, &key);
    meter_keyed(m, pv, &key, flowkey_hash(&key), src_end);
}

/* ---- batches --------------------------------------------------------------
 *
 * Once flows outgrow the CPU caches, a packet waits for misses one after the
 * other: the hash bucket, then the flow it names, then (when the flow moves
 * on the lru list or starts closing) its neighbours on the lists. A batch
 * runs as a pipeline: packet i+3*AHEAD is decoded and hashed and its bucket
 * asked for; the flow named by packet i+2*AHEAD's bucket (there by now) is
 * asked for; the neighbours packet i+AHEAD's flow will unlink from are asked
 * for; packet i, whose lines are there by now, is metered. The misses of a
 * batch overlap instead of adding up. The prefetches are hints only:
 * metering looks everything up again, so earlier packets of the batch may
 * create, move or expire flows and the results stay those of one packet at
 * a time. */

enum { METER_AHEAD = 8, METER_BATCH = CAPTURE_BATCH_MAX };

struct staged_packet {
    struct packet_view pv;
    struct flow_key key;
    uint32_t hash;
    int src_end;                /* < 0: not metered */
    uint64_t clock_us;
};

/* Decode, count, resolve fragments (in packet order: a first fragment is
 * remembered before the later ones look for it) and key one packet. */
static void stage_packet(struct meter *m, int dlt, const struct capture_packet *pkt,
                         struct staged_packet *s)
{
    s->src_end = -1;
    s->clock_us = pkt->clock_us ? pkt->clock_us : pkt->ts_us;
    enum decode_status st = decode_packet(dlt, pkt->data, pkt->caplen, pkt->wirelen, pkt->ts_us, &s->pv);
    s->pv.ts_sub_ns = pkt->ts_sub_ns;
    if (!count_packet(m, st, &s->pv))
        return;
    s->src_end = flowkey_from_packet(&s->pv, &s->key);
    s->hash = flowkey_hash(&s->key);
    __builtin_prefetch(cache_bucket(&m->cache, s->hash));
}

static void meter_staged(struct meter *m, const struct staged_packet *s)
{
    meter_advance(m, s->clock_us);      /* every frame moves the clock (meter_packet()) */
    if (s->src_end < 0)
        return;
    meter_keyed(m, &s->pv, &s->key, s->hash, s->src_end);
}

/* The links packet s will rewrite: its flow's lru neighbours when the flow
 * is due to move (touch()), its start-list neighbours when a FIN or RST may
 * start its close. always_inline: see cache_prefetch_flow(). */
static inline __attribute__((always_inline)) void prefetch_neighbours(const struct meter *m,
                                                                      const struct staged_packet *s)
{
    const struct flow *f = cache_chain_first(&m->cache, s->hash);
    if (!f)
        return;
    if (touch_due(m, f, s->pv.ts_us)) {
        cache_prefetch_links(&m->cache, f->lru.prev);
        cache_prefetch_links(&m->cache, f->lru.next);
    }
    if (s->pv.proto == 6 && (s->pv.tcp_flags & (TCP_FIN | TCP_RST))) {
        cache_prefetch_links(&m->cache, f->start.prev);
        cache_prefetch_links(&m->cache, f->start.next);
    }
}

static void meter_batch(struct meter *m, int dlt, const struct capture_packet *pkts, unsigned n)
{
    struct staged_packet staged[METER_BATCH];
    for (unsigned i = 0; i < n + 3 * METER_AHEAD; i++) {
        if (i < n)
            stage_packet(m, dlt, &pkts[i], &staged[i]);
        unsigned j = i - METER_AHEAD;       /* wraps below 0: then >= n */
        if (i >= METER_AHEAD && j < n && staged[j].src_end >= 0)
            cache_prefetch_chain(&m->cache, staged[j].hash);
        j = i - 2 * METER_AHEAD;
        if (i >= 2 * METER_AHEAD && j < n && staged[j].src_end >= 0)
            prefetch_neighbours(m, &staged[j]);
        if (i >= 3 * METER_AHEAD)
            meter_staged(m, &staged[i - 3 * METER_AHEAD]);
    }
}

void meter_packets(struct meter *m, int dlt, const struct capture_packet *pkts, unsigned n)
{
    while (n) {
        unsigned k = n < METER_BATCH ? n : METER_BATCH;
        meter_batch(m, dlt, pkts, k);
        pkts += k;
        n -= k;
    }
}
