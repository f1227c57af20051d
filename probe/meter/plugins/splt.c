/* splt.c — the `splt` built-in plugin: nfstream's SPLT analysis (sequence of
 * packet lengths and times, `splt_analysis=N`), the first N packets of each
 * flow record.
 *
 *   -P splt[:n=N]      N = 1..255 packets per record (default 10)
 *
 * Exported (default PEN; three lists of the same length, one item per packet
 * of the record in arrival order, at most N):
 *   spltDirection       (10, basicList of unsigned8)  JSON splt_direction:
 *                       0 from the flow's initiator (src->dst), 1 towards it
 *   spltPacketSize      (11, basicList of unsigned16) JSON splt_ps: the
 *                       packet's IP length (IP header + payload, what the
 *                       octet counters add; nfstream's accounting_mode=1),
 *                       capped at 65535 (IPv6 jumbograms)
 *   spltInterArrivalMs  (12, basicList of unsigned32) JSON splt_piat_ms: 0 for
 *                       the record's first packet, then the time since the
 *                       record's previous packet (either direction) in ms
 *
 * Definitions follow nfstream (nfstream/engine/engine_cc.c, flow_init_splt /
 * flow_update_splt / flow_update_bidirectional, and the API documentation,
 * "Early Statistical Features"): nfstream keeps packet times in whole
 * milliseconds (seconds * 1000 + microseconds / 1000, truncated) and a piat
 * is the difference of two such truncated times, so 0.9 ms -> 1.1 ms counts
 * as 1 ms and 0.1 ms -> 0.9 ms as 0 ms. Two deliberate differences: nfstream
 * pads the lists to N items with -1, here a list holds exactly the packets
 * seen (a record of 3 packets exports lists of 3); and a packet whose time is
 * before the previous one's (reordered capture) gets 0, where nfstream's
 * unsigned subtraction would wrap.
 *
 * The record's first packet is whatever packet opened the record, so after an
 * active-timeout split its direction may be 1 (nfstream would start a new
 * flow with that packet as src; nfprobe keeps the flow's initiator).
 *
 * Per-flow state (the size depends on N): a 16-byte header (previous
 * packet's time in ms, packet count) followed by the three arrays,
 * 16 + 7 * N bytes rounded up to 8: 88 bytes for N = 10, 1808 for N = 255.
 * The count is shared by the three list fields. Once N packets are in,
 * on_update returns NFP_DONE. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/builtin.h"

#define SPLT_DEFAULT_N 10u
#define SPLT_MAX_N 255u

/* The fixed head of the state; the arrays follow at offsets computed from N
 * (see struct splt_ctx). */
struct splt_head {
    uint64_t last_ms;           /* truncated ms time of the previous packet */
    uint32_t count;             /* packets stored (list item count) */
    uint32_t pad;
};

struct splt_ctx {
    uint32_t n;                 /* capacity */
    size_t piat_off, ps_off, dir_off;   /* array offsets in the state */
    struct nfp_field fields[3];
};

static size_t splt_state_size(uint32_t n)
{
    size_t raw = sizeof(struct splt_head) + (size_t)n * (sizeof(uint32_t) + sizeof(uint16_t) + sizeof(uint8_t));
    return (raw + 7) & ~(size_t)7;
}

static int parse_args(const char *args, uint32_t *n, char *err, size_t errlen)
{
    *n = SPLT_DEFAULT_N;
    if (!args || !*args)
        return 0;
    if (strncmp(args, "n=", 2) != 0) {
        snprintf(err, errlen, "splt: unknown argument '%s' (expected n=N, N = 1..%u)", args, SPLT_MAX_N);
        return -1;
    }
    const char *v = args + 2;
    char *end;
    errno = 0;
    unsigned long x = 0;
    int ok = *v >= '0' && *v <= '9';
    if (ok) {
        x = strtoul(v, &end, 10);
        ok = !errno && !*end && x >= 1 && x <= SPLT_MAX_N;
    }
    if (!ok) {
        snprintf(err, errlen, "splt: n must be 1..%u, got '%s'", SPLT_MAX_N, v);
        return -1;
    }
    *n = (uint32_t)x;
    return 0;
}

static int splt_init(struct nfp_plugin *self, const char *args, char *err, size_t errlen)
{
    uint32_t n;
    if (parse_args(args, &n, err, errlen) < 0)
        return -1;
    struct splt_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "splt: out of memory");
        return -1;
    }
    c->n = n;
    c->piat_off = sizeof(struct splt_head);
    c->ps_off = c->piat_off + (size_t)n * sizeof(uint32_t);
    c->dir_off = c->ps_off + (size_t)n * sizeof(uint16_t);
    size_t count_off = offsetof(struct splt_head, count);
    c->fields[0] = (struct nfp_field){
        .name = "spltDirection", .id = 10, .type = NFP_U8, .offset = c->dir_off,
        .json = "splt_direction", .size = n, .list = 1, .count_offset = count_off};
    c->fields[1] = (struct nfp_field){
        .name = "spltPacketSize", .id = 11, .type = NFP_U16, .offset = c->ps_off,
        .json = "splt_ps", .size = n, .list = 1, .count_offset = count_off};
    c->fields[2] = (struct nfp_field){
        .name = "spltInterArrivalMs", .id = 12, .type = NFP_U32, .offset = c->piat_off,
        .json = "splt_piat_ms", .size = n, .list = 1, .count_offset = count_off};
    self->ctx = c;
    self->state_size = splt_state_size(n);
    self->fields = c->fields;
    self->nfields = 3;
    return 0;
}

static void splt_add(const struct splt_ctx *c, void *state, const struct nfp_packet *pkt)
{
    struct splt_head *h = state;
    uint8_t *base = state;
    uint32_t i = h->count;
    uint64_t now_ms = pkt->time_us / 1000;
    uint64_t piat = 0;
    if (i > 0 && now_ms > h->last_ms)
        piat = now_ms - h->last_ms;
    if (piat > UINT32_MAX)
        piat = UINT32_MAX;
    uint32_t ps = pkt->ip_len > UINT16_MAX ? UINT16_MAX : pkt->ip_len;

    uint32_t piat32 = (uint32_t)piat;
    uint16_t ps16 = (uint16_t)ps;
    memcpy(base + c->piat_off + (size_t)i * sizeof piat32, &piat32, sizeof piat32);
    memcpy(base + c->ps_off + (size_t)i * sizeof ps16, &ps16, sizeof ps16);
    base[c->dir_off + i] = pkt->direction ? 1 : 0;
    h->last_ms = now_ms;
    h->count = i + 1;
}

static int splt_on_init(void *ctx, void *state, const struct nfp_packet *pkt,
                        const struct nfp_flow *flow)
{
    (void)flow;
    const struct splt_ctx *c = ctx;
    struct splt_head *h = state;
    h->count = 0;
    splt_add(c, state, pkt);
    return h->count >= c->n ? NFP_DONE : NFP_CONTINUE;
}

static int splt_on_update(void *ctx, void *state, const struct nfp_packet *pkt,
                          const struct nfp_flow *flow)
{
    (void)flow;
    const struct splt_ctx *c = ctx;
    struct splt_head *h = state;
    if (h->count >= c->n)
        return NFP_DONE;
    splt_add(c, state, pkt);
    return h->count >= c->n ? NFP_DONE : NFP_CONTINUE;
}

static void splt_cleanup(void *ctx)
{
    free(ctx);
}

const struct nfp_plugin nfp_builtin_splt = {
    .api_version = NFP_API_VERSION,
    .name = "splt",
    .state_size = 0,            /* set by init from n */
    .init = splt_init,
    .on_init = splt_on_init,
    .on_update = splt_on_update,
    .cleanup = splt_cleanup,
};
