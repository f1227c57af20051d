#include "netflow5.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "sysuptime.h"

#define NF5_VERSION 5
#define NF5_HEADER_LEN 24
#define NF5_RECORD_LEN 48
#define NF5_MAX_RECORDS 30      /* per message, by the format's definition */
#define NF5_COUNTER_MAX 0xFFFFFFFFull

struct nf5_encoder {
    uint8_t buf[NF5_HEADER_LEN + NF5_MAX_RECORDS * NF5_RECORD_LEN];
    unsigned nrec, maxrec;
    uint32_t flow_sequence;     /* records sent before this message */
    uint8_t engine_id;
    uint64_t not_exportable;
    struct sysuptime clock;
    ipfix_msg_fn out;
    void *out_ctx;
    struct export_counters counters;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

struct nf5_encoder *nf5_new(const struct nf5_config *cfg, ipfix_msg_fn out, void *ctx,
                            char *err, size_t errlen)
{
    if (cfg->mtu < NF5_HEADER_LEN + NF5_RECORD_LEN) {
        snprintf(err, errlen, "--mtu %u is too small for a NetFlow v5 record", cfg->mtu);
        return NULL;
    }
    struct nf5_encoder *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->maxrec = (cfg->mtu - NF5_HEADER_LEN) / NF5_RECORD_LEN;
    if (e->maxrec > NF5_MAX_RECORDS)
        e->maxrec = NF5_MAX_RECORDS;
    e->engine_id = (uint8_t)cfg->domain;
    e->out = out;
    e->out_ctx = ctx;
    return e;
}

void nf5_free(struct nf5_encoder *e)
{
    free(e);
}

const struct export_counters *nf5_counters(const struct nf5_encoder *e)
{
    return &e->counters;
}

uint64_t nf5_not_exportable(const struct nf5_encoder *e)
{
    return e->not_exportable;
}

int nf5_flush(struct nf5_encoder *e)
{
    if (!e->nrec)
        return 0;
    uint32_t uptime, secs;
    sysuptime_header(&e->clock, &uptime, &secs);
    uint8_t *h = e->buf;
    put16(h, NF5_VERSION);
    put16(h + 2, (uint16_t)e->nrec);
    put32(h + 4, uptime);
    put32(h + 8, secs);
    put32(h + 12, 0);                   /* unix_nsecs: the export second is whole */
    put32(h + 16, e->flow_sequence);
    h[20] = 0;                          /* engine_type */
    h[21] = e->engine_id;
    put16(h + 22, selection_v5_field(selection_export_get()));     /* sampling mode and interval */
    size_t len = NF5_HEADER_LEN + (size_t)e->nrec * NF5_RECORD_LEN;
    uint32_t n = e->nrec;
    e->flow_sequence += n;
    e->nrec = 0;
    e->counters.messages++;
    e->counters.octets += len;
    return e->out(e->out_ctx, e->buf, len, n, false);
}

/* One 48-byte record of one direction, with packets and octets of at most
 * 32 bits (the caller splits bigger counts over several records). */
static void put_record(struct nf5_encoder *e, const struct flow_record *r, int dir,
                       uint32_t packets, uint32_t octets)
{
    uint8_t *p = e->buf + NF5_HEADER_LEN + (size_t)e->nrec * NF5_RECORD_LEN;
    const uint8_t *src = dir == DIR_FWD ? r->src : r->dst;
    const uint8_t *dst = dir == DIR_FWD ? r->dst : r->src;
    bool icmp = r->proto == 1;
    memset(p, 0, NF5_RECORD_LEN);
    memcpy(p, src, 4);
    memcpy(p + 4, dst, 4);
    /* nexthop, input and output interfaces: unknown to a probe, 0 */
    put32(p + 16, packets);
    put32(p + 20, octets);
    put32(p + 24, sysuptime_offset(&e->clock, r->first_ms[dir]));
    put32(p + 28, sysuptime_offset(&e->clock, r->last_ms[dir]));
    /* ICMP: type/code in the destination port, as routers and collectors do */
    put16(p + 32, icmp ? 0 : (dir == DIR_FWD ? r->sport : r->dport));
    put16(p + 34, icmp ? r->icmp_type_code[dir] : (dir == DIR_FWD ? r->dport : r->sport));
    p[37] = r->proto == 6 ? r->tcp_flags[dir] : 0;
    p[38] = r->proto;
    e->nrec++;
    e->counters.records++;
    sysuptime_note(&e->clock, r->last_ms[dir]);
}

static int add_direction(struct nf5_encoder *e, const struct flow_record *r, int dir)
{
    uint64_t packets = r->packets[dir], octets = r->ip_octets[dir];
    /* Counters beyond 32 bits are spread over as many records as they need,
     * so the collector's totals stay exact. */
    uint64_t parts = packets / NF5_COUNTER_MAX + 1;
    if (octets / NF5_COUNTER_MAX + 1 > parts)
        parts = octets / NF5_COUNTER_MAX + 1;
    /* The remainder one by one over the first parts: all of it on the first
     * part could pass 32 bits (2^34 - 9 packets in 4 parts put 2^32 in the
     * first, written as 0; found by fuzz/fuzz_export.c). */
    for (uint64_t i = 0; i < parts; i++) {
        uint64_t p = packets / parts + (i < packets % parts);
        uint64_t o = octets / parts + (i < octets % parts);
        if (e->nrec == e->maxrec && nf5_flush(e) < 0)
            return -1;
        put_record(e, r, dir, (uint32_t)p, (uint32_t)o);
    }
    return 0;
}

int nf5_add_flow(struct nf5_encoder *e, const struct flow_record *r)
{
    if (r->ip_version != 4) {
        e->not_exportable++;
        return 0;
    }
    uint64_t first = record_first_ms(r), last = record_last_ms(r);
    if (!sysuptime_fits(&e->clock, first, last)) {
        if (nf5_flush(e) < 0)
            return -1;
        sysuptime_rebase(&e->clock, first);
    }
    int rc = 0;
    for (int dir = DIR_FWD; dir <= DIR_REV; dir++)
        if (r->packets[dir] && add_direction(e, r, dir) < 0)
            rc = -1;
    return rc;
}
