/* gen_pcap.c — write a deterministic synthetic pcap for the nfprobe benchmark.
 *
 *   usage: gen_pcap OUT.pcap [PACKETS [FLOWS [SEED [SECONDS]]]]
 *          defaults: 3000000 packets, 120000 flows, seed 1, 60 seconds
 *          gen_pcap --active K OUT.pcap [PACKETS [SEED]]
 *          steady mode (below): K flows open at every moment
 *
 * Standalone C11, libc only (no libm: ln/exp are implemented here so that the
 * output is bit-identical for a given seed on every libc).
 *
 * What it writes
 *   - classic pcap, microsecond timestamps, linktype 1 (Ethernet), snaplen 96;
 *     every record has caplen = min(96, wire length) and the true wire length.
 *   - FLOWS conversations (bidirectional 5-tuples, all distinct), about 30 %
 *     IPv6, interleaved in time over SECONDS seconds so tens of thousands are
 *     active at once:
 *       TCP  web/bulk/interactive: SYN, SYN/ACK, ACK, data + ACKs, then
 *            FIN/ACK both ways + ACK (most), RST (some), or still open;
 *            some start mid-stream (no handshake); some are unanswered SYNs
 *            (with retransmits) or refused (SYN, RST/ACK).
 *       UDP  DNS (query/response or unanswered), NTP, QUIC-like bulk on 443,
 *            RTP-like voice streams (20 ms packets, one or both directions).
 *     Packet counts per flow are heavy-tailed (Pareto) and add up to exactly
 *     PACKETS. Frame sizes are realistic: 1514-byte full segments, 54/66-byte
 *     ACKs, 74-byte SYNs, ~1300-byte QUIC, 214-byte RTP, small DNS. Frames
 *     shorter than 60 bytes are padded to 60 in the server->client direction,
 *     as a NIC does on the wire (so IP length != frame length - 14 there).
 *   - IPv4 header checksums and TCP/UDP checksums are correct for a payload of
 *     zeros (the captured payload bytes are zeros).
 *   - addresses come from the benchmarking/documentation ranges 198.18.0.0/15
 *     and 2001:db8::/32.
 *
 * Side file OUT.pcap.meta (key=value), also echoed on stderr: exact totals
 * (packets, IP bytes = sum of IPv4 total length / IPv6 40 + payload length,
 * wire bytes, padding bytes), flow counts (conversations, directions with at
 * least one packet), the mix, and the maximum number of concurrently active
 * flows under a 30 s idle timeout (a flow is active from its first packet
 * until 30 s after its last one, TCP close ignored) and without any timeout
 * (first..last packet overlap).
 *
 * Steady mode (--active K), for the per-packet cost against the flow table's
 * size (bench/workers.sh): 3K/2 slots, each carrying three-packet TCP flows one
 * after another (SYN, SYN/ACK, RST/ACK; the first flow of a slot may start
 * mid-stream, the last may stay open; a slot whose first packet would be the
 * RST starts empty). Packets go out in rounds of one packet
 * per slot, in a fresh random slot order each round (so that the order in
 * which flows are touched is not the order in which they were created); slot
 * s's flows start at rounds where (round + s) % 3 == 0, so a third of the
 * slots open a new flow in each round and a third close theirs; a slot whose
 * flow closed stays empty until its next SYN, so two thirds of the slots,
 * K, hold an open flow at any moment. Whatever K, a third of the packets
 * open a flow and a third close one once the first round is over (in it, K
 * flows open with K packets): only the number open at once changes, and
 * how much of the capture the first round takes (a third with K = 1M and 3M
 * packets, so there 1.67M flows are created instead of 1M).
 * A round lasts 10 s (a flow 30 s, below nfprobe's 30 s idle timeout between
 * its packets), so a probe holds about K flows, plus those closed within its
 * TCP close timeout (2 s by default: up to ~7 % more). 30 % IPv6.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPLEN 96u
#define ETH_HLEN 14u
#define ETH_MIN 60u
#define IDLE_US 30000000ull
#define US 1000000ull
#define BASE_EPOCH 1700000000u /* 2023-11-14T22:13:20Z */

/* ---------------------------------------------------------------- random */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* uniform in (0,1), never 0 or 1 */
static double unif(uint64_t *s)
{
    return ((double)(splitmix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* uniform integer in [lo, hi] */
static uint32_t urange(uint64_t *s, uint32_t lo, uint32_t hi)
{
    return lo + (uint32_t)(splitmix(s) % ((uint64_t)hi - lo + 1));
}

static int chance(uint64_t *s, double p)
{
    return unif(s) < p;
}

#define LN2 0.69314718055994530942

static double my_ln(double x) /* x > 0, normal */
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    int e = (int)((b >> 52) & 0x7ff) - 1023;
    b = (b & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
    double m;
    memcpy(&m, &b, sizeof m);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    double z = (m - 1.0) / (m + 1.0), z2 = z * z, t = z, sum = 0.0;
    for (int k = 1; k < 40; k += 2) {
        sum += t / k;
        t *= z2;
    }
    return 2.0 * sum + e * LN2;
}

static double my_exp(double x)
{
    if (x < -700.0)
        return 0.0;
    if (x > 700.0)
        x = 700.0;
    double kf = x / LN2;
    int k = (int)(kf < 0 ? kf - 0.5 : kf + 0.5);
    double r = x - k * LN2, sum = 1.0, t = 1.0;
    for (int i = 1; i < 25; i++) {
        t *= r / i;
        sum += t;
    }
    uint64_t b = (uint64_t)(k + 1023) << 52;
    double p;
    memcpy(&p, &b, sizeof p);
    return sum * p;
}

/* log-uniform in [a, b] */
static double logunif(uint64_t *s, double a, double b)
{
    return a * my_exp(unif(s) * my_ln(b / a));
}

/* ---------------------------------------------------------------- flows */

enum kind {
    K_TCP,          /* handshake, data, FIN / RST / open */
    K_TCP_MID,      /* started before the capture: no handshake */
    K_TCP_SYNONLY,  /* unanswered SYN + retransmits */
    K_TCP_REFUSED,  /* SYN, RST/ACK */
    K_DNS,
    K_NTP,
    K_QUIC,
    K_RTP,
    K_NKINDS
};
static const char *const kind_name[K_NKINDS] = {
    "tcp", "tcp_midstream", "tcp_syn_only", "tcp_refused", "udp_dns", "udp_ntp", "udp_quic", "udp_rtp",
};

enum pattern { P_DOWNLOAD, P_UPLOAD, P_INTERACTIVE };
enum closek { C_NONE, C_FIN, C_RST };

struct flow {
    uint64_t rng;
    uint64_t next_us;       /* time of packet idx */
    uint64_t start_us;
    uint64_t a_us, b_us;    /* data phase window */
    uint64_t first_us, last_us;
    double x;               /* order statistic position in [0,1) */
    uint32_t n, idx;        /* packets in total, index of the next one */
    uint32_t n_hs, n_data;  /* handshake and data phase packets */
    uint32_t rtt_us;
    uint32_t seq[2];        /* next sequence number per direction */
    uint32_t ts_off[2];
    uint32_t cli, srv;      /* host indices */
    uint32_t flowlabel[2];
    uint16_t ipid[2];
    uint16_t sport, dport;  /* client port, server port */
    uint16_t mss_payload;   /* max TCP payload per segment (MSS minus options) */
    uint8_t kind, pattern, closek, closer;
    uint8_t v6, tsopt, ttl_srv, tos;
    uint8_t bidi;           /* RTP: both directions */
    uint8_t seen[2];
};

static struct flow *flows;
static uint32_t nflows;

/* ---------------------------------------------------------------- heap */

static uint32_t *heap;
static uint32_t heap_n;

static int heap_less(uint32_t a, uint32_t b)
{
    if (flows[a].next_us != flows[b].next_us)
        return flows[a].next_us < flows[b].next_us;
    return a < b;
}

static void heap_down(uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_n && heap_less(heap[l], heap[m]))
            m = l;
        if (r < heap_n && heap_less(heap[r], heap[m]))
            m = r;
        if (m == i)
            return;
        uint32_t t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
}

/* IPv6 flow labels, IP ids, TCP sequence numbers and timestamp offsets,
 * drawn from the flow's generator */
static void random_header_fields(struct flow *f)
{
    f->flowlabel[0] = f->v6 ? urange(&f->rng, 1, 0xfffff) : 0;
    f->flowlabel[1] = f->v6 ? urange(&f->rng, 1, 0xfffff) : 0;
    f->ipid[0] = (uint16_t)splitmix(&f->rng);
    f->ipid[1] = (uint16_t)splitmix(&f->rng);
    f->seq[0] = (uint32_t)splitmix(&f->rng);
    f->seq[1] = (uint32_t)splitmix(&f->rng);
    f->ts_off[0] = (uint32_t)splitmix(&f->rng);
    f->ts_off[1] = (uint32_t)splitmix(&f->rng);
}

/* ---------------------------------------------------------------- scheduling */

/* Time of packet f->idx; previous packet (if any) was at f->last_us. */
static uint64_t schedule(struct flow *f)
{
    uint32_t i = f->idx;
    uint64_t prev = f->idx ? f->last_us : f->start_us;
    uint64_t t;

    switch (f->kind) {
    case K_TCP_SYNONLY:                 /* 0, +1 s, +3 s, +7 s ... */
        return i == 0 ? f->start_us : prev + (US << (i - 1));
    case K_TCP_REFUSED:
    case K_DNS:
    case K_NTP:
        return i == 0 ? f->start_us : prev + f->rtt_us;
    default:
        break;
    }

    if (i < f->n_hs) {                  /* handshake / first exchange */
        if (i == 0)
            return f->start_us;
        if (i == 1)
            return prev + f->rtt_us;
        return prev + urange(&f->rng, 5, 200);
    }
    uint32_t k = i - f->n_hs;
    if (k < f->n_data) {
        if (f->kind == K_RTP) {
            t = f->a_us + (f->b_us - f->a_us) * k / f->n_data + urange(&f->rng, 0, 2000);
        } else {
            /* ascending uniform order statistics, one at a time */
            uint32_t left = f->n_data - k;
            double u = unif(&f->rng);
            f->x += (1.0 - f->x) * (1.0 - my_exp(my_ln(u) / left));
            t = f->a_us + (uint64_t)((double)(f->b_us - f->a_us) * f->x);
        }
        return t > prev ? t : prev;
    }
    /* close phase */
    k -= f->n_data;
    if (k == 0)
        t = (f->b_us > prev ? f->b_us : prev) + urange(&f->rng, 10, 5000);
    else if (k == 1)
        t = prev + f->rtt_us;
    else
        t = prev + urange(&f->rng, 5, 200);
    return t;
}

/* ---------------------------------------------------------------- packets */

struct pkt {
    int dir;            /* 0: client->server, 1: server->client */
    int proto;          /* 6 or 17 */
    uint8_t flags;      /* TCP */
    int opt;            /* TCP header: 0 plain (20), 1 timestamps, 2 SYN options */
    uint32_t payload;
};

enum { TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10 };

static uint32_t data_len(struct flow *f, double pfull)
{
    if (chance(&f->rng, pfull))
        return f->mss_payload;
    return urange(&f->rng, 1, f->mss_payload);
}

static void tcp_data(struct flow *f, struct pkt *p, int dir, uint32_t len)
{
    p->dir = dir;
    p->payload = len;
    p->opt = f->tsopt;
    p->flags = TH_ACK | (len && len < f->mss_payload ? TH_PSH : 0);
}

/* Packet i of the three-way handshake: SYN, SYN/ACK, ACK */
static void tcp_handshake(const struct flow *f, struct pkt *p, uint32_t i)
{
    if (i == 0) {
        p->flags = TH_SYN;
        p->opt = 2;
    } else if (i == 1) {
        p->dir = 1;
        p->flags = TH_SYN | TH_ACK;
        p->opt = 2;
    } else {
        p->flags = TH_ACK;
        p->opt = f->tsopt;
    }
}

static void describe(struct flow *f, struct pkt *p)
{
    uint32_t i = f->idx;
    memset(p, 0, sizeof *p);
    p->proto = 6;

    switch (f->kind) {
    case K_TCP_SYNONLY:
        p->flags = TH_SYN;
        p->opt = 2;
        return;
    case K_TCP_REFUSED:
        if (i == 0) {
            p->flags = TH_SYN;
            p->opt = 2;
        } else {
            p->dir = 1;
            p->flags = TH_RST | TH_ACK;
        }
        return;
    case K_DNS:
        p->proto = 17;
        p->dir = (int)(i & 1);
        p->payload = p->dir ? urange(&f->rng, 45, 480) : urange(&f->rng, 28, 60);
        return;
    case K_NTP:
        p->proto = 17;
        p->dir = (int)(i & 1);
        p->payload = 48;
        return;
    case K_RTP:
        p->proto = 17;
        p->dir = f->bidi ? (int)(i & 1) : 0;
        p->payload = 172;
        return;
    case K_QUIC: {
        uint32_t max = f->v6 ? 1330 : 1350;
        p->proto = 17;
        if (i == 0) {
            p->payload = 1250;                      /* client Initial */
        } else if (i == 1) {
            p->dir = 1;
            p->payload = 1200 + urange(&f->rng, 0, 52);
        } else if ((i - 2) % 4 < 3) {
            p->dir = 1;
            p->payload = chance(&f->rng, 0.85) ? max : urange(&f->rng, 60, max);
        } else {
            p->payload = urange(&f->rng, 30, 60);   /* ACK frames */
        }
        return;
    }
    default:
        break;
    }

    /* K_TCP, K_TCP_MID */
    if (i < f->n_hs) {
        tcp_handshake(f, p, i);
        return;
    }
    uint32_t k = i - f->n_hs;
    if (k < f->n_data) {
        switch (f->pattern) {
        case P_DOWNLOAD:
            if (k == 0)
                tcp_data(f, p, 0, urange(&f->rng, 150, 900));          /* request */
            else if ((k - 1) % 3 < 2)
                tcp_data(f, p, 1, data_len(f, 0.9));
            else
                tcp_data(f, p, 0, 0);                                  /* ACK */
            break;
        case P_UPLOAD:
            if (k == 0)
                tcp_data(f, p, 0, urange(&f->rng, 100, 400));
            else if ((k - 1) % 3 < 2)
                tcp_data(f, p, 0, data_len(f, 0.9));
            else
                tcp_data(f, p, 1, 0);
            break;
        default: /* interactive */
            if ((k & 1) == 0)
                tcp_data(f, p, 0, urange(&f->rng, 1, 120));
            else
                tcp_data(f, p, 1, chance(&f->rng, 0.5) ? 0 : urange(&f->rng, 1, 600));
            break;
        }
        return;
    }
    k -= f->n_data;
    if (f->closek == C_RST) {
        p->dir = f->closer;
        p->flags = TH_RST | TH_ACK;
        return;
    }
    /* FIN/ACK, FIN/ACK, ACK */
    p->dir = k == 1 ? !f->closer : f->closer;
    p->flags = k < 2 ? (TH_FIN | TH_ACK) : TH_ACK;
    p->opt = f->tsopt;
}

/* ---------------------------------------------------------------- encoding */

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void addr4(uint8_t *a, int server, uint32_t idx)
{
    /* clients 198.18.0.1 + idx, servers 198.19.0.1 + idx */
    uint32_t v = (server ? 0xc6130000u : 0xc6120000u) + 1 + idx;
    put32(a, v);
}

static void addr6(uint8_t *a, int server, uint32_t idx)
{
    /* clients 2001:db8:c::/48, servers 2001:db8:5e::/48 */
    static const uint8_t pre[2][6] = {{0x20, 0x01, 0x0d, 0xb8, 0x00, 0x0c}, {0x20, 0x01, 0x0d, 0xb8, 0x00, 0x5e}};
    memset(a, 0, 16);
    memcpy(a, pre[server], 6);
    put32(a + 12, idx + 1);
    if (!server)
        a[8] = (uint8_t)(idx * 37); /* not all in one /64 */
}

struct totals {
    uint64_t packets, ip_bytes, wire_bytes, cap_bytes, pad_bytes;
    uint64_t pk4, pk6, pktcp, pkudp;
    uint64_t syn, fin, rst;
};

/* Build packet into buf (at least 1518 bytes' worth of header room is not
 * needed: only caplen bytes are written). Returns wire length; *iplen gets
 * the IP-level length. */
static uint32_t encode(struct flow *f, const struct pkt *p, uint8_t *buf, uint32_t *iplen, uint32_t *pad)
{
    int dir = p->dir;
    uint32_t l4h, tlen;
    uint8_t src[16], dst[16];
    uint8_t *eth = buf, *ip = buf + ETH_HLEN, *l4;
    uint32_t iph = f->v6 ? 40 : 20;

    if (p->proto == 6)
        l4h = p->opt == 2 ? (f->tsopt ? 40 : 32) : p->opt == 1 ? 32 : 20;
    else
        l4h = 8;
    tlen = l4h + p->payload;            /* L4 length */
    *iplen = iph + tlen;

    uint32_t wire = ETH_HLEN + *iplen;
    *pad = 0;
    if (wire < ETH_MIN && dir == 1) {
        *pad = ETH_MIN - wire;
        wire = ETH_MIN;
    }
    memset(buf, 0, SNAPLEN);

    /* Ethernet: clients 02:00:5e:cc:xx:xx, gateway 02:00:5e:00:00:01 */
    uint8_t cmac[6] = {0x02, 0x00, 0x5e, 0xcc, (uint8_t)(f->cli >> 8), (uint8_t)f->cli};
    static const uint8_t gmac[6] = {0x02, 0x00, 0x5e, 0x00, 0x00, 0x01};
    memcpy(eth, dir ? cmac : gmac, 6);
    memcpy(eth + 6, dir ? gmac : cmac, 6);
    put16(eth + 12, f->v6 ? 0x86dd : 0x0800);

    if (f->v6) {
        addr6(src, dir, dir ? f->srv : f->cli);
        addr6(dst, !dir, dir ? f->cli : f->srv);
        put32(ip, 0x60000000u | (uint32_t)f->tos << 20 | f->flowlabel[dir]);
        put16(ip + 4, tlen);
        ip[6] = (uint8_t)p->proto;
        ip[7] = dir ? f->ttl_srv : 64;
        memcpy(ip + 8, src, 16);
        memcpy(ip + 24, dst, 16);
    } else {
        addr4(src, dir, dir ? f->srv : f->cli);
        addr4(dst, !dir, dir ? f->cli : f->srv);
        ip[0] = 0x45;
        ip[1] = f->tos;
        put16(ip + 2, *iplen);
        put16(ip + 4, f->ipid[dir]++);
        put16(ip + 6, p->proto == 6 ? 0x4000 : 0);
        ip[8] = dir ? f->ttl_srv : 64;
        ip[9] = (uint8_t)p->proto;
        memcpy(ip + 12, src, 4);
        memcpy(ip + 16, dst, 4);
        put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    }
    l4 = ip + iph;

    /* header bytes of L4, built in a scratch area (may exceed snaplen only
     * for payload, never for headers: 14 + 40 + 40 = 94 <= 96) */
    uint16_t sp = dir ? f->dport : f->sport, dp = dir ? f->sport : f->dport;
    put16(l4, sp);
    put16(l4 + 2, dp);
    if (p->proto == 6) {
        uint32_t seq = f->seq[dir], ack = f->seq[!dir];
        int resyn = (p->flags & TH_SYN) && f->seen[dir];   /* SYN retransmit */
        if (resyn)
            seq--;
        put32(l4 + 4, seq);
        put32(l4 + 8, (p->flags & TH_ACK) ? ack : 0);
        l4[12] = (uint8_t)((l4h / 4) << 4);
        l4[13] = p->flags;
        put16(l4 + 14, (p->flags & TH_RST) ? 0 : (p->flags & TH_SYN) ? 64240 : 501 + (f->cli & 0x3ff));
        uint8_t *o = l4 + 20;
        uint32_t tsval = (uint32_t)(f->next_us / 1000) + f->ts_off[dir];
        uint32_t tsecr = f->seen[!dir] ? (uint32_t)(f->next_us / 1000) + f->ts_off[!dir] - f->rtt_us / 2000 : 0;
        if (p->opt == 2) {
            uint32_t mss = f->v6 ? 1440 : 1460;
            if (f->tsopt) {     /* Linux: MSS, SACK_PERM, TS, NOP, WS */
                o[0] = 2; o[1] = 4; put16(o + 2, mss);
                o[4] = 4; o[5] = 2;
                o[6] = 8; o[7] = 10; put32(o + 8, tsval); put32(o + 12, tsecr);
                o[16] = 1; o[17] = 3; o[18] = 3; o[19] = 7;
            } else {            /* Windows: MSS, NOP, WS, NOP, NOP, SACK_PERM */
                o[0] = 2; o[1] = 4; put16(o + 2, mss);
                o[4] = 1; o[5] = 3; o[6] = 3; o[7] = 8;
                o[8] = 1; o[9] = 1; o[10] = 4; o[11] = 2;
            }
        } else if (p->opt == 1) {
            o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10;
            put32(o + 4, tsval);
            put32(o + 8, tsecr);
        }
        /* advance sequence space */
        f->seq[dir] += p->payload + ((p->flags & TH_SYN) && !resyn ? 1 : 0) + ((p->flags & TH_FIN) ? 1 : 0);
    } else {
        put16(l4 + 4, tlen);
    }

    /* L4 checksum over pseudo header + header (payload is zeros) */
    uint32_t sum = 0;
    if (f->v6) {
        uint8_t ph[8] = {0};
        put32(ph, tlen);
        ph[7] = (uint8_t)p->proto;
        sum = csum_add(sum, src, 16);
        sum = csum_add(sum, dst, 16);
        sum = csum_add(sum, ph, 8);
    } else {
        uint8_t ph[4] = {0, (uint8_t)p->proto, 0, 0};
        put16(ph + 2, tlen);
        sum = csum_add(sum, src, 4);
        sum = csum_add(sum, dst, 4);
        sum = csum_add(sum, ph, 4);
    }
    sum = csum_add(sum, l4, l4h);
    uint16_t c = csum_fold(sum);
    if (p->proto == 17 && c == 0)
        c = 0xffff;
    put16(l4 + (p->proto == 6 ? 16 : 6), c);

    f->seen[dir] = 1;
    return wire;
}

/* ---------------------------------------------------------------- setup */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* max over time of #{flows with start <= t < end} */
static uint64_t max_active(uint64_t *st, uint64_t *en, uint32_t n)
{
    qsort(st, n, sizeof *st, cmp_u64);
    qsort(en, n, sizeof *en, cmp_u64);
    uint64_t best = 0, active = 0;
    uint32_t j = 0;
    for (uint32_t i = 0; i < n; i++) {
        while (j < n && en[j] <= st[i]) {
            j++;
            active--;
        }
        active++;
        if (active > best)
            best = active;
    }
    return best;
}

static unsigned long long parse_num(const char *s, const char *what)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || end == s || *s == '-') {
        fprintf(stderr, "gen_pcap: bad %s: %s\n", what, s);
        exit(2);
    }
    return v;
}

static void wr(const void *p, size_t n, FILE *fp)
{
    if (fwrite(p, 1, n, fp) != n) {
        perror("gen_pcap: write");
        exit(1);
    }
}

/* ---------------------------------------------------------------- steady mode */

#define STEADY_ROUND_US (10 * US)
#define STEADY_FLOW_PKTS 3u

/* Flow number g (all distinct 5-tuples): client index and port from g. */
static void steady_flow_init(struct flow *f, uint64_t g, uint64_t seed)
{
    memset(f, 0, sizeof *f);
    f->rng = seed ^ ((g + 1) * 0x9e3779b97f4a7c15ull);
    splitmix(&f->rng);
    f->v6 = chance(&f->rng, 0.3);
    f->cli = (uint32_t)(g / 28000);
    f->sport = (uint16_t)(32768 + g % 28000);
    f->srv = (uint32_t)(g % 997);
    f->dport = 443;
    f->rtt_us = 1000;
    f->ttl_srv = 50;
    f->tsopt = chance(&f->rng, 0.7);
    random_header_fields(f);
}

/* Packet k (0..2) of a steady-mode flow: SYN, SYN/ACK, RST/ACK. */
static void steady_packet(const struct flow *f, uint32_t k, struct pkt *p)
{
    memset(p, 0, sizeof *p);
    p->proto = 6;
    if (k < 2)
        tcp_handshake(f, p, k);
    else
        p->flags = TH_RST | TH_ACK;
}

/* Create OUT.meta; NULL (and a message) if it cannot be created */
static FILE *open_meta(const char *out)
{
    char meta[4096];
    snprintf(meta, sizeof meta, "%s.meta", out);
    FILE *mf = fopen(meta, "w");
    if (!mf)
        fprintf(stderr, "gen_pcap: %s: %s\n", meta, strerror(errno));
    return mf;
}

/* Create OUT with a large buffer and write the pcap file header; NULL (and a
 * message) if it cannot be created */
static FILE *open_pcap(const char *out)
{
    static char obuf[1 << 22];
    FILE *fp = fopen(out, "wb");
    if (!fp) {
        fprintf(stderr, "gen_pcap: %s: %s\n", out, strerror(errno));
        return NULL;
    }
    setvbuf(fp, obuf, _IOFBF, sizeof obuf);
    uint32_t gh[6];
    uint16_t ver[2] = {2, 4};
    gh[0] = 0xa1b2c3d4u;
    memcpy(&gh[1], ver, 4);
    gh[2] = 0;              /* thiszone */
    gh[3] = 0;              /* sigfigs */
    gh[4] = SNAPLEN;
    gh[5] = 1;              /* LINKTYPE_ETHERNET */
    wr(gh, sizeof gh, fp);
    return fp;
}

/* Encode and write one packet of f at time f->next_us; count it in T. */
static void emit(FILE *fp, struct flow *f, const struct pkt *p, struct totals *T)
{
    uint8_t buf[SNAPLEN];
    uint32_t iplen, pad;
    uint32_t wire = encode(f, p, buf, &iplen, &pad);
    uint32_t cap = wire < SNAPLEN ? wire : SNAPLEN;
    uint64_t ts = (uint64_t)BASE_EPOCH * US + f->next_us;
    uint32_t rh[4] = {(uint32_t)(ts / US), (uint32_t)(ts % US), cap, wire};
    wr(rh, sizeof rh, fp);
    wr(buf, cap, fp);
    T->packets++;
    T->ip_bytes += iplen;
    T->wire_bytes += wire;
    T->cap_bytes += cap;
    T->pad_bytes += pad;
    if (f->v6)
        T->pk6++;
    else
        T->pk4++;
    if (p->proto == 6) {
        T->pktcp++;
        T->syn += (p->flags & TH_SYN) != 0;
        T->fin += (p->flags & TH_FIN) != 0;
        T->rst += (p->flags & TH_RST) != 0;
    } else {
        T->pkudp++;
    }
}

static int steady_main(int argc, char **argv)
{
    if (argc < 4 || argc > 6) {
        fprintf(stderr, "usage: %s --active K OUT.pcap [PACKETS [SEED]]\n", argv[0]);
        return 2;
    }
    uint64_t k = parse_num(argv[2], "number of active flows");
    const char *out = argv[3];
    uint64_t npk = argc > 4 ? parse_num(argv[4], "packet count") : 3000000;
    uint64_t seed = argc > 5 ? parse_num(argv[5], "seed") : 1;
    if (k < 2 || k > 10000000 || npk < k) {
        fprintf(stderr, "gen_pcap: --active must be 2..10000000 and at most the packet count\n");
        return 2;
    }
    uint32_t nslots = (uint32_t)(k * 3 / 2);
    struct flow *slot = calloc(nslots, sizeof *slot);
    uint32_t *order = malloc((size_t)nslots * sizeof *order);
    if (!slot || !order) {
        fprintf(stderr, "gen_pcap: out of memory\n");
        return 1;
    }
    FILE *fp = open_pcap(out);
    if (!fp)
        return 1;

    uint64_t g = 0, dirs = 0, rng = seed * 0x2545f4914f6cdd1dull + 0x7654321;
    struct totals T;
    memset(&T, 0, sizeof T);
    for (uint32_t i = 0; i < nslots; i++)
        order[i] = i;
    for (uint64_t r = 0; T.packets < npk; r++) {
        for (uint32_t i = nslots - 1; i > 0; i--) {     /* Fisher-Yates */
            uint32_t j = (uint32_t)(splitmix(&rng) % ((uint64_t)i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (uint32_t i = 0; i < nslots && T.packets < npk; i++) {
            uint32_t s = order[i], pk = (uint32_t)((r + s) % STEADY_FLOW_PKTS);
            struct flow *f = &slot[s];
            if (r == 0 && pk == 2)
                continue;       /* would be a flow of one RST: start empty */
            if (pk == 0 || r == 0)
                steady_flow_init(f, g++, seed);
            struct pkt p;
            steady_packet(f, pk, &p);
            if (!f->seen[p.dir])
                dirs++;
            f->next_us = r * STEADY_ROUND_US + (uint64_t)i * STEADY_ROUND_US / nslots;
            emit(fp, f, &p, &T);
        }
    }
    if (fclose(fp) != 0) {
        perror("gen_pcap: close");
        return 1;
    }
    FILE *mf = open_meta(out);
    if (!mf)
        return 1;
    fprintf(mf, "generator=gen_pcap --active\nseed=%llu\nactive=%llu\nslots=%u\nsnaplen=%u\npackets=%llu\n"
                "ip_bytes=%llu\nwire_bytes=%llu\ncap_bytes=%llu\npad_bytes=%llu\nflows=%llu\n"
                "flow_directions=%llu\npackets_ipv4=%llu\npackets_ipv6=%llu\npackets_syn=%llu\n"
                "packets_rst=%llu\n",
            (unsigned long long)seed, (unsigned long long)k, nslots, SNAPLEN, (unsigned long long)T.packets,
            (unsigned long long)T.ip_bytes, (unsigned long long)T.wire_bytes, (unsigned long long)T.cap_bytes,
            (unsigned long long)T.pad_bytes, (unsigned long long)g, (unsigned long long)dirs,
            (unsigned long long)T.pk4, (unsigned long long)T.pk6, (unsigned long long)T.syn,
            (unsigned long long)T.rst);
    if (fclose(mf) != 0) {
        perror("gen_pcap: meta");
        return 1;
    }
    free(order);
    free(slot);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--active"))
        return steady_main(argc, argv);
    if (argc < 2 || argc > 6 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(stderr, "usage: %s OUT.pcap [PACKETS [FLOWS [SEED [SECONDS]]]]\n"
                        "       %s --active K OUT.pcap [PACKETS [SEED]]   (K flows open at once)\n"
                        "  defaults: 3000000 packets, 120000 flows, seed 1, 60 s\n"
                        "  writes OUT.pcap and OUT.pcap.meta (exact totals)\n", argv[0], argv[0]);
        return 2;
    }
    const char *out = argv[1];
    uint64_t npk = argc > 2 ? parse_num(argv[2], "packet count") : 3000000;
    uint64_t nfl = argc > 3 ? parse_num(argv[3], "flow count") : 120000;
    uint64_t seed = argc > 4 ? parse_num(argv[4], "seed") : 1;
    uint64_t secs = argc > 5 ? parse_num(argv[5], "seconds") : 60;
    if (nfl < 1 || nfl > 16000000 || secs < 1 || secs > 86400) {
        fprintf(stderr, "gen_pcap: flows must be 1..16000000, seconds 1..86400\n");
        return 2;
    }
    if (npk < 3 * nfl) {
        fprintf(stderr, "gen_pcap: need at least 3 packets per flow (%llu packets for %llu flows)\n",
                (unsigned long long)(3 * nfl), (unsigned long long)nfl);
        return 2;
    }
    nflows = (uint32_t)nfl;
    uint64_t span_us = secs * US;

    flows = calloc(nflows, sizeof *flows);
    double *w = calloc(nflows, sizeof *w);
    uint32_t ncli = nflows / 4 < 1000 ? 1000 : nflows / 4 > 60000 ? 60000 : nflows / 4;
    uint32_t nsrv = nflows / 40 < 100 ? 100 : nflows / 40 > 60000 ? 60000 : nflows / 40;
    uint16_t *cport = calloc(ncli, sizeof *cport);
    if (!flows || !w || !cport) {
        fprintf(stderr, "gen_pcap: out of memory\n");
        return 1;
    }
    uint64_t g = seed * 0x2545f4914f6cdd1dull + 0x1234567;
    for (uint32_t c = 0; c < ncli; c++)
        cport[c] = (uint16_t)urange(&g, 32768, 60999);

    /* 1. kind, endpoints, fixed packet counts, weights for the rest */
    uint64_t fixed = 0, nheavy = 0;
    double wsum = 0;
    uint64_t kinds[K_NKINDS] = {0};
    uint64_t nv6 = 0;
    for (uint32_t i = 0; i < nflows; i++) {
        struct flow *f = &flows[i];
        f->rng = seed ^ ((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ull);
        splitmix(&f->rng);
        double r = unif(&f->rng);
        f->kind = r < 0.52 ? K_TCP : r < 0.57 ? K_TCP_MID : r < 0.59 ? K_TCP_SYNONLY : r < 0.61 ? K_TCP_REFUSED
                : r < 0.81 ? K_DNS : r < 0.83 ? K_NTP : r < 0.96 ? K_QUIC : K_RTP;
        kinds[f->kind]++;
        f->v6 = chance(&f->rng, 0.3);
        nv6 += f->v6;
        f->cli = urange(&f->rng, 0, ncli - 1);
        {   /* popular servers get most flows */
            double u = unif(&f->rng);
            f->srv = (uint32_t)(u * u * u * nsrv);
        }
        uint16_t p = cport[f->cli];
        cport[f->cli] = p >= 60999 ? 32768 : p + 1;
        f->sport = p;
        f->rtt_us = (uint32_t)logunif(&f->rng, 200, 200000);
        f->ttl_srv = (uint8_t)(64 - urange(&f->rng, 4, 20));
        f->tsopt = chance(&f->rng, 0.7);
        f->mss_payload = (uint16_t)((f->v6 ? 1440 : 1460) - (f->tsopt ? 12 : 0));
        random_header_fields(f);
        f->closer = (uint8_t)chance(&f->rng, 0.4);

        switch (f->kind) {
        case K_TCP:
        case K_TCP_MID: {
            double q = unif(&f->rng);
            static const uint16_t ports[] = {443, 443, 443, 443, 443, 443, 80, 80, 22, 25, 993, 8080};
            f->dport = ports[urange(&f->rng, 0, sizeof ports / sizeof ports[0] - 1)];
            if (f->dport == 22)
                f->pattern = q < 0.7 ? P_INTERACTIVE : q < 0.85 ? P_DOWNLOAD : P_UPLOAD;
            else if (f->dport == 25)
                f->pattern = P_UPLOAD;
            else
                f->pattern = q < 0.82 ? P_DOWNLOAD : q < 0.92 ? P_UPLOAD : P_INTERACTIVE;
            break;
        }
        case K_TCP_SYNONLY:
            f->dport = chance(&f->rng, 0.5) ? 443 : (uint16_t)urange(&f->rng, 1, 9999);
            f->n = urange(&f->rng, 1, 3);
            break;
        case K_TCP_REFUSED:
            f->dport = (uint16_t)urange(&f->rng, 1, 9999);
            f->n = 2;
            break;
        case K_DNS:
            f->dport = 53;
            f->n = chance(&f->rng, 0.05) ? 1 : 2;
            f->rtt_us = (uint32_t)logunif(&f->rng, 300, 80000);
            break;
        case K_NTP:
            f->dport = 123;
            f->n = 2;
            break;
        case K_QUIC:
            f->dport = 443;
            break;
        case K_RTP:
            f->dport = (uint16_t)(urange(&f->rng, 8192, 16383) * 2);
            f->bidi = (uint8_t)chance(&f->rng, 0.7);
            f->tos = 0xb8;                  /* EF */
            break;
        }
        if (f->n) {
            fixed += f->n;
        } else {                            /* Pareto(alpha 1.2), capped */
            double x = my_exp(-my_ln(unif(&f->rng)) / 1.2);
            w[i] = x > 3000 ? 3000 : x;
            wsum += w[i];
            nheavy++;
        }
    }
    /* 2. share the remaining packets among the heavy-tailed flows; each has
     *    at least 3 (a TCP handshake, a QUIC exchange, a short call) */
    if (fixed + 3 * nheavy > npk) {
        fprintf(stderr, "gen_pcap: too few packets for %u flows\n", nflows);
        return 2;
    }
    uint64_t rest = npk - fixed - 3 * nheavy, given = 0;
    if (nheavy == 0 && rest > 0) {
        fprintf(stderr, "gen_pcap: too many packets for so few flows; use more flows\n");
        return 2;
    }
    for (uint32_t i = 0; i < nflows; i++) {
        if (flows[i].n)
            continue;
        uint64_t extra = (uint64_t)((double)rest * w[i] / wsum);
        flows[i].n = (uint32_t)(3 + extra);
        given += extra;
    }
    for (uint32_t i = 0; given < rest; i = (i + 1) % nflows) {
        if (w[i] > 0) {
            flows[i].n++;
            given++;
        }
    }
    free(w);

    /* 3. timing and phases */
    uint64_t nclose[3] = {0};
    for (uint32_t i = 0; i < nflows; i++) {
        struct flow *f = &flows[i];
        if (f->kind == K_TCP_MID)
            f->start_us = (uint64_t)(unif(&f->rng) * 2.0 * US);
        else
            f->start_us = (uint64_t)(unif(&f->rng) * (double)span_us);
        uint64_t end_max = span_us > f->start_us + 10000 ? span_us : f->start_us + 10000;

        if (f->kind == K_TCP || f->kind == K_TCP_MID || f->kind == K_QUIC) {
            uint32_t n = f->n;
            f->n_hs = f->kind == K_TCP ? 3 : f->kind == K_QUIC ? 2 : 0;
            double r = unif(&f->rng);
            if (f->kind == K_QUIC)
                f->closek = C_NONE;
            else if (f->kind == K_TCP && n >= f->n_hs + 4)
                f->closek = r < 0.75 ? C_FIN : r < 0.85 ? C_RST : C_NONE;
            else if (f->kind == K_TCP_MID && n >= 4)
                f->closek = r < 0.5 ? C_FIN : C_NONE;
            else
                f->closek = C_NONE;
            nclose[f->closek]++;
            uint32_t ncl = f->closek == C_FIN ? 3 : f->closek == C_RST ? 1 : 0;
            f->n_data = n - f->n_hs - ncl;
            /* data phase: mean gap 1 ms..2 s, short flows under 28 s so no
             * gap reaches the 30 s idle timeout */
            double gap = logunif(&f->rng, 1000, 2000000);
            uint64_t dur = (uint64_t)(gap * f->n_data);
            if (f->n_data < 40 && dur > 28 * US)
                dur = 28 * US;
            uint64_t hs = f->n_hs ? 2 * (uint64_t)f->rtt_us + 200 : 0;
            f->a_us = f->start_us + hs;
            if (f->a_us + dur > end_max)
                dur = end_max > f->a_us ? end_max - f->a_us : 0;
            if (dur < f->n_data)
                dur = f->n_data;        /* at least 1 us apart on average */
            f->b_us = f->a_us + dur;
        } else if (f->kind == K_RTP) {
            f->n_hs = 0;
            f->n_data = f->n;
            uint64_t dur = (uint64_t)f->n * (f->bidi ? 10000 : 20000);
            f->a_us = f->start_us;
            if (f->a_us + dur > end_max)
                dur = end_max - f->a_us;
            if (dur < f->n_data)
                dur = f->n_data;
            f->b_us = f->a_us + dur;
        }
        f->next_us = schedule(f);
    }

    /* 4. emit in time order */
    FILE *fp = open_pcap(out);
    if (!fp)
        return 1;
    heap = malloc((size_t)nflows * sizeof *heap);
    if (!heap) {
        fprintf(stderr, "gen_pcap: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < nflows; i++)
        heap[heap_n++] = i;
    for (uint32_t i = heap_n / 2; i-- > 0;)
        heap_down(i);

    struct totals T;
    memset(&T, 0, sizeof T);
    uint64_t dirs = 0, max_gap = 0;
    while (heap_n) {
        uint32_t fi = heap[0];
        struct flow *f = &flows[fi];
        struct pkt p;
        describe(f, &p);
        if (!f->seen[p.dir])
            dirs++;
        emit(fp, f, &p, &T);

        if (f->idx == 0)
            f->first_us = f->next_us;
        else if (f->next_us - f->last_us > max_gap)
            max_gap = f->next_us - f->last_us;
        f->last_us = f->next_us;
        f->idx++;
        if (f->idx < f->n) {
            f->next_us = schedule(f);
            heap_down(0);
        } else {
            heap[0] = heap[--heap_n];
            heap_down(0);
        }
    }
    if (fclose(fp) != 0) {
        perror("gen_pcap: close");
        return 1;
    }

    /* 5. concurrency */
    uint64_t *st = malloc((size_t)nflows * sizeof *st), *en = malloc((size_t)nflows * sizeof *en);
    if (!st || !en) {
        fprintf(stderr, "gen_pcap: out of memory\n");
        return 1;
    }
    uint64_t tmin = UINT64_MAX, tmax = 0, tcpflows = 0;
    for (uint32_t i = 0; i < nflows; i++) {
        st[i] = flows[i].first_us;
        en[i] = flows[i].last_us + IDLE_US;
        if (flows[i].first_us < tmin)
            tmin = flows[i].first_us;
        if (flows[i].last_us > tmax)
            tmax = flows[i].last_us;
        tcpflows += flows[i].kind <= K_TCP_REFUSED;
    }
    uint64_t act30 = max_active(st, en, nflows);
    for (uint32_t i = 0; i < nflows; i++) {
        st[i] = flows[i].first_us;
        en[i] = flows[i].last_us + 1;
    }
    uint64_t act0 = max_active(st, en, nflows);
    uint32_t maxn = 0;
    for (uint32_t i = 0; i < nflows; i++)
        if (flows[i].n > maxn)
            maxn = flows[i].n;

    /* 6. report */
    FILE *mf = open_meta(out);
    if (!mf)
        return 1;
    for (int pass = 0; pass < 2; pass++) {
        FILE *o = pass ? stderr : mf;
        fprintf(o, "generator=gen_pcap\n");
        fprintf(o, "seed=%llu\n", (unsigned long long)seed);
        fprintf(o, "seconds=%llu\n", (unsigned long long)secs);
        fprintf(o, "snaplen=%u\n", SNAPLEN);
        fprintf(o, "packets=%llu\n", (unsigned long long)T.packets);
        fprintf(o, "ip_bytes=%llu\n", (unsigned long long)T.ip_bytes);
        fprintf(o, "wire_bytes=%llu\n", (unsigned long long)T.wire_bytes);
        fprintf(o, "cap_bytes=%llu\n", (unsigned long long)T.cap_bytes);
        fprintf(o, "pad_bytes=%llu\n", (unsigned long long)T.pad_bytes);
        fprintf(o, "flows=%u\n", nflows);
        fprintf(o, "flow_directions=%llu\n", (unsigned long long)dirs);
        fprintf(o, "flows_tcp=%llu\n", (unsigned long long)tcpflows);
        fprintf(o, "flows_udp=%llu\n", (unsigned long long)(nflows - tcpflows));
        fprintf(o, "flows_ipv6=%llu\n", (unsigned long long)nv6);
        for (int k = 0; k < K_NKINDS; k++)
            fprintf(o, "flows_kind_%s=%llu\n", kind_name[k], (unsigned long long)kinds[k]);
        fprintf(o, "tcp_close_fin=%llu\ntcp_close_rst=%llu\ntcp_open_or_quic=%llu\n", (unsigned long long)nclose[C_FIN],
                (unsigned long long)nclose[C_RST], (unsigned long long)nclose[C_NONE]);
        fprintf(o, "packets_ipv4=%llu\npackets_ipv6=%llu\n", (unsigned long long)T.pk4, (unsigned long long)T.pk6);
        fprintf(o, "packets_tcp=%llu\npackets_udp=%llu\n", (unsigned long long)T.pktcp, (unsigned long long)T.pkudp);
        fprintf(o, "packets_syn=%llu\npackets_fin=%llu\npackets_rst=%llu\n", (unsigned long long)T.syn,
                (unsigned long long)T.fin, (unsigned long long)T.rst);
        fprintf(o, "largest_flow_packets=%u\n", maxn);
        fprintf(o, "first_ts_us=%llu\nlast_ts_us=%llu\n", (unsigned long long)((uint64_t)BASE_EPOCH * US + tmin),
                (unsigned long long)((uint64_t)BASE_EPOCH * US + tmax));
        fprintf(o, "duration_s=%.3f\n", (double)(tmax - tmin) / 1e6);
        fprintf(o, "max_gap_in_flow_s=%.3f\n", (double)max_gap / 1e6);
        fprintf(o, "max_active_idle30=%llu\n", (unsigned long long)act30);
        fprintf(o, "max_active_overlap=%llu\n", (unsigned long long)act0);
    }
    if (fclose(mf) != 0) {
        perror("gen_pcap: meta");
        return 1;
    }
    free(st);
    free(en);
    free(heap);
    free(flows);
    free(cport);
    return 0;
}
