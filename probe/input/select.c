#include "select.h"

#include <string.h>

#include "decode.h"

bool select_active(const struct select_config *c)
{
    return c->sample_n > 1 || c->hash;
}

/* splitmix64: spreads a small seed (0, 1, 2 ...) over the whole state, so
 * neighbouring seeds and streams give unrelated sequences. */
static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* xorshift64*: a few instructions per packet, 2^64 - 1 period, and good
 * enough high bits for a keep/drop decision. */
static uint64_t next_random(struct packet_select *s)
{
    uint64_t x = s->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s->rng = x;
    return x * 0x2545F4914F6CDD1Dull;
}

void select_init(struct packet_select *s, const struct select_config *c, unsigned stream)
{
    memset(s, 0, sizeof *s);
    s->cfg = *c;
    uint32_t n = c->sample_n > 1 ? c->sample_n : 1;
    /* keep with probability 1/N: the number falls below 2^64 / N */
    s->threshold = n > 1 ? UINT64_MAX / n + 1 : UINT64_MAX;
    s->rng = splitmix64(c->seed ^ splitmix64(stream));
    if (s->rng == 0)
        s->rng = 1;
    s->countdown = 0;           /* count mode keeps the 1st, (N+1)th, ... packet */
}

/* ---- BOB (RFC 5475 Appendix A) ---------------------------------------------- */

#define BOB_MIX(a, b, c)                         \
    do {                                         \
        a -= b; a -= c; a ^= (c >> 13);          \
        b -= c; b -= a; b ^= (a << 8);           \
        c -= a; c -= b; c ^= (b >> 13);          \
        a -= b; a -= c; a ^= (c >> 12);          \
        b -= c; b -= a; b ^= (a << 16);          \
        c -= a; c -= b; c ^= (b >> 5);           \
        a -= b; a -= c; a ^= (c >> 3);           \
        b -= c; b -= a; b ^= (a << 10);          \
        c -= a; c -= b; c ^= (b >> 15);          \
    } while (0)

static uint32_t le32(const uint8_t *k)
{
    return (uint32_t)k[0] | (uint32_t)k[1] << 8 | (uint32_t)k[2] << 16 | (uint32_t)k[3] << 24;
}

/* The last 0..11 bytes, little-endian into a, b and c's upper three bytes
 * (its low byte took the length). */
static void bob_tail(const uint8_t *k, uint32_t len, uint32_t *a, uint32_t *b, uint32_t *c)
{
    uint8_t pad[12] = {0};
    memcpy(pad, k, len);
    *a += le32(pad);
    *b += le32(pad + 4);
    *c += le32(pad + 8) << 8;
}

uint32_t select_bob_hash(const uint8_t *k, uint32_t len, uint32_t initval)
{
    uint32_t a = 0x9E3779B9u, b = 0x9E3779B9u, c = initval;
    uint32_t left = len;
    for (; left >= 12; k += 12, left -= 12) {
        a += le32(k);
        b += le32(k + 4);
        c += le32(k + 8);
        BOB_MIX(a, b, c);
    }
    c += len;
    bob_tail(k, left, &a, &b, &c);
    BOB_MIX(a, b, c);
    return c;
}

/* ---- hash input ----------------------------------------------------------------
 * Fields no router changes: not TTL/hop limit, checksum or DSCP/ECN.
 *   IPv4: header bytes 2-7 (total length, identification, flags and
 *         fragment offset), 12-19 (source, destination)
 *   IPv6: header bytes 4-5 (payload length), 8-39 (source, destination)
 * then the first HASH_PAYLOAD_BYTES bytes of the IP payload (fewer when the
 * packet or the capture is shorter): ports and TCP sequence number, UDP
 * length and checksum, ICMP header, which tell packets of a flow apart. */
static uint32_t hash_input(const struct packet_view *pv, uint8_t *in)
{
    const uint8_t *ip = pv->l3;
    uint32_t n, hdr;
    if (pv->ip_version == 4) {
        memcpy(in, ip + 2, 6);
        memcpy(in + 6, ip + 12, 8);
        n = 14;
        hdr = (uint32_t)(ip[0] & 0x0F) * 4;
    } else {
        memcpy(in, ip + 4, 2);
        memcpy(in + 2, ip + 8, 32);
        n = 34;
        hdr = 40;
    }
    uint32_t avail = pv->l3_caplen < pv->ip_len ? pv->l3_caplen : pv->ip_len;
    uint32_t take = avail > hdr ? avail - hdr : 0;
    if (take > HASH_PAYLOAD_BYTES)
        take = HASH_PAYLOAD_BYTES;
    memcpy(in + n, ip + hdr, take);
    return n + take;
}

bool select_packet_hash(int dlt, const struct capture_packet *pkt, uint32_t initval, uint32_t *hash)
{
    struct packet_view pv;
    if (decode_packet(dlt, pkt->data, pkt->caplen, pkt->wirelen, pkt->ts_us, &pv) != DECODE_OK)
        return false;
    uint8_t in[34 + HASH_PAYLOAD_BYTES];
    *hash = select_bob_hash(in, hash_input(&pv, in), initval);
    return true;
}

static bool hash_selects(struct packet_select *s, int dlt, const struct capture_packet *pkt)
{
    uint32_t h;
    return select_packet_hash(dlt, pkt, (uint32_t)s->cfg.seed, &h) && h >= s->cfg.hash_from &&
           h <= s->cfg.hash_to;
}

static bool sample_selects(struct packet_select *s)
{
    if (s->cfg.sample_n <= 1)
        return true;
    if (s->cfg.mode == SAMPLE_RANDOM)
        return next_random(s) < s->threshold;
    if (s->countdown) {
        s->countdown--;
        return false;
    }
    s->countdown = s->cfg.sample_n - 1;
    return true;
}

/* Hash selection first, then sampling: sampling counts only the packets the
 * hash let through, as RFC 5476's selection sequence runs its selectors. */
unsigned select_packets(struct packet_select *s, int dlt, struct capture_packet *pkts, unsigned n)
{
    unsigned kept = 0;
    s->stats.observed += n;
    for (unsigned i = 0; i < n; i++) {
        if (s->cfg.hash && !hash_selects(s, dlt, &pkts[i])) {
            s->stats.hash_rejected++;
            continue;
        }
        if (!sample_selects(s)) {
            s->stats.sample_rejected++;
            continue;
        }
        pkts[kept++] = pkts[i];
    }
    return kept;
}
