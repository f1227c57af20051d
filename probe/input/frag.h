/* frag.h — where non-first IP fragments belong.
 *
 * Only the first fragment carries the transport ports. Its ports are
 * remembered under (source, destination, protocol, fragment id) in a bounded,
 * set-associative table whose entries expire, so later fragments of the same
 * datagram are counted to the same flow. */
#ifndef NFPROBE_FRAG_H
#define NFPROBE_FRAG_H

#include <stdbool.h>
#include <stdint.h>
#include "decode.h"

struct frag_entry {
    uint8_t src[16];
    uint8_t dst[16];
    uint32_t id;
    uint16_t sport, dport;
    uint64_t expires_us;    /* 0: empty */
    uint8_t next_header;    /* frag_info.next_header: part of the datagram's identity */
    uint8_t proto;          /* the transport protocol found in the first fragment */
    uint8_t ip_version;
    uint8_t decapsulated;   /* the first fragment carried a tunnel whose packet
                               was metered whole: the later ones add nothing */
};

struct frag_table {
    struct frag_entry *slots;
    uint32_t set_mask;      /* number of sets - 1 */
    uint64_t timeout_us;
    uint64_t remembered;
    uint64_t resolved;
    uint64_t orphans;       /* non-first fragments with no first fragment seen */
    uint64_t evicted;       /* live entries overwritten because the set was full */
};

/* sets: a power of two; each set has FRAG_WAYS slots. 0 or -1. */
int frag_init(struct frag_table *t, uint32_t sets, uint64_t timeout_us);
void frag_free(struct frag_table *t);
/* Forget every fragment and count: the table as frag_init() left it, its
 * memory kept (see meter_reset()). */
void frag_reset(struct frag_table *t);

/* A first fragment (offset 0, more set): remember its ports. */
void frag_remember(struct frag_table *t, const struct packet_view *pv);
/* The outermost IP packet of a decapsulated tunnel packet is a first
 * fragment: its later fragments belong to the inner packet already metered
 * (frag_resolve() marks them pv->tunnel_tail). */
void frag_remember_tunnelled(struct frag_table *t, const struct packet_view *pv);
/* A non-first fragment: fill in the ports (and, for IPv6, the transport
 * protocol) of its first fragment. false (and counted as orphan) when there
 * is none; the ports stay 0. */
bool frag_resolve(struct frag_table *t, struct packet_view *pv);

#define FRAG_WAYS 4
/* What a meter (and the file reader that hands packets to workers) uses. */
#define FRAG_SETS 4096
#define FRAG_TIMEOUT_US (30ull * 1000000u)

#endif
