/* record.h — an expired flow, as every encoder reads it.
 *
 * The record is oriented: "src" is the initiator (sender of the first packet),
 * index 0 of the per-direction arrays is src→dst, index 1 is dst→src. Later
 * stages (DPI, plugins) extend the record through ext, never by changing the
 * encoders. */
#ifndef NFPROBE_RECORD_H
#define NFPROBE_RECORD_H

#include <stdint.h>
#include "cache.h"

/* flowEndReason values (IANA IE 136). */
enum end_reason {
    END_IDLE = 1,
    END_ACTIVE = 2,
    END_OF_FLOW = 3,
    END_FORCED = 4,
    END_LACK_OF_RESOURCES = 5,
};

struct flow_record {
    uint64_t id;
    uint64_t first_ms[2];       /* per direction, 0 if the direction saw nothing */
    uint64_t last_ms[2];
    uint64_t first_ns[2];       /* the same times in nanoseconds */
    uint64_t last_ns[2];
    uint64_t packets[2];
    uint64_t ip_octets[2];
    uint64_t l2_octets[2];
    uint8_t src[16];
    uint8_t dst[16];
    uint16_t sport, dport;
    uint16_t vlan;
    uint16_t icmp_type_code[2]; /* each direction's first packet */
    uint8_t ip_version;
    uint8_t proto;
    uint8_t tcp_flags[2];
    uint8_t end_reason;
    const void *ext;            /* the flow's cold data, for extensions */
};

void record_from_flow(const struct flow *f, enum end_reason reason, struct flow_record *r);

/* Flow-level first and last packet time (ms), over both directions. */
uint64_t record_first_ms(const struct flow_record *r);
uint64_t record_last_ms(const struct flow_record *r);
/* The same in nanoseconds. */
uint64_t record_first_ns(const struct flow_record *r);
uint64_t record_last_ns(const struct flow_record *r);

#endif
