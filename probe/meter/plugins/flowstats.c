/* flowstats.c — the `flowstats` built-in plugin: nfstream's post-mortem
 * statistical features (`statistical_analysis=True`), per flow record.
 *
 *   -P flowstats       (no arguments)
 *
 * For each scope — bidirectional, src2dst (packets from the flow's
 * initiator), dst2src — it exports, with nfstream's JSON names:
 *
 *   SCOPE_min_ps, SCOPE_max_ps        unsigned32  packet size: the IP length
 *                                     (IP header + payload, what the octet
 *                                     counters add; nfstream's accounting_mode=1)
 *   SCOPE_mean_ps, SCOPE_stddev_ps    float64
 *   SCOPE_min_piat_ms, SCOPE_max_piat_ms      unsigned64  packet inter-arrival
 *                                     time in ms between consecutive packets
 *                                     of the scope
 *   SCOPE_mean_piat_ms, SCOPE_stddev_piat_ms  float64
 *   SCOPE_{syn,cwr,ece,urg,ack,psh,rst,fin}_packets  unsigned32  TCP packets
 *                                     of the scope with that flag set
 *
 * IPFIX names are the camelCase of the JSON names (bidirectionalMinPs,
 * src2dstStddevPiatMs, dst2srcFinPackets, ...), ids 100-147 under the
 * default PEN: 100-111 packet sizes (bidirectional min, mean, stddev, max,
 * then src2dst, then dst2src), 112-123 inter-arrival times (same order),
 * 124-147 flag counts (bidirectional syn, cwr, ece, urg, ack, psh, rst, fin,
 * then src2dst, then dst2src).
 *
 * Definitions follow nfstream (nfstream/engine/engine_cc.c flow_update_*_ps,
 * flow_update_*_piat_ms, flow_update_*_tcp_flags; nfstream/flow.py
 * NFlow.sync; API documentation "Post-Mortem Statistical Features"):
 *  - the standard deviation is the *sample* one, sqrt(M2 / (n - 1)), M2
 *    being the sum of squared deviations from the mean and n the number of
 *    sizes (packets) or of inter-arrival times (packets - 1) of the scope;
 *    it is 0 with fewer than 2 values (nfstream leaves it at 0).
 *  - times are whole milliseconds, truncated per packet (seconds * 1000 +
 *    microseconds / 1000) and a piat is the difference of two such times, an
 *    integer (min/max unsigned, mean/stddev float). A packet timed before the
 *    scope's previous one (reordered capture) counts 0 ms, where nfstream's
 *    unsigned subtraction would wrap.
 *  - a scope without packets exports 0 everywhere; with one packet its
 *    min = max = mean = that size, stddev 0, and every piat value 0.
 *  - flag counts only count TCP packets (nfstream clears the flags for other
 *    protocols).
 *
 * How (the packet path is cheap: no division, no loop, few branches):
 *  - per packet, the accumulators of the packet's direction (128-bit sum of
 *    squares, min and max of the sizes; sum, 128-bit sum of squares, min
 *    and max of its inter-arrival times and the previous packet's time; the
 *    flag counters) and the bidirectional inter-arrival accumulator are
 *    updated. A direction's packet count and size sum are the host's
 *    (struct nfp_flow packets and ip_octets: counted per record with this
 *    packet included, and ip_octets adds the same ip_len; this plugin sees
 *    every packet of the record). Bidirectional size statistics and flag
 *    counts are the directions' put together at on_expire.
 *  - sums are exact integers: a size is < 2^32, its square < 2^64; a piat
 *    is < 2^54 ms (times are 64-bit microseconds) and the piats of a scope
 *    add up to at most the capture's span in ms, so their sum fits 64 bits
 *    and the sum of their squares (<= the square of that sum) 128 bits: no
 *    clamping. At on_expire M2 = sumsq - sum^2 / n is taken exactly in
 *    128-bit integers (m2_stats()), so mean and stddev are the exact values
 *    rounded (better than the running Welford update, and independent of
 *    the packets' order).
 *  - TCP flags: a 256-entry table turns the flags byte into eight byte-wide
 *    counters packed in one uint64_t (one per flag, nfstream's order), added
 *    per packet and folded into 32-bit counters every 128 packets of the
 *    direction (before any byte can overflow) and at on_expire.
 *  - minimums are kept complemented (~min, a maximum), so the zeroed state
 *    needs no "first value" case; a direction's previous packet time is kept
 *    as ms + 1, 0 meaning "none yet" (on_init sets the first direction's and
 *    the bidirectional one, so only the other direction's first packet
 *    takes that branch).
 *
 * Per-flow state: 272 bytes (union fs_state). While the record is open it
 * holds the accumulators (struct fs_acc):
 *     bytes   0- 47  bidirectional piat: prev, sum, sumsq, ~min, max
 *     bytes  48-127  src2dst: sizes sumsq, ~min, max; flag bytes; piat
 *                    prev, sum, sumsq, ~min, max
 *     bytes 128-207  dst2src: the same
 *     bytes 208-271  32-bit flag counters, src2dst then dst2src (folded;
 *                    touched once every 128 packets of the direction)
 * so a src2dst packet touches bytes 0-127 and a dst2src one 0-47 and
 * 128-207. on_expire copies the accumulators out and writes the exported
 * values (struct fs_out, 264 bytes) over the same bytes; the host reads
 * fields only after on_expire (nfprobe/plugin.h). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "plugins/builtin.h"

#define IPPROTO_TCP_NUM 6

enum { FS_BIDIR = 0, FS_SRC2DST = 1, FS_DST2SRC = 2, FS_SCOPES = 3 };
enum { FS_FLAGS = 8 };
enum { FS_FOLD_EVERY = 128 };   /* packets of a direction between folds, <= 255 */

/* 128-bit unsigned (GCC, Clang). Declared 8-byte aligned: the host only
 * promises the state the alignment of uint64_t (and every access is plain
 * 64-bit loads and stores anyway). */
__extension__ typedef unsigned __int128 u128;
__extension__ typedef unsigned __int128 u128_a8 __attribute__((aligned(8)));

/* Inter-arrival times of one scope: 40 bytes (+ prev where it lives). */
struct fs_piat {
    uint64_t sum;               /* ms */
    u128_a8 sumsq;
    uint64_t nmin;              /* ~min; 0 while no piat */
    uint64_t max;
};

/* The bidirectional inter-arrival times: 48 bytes. */
struct fs_bidir {
    uint64_t prev;              /* previous packet's ms time + 1 */
    struct fs_piat piat;
};

/* One direction: 80 bytes. */
struct fs_dir {
    u128_a8 sumsq;              /* of ip_len (count and sum: struct nfp_flow) */
    uint32_t nmin, max;         /* ~min, max of ip_len */
    uint64_t flag_bytes;        /* byte k: packets with flag k since the last fold */
    uint64_t prev;              /* previous packet's ms time + 1; 0: none yet */
    struct fs_piat piat;
};

struct fs_acc {
    struct fs_bidir bidir;
    struct fs_dir dir[2];       /* index enum nfp_direction */
    uint32_t flags[2][FS_FLAGS];    /* folded flag counts per direction */
};

/* The exported values, in place after on_expire: 264 bytes. */
struct fs_out {
    double mean_ps[FS_SCOPES], stddev_ps[FS_SCOPES];
    double mean_piat[FS_SCOPES], stddev_piat[FS_SCOPES];
    uint64_t min_piat[FS_SCOPES], max_piat[FS_SCOPES];     /* ms */
    uint32_t min_ps[FS_SCOPES], max_ps[FS_SCOPES];
    uint32_t flags[FS_SCOPES][FS_FLAGS];    /* syn cwr ece urg ack psh rst fin */
};

union fs_state {
    struct fs_acc acc;          /* until on_expire */
    struct fs_out out;          /* from on_expire on */
};

_Static_assert(sizeof(struct fs_bidir) == 48, "flowstats: bidirectional accumulator is 48 bytes");
_Static_assert(sizeof(struct fs_dir) == 80, "flowstats: direction accumulator is 80 bytes");
_Static_assert(offsetof(struct fs_acc, dir) == 48 && offsetof(struct fs_acc, flags) == 208,
               "flowstats: accumulator layout");
_Static_assert(sizeof(struct fs_out) == 264, "flowstats: exported values are 264 bytes");
_Static_assert(sizeof(union fs_state) == 272, "flowstats: state is 272 bytes");
_Static_assert(FS_FOLD_EVERY <= 255 && (FS_FOLD_EVERY & (FS_FOLD_EVERY - 1)) == 0,
               "flowstats: fold before a flag byte can overflow");

/* Flags byte -> one byte per flag (1 if set), byte k for flag k in
 * nfstream's order: SYN 0x02, CWR 0x80, ECE 0x40, URG 0x20, ACK 0x10,
 * PSH 0x08, RST 0x04, FIN 0x01. */
#define FB(x, bit, k) ((uint64_t)(((x) & (bit)) != 0) << (8 * (k)))
#define FL(x) (FB(x, 0x02, 0) | FB(x, 0x80, 1) | FB(x, 0x40, 2) | FB(x, 0x20, 3) | \
               FB(x, 0x10, 4) | FB(x, 0x08, 5) | FB(x, 0x04, 6) | FB(x, 0x01, 7))
#define FL4(x) FL(x), FL((x) + 1), FL((x) + 2), FL((x) + 3)
#define FL16(x) FL4(x), FL4((x) + 4), FL4((x) + 8), FL4((x) + 12)
#define FL64(x) FL16(x), FL16((x) + 16), FL16((x) + 32), FL16((x) + 48)
static const uint64_t flag_lanes[256] = {FL64(0), FL64(64), FL64(128), FL64(192)};

#define OUT(m, i) (offsetof(struct fs_out, m) + (i) * sizeof(((struct fs_out *)0)->m[0]))

#define PS_FIELDS(i, pfx, cpfx, id0)                                                               \
    {.name = cpfx "MinPs", .id = (id0), .type = NFP_U32, .offset = OUT(min_ps, i), .json = pfx "_min_ps"}, \
    {.name = cpfx "MeanPs", .id = (id0) + 1, .type = NFP_F64, .offset = OUT(mean_ps, i), .json = pfx "_mean_ps"}, \
    {.name = cpfx "StddevPs", .id = (id0) + 2, .type = NFP_F64, .offset = OUT(stddev_ps, i), .json = pfx "_stddev_ps"}, \
    {.name = cpfx "MaxPs", .id = (id0) + 3, .type = NFP_U32, .offset = OUT(max_ps, i), .json = pfx "_max_ps"}

#define PIAT_FIELDS(i, pfx, cpfx, id0)                                                             \
    {.name = cpfx "MinPiatMs", .id = (id0), .type = NFP_U64, .offset = OUT(min_piat, i), .json = pfx "_min_piat_ms"}, \
    {.name = cpfx "MeanPiatMs", .id = (id0) + 1, .type = NFP_F64, .offset = OUT(mean_piat, i), .json = pfx "_mean_piat_ms"}, \
    {.name = cpfx "StddevPiatMs", .id = (id0) + 2, .type = NFP_F64, .offset = OUT(stddev_piat, i), .json = pfx "_stddev_piat_ms"}, \
    {.name = cpfx "MaxPiatMs", .id = (id0) + 3, .type = NFP_U64, .offset = OUT(max_piat, i), .json = pfx "_max_piat_ms"}

#define FLAG_FIELD(i, pfx, cpfx, id0, k, lname, cname) \
    {.name = cpfx cname "Packets", .id = (id0) + (k), .type = NFP_U32, \
     .offset = OUT(flags, i) + (k) * sizeof(uint32_t), .json = pfx "_" lname "_packets"}

#define FLAG_FIELDS(i, pfx, cpfx, id0)                 \
    FLAG_FIELD(i, pfx, cpfx, id0, 0, "syn", "Syn"),    \
    FLAG_FIELD(i, pfx, cpfx, id0, 1, "cwr", "Cwr"),    \
    FLAG_FIELD(i, pfx, cpfx, id0, 2, "ece", "Ece"),    \
    FLAG_FIELD(i, pfx, cpfx, id0, 3, "urg", "Urg"),    \
    FLAG_FIELD(i, pfx, cpfx, id0, 4, "ack", "Ack"),    \
    FLAG_FIELD(i, pfx, cpfx, id0, 5, "psh", "Psh"),    \
    FLAG_FIELD(i, pfx, cpfx, id0, 6, "rst", "Rst"),    \
    FLAG_FIELD(i, pfx, cpfx, id0, 7, "fin", "Fin")

static const struct nfp_field fs_fields[] = {
    PS_FIELDS(FS_BIDIR, "bidirectional", "bidirectional", 100),
    PS_FIELDS(FS_SRC2DST, "src2dst", "src2dst", 104),
    PS_FIELDS(FS_DST2SRC, "dst2src", "dst2src", 108),
    PIAT_FIELDS(FS_BIDIR, "bidirectional", "bidirectional", 112),
    PIAT_FIELDS(FS_SRC2DST, "src2dst", "src2dst", 116),
    PIAT_FIELDS(FS_DST2SRC, "dst2src", "dst2src", 120),
    FLAG_FIELDS(FS_BIDIR, "bidirectional", "bidirectional", 124),
    FLAG_FIELDS(FS_SRC2DST, "src2dst", "src2dst", 132),
    FLAG_FIELDS(FS_DST2SRC, "dst2src", "dst2src", 140),
};

static int fs_init(struct nfp_plugin *self, const char *args, char *err, size_t errlen)
{
    (void)self;
    if (args && *args) {
        snprintf(err, errlen, "flowstats: takes no arguments, got '%s'", args);
        return -1;
    }
    return 0;
}

/* Add the byte counters into the 32-bit ones. */
static void fold_flags(uint32_t *flags, uint64_t *bytes)
{
    uint64_t b = *bytes;
    for (int k = 0; k < FS_FLAGS; k++)
        flags[k] += (uint32_t)(b >> (8 * k)) & 0xff;
    *bytes = 0;
}

/* One inter-arrival time from ms + 1 times (0 for a reordered packet). */
static inline void piat_add(struct fs_piat *p, uint64_t now1, uint64_t prev1)
{
    uint64_t piat = now1 > prev1 ? now1 - prev1 : 0;
    p->sum += piat;
    p->sumsq += (u128)piat * piat;
    if (~piat > p->nmin)
        p->nmin = ~piat;
    if (piat > p->max)
        p->max = piat;
}

/* The packet's size and flags into its direction. The packet's values come
 * in as numbers: read before the stores, which the compiler must otherwise
 * assume could change them. */
static inline void dir_add(struct fs_acc *a, int dir, uint32_t ps, uint64_t flag_lane,
                           uint64_t dir_packets)
{
    struct fs_dir *d = &a->dir[dir];
    d->sumsq += (uint64_t)ps * ps;
    if (~ps > d->nmin)
        d->nmin = ~ps;
    if (ps > d->max)
        d->max = ps;
    d->flag_bytes += flag_lane;
    if (__builtin_expect(dir_packets % FS_FOLD_EVERY == 0, 0))
        fold_flags(a->flags[dir], &d->flag_bytes);
}

static uint64_t flag_lane_of(const struct nfp_packet *pkt)
{
    return flag_lanes[pkt->proto == IPPROTO_TCP_NUM ? pkt->tcp_flags : 0];
}

/* What every packet adds: its size and flags to its direction (*dir).
 * Returns its time in ms + 1. */
static inline uint64_t add_packet(struct fs_acc *a, const struct nfp_packet *pkt,
                                  const struct nfp_flow *flow, int *dir)
{
    *dir = pkt->direction == NFP_DST_TO_SRC;
    uint64_t now1 = pkt->time_us / 1000 + 1;
    dir_add(a, *dir, pkt->ip_len, flag_lane_of(pkt), flow->packets[*dir]);
    return now1;
}

static int fs_on_init(void *ctx, void *state, const struct nfp_packet *pkt,
                      const struct nfp_flow *flow)
{
    (void)ctx;
    struct fs_acc *a = &((union fs_state *)state)->acc;
    int dir;
    uint64_t now1 = add_packet(a, pkt, flow, &dir);
    a->dir[dir].prev = now1;
    a->bidir.prev = now1;
    return NFP_CONTINUE;
}

static int fs_on_update(void *ctx, void *state, const struct nfp_packet *pkt,
                        const struct nfp_flow *flow)
{
    (void)ctx;
    struct fs_acc *a = &((union fs_state *)state)->acc;
    int dir;
    uint64_t now1 = add_packet(a, pkt, flow, &dir);
    struct fs_dir *d = &a->dir[dir];
    uint64_t prev = d->prev, bprev = a->bidir.prev;
    d->prev = now1;
    a->bidir.prev = now1;
    if (__builtin_expect(prev != 0, 1))
        piat_add(&d->piat, now1, prev);
    piat_add(&a->bidir.piat, now1, bprev);
    return NFP_CONTINUE;
}

/* Mean and sample standard deviation of n values from their sum and sum of
 * squares. With sum = q n + r (0 <= r < n), M2 = sumsq - sum^2 / n
 * = (sumsq - q sum - q r) - r^2 / n, the first part an exact 128-bit
 * integer (q sum <= sum^2 / n <= sumsq), so n M2 = n (that part) - r^2 is
 * exact too unless it overflows 128 bits; then M2 >= 2^128 / n >= 2^64 > n
 * dwarfs the fraction r^2 / n < n. When sumsq < 2^64 (nearly always),
 * n M2 = n sumsq - sum^2 is taken directly: both terms fit 128 bits and no
 * division is needed. Exact integers up to 2^53 go through
 * double (one rounding each: the quotient and the square root), larger ones
 * through long double. */
static void m2_stats(uint64_t n, uint64_t sum, u128 sumsq, double *mean, double *sd)
{
    const uint64_t exact = 1ull << 53;
    *mean = 0;
    *sd = 0;
    if (!n)
        return;
    *mean = sum < exact ? (double)sum / (double)n
                        : (double)((long double)sum / (long double)n);
    if (n < 2)
        return;
    if ((uint64_t)(sumsq >> 64) == 0) {
        /* the usual case: n M2 = n sumsq - sum^2 exactly in 128 bits */
        u128 num = (u128)n * (uint64_t)sumsq - (u128)sum * sum;
        if (num == 0)
            return;
        if (num < exact && n < (1ull << 26)) {
            *sd = sqrt((double)(uint64_t)num / (double)(n * (n - 1)));
            return;
        }
    }
    uint64_t q = sum / n, r = sum % n;
    u128 m2i = sumsq - (u128)q * sum - (u128)q * r;
    u128 num;
    long double var;
    if (!__builtin_mul_overflow(m2i, (u128)n, &num)) {
        num -= (u128)r * r;             /* n M2, exact */
        if (num == 0)
            return;
        if (num < exact && n < (1ull << 26)) {  /* n (n - 1) < 2^52 */
            *sd = sqrt((double)(uint64_t)num / (double)(n * (n - 1)));
            return;
        }
        var = (long double)num / ((long double)n * (long double)(n - 1));
    } else {
        var = ((long double)m2i - (long double)r * (long double)r / (long double)n) /
              (long double)(n - 1);
    }
    *sd = (double)sqrtl(var);
}

static void piat_out(const struct fs_piat *p, uint64_t npiat, struct fs_out *o, int i)
{
    m2_stats(npiat, p->sum, p->sumsq, &o->mean_piat[i], &o->stddev_piat[i]);
    o->min_piat[i] = npiat ? ~p->nmin : 0;
    o->max_piat[i] = p->max;
}

static void fs_on_expire(void *ctx, void *state, const struct nfp_flow *flow,
                         enum nfp_end_reason reason)
{
    (void)ctx;
    (void)reason;
    union fs_state *st = state;
    struct fs_acc a = st->acc;
    struct fs_out *o = &st->out;
    memset((uint8_t *)st + sizeof *o, 0, sizeof *st - sizeof *o);

    const struct fs_dir *s = &a.dir[NFP_SRC_TO_DST], *d = &a.dir[NFP_DST_TO_SRC];
    uint64_t ns = flow->packets[NFP_SRC_TO_DST], nd = flow->packets[NFP_DST_TO_SRC], n = ns + nd;
    uint64_t nn[2] = {ns, nd};

    /* sizes */
    m2_stats(n, flow->ip_octets[0] + flow->ip_octets[1], s->sumsq + d->sumsq,
             &o->mean_ps[FS_BIDIR], &o->stddev_ps[FS_BIDIR]);
    uint32_t nmin = s->nmin > d->nmin ? s->nmin : d->nmin;
    o->min_ps[FS_BIDIR] = n ? ~nmin : 0;
    o->max_ps[FS_BIDIR] = s->max > d->max ? s->max : d->max;
    piat_out(&a.bidir.piat, n ? n - 1 : 0, o, FS_BIDIR);
    for (int k = 0; k < 2; k++) {
        const struct fs_dir *x = &a.dir[k];
        int i = k == NFP_SRC_TO_DST ? FS_SRC2DST : FS_DST2SRC;
        m2_stats(nn[k], flow->ip_octets[k], x->sumsq, &o->mean_ps[i], &o->stddev_ps[i]);
        o->min_ps[i] = nn[k] ? ~x->nmin : 0;
        o->max_ps[i] = x->max;
        piat_out(&x->piat, nn[k] ? nn[k] - 1 : 0, o, i);
    }
    for (int f = 0; f < FS_FLAGS; f++) {
        uint32_t cs = a.flags[0][f] + ((uint32_t)(s->flag_bytes >> (8 * f)) & 0xff);
        uint32_t cd = a.flags[1][f] + ((uint32_t)(d->flag_bytes >> (8 * f)) & 0xff);
        o->flags[FS_SRC2DST][f] = cs;
        o->flags[FS_DST2SRC][f] = cd;
        o->flags[FS_BIDIR][f] = cs + cd;
    }
}

const struct nfp_plugin nfp_builtin_flowstats = {
    .api_version = NFP_API_VERSION,
    .name = "flowstats",
    .state_size = sizeof(union fs_state),
    .fields = fs_fields,
    .nfields = sizeof fs_fields / sizeof fs_fields[0],
    .init = fs_init,
    .on_init = fs_on_init,
    .on_update = fs_on_update,
    .on_expire = fs_on_expire,
};
