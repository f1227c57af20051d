/* udp_refused.h — which UDP datagrams the collector's host refused.
 *
 * A datagram to a port nobody listens on comes back as an ICMP port
 * unreachable. A connected UDP socket reports that only as ECONNREFUSED on
 * a later send, once for any number of refused datagrams, and that send
 * then goes out: counted that way, every datagram to a closed port looked
 * sent. With IP_RECVERR the kernel queues one error per ICMP message,
 * carrying the start of the refused datagram; matched against the headers
 * of the datagrams sent last (an export header's sequence number makes it
 * unique), each refusal names the records it lost. An ICMP that arrives
 * after the last look (the end of the run, a far collector) goes uncounted. */
#ifndef NFPROBE_UDP_REFUSED_H
#define NFPROBE_UDP_REFUSED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UDP_REFUSED_KEY 16      /* bytes of a datagram that identify it */
#define UDP_REFUSED_RING 256    /* datagrams remembered */

struct udp_sent {
    uint8_t key[UDP_REFUSED_KEY];
    uint8_t keylen;
    bool refused;
    uint32_t nrecords;
};

struct udp_refused {
    struct udp_sent ring[UDP_REFUSED_RING];
    unsigned next;
};

/* Ask the kernel to queue ICMP errors on fd (family AF_INET or AF_INET6).
 * 0, or -1 with errno. */
int udp_refused_enable(int fd, int family);

/* A datagram of nrecords records went out. */
void udp_refused_note(struct udp_refused *u, const uint8_t *msg, size_t len, uint32_t nrecords);

/* Read the queued errors of fd: the datagrams refused since the last call
 * (*messages) and their records (returned). */
uint64_t udp_refused_collect(struct udp_refused *u, int fd, unsigned *messages);

#endif
