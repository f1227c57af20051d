/* flowkey.h — the canonical bidirectional flow key and its symmetric hash.
 *
 * Both directions of a conversation produce the same key: the two ends are
 * stored in a fixed order (lower address:port first), so a lookup needs no
 * second probe for the reverse direction. */
#ifndef NFPROBE_FLOWKEY_H
#define NFPROBE_FLOWKEY_H

#include <stdint.h>
#include <stdbool.h>
#include <string.h>
#include "decode.h"

struct __attribute__((aligned(8))) flow_key {
    uint8_t addr[2][16];    /* addr[0] <= addr[1] (with ports as tie-break) */
    uint16_t port[2];
    uint16_t vlan;
    uint8_t proto;
    uint8_t ip_version;
    /* The tunnel the packet came through (all zero outside tunnels): the
     * outermost endpoints (lower first), the innermost tunnel's type and the
     * id both directions share. Which endpoint sent a packet is not part of
     * it: a mirror session (ERSPAN, TZSP) carries both directions of the
     * inner flow from the same sender. */
    uint8_t tun_addr[2][16];
    uint32_t tun_id;
    uint8_t tun_type;
    uint8_t tun_ip_version;
    uint8_t tun_pad[2];
};

/* Build the canonical key of a packet. Returns which end of the key the
 * packet's source is (0 or 1). */
int flowkey_from_packet(const struct packet_view *pv, struct flow_key *key);

uint32_t flowkey_hash(const struct flow_key *key);

/* Inline: the flow cache compares keys on every packet. The tunnel's half
 * is compared only once the inner half matched. */
static inline bool flowkey_equal(const struct flow_key *a, const struct flow_key *b)
{
    uint64_t x[5], y[5];
    memcpy(x, a, sizeof x);
    memcpy(y, b, sizeof y);
    if (((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) != 0)
        return false;
    memcpy(x, (const uint8_t *)a + sizeof x, sizeof x);
    memcpy(y, (const uint8_t *)b + sizeof y, sizeof y);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3]) | (x[4] ^ y[4])) == 0;
}

#endif
