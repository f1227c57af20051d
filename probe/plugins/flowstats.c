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
 *  - mean and variance by Welford's running algorithm; the standard
 *    deviation is the *sample* one, sqrt(M2 / (n - 1)), n being the number of
 *    sizes (packets) or of inter-arrival times (packets - 1) of the scope; it
 *    is 0 with fewer than 2 values (nfstream leaves it at 0).
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
 * Per-flow state: 3 scopes x 104 bytes = 312 bytes (struct fs_state). The
 * exported stddev members hold Welford's M2 while the record is open;
 * on_expire turns them into the standard deviation in place. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "plugins/builtin.h"

#define IPPROTO_TCP_NUM 6

enum { FS_BIDIR = 0, FS_SRC2DST = 1, FS_DST2SRC = 2, FS_SCOPES = 3 };
enum { FS_FLAGS = 8 };

/* One scope: 104 bytes. */
struct fs_scope {
    double mean_ps;             /* exported */
    double stddev_ps;           /* exported; Welford M2 until on_expire */
    double mean_piat;           /* exported */
    double stddev_piat;         /* exported; Welford M2 until on_expire */
    uint64_t min_piat, max_piat;    /* exported, ms */
    uint64_t packets;           /* private: packets of the scope so far */
    uint64_t last_ms;           /* private: truncated ms time of the previous one */
    uint32_t min_ps, max_ps;    /* exported */
    uint32_t flags[FS_FLAGS];   /* exported: syn cwr ece urg ack psh rst fin */
};

struct fs_state {
    struct fs_scope s[FS_SCOPES];   /* index FS_BIDIR, FS_SRC2DST, FS_DST2SRC */
};

_Static_assert(sizeof(struct fs_scope) == 104, "flowstats: scope is 104 bytes");
_Static_assert(sizeof(struct fs_state) == 312, "flowstats: state is 312 bytes");

/* TCP header flag bits, in the order of flags[] (nfstream's order). */
static const uint8_t flag_bits[FS_FLAGS] = {
    0x02 /* SYN */, 0x80 /* CWR */, 0x40 /* ECE */, 0x20 /* URG */,
    0x10 /* ACK */, 0x08 /* PSH */, 0x04 /* RST */, 0x01 /* FIN */,
};

#define SC(i, m) (offsetof(struct fs_state, s) + (i) * sizeof(struct fs_scope) + offsetof(struct fs_scope, m))

#define PS_FIELDS(i, pfx, cpfx, id0)                                                               \
    {.name = cpfx "MinPs", .id = (id0), .type = NFP_U32, .offset = SC(i, min_ps), .json = pfx "_min_ps"}, \
    {.name = cpfx "MeanPs", .id = (id0) + 1, .type = NFP_F64, .offset = SC(i, mean_ps), .json = pfx "_mean_ps"}, \
    {.name = cpfx "StddevPs", .id = (id0) + 2, .type = NFP_F64, .offset = SC(i, stddev_ps), .json = pfx "_stddev_ps"}, \
    {.name = cpfx "MaxPs", .id = (id0) + 3, .type = NFP_U32, .offset = SC(i, max_ps), .json = pfx "_max_ps"}

#define PIAT_FIELDS(i, pfx, cpfx, id0)                                                             \
    {.name = cpfx "MinPiatMs", .id = (id0), .type = NFP_U64, .offset = SC(i, min_piat), .json = pfx "_min_piat_ms"}, \
    {.name = cpfx "MeanPiatMs", .id = (id0) + 1, .type = NFP_F64, .offset = SC(i, mean_piat), .json = pfx "_mean_piat_ms"}, \
    {.name = cpfx "StddevPiatMs", .id = (id0) + 2, .type = NFP_F64, .offset = SC(i, stddev_piat), .json = pfx "_stddev_piat_ms"}, \
    {.name = cpfx "MaxPiatMs", .id = (id0) + 3, .type = NFP_U64, .offset = SC(i, max_piat), .json = pfx "_max_piat_ms"}

#define FLAG_FIELD(i, pfx, cpfx, id0, k, lname, cname) \
    {.name = cpfx cname "Packets", .id = (id0) + (k), .type = NFP_U32, \
     .offset = SC(i, flags) + (k) * sizeof(uint32_t), .json = pfx "_" lname "_packets"}

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

static void scope_add(struct fs_scope *s, const struct nfp_packet *pkt)
{
    uint32_t ps = pkt->ip_len;
    uint64_t now_ms = pkt->time_us / 1000;
    uint64_t n = ++s->packets;

    if (n == 1) {
        s->min_ps = s->max_ps = ps;
        s->mean_ps = ps;
        s->stddev_ps = 0;
    } else {
        if (ps < s->min_ps)
            s->min_ps = ps;
        if (ps > s->max_ps)
            s->max_ps = ps;
        double delta = (double)ps - s->mean_ps;
        s->mean_ps += delta / (double)n;
        s->stddev_ps += delta * ((double)ps - s->mean_ps);

        uint64_t piat = now_ms > s->last_ms ? now_ms - s->last_ms : 0;
        uint64_t k = n - 1;     /* inter-arrival times so far, this one included */
        if (k == 1) {
            s->min_piat = s->max_piat = piat;
            s->mean_piat = (double)piat;
            s->stddev_piat = 0;
        } else {
            if (piat < s->min_piat)
                s->min_piat = piat;
            if (piat > s->max_piat)
                s->max_piat = piat;
            double d = (double)piat - s->mean_piat;
            s->mean_piat += d / (double)k;
            s->stddev_piat += d * ((double)piat - s->mean_piat);
        }
    }
    s->last_ms = now_ms;

    if (pkt->proto == IPPROTO_TCP_NUM && pkt->tcp_flags)
        for (int f = 0; f < FS_FLAGS; f++)
            s->flags[f] += (pkt->tcp_flags & flag_bits[f]) != 0;
}

static int fs_on_packet(void *ctx, void *state, const struct nfp_packet *pkt,
                        const struct nfp_flow *flow)
{
    (void)ctx;
    (void)flow;
    struct fs_state *st = state;
    scope_add(&st->s[FS_BIDIR], pkt);
    scope_add(&st->s[pkt->direction == NFP_DST_TO_SRC ? FS_DST2SRC : FS_SRC2DST], pkt);
    return NFP_CONTINUE;
}

/* Sample standard deviation from Welford's M2 over n values (0 below 2). */
static double sample_stddev(double m2, uint64_t n)
{
    if (n < 2 || !(m2 > 0))
        return 0;
    return sqrt(m2 / (double)(n - 1));
}

static void fs_on_expire(void *ctx, void *state, const struct nfp_flow *flow,
                         enum nfp_end_reason reason)
{
    (void)ctx;
    (void)flow;
    (void)reason;
    struct fs_state *st = state;
    for (int i = 0; i < FS_SCOPES; i++) {
        struct fs_scope *s = &st->s[i];
        s->stddev_ps = sample_stddev(s->stddev_ps, s->packets);
        s->stddev_piat = sample_stddev(s->stddev_piat, s->packets ? s->packets - 1 : 0);
    }
}

const struct nfp_plugin nfp_builtin_flowstats = {
    .api_version = NFP_API_VERSION,
    .name = "flowstats",
    .state_size = sizeof(struct fs_state),
    .fields = fs_fields,
    .nfields = sizeof fs_fields / sizeof fs_fields[0],
    .init = fs_init,
    .on_init = fs_on_packet,
    .on_update = fs_on_packet,
    .on_expire = fs_on_expire,
};
