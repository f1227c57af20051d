/* transport.h — export messages out: UDP, TCP (reconnect, bounded queue) or
 * a file. Message boundaries are kept: one call, one IPFIX message. */
#ifndef NFPROBE_TRANSPORT_H
#define NFPROBE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ipfix.h"   /* enum msg_kind */

enum transport_kind { TRANSPORT_UDP, TRANSPORT_TCP, TRANSPORT_FILE, TRANSPORT_TLS, TRANSPORT_SCTP,
                      TRANSPORT_ZMQ /* zmq:// and zmq+connect:// to ntopng (zmq_link.h) */ };

/* How collectors are reached beyond their address. */
struct transport_options {
    size_t queue_bytes;         /* stream transports: bytes kept while the collector is away */
    const char *tls_ca;         /* PEM CA file to verify a tls:// collector (NULL: system's) */
    const char *tls_cert;       /* PEM certificate and key of this exporter (RFC 7011 §10.4 */
    const char *tls_key;        /* wants both sides authenticated) */
};

struct transport_stats {
    uint64_t messages_sent;
    uint64_t records_sent;
    uint64_t records_dropped;   /* lost to a full queue, a send error or a dead collector */
    uint64_t reconnects;
};

struct transport;

/* Parse "[udp://|tcp://|tls://|sctp://]host[:port]" (IPv6 as [addr]:port;
 * port 4739 by default), or "zmq://host:port" (bind) and
 * "zmq+connect://host:port" (port needed), and resolve it. NULL with a message in err on a bad
 * spec, an unresolvable host, TLS without certificate and key, or SCTP on a
 * kernel without it. A stream (TCP, TLS, SCTP) collector that is down is not
 * an error: the transport keeps retrying with backoff. TLS goes through
 * OpenSSL over our own TCP connection (Debian's libfixbuf has no TLS). */
struct transport *transport_open_collector(const char *spec, const struct transport_options *to,
                                           char *err, size_t errlen);
/* "host[:port]" or "[v6addr][:port]" (port 4739 by default), checked. 0,
 * or -1 with a message in err. */
int transport_split_host_port(const char *hp, char *host, size_t hostlen, char *port,
                              size_t portlen, char *err, size_t errlen);
struct transport *transport_open_file(const char *path, char *err, size_t errlen);
/* A file transport with no file open yet (--rotate opens files as the clock
 * goes): until one is, its records are counted as dropped. name is what the
 * statistics call it. */
struct transport *transport_new_file(const char *name);
/* Close the current file (if any) and open path, appending: a name written
 * earlier in the run (a file SIGHUP did not see moved, a pattern that
 * repeats) keeps what it had. -1 with a message in err, the transport left
 * without a file. */
int transport_reopen_file(struct transport *t, const char *path, char *err, size_t errlen);
bool transport_file_is_open(const struct transport *t);

/* Send or queue one message carrying nrecords flow records. A templates-only
 * message is also remembered, to be sent first on every new connection. */
int transport_send(struct transport *t, const uint8_t *msg, size_t len, uint32_t nrecords,
                   enum msg_kind kind);

/* UDP: gather datagrams and send them with one sendmmsg() per batch
 * (flushed by transport_poll and transport_close). Off when records are
 * paced, so the pace reaches the wire. */
void transport_set_batching(struct transport *t, bool on);

/* Retry a lost TCP connection and drain the queue, if the backoff allows. */
void transport_poll(struct transport *t);

/* Drain for at most wait_ms, close, and count whatever was left as dropped. */
void transport_close(struct transport *t, unsigned wait_ms);

/* UDP: the largest message that leaves in one datagram without IP
 * fragmentation, the route's MTU to the collector (IP_MTU, IPV6_MTU of the
 * connected socket) less the IP and UDP headers. 0 when unknown, and for
 * streams and files, which carry messages of any size. */
size_t transport_path_payload(const struct transport *t);

enum transport_kind transport_kind(const struct transport *t);
const char *transport_name(const struct transport *t);
const struct transport_stats *transport_stats(const struct transport *t);
void transport_free(struct transport *t);

#endif
