#include "flowkey.h"

#include <endian.h>
#include <string.h>

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Order the two ends so both directions build the same key: by address
 * (bytes in order, as memcmp would: two big-endian words), then port. Runs
 * for every packet, so without a call to memcmp. */
static int end_before(const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb)
{
    uint64_t a0 = be64toh(load64(a)), b0 = be64toh(load64(b));
    if (a0 != b0)
        return a0 < b0;
    uint64_t a1 = be64toh(load64(a + 8)), b1 = be64toh(load64(b + 8));
    if (a1 != b1)
        return a1 < b1;
    return pa <= pb;
}

int flowkey_from_packet(const struct packet_view *pv, struct flow_key *key)
{
    memset(key, 0, sizeof *key);
    key->vlan = pv->vlan;
    key->proto = pv->proto;
    key->ip_version = pv->ip_version;
    if (end_before(pv->src, pv->sport, pv->dst, pv->dport)) {
        memcpy(key->addr[0], pv->src, 16);
        memcpy(key->addr[1], pv->dst, 16);
        key->port[0] = pv->sport;
        key->port[1] = pv->dport;
        return 0;
    }
    memcpy(key->addr[0], pv->dst, 16);
    memcpy(key->addr[1], pv->src, 16);
    key->port[0] = pv->dport;
    key->port[1] = pv->sport;
    return 1;
}

static inline uint64_t mix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint32_t flowkey_hash(const struct flow_key *key)
{
    _Static_assert(sizeof(struct flow_key) == 40, "flow_key must have no padding");
    const uint8_t *p = (const uint8_t *)key;
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 5; i++)
        h = (h ^ load64(p + 8 * i)) * 0x100000001B3ULL + (h >> 29);
    return (uint32_t)mix64(h);
}

