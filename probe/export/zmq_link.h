/* zmq_link.h — the ZeroMQ end of a zmq:// collector: ntopng's message
 * framing over an XPUB socket that binds (ntopng -i tcp://HOST:PORT) or
 * connects (ntopng -i tcp://HOST:PORTc, collector mode).
 *
 * Every message is two frames, as ntopng 5.2 reads them: a 24-byte header
 * (topic "flow", version 2 = JSON, source id, payload size, message id +1 per
 * message from 1, so ntopng counts the gaps as drops), then the payload. */
#ifndef NFPROBE_ZMQ_LINK_H
#define NFPROBE_ZMQ_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { ZMQ_HEADER_LEN = 24 };

struct zmq_link;

/* endpoint: "tcp://ADDR:PORT" (numeric). NULL with a message in err when
 * the socket cannot be made or bound (a port in use, an address not ours). */
struct zmq_link *zmq_link_open(const char *endpoint, bool connect, uint8_t source_id, char *err,
                               size_t errlen);
/* True while ntopng is subscribed to "flow": a PUB socket sends what comes
 * before the subscription to no one. */
bool zmq_link_subscribed(struct zmq_link *z);
/* 0: handed to libzmq; 1: dropped, the subscriber is slow (the high-water
 * mark is reached: the message id is spent, so ntopng counts the loss);
 * -1: another error (errno). */
int zmq_link_send(struct zmq_link *z, const uint8_t *payload, size_t len);
/* Close; what libzmq still holds gets at most linger_ms to leave. */
void zmq_link_close(struct zmq_link *z, unsigned linger_ms);

/* The header of message msg_id with len bytes of payload (for tests). */
void zmq_link_header(uint8_t out[ZMQ_HEADER_LEN], uint8_t source_id, uint32_t msg_id, size_t len);

#endif
