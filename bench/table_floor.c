/* table_floor.c — the flow-table floor for bench/workers.sh part 2: the
 * least a flow meter pays per packet for a table of K open flows on this
 * machine, so that nfprobe's growth from 10k to 1M flows can be set against
 * the machine's own (its caches, TLB and memory latency).
 *
 *   usage: table_floor FILE CAPACITY   prints "PACKETS FLOWS_CREATED PEAK"
 *
 * Reads the capture as pcap_floor.c does (a bare pcap_next_ex loop) and
 * meters each Ethernet IPv4/IPv6 TCP/UDP packet in a minimal table: a
 * bidirectional key, a chained hash index of 32-bit heads, and a 128-byte
 * flow (two cache lines: key, then counters per direction). Packets go in
 * batches of 32 whose buckets, then flows, are prefetched before use, as
 * nfprobe does. A TCP flow ends with its RST or FIN and leaves the table at
 * once, its entry reused next (no time lists, no timeouts, no export):
 * everything nfprobe does beyond this is its own cost.
 */
#define _DEFAULT_SOURCE /* libpcap's headers use u_char and u_int */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

enum { BATCH = 32, NONE = UINT32_MAX };

struct key {
    uint8_t a[16], b[16];   /* the lower endpoint first: both directions meet */
    uint16_t pa, pb;
    uint8_t proto, v6;
};

struct flow {
    struct key key;         /* first line: key, chain, hash */
    uint32_t next;
    uint32_t hash;
    uint8_t pad[16];
    uint64_t packets[2], bytes[2], first_ns, last_ns;   /* second line */
    uint8_t flags[2];
    uint8_t pad2[14];
};
_Static_assert(sizeof(struct flow) == 128, "two cache lines");

struct table {
    struct flow *flows;
    uint32_t *heads;
    uint32_t mask, capacity, used, free_head, never_used;
    uint64_t created, peak, full;
};

struct pkt {
    struct key key;
    uint32_t hash, len;
    uint64_t ns;
    uint8_t dir, tcp_flags;
};

static uint32_t hash_key(const struct key *k)
{
    uint64_t w[4];
    memcpy(w, k, sizeof w);     /* the two addresses */
    uint64_t h = 0x9E3779B97F4A7C15u ^ ((uint64_t)k->pa << 24 | (uint64_t)k->pb << 8 | k->proto);
    for (int i = 0; i < 4; i++)
        h = (h ^ w[i]) * 0xFF51AFD7ED558CCDu;
    return (uint32_t)(h >> 32);
}

/* Ethernet, IPv4 or IPv6 (no extension headers), TCP or UDP: 0, else -1. */
static int parse(const u_char *d, uint32_t caplen, struct pkt *p)
{
    memset(&p->key, 0, sizeof p->key);
    if (caplen < 14)
        return -1;
    uint16_t et = (uint16_t)(d[12] << 8 | d[13]);
    const u_char *ip = d + 14, *src, *dst, *l4;
    uint32_t alen, left = caplen - 14;
    if (et == 0x0800 && left >= 20 && (ip[0] & 0xF) >= 5 && left >= (ip[0] & 0xFu) * 4) {
        p->key.proto = ip[9];
        src = ip + 12, dst = ip + 16, alen = 4;
        l4 = ip + (ip[0] & 0xF) * 4;
    } else if (et == 0x86DD && left >= 40) {
        p->key.proto = ip[6];
        src = ip + 8, dst = ip + 24, alen = 16;
        l4 = ip + 40;
        p->key.v6 = 1;
    } else {
        return -1;
    }
    if ((p->key.proto != 6 && p->key.proto != 17) || l4 + 4 > d + caplen)
        return -1;
    uint16_t sp = (uint16_t)(l4[0] << 8 | l4[1]), dp = (uint16_t)(l4[2] << 8 | l4[3]);
    int c = memcmp(src, dst, alen);
    p->dir = c > 0 || (c == 0 && sp > dp);
    memcpy(p->key.a, p->dir ? dst : src, alen);
    memcpy(p->key.b, p->dir ? src : dst, alen);
    p->key.pa = p->dir ? dp : sp;
    p->key.pb = p->dir ? sp : dp;
    p->tcp_flags = p->key.proto == 6 && l4 + 14 <= d + caplen ? l4[13] : 0;
    p->hash = hash_key(&p->key);
    return 0;
}

static struct flow *find(struct table *t, const struct pkt *p, uint32_t **link)
{
    uint32_t *at = &t->heads[p->hash & t->mask];
    while (*at != NONE) {
        struct flow *f = &t->flows[*at];
        if (f->hash == p->hash && !memcmp(&f->key, &p->key, sizeof p->key)) {
            *link = at;
            return f;
        }
        at = &f->next;
    }
    *link = at;
    return NULL;
}

static struct flow *insert(struct table *t, const struct pkt *p, uint32_t *link)
{
    uint32_t i = t->free_head;
    if (i != NONE)
        t->free_head = t->flows[i].next;
    else if (t->never_used < t->capacity)
        i = t->never_used++;
    else {
        t->full++;
        return NULL;
    }
    struct flow *f = &t->flows[i];
    memset(f, 0, sizeof *f);
    f->key = p->key;
    f->hash = p->hash;
    f->next = NONE;
    f->first_ns = p->ns;
    *link = i;
    t->created++;
    if (++t->used > t->peak)
        t->peak = t->used;
    return f;
}

static void meter(struct table *t, const struct pkt *p)
{
    uint32_t *link;
    struct flow *f = find(t, p, &link);
    if (!f && !(f = insert(t, p, link)))
        return;
    f->packets[p->dir]++;
    f->bytes[p->dir] += p->len;
    f->last_ns = p->ns;
    f->flags[p->dir] |= p->tcp_flags;
    if (p->tcp_flags & 0x05) {      /* RST or FIN: unlink (link is where f hangs) and reuse */
        uint32_t i = (uint32_t)(f - t->flows);
        *link = f->next;
        f->next = t->free_head;
        t->free_head = i;
        t->used--;
    }
}

static void prefetch_heads(const struct table *t, const struct pkt *b, int n)
{
    for (int i = 0; i < n; i++)
        __builtin_prefetch(&t->heads[b[i].hash & t->mask]);
}

static void prefetch_flows(const struct table *t, const struct pkt *b, int n)
{
    for (int i = 0; i < n; i++) {
        uint32_t h = t->heads[b[i].hash & t->mask];
        if (h != NONE)
            __builtin_prefetch(&t->flows[h], 1);
    }
}

/* A pipeline of three batches, so that each prefetch has a batch's work
 * to arrive in: batch i's buckets are asked for, i-1's flows (its buckets
 * arrived meanwhile), and i-2 is metered. */
struct pipe {
    struct pkt b[3][BATCH];
    int n[3];
    unsigned i;
};

static void pipe_step(struct table *t, struct pipe *p)
{
    unsigned cur = p->i % 3, prev = (p->i + 2) % 3, old = (p->i + 1) % 3;
    prefetch_heads(t, p->b[cur], p->n[cur]);
    prefetch_flows(t, p->b[prev], p->n[prev]);
    for (int k = 0; k < p->n[old]; k++)
        meter(t, &p->b[old][k]);
    p->n[old] = 0;
    p->i++;
}

/* As nfprobe's tables: 2 MiB-aligned, asked to be backed by huge pages
 * (with 4 KiB pages nearly every access would miss the TLB too). */
static void *alloc_table(size_t bytes)
{
    void *p;
    if (posix_memalign(&p, 2 << 20, bytes) != 0)
        return NULL;
    madvise(p, bytes, MADV_HUGEPAGE);
    return p;
}

static int table_init(struct table *t, uint32_t capacity)
{
    uint32_t nb = 1;
    while (nb < capacity)
        nb <<= 1;
    t->mask = nb - 1;
    t->capacity = capacity;
    t->free_head = NONE;
    t->flows = alloc_table((size_t)capacity * sizeof *t->flows);
    t->heads = alloc_table((size_t)nb * sizeof *t->heads);
    if (!t->flows || !t->heads)
        return -1;
    memset(t->heads, 0xFF, (size_t)nb * sizeof *t->heads);
    return 0;
}

int main(int argc, char **argv)
{
    long cap = argc == 3 ? strtol(argv[2], NULL, 10) : 0;
    if (cap < 1 || cap > 100000000) {
        fprintf(stderr, "usage: %s FILE CAPACITY (flows, 1..100000000)\n", argv[0]);
        return 2;
    }
    struct table t = {0};
    if (table_init(&t, (uint32_t)cap) < 0) {
        fprintf(stderr, "table_floor: out of memory for %ld flows\n", cap);
        return 1;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) {
        fprintf(stderr, "table_floor: %s\n", err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    static struct pipe pipe;
    uint64_t packets = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        packets++;
        int *n = &pipe.n[pipe.i % 3];
        struct pkt *k = &pipe.b[pipe.i % 3][*n];
        if (parse(data, h->caplen, k) < 0)
            continue;
        k->len = h->len;
        k->ns = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
        if (++*n == BATCH)
            pipe_step(&t, &pipe);
    }
    for (int i = 0; i < 3; i++)     /* the last batches through */
        pipe_step(&t, &pipe);
    if (rc != PCAP_ERROR_BREAK) {
        fprintf(stderr, "table_floor: %s: %s\n", argv[1], pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    pcap_close(p);
    if (t.full)
        fprintf(stderr, "table_floor: %llu packets found the table full (capacity %ld)\n",
                (unsigned long long)t.full, cap);
    printf("%llu %llu %llu\n", (unsigned long long)packets, (unsigned long long)t.created,
           (unsigned long long)t.peak);
    free(t.flows);
    free(t.heads);
    return 0;
}
