/* select.h — packet selection before metering (RFC 5475): sampling, 1 in N
 * by count or at random, and hash-based selection over fields that do not
 * change hop to hop, so that probes on one path select the same packets.
 *
 * A selector runs where packets are read: reading a file, in the one thread
 * that reads (so the records are the same for any --workers N); live with
 * several workers, each worker has its own (own count, own random stream).
 * Nothing here allocates or calls the system per packet. */
#ifndef NFPROBE_SELECT_H
#define NFPROBE_SELECT_H

#include <stdbool.h>
#include <stdint.h>
#include "capture.h"

enum sample_mode { SAMPLE_RANDOM = 0, SAMPLE_COUNT = 1 };

/* RFC 5475 / IANA selectorAlgorithm values nfprobe uses. */
enum {
    SELECTOR_ALG_COUNT = 1,         /* systematic count-based sampling */
    SELECTOR_ALG_UNIFORM = 4,       /* uniform probabilistic sampling */
    SELECTOR_ALG_HASH_BOB = 6,      /* hash-based filtering using BOB */
};

/* What the command line asked for. */
struct select_config {
    uint32_t sample_n;              /* 1 in N; 0 or 1: every packet */
    enum sample_mode mode;
    uint64_t seed;                  /* --sample-seed: random stream and BOB's initval */
    bool hash;                      /* --hash-select FROM-TO */
    uint32_t hash_from, hash_to;
};

#define HASH_PAYLOAD_BYTES 8        /* of the IP payload, in the hash input */

struct select_stats {
    uint64_t observed;              /* frames offered */
    uint64_t hash_rejected;         /* not in the hash range (or not IP) */
    uint64_t sample_rejected;       /* left out by sampling */
};

struct packet_select {
    struct select_config cfg;
    uint64_t threshold;             /* random: keep when the next number is below */
    uint64_t rng;                   /* xorshift64* state */
    uint32_t countdown;             /* count: packets until the next one kept */
    struct select_stats stats;
};

/* Does the configuration select at all (else every packet is metered)? */
bool select_active(const struct select_config *c);

/* stream: a worker's index, so live workers draw different numbers from
 * one seed (0 for the one reading thread). */
void select_init(struct packet_select *s, const struct select_config *c, unsigned stream);

/* Keep the selected ones of pkts[0..n), in order, at the front; how many. */
unsigned select_packets(struct packet_select *s, int dlt, struct capture_packet *pkts, unsigned n);

/* The 32-bit BOB hash (RFC 5475 Appendix A: Bob Jenkins' lookup2) of
 * len bytes with initval. */
uint32_t select_bob_hash(const uint8_t *k, uint32_t len, uint32_t initval);

/* The hash of a frame as --hash-select uses it (README: "Hash selection"):
 * false when the frame is not IP. */
bool select_packet_hash(int dlt, const struct capture_packet *pkt, uint32_t initval, uint32_t *hash);

#endif
