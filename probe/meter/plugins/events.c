/* events.c — the `events` built-in plugin: every packet of every flow record,
 * and each record's expiry, written to a file descriptor as binary events,
 * for plugins that run in another process (the Python package's NFPlugin,
 * python/nfprobe/_events.py reads them).
 *
 *   -P events:fd=N     N: an open, writable descriptor (a pipe)
 *
 * Each record gets a key, unique in the run, exported as eventKey (20,
 * unsigned64; JSON event_key) so that the reader can join the events of a
 * record with the record itself. One event (native byte order, no padding):
 *
 *   u32 size (of the whole event)  u8 kind (1 init, 2 update, 3 expire)
 *   u8 direction  u8 ip_version  u8 proto  u64 key  u64 time_us
 *   u32 caplen  u32 wirelen  u32 ip_len  u32 l4_offset (from the IP header;
 *   0xffffffff: no transport header)  u16 sport  u16 dport  u16 vlan
 *   u8 tcp_flags  u8 end_reason (expire only)  16 bytes src  16 bytes dst
 *   u64 first_us[2] last_us[2] packets[2] ip_octets[2] l2_octets[2]
 *   u32 ip_bytes  u32 0, then ip_bytes bytes: the captured IP packet
 *
 * An expire event carries the flow's counters and no packet. Events are
 * buffered and written when the buffer fills and at every expiry, so all the
 * events of a record are in the pipe before the record goes to the exporter:
 * a reader that reads both the pipe and the records (without blocking on
 * one of them alone) never waits for an event of a record it has.
 *
 * This is the slow path by design (a copy of every packet to another
 * process); the buffer is shared by the workers under a mutex. A write that
 * fails (the reader went away) stops the events, not the run. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plugins/builtin.h"

enum { EV_INIT = 1, EV_UPDATE = 2, EV_EXPIRE = 3 };
enum { EV_BUFFER = 256 * 1024 };
#define EV_NO_L4 0xffffffffu

/* The fixed part of an event, in the order above: 168 bytes. */
struct ev_head {
    uint32_t size;
    uint8_t kind, direction, ip_version, proto;
    uint64_t key, time_us;
    uint32_t caplen, wirelen, ip_len, l4_offset;
    uint16_t sport, dport, vlan;
    uint8_t tcp_flags, end_reason;
    uint8_t src[16], dst[16];
    uint64_t first_us[2], last_us[2], packets[2], ip_octets[2], l2_octets[2];
    uint32_t ip_bytes, zero;
};
_Static_assert(sizeof(struct ev_head) == 168, "event header has padding");

struct events_ctx {
    int fd;
    int broken;                 /* a write failed: no more events */
    pthread_mutex_t lock;
    uint64_t next_key;
    size_t used;
    uint8_t buf[EV_BUFFER];
    struct nfp_field field;
};

struct events_state { uint64_t key; };

static int parse_fd(const char *args, int *fd, char *err, size_t errlen)
{
    char *end;
    long v = -1;
    if (args && strncmp(args, "fd=", 3) == 0 && args[3] >= '0' && args[3] <= '9') {
        errno = 0;
        v = strtol(args + 3, &end, 10);
        if (errno || *end || v > 65535)
            v = -1;
    }
    if (v < 0) {
        snprintf(err, errlen, "events: expected fd=N (an open descriptor), got '%s'", args ? args : "");
        return -1;
    }
    *fd = (int)v;
    return 0;
}

static int events_init(struct nfp_plugin *self, const char *args, char *err, size_t errlen)
{
    int fd;
    if (parse_fd(args, &fd, err, errlen) < 0)
        return -1;
    struct events_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "events: out of memory");
        return -1;
    }
    c->fd = fd;
    pthread_mutex_init(&c->lock, NULL);
    c->field = (struct nfp_field){.name = "eventKey", .id = 20, .type = NFP_U64,
                                  .offset = offsetof(struct events_state, key), .json = "event_key"};
    self->ctx = c;
    self->fields = &c->field;
    self->nfields = 1;
    return 0;
}

static void flush_locked(struct events_ctx *c)
{
    size_t done = 0;
    while (!c->broken && done < c->used) {
        ssize_t n = write(c->fd, c->buf + done, c->used - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            c->broken = 1;
        else
            done += (size_t)n;
    }
    c->used = 0;
}

static void put_event(struct events_ctx *c, const struct ev_head *h, const uint8_t *ip)
{
    pthread_mutex_lock(&c->lock);
    if (c->used + h->size > sizeof c->buf)
        flush_locked(c);
    if (!c->broken) {
        memcpy(c->buf + c->used, h, sizeof *h);
        if (h->ip_bytes)
            memcpy(c->buf + c->used + sizeof *h, ip, h->ip_bytes);
        c->used += h->size;
        if (h->kind == EV_EXPIRE)
            flush_locked(c);
    }
    pthread_mutex_unlock(&c->lock);
}

static void fill_counters(struct ev_head *h, const struct nfp_flow *f)
{
    memcpy(h->first_us, f->first_us, sizeof h->first_us);
    memcpy(h->last_us, f->last_us, sizeof h->last_us);
    memcpy(h->packets, f->packets, sizeof h->packets);
    memcpy(h->ip_octets, f->ip_octets, sizeof h->ip_octets);
    memcpy(h->l2_octets, f->l2_octets, sizeof h->l2_octets);
}

static void packet_event(struct events_ctx *c, uint8_t kind, uint64_t key, const struct nfp_packet *p,
                         const struct nfp_flow *f)
{
    struct ev_head h;
    memset(&h, 0, sizeof h);
    /* The IP packet as captured, never past the IP length (trailers). */
    uint32_t ip_bytes = p->ip ? p->ip_caplen : 0;
    if (ip_bytes > p->ip_len)
        ip_bytes = p->ip_len;
    h.size = (uint32_t)sizeof h + ip_bytes;
    h.kind = kind, h.direction = p->direction, h.ip_version = p->ip_version, h.proto = p->proto;
    h.key = key, h.time_us = p->time_us;
    h.caplen = p->caplen, h.wirelen = p->wirelen, h.ip_len = p->ip_len;
    h.l4_offset = p->l4 && p->ip ? (uint32_t)(p->l4 - p->ip) : EV_NO_L4;
    h.sport = p->sport, h.dport = p->dport, h.vlan = p->vlan, h.tcp_flags = p->tcp_flags;
    memcpy(h.src, p->src, 16);
    memcpy(h.dst, p->dst, 16);
    fill_counters(&h, f);
    h.ip_bytes = ip_bytes;
    put_event(c, &h, p->ip);
}

static int events_on_init(void *ctx, void *state, const struct nfp_packet *pkt, const struct nfp_flow *flow)
{
    struct events_ctx *c = ctx;
    struct events_state *s = state;
    pthread_mutex_lock(&c->lock);
    s->key = ++c->next_key;
    pthread_mutex_unlock(&c->lock);
    packet_event(c, EV_INIT, s->key, pkt, flow);
    return NFP_CONTINUE;
}

static int events_on_update(void *ctx, void *state, const struct nfp_packet *pkt, const struct nfp_flow *flow)
{
    packet_event(ctx, EV_UPDATE, ((struct events_state *)state)->key, pkt, flow);
    return NFP_CONTINUE;
}

static void events_on_expire(void *ctx, void *state, const struct nfp_flow *flow, enum nfp_end_reason reason)
{
    struct ev_head h;
    memset(&h, 0, sizeof h);
    h.size = (uint32_t)sizeof h;
    h.kind = EV_EXPIRE;
    h.key = ((struct events_state *)state)->key;
    h.end_reason = (uint8_t)reason;
    h.l4_offset = EV_NO_L4;
    fill_counters(&h, flow);
    put_event(ctx, &h, NULL);
}

static void events_cleanup(void *ctx)
{
    struct events_ctx *c = ctx;
    pthread_mutex_lock(&c->lock);
    flush_locked(c);
    pthread_mutex_unlock(&c->lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

const struct nfp_plugin nfp_builtin_events = {
    .api_version = NFP_API_VERSION,
    .name = "events",
    .state_size = sizeof(struct events_state),
    .init = events_init,
    .on_init = events_on_init,
    .on_update = events_on_update,
    .on_expire = events_on_expire,
    .cleanup = events_cleanup,
};
