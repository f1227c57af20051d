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

/* The tunnel's part of the key: its outermost endpoints in the same fixed
 * order both ways. */
static void tunnel_key(const struct tunnel_view *t, struct flow_key *key)
{
    int outer_end = !end_before(t->outer_src, 0, t->outer_dst, 0);
    memcpy(key->tun_addr[outer_end], t->outer_src, 16);
    memcpy(key->tun_addr[!outer_end], t->outer_dst, 16);
    key->tun_id = t->key_id;
    key->tun_type = t->type;
    key->tun_ip_version = t->ip_version;
}

int flowkey_from_packet(const struct packet_view *pv, struct flow_key *key)
{
    memset(key, 0, sizeof *key);
    key->vlan = pv->vlan;
    key->proto = pv->proto;
    key->ip_version = pv->ip_version;
    int src_end = !end_before(pv->src, pv->sport, pv->dst, pv->dport);
    memcpy(key->addr[src_end], pv->src, 16);
    memcpy(key->addr[!src_end], pv->dst, 16);
    key->port[src_end] = pv->sport;
    key->port[!src_end] = pv->dport;
    if (pv->tun.depth)
        tunnel_key(&pv->tun, key);
    return src_end;
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
    _Static_assert(sizeof(struct flow_key) == 80, "flow_key must have no padding");
    const uint8_t *p = (const uint8_t *)key;
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    /* the tunnel's half is all zero outside tunnels: skipped there */
    int words = key->tun_type ? 10 : 5;
    for (int i = 0; i < words; i++)
        h = (h ^ load64(p + 8 * i)) * 0x100000001B3ULL + (h >> 29);
    return (uint32_t)mix64(h);
}

