/* ntopng.h — flows as ntopng reads them from nProbe over ZeroMQ: a JSON
 * array of objects keyed by nProbe's field ids ("8" IPV4_SRC_ADDR, "57590"
 * L7_PROTO, ...), sent as messages of at most NTOPNG_MAX_FLOWS flows and
 * NTOPNG_MAX_PAYLOAD bytes (ntopng 5.2 drops a payload over 128 KiB). */
#ifndef NFPROBE_NTOPNG_H
#define NFPROBE_NTOPNG_H

#include <stdbool.h>
#include "ipfix.h"      /* ipfix_msg_fn, struct export_counters */
#include "record.h"

enum { NTOPNG_MAX_FLOWS = 100, NTOPNG_MAX_PAYLOAD = 16384 };

/* nProbe's id of an ntop enterprise element in NetFlow v9 and in its JSON. */
#define NTOPNG_V9_ID(ntop_id) (57472u + (ntop_id))

struct ntopng_config {
    bool times_now;     /* --zmq-now: each flow's times moved to end at its export */
    bool compress;      /* --zmq-compress: payloads zlib-compressed (a 0x00 byte first) */
};

struct ntopng_encoder;

struct ntopng_encoder *ntopng_new(const struct ntopng_config *cfg, ipfix_msg_fn out, void *ctx,
                                  char *err, size_t errlen);
void ntopng_free(struct ntopng_encoder *e);
/* One flow (both directions: client = the initiator). 0, or -1 when the
 * flow could not be formatted (out of memory) or the message not sent. */
int ntopng_add_flow(struct ntopng_encoder *e, const struct flow_record *r);
int ntopng_flush(struct ntopng_encoder *e);
const struct export_counters *ntopng_counters(const struct ntopng_encoder *e);

/* One flow as a JSON object, into out (for tests). 0 or -1. */
struct textbuf;
int ntopng_format_flow(struct textbuf *out, const struct flow_record *r, uint64_t shift_ms);

#endif
