/* dpi.c — nDPI as a meter extension (see dpi.h).
 *
 * Per flow, nDPI sees at most the packet budget of its protocol (counting
 * only packets nDPI can use: not non-first fragments, not packets whose IP
 * datagram was not captured whole; TCP segments without payload count but
 * are not shown to nDPI before it has a flow struct). Then the verdict is
 * taken (nDPI's guess when it found nothing, as ndpiReader does), the
 * metadata are copied into a compact string arena, and nDPI's flow struct
 * goes back to its slab. A flow exported before that is concluded at its
 * export.
 *
 * Flows that stop sending before their verdict (one-packet UDP flows, TCP
 * connections that only ever carried one segment, ...) would each hold a
 * ~700-byte nDPI flow struct until they expire, and on payload-rich links
 * those are a third of the flows at any time. So only cfg.hot_flows flow
 * structs (--dpi-hot-flows, 256) are kept expanded; when one more is needed, the least recently fed (clock
 * order) is packed: its non-zero 8-byte words behind a bitmap (such a flow
 * struct is ~90 % zeros: typically 80-130 bytes packed), with the unused room
 * of its nDPI buffers given back. A packed flow is expanded again, bit for
 * bit, when its next packet comes or at its verdict, so nDPI sees the same
 * state as if it had never been packed. */
#include "dpi.h"
#include "extend.h"

#include <ndpi_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elements.h"

/* ======================================================================
 * nDPI adapter: every call whose signature or semantics changed across
 * nDPI releases (4.2 is the one this was written for) lives here, so that
 * moving to another release is a change to this section only.
 * ==================================================================== */

static struct ndpi_detection_module_struct *adapter_module_new(void)
{
    struct ndpi_detection_module_struct *m = ndpi_init_detection_module(ndpi_no_prefs);
    if (!m)
        return NULL;
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(m, &all);
    ndpi_finalize_initialization(m);
    return m;
}

/* 4.2: no src/dst id structs; time in ms. Later releases add an input-info
 * argument. */
static ndpi_protocol adapter_process(struct ndpi_detection_module_struct *m,
                                     struct ndpi_flow_struct *f, const uint8_t *ip,
                                     uint16_t len, uint64_t ms)
{
    return ndpi_detection_process_packet(m, f, ip, len, ms);
}

static ndpi_protocol adapter_giveup(struct ndpi_detection_module_struct *m,
                                    struct ndpi_flow_struct *f, bool *guessed)
{
    uint8_t was_guessed = 0;
    ndpi_protocol p = ndpi_detection_giveup(m, f, 1, &was_guessed);
    *guessed = was_guessed != 0;
    return p;
}

/* 4.2 has fail_with_unknown: the dissectors ruled everything out. */
static bool adapter_hopeless(const struct ndpi_flow_struct *f)
{
    return f->fail_with_unknown;
}

static bool adapter_more_useful(struct ndpi_detection_module_struct *m,
                                struct ndpi_flow_struct *f)
{
    return ndpi_extra_dissection_possible(m, f) != 0;
}

/* The server name nDPI found: TLS/QUIC SNI, HTTP Host, DNS query, DHCP or
 * NetBIOS name (4.2 keeps them all in host_server_name). */
static const char *adapter_server_name(const struct ndpi_flow_struct *f)
{
    return f->host_server_name;
}

/* Which protocols the flow's union (protos.*) belongs to: nDPI 4.2 decides
 * the same way when it frees the union's pointers. */
static bool adapter_flow_is(const struct ndpi_flow_struct *f, uint16_t proto)
{
    return f->detected_protocol_stack[0] == proto || f->detected_protocol_stack[1] == proto;
}

static void adapter_flow_release(struct ndpi_flow_struct *f)
{
    ndpi_free_flow_data(f);
}

/* A flow that waits for its next packet gives back the unused room of its
 * TLS reassembly buffer. 4.2 allocates 2 KiB at a flow's first TLS segment
 * when the pointer is NULL, and when a segment does not fit reallocates to
 * exactly used + segment + 1 bytes; nothing else reads buffer_len. So an
 * empty buffer can go (NULL: allocated again when needed) and a partly used
 * one can shrink to its content, and nDPI's view of the data stays the same.
 * (ndpi_realloc copies old_size bytes: it is given the used size.) */
static void adapter_flow_trim(struct ndpi_flow_struct *f)
{
    if (f->l4_proto != 6)
        return;     /* l4 is a union: the TCP member only for TCP flows */
    message_t *m = &f->l4.tcp.tls.message;
    if (!m->buffer || m->buffer_len <= m->buffer_used)
        return;
    if (m->buffer_used == 0) {
        ndpi_free(m->buffer);
        m->buffer = NULL;
        m->buffer_len = 0;
        return;
    }
    uint8_t *b = ndpi_realloc(m->buffer, m->buffer_used, m->buffer_used);
    if (b) {
        m->buffer = b;
        m->buffer_len = m->buffer_used;
    }
}

/* ==================================================================== */

/* Strings of a flow, kept one after the other, NUL-terminated, in an arena
 * taken at the verdict from the smallest size class that holds them. */
enum dpi_string {
    S_APPNAME, S_CATEGORY, S_SERVER, S_JA3C, S_JA3S, S_UA, S_SSH_C, S_SSH_S,
    S_ALPN, S_ISSUER, S_SUBJECT, S_COUNT
};
enum { STRING_MAX = 255 };
static const size_t arena_classes[] = {64, 128, 256, 512, 1024, S_COUNT * (STRING_MAX + 1)};
enum { ARENA_CLASSES = sizeof arena_classes / sizeof arena_classes[0], NO_ARENA = 0xFF };
enum { SLAB_CHUNK_BYTES = 64 * 1024 };

/* nDPI flow structs kept expanded (cfg.hot_flows); the others waiting for a
 * packet are packed (see the top of the file). */
_Static_assert(DPI_HOT_FLOWS_MAX <= 65535, "hot slots are 16-bit");
/* A packed flow struct: a bitmap of its non-zero 8-byte words, then those
 * words. Sizes of the slabs they come from, in 8-byte words. */
enum { NF_WORDS = sizeof(struct ndpi_flow_struct) / 8, NF_MAP_WORDS = (NF_WORDS + 63) / 64 };
_Static_assert(sizeof(struct ndpi_flow_struct) % 8 == 0, "nDPI flow struct not in 8-byte words");
static const uint16_t packed_classes[] = {4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 48, 64,
                                          NF_MAP_WORDS + NF_WORDS};
enum { PACKED_CLASSES = sizeof packed_classes / sizeof packed_classes[0] };
enum { PACKED_CHUNK_BYTES = 16 * 1024 };

/* What the server name is, for the ntop element it goes out as. */
enum { SNI_NONE, SNI_TLS, SNI_HTTP, SNI_DNS, SNI_OTHER };

enum {
    F_CONCLUDED = 1, F_GUESSED = 2, F_DNS = 4, F_TLS = 8, F_SSH = 16,
    F_HOT = 32,         /* p is an expanded nDPI flow struct, in hot[slot] */
    F_PACKED = 64,      /* p is a packed nDPI flow struct */
};

struct dpi_state {
    /* Before the verdict: nDPI's flow (F_HOT, F_PACKED) or NULL; after it
     * (F_CONCLUDED): the string arena or NULL. */
    void *p;
    uint32_t not_before, not_after;
    uint16_t master, app, category;
    uint16_t dns_qtype, tls_version, tls_cipher;
    uint16_t fed;                   /* usable packets so far: the budget's count */
    uint16_t slot;                  /* in hot[] while F_HOT */
    uint8_t dns_rcode, flags, arena_class, sni_kind;
    uint8_t confidence;             /* nDPI's ndpi_confidence_t at the verdict */
    uint8_t len[S_COUNT];
};

struct dpi {
    struct ndpi_detection_module_struct *mod;
    struct dpi_config cfg;
    struct extension ext;
    struct slab flows;              /* expanded nDPI flow structs (<= cfg.hot_flows) */
    struct slab packed[PACKED_CLASSES];
    size_t npacked;
    /* cfg.hot_flows slots each, allocated in dpi_new: */
    struct dpi_state **hot;         /* the states whose flow is expanded */
    uint8_t *hot_used;              /* fed since the clock hand last passed */
    uint32_t nhot, hand;
    struct ndpi_flow_struct *scratch;   /* a packed flow expanded for its verdict */
    struct slab arenas[ARENA_CLASSES];
    struct dpi_stats stats;
    struct ipfix_app_table apps;    /* built on first use */
    struct ipfix_app_name *app_rows;
    char (*app_desc)[64];
};

static size_t state_offset;

/* ---- strings -------------------------------------------------------------- */

/* Gathered at the verdict, before the arena is sized. */
struct strings {
    const char *s[S_COUNT];
    size_t n[S_COUNT];
};

static void strings_set(struct strings *ss, enum dpi_string i, const char *s, size_t cap)
{
    if (!s)
        return;
    size_t n = strnlen(s, cap);
    ss->s[i] = s;
    ss->n[i] = n > STRING_MAX ? STRING_MAX : n;
}

static size_t string_offset(const struct dpi_state *st, enum dpi_string i)
{
    size_t off = 0;
    for (int k = 0; k < (int)i; k++)
        off += st->len[k] + 1u;
    return off;
}

static const char *arena_of(const struct dpi_state *st)
{
    return (st->flags & F_CONCLUDED) ? st->p : NULL;
}

static const char *state_string(const struct dpi_state *st, enum dpi_string i)
{
    const char *arena = arena_of(st);
    return arena ? arena + string_offset(st, i) : "";
}

static void store_strings(struct dpi *d, struct dpi_state *st, const struct strings *ss)
{
    size_t total = 0;
    for (int i = 0; i < S_COUNT; i++)
        total += ss->n[i] + 1;
    int cls = 0;
    while (arena_classes[cls] < total)
        cls++;
    char *p = slab_alloc(&d->arenas[cls]);
    st->p = p;
    if (!p)
        return;     /* out of memory: the verdict stays, the strings are lost */
    st->arena_class = (uint8_t)cls;
    for (int i = 0; i < S_COUNT; i++) {
        st->len[i] = (uint8_t)ss->n[i];
        if (ss->n[i])
            memcpy(p, ss->s[i], ss->n[i]);
        p[ss->n[i]] = '\0';
        p += ss->n[i] + 1;
    }
}

static void release_arena(struct dpi *d, struct dpi_state *st)
{
    if (arena_of(st)) {
        slab_free(&d->arenas[st->arena_class], st->p);
        st->p = NULL;
    }
    memset(st->len, 0, sizeof st->len);
}

/* ---- nDPI's flow structs: expanded (hot) or packed ------------------------ */

static void conclude(struct dpi *d, struct dpi_state *st, const struct flow *f);

static bool has_ndpi_flow(const struct dpi_state *st)
{
    return (st->flags & (F_HOT | F_PACKED)) != 0;
}

static int packed_class(size_t words)
{
    int c = 0;
    while (packed_classes[c] < words)
        c++;
    return c;
}

/* nf packed into an object of the slab of its size; NULL without memory. */
static uint64_t *pack(struct dpi *d, const struct ndpi_flow_struct *nf)
{
    uint64_t map[NF_MAP_WORDS] = {0}, w[NF_WORDS];
    const uint8_t *in = (const uint8_t *)nf;
    size_t n = 0;
    for (size_t i = 0; i < NF_WORDS; i++) {
        uint64_t v;
        memcpy(&v, in + 8 * i, 8);
        if (v) {
            map[i / 64] |= (uint64_t)1 << (i % 64);
            w[n++] = v;
        }
    }
    uint64_t *pk = slab_alloc(&d->packed[packed_class(NF_MAP_WORDS + n)]);
    if (!pk)
        return NULL;
    memcpy(pk, map, sizeof map);
    memcpy(pk + NF_MAP_WORDS, w, n * 8);
    d->npacked++;
    d->stats.packs++;
    return pk;
}

/* Expand pk into nf, bit for bit as it was packed, and free pk. */
static void unpack(struct dpi *d, uint64_t *pk, struct ndpi_flow_struct *nf)
{
    uint8_t *out = (uint8_t *)nf;
    const uint64_t *w = pk + NF_MAP_WORDS;
    size_t n = 0;
    for (size_t i = 0; i < NF_WORDS; i++) {
        uint64_t v = (pk[i / 64] >> (i % 64)) & 1 ? w[n++] : 0;
        memcpy(out + 8 * i, &v, 8);
    }
    slab_free(&d->packed[packed_class(NF_MAP_WORDS + n)], pk);
    d->npacked--;
}

static void hot_add(struct dpi *d, struct dpi_state *st, struct ndpi_flow_struct *nf)
{
    st->p = nf;
    st->flags |= F_HOT;
    st->slot = (uint16_t)d->nhot;
    d->hot[d->nhot] = st;
    d->hot_used[d->nhot++] = 1;
}

static void hot_remove(struct dpi *d, struct dpi_state *st)
{
    uint32_t slot = st->slot, last = --d->nhot;
    if (slot != last) {
        d->hot[slot] = d->hot[last];
        d->hot_used[slot] = d->hot_used[last];
        d->hot[slot]->slot = (uint16_t)slot;
    }
    st->flags &= (uint8_t)~F_HOT;
    st->p = NULL;
}

/* Clock order: the first expanded flow not fed since the hand last passed. */
static struct dpi_state *hot_victim(struct dpi *d)
{
    for (;;) {
        if (d->hand >= d->nhot)
            d->hand = 0;
        if (!d->hot_used[d->hand])
            return d->hot[d->hand];
        d->hot_used[d->hand++] = 0;
    }
}

/* st's nDPI flow struct, expanded (a zeroed one if st has none yet). When
 * cfg.hot_flows are expanded, the clock's victim is packed and its memory
 * reused. NULL when memory runs out. */
static struct ndpi_flow_struct *nf_take(struct dpi *d, struct dpi_state *st)
{
    if (st->flags & F_HOT) {
        d->hot_used[st->slot] = 1;
        return st->p;
    }
    struct ndpi_flow_struct *nf = NULL;
    if (d->nhot == d->cfg.hot_flows) {
        struct dpi_state *v = hot_victim(d);
        nf = v->p;
        adapter_flow_trim(nf);
        uint64_t *pk = pack(d, nf);
        if (pk) {
            hot_remove(d, v);
            v->p = pk;
            v->flags |= F_PACKED;
        } else {
            conclude(d, v, NULL);   /* no memory to pack it: its verdict now */
            nf = NULL;
        }
    }
    if (!nf)
        nf = slab_alloc(&d->flows);
    if (!nf)
        return NULL;
    if (st->flags & F_PACKED) {
        unpack(d, st->p, nf);
        st->flags &= (uint8_t)~F_PACKED;
    } else {
        memset(nf, 0, sizeof *nf);
    }
    hot_add(d, st, nf);
    return nf;
}

/* Take st's nDPI flow struct out of it for good, expanded (a packed one into
 * d->scratch); NULL if it has none. Then nf_dispose() it. */
static struct ndpi_flow_struct *nf_detach(struct dpi *d, struct dpi_state *st)
{
    struct ndpi_flow_struct *nf = NULL;
    if (st->flags & F_HOT) {
        nf = st->p;
        hot_remove(d, st);
    } else if (st->flags & F_PACKED) {
        nf = d->scratch;
        unpack(d, st->p, nf);
        st->flags &= (uint8_t)~F_PACKED;
        st->p = NULL;
    }
    return nf;
}

static void nf_dispose(struct dpi *d, struct ndpi_flow_struct *nf)
{
    if (!nf)
        return;
    adapter_flow_release(nf);
    if (nf != d->scratch)
        slab_free(&d->flows, nf);
}

/* ---- the verdict ---------------------------------------------------------- */

static bool is_tls_like(const struct ndpi_flow_struct *f)
{
    return adapter_flow_is(f, NDPI_PROTOCOL_TLS) || adapter_flow_is(f, NDPI_PROTOCOL_QUIC) ||
           adapter_flow_is(f, NDPI_PROTOCOL_DTLS);
}

static uint8_t server_name_kind(const struct ndpi_flow_struct *f)
{
    if (!f->host_server_name[0])
        return SNI_NONE;
    if (is_tls_like(f))
        return SNI_TLS;
    if (adapter_flow_is(f, NDPI_PROTOCOL_HTTP))
        return SNI_HTTP;
    if (adapter_flow_is(f, NDPI_PROTOCOL_DNS))
        return SNI_DNS;
    return SNI_OTHER;
}

/* Metadata out of nDPI's flow. The protos union is read only through the
 * member of the protocol the flow was found to be. */
static void collect_metadata(struct dpi_state *st, const struct ndpi_flow_struct *f,
                             struct strings *ss)
{
    strings_set(ss, S_SERVER, adapter_server_name(f), sizeof f->host_server_name);
    st->sni_kind = server_name_kind(f);
    strings_set(ss, S_UA, f->http.user_agent, STRING_MAX);
    if (is_tls_like(f)) {
        st->flags |= F_TLS;
        strings_set(ss, S_JA3C, f->protos.tls_quic.ja3_client, sizeof f->protos.tls_quic.ja3_client);
        strings_set(ss, S_JA3S, f->protos.tls_quic.ja3_server, sizeof f->protos.tls_quic.ja3_server);
        strings_set(ss, S_ALPN, f->protos.tls_quic.alpn, STRING_MAX);
        strings_set(ss, S_ISSUER, f->protos.tls_quic.issuerDN, STRING_MAX);
        strings_set(ss, S_SUBJECT, f->protos.tls_quic.subjectDN, STRING_MAX);
        st->tls_version = f->protos.tls_quic.ssl_version;
        st->tls_cipher = f->protos.tls_quic.server_cipher;
        st->not_before = f->protos.tls_quic.notBefore;
        st->not_after = f->protos.tls_quic.notAfter;
    } else if (adapter_flow_is(f, NDPI_PROTOCOL_DNS)) {
        st->flags |= F_DNS;
        st->dns_qtype = f->protos.dns.query_type;
        st->dns_rcode = f->protos.dns.reply_code;
    } else if (adapter_flow_is(f, NDPI_PROTOCOL_SSH)) {
        st->flags |= F_SSH;
        strings_set(ss, S_SSH_C, f->protos.ssh.client_signature, sizeof f->protos.ssh.client_signature);
        strings_set(ss, S_SSH_S, f->protos.ssh.server_signature, sizeof f->protos.ssh.server_signature);
    }
}

static void count_verdict(struct dpi *d, const struct dpi_state *st)
{
    if (st->flags & F_GUESSED)
        d->stats.flows_guessed++;
    else if (st->app || st->master)
        d->stats.flows_detected++;
    else
        d->stats.flows_unknown++;
}

/* A TCP segment with no payload: nDPI's flow struct is not taken for it
 * (scans and unanswered SYNs are most flows of some links, and would each
 * hold ~700 bytes until they expire); see first_packet_for_guess(). */
static bool tcp_without_payload(const struct packet_view *pv)
{
    if (pv->proto != 6 || !pv->l4 || pv->l4_caplen < 20)
        return false;
    size_t doff = (size_t)(pv->l4[12] >> 4) * 4;
    size_t l4_at = (size_t)(pv->l4 - pv->l3);
    return l4_at + doff >= pv->ip_len;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v; }

/* A flow whose packets nDPI never saw (TCP without payload) still gets
 * nDPI's guess, from what it would have seen first: the initiator's SYN,
 * rebuilt from the flow key (IP + TCP header, no payload). */
static size_t first_packet_for_guess(const struct flow *f, uint8_t *buf)
{
    const struct flow_key *k = &f->key;
    int s = f->key_dir, r = !f->key_dir;
    size_t ip = k->ip_version == 6 ? 40 : 20, len = ip + 20;
    memset(buf, 0, len);
    if (k->ip_version == 6) {
        buf[0] = 0x60;
        put16(buf + 4, 20);
        buf[6] = 6, buf[7] = 64;
        memcpy(buf + 8, k->addr[s], 16);
        memcpy(buf + 24, k->addr[r], 16);
    } else {
        buf[0] = 0x45;
        put16(buf + 2, (uint16_t)len);
        buf[8] = 64, buf[9] = 6;
        memcpy(buf + 12, k->addr[s], 4);
        memcpy(buf + 16, k->addr[r], 4);
    }
    put16(buf + ip, k->port[s]);
    put16(buf + ip + 2, k->port[r]);
    buf[ip + 12] = 5 << 4;
    buf[ip + 13] = 0x02;    /* SYN */
    put16(buf + ip + 14, 65535);
    return len;
}

static void guess_unseen_flow(struct dpi *d, struct dpi_state *st, const struct flow *f)
{
    if (has_ndpi_flow(st) || !f || f->key.proto != 6)
        return;
    struct ndpi_flow_struct *nf = nf_take(d, st);
    if (!nf)
        return;
    uint8_t pkt[60];
    size_t len = first_packet_for_guess(f, pkt);
    adapter_process(d->mod, nf, pkt, (uint16_t)len, f->c.first_us[0] / 1000);
}

/* Take nDPI's verdict (its guess when it found nothing), keep what it
 * learnt, free its flow. */
static void conclude(struct dpi *d, struct dpi_state *st, const struct flow *f)
{
    if (st->flags & F_CONCLUDED)
        return;
    guess_unseen_flow(d, st, f);
    struct ndpi_flow_struct *nf = nf_detach(d, st);
    st->flags |= F_CONCLUDED;
    struct strings ss;
    memset(&ss, 0, sizeof ss);
    char appname[64] = "Unknown";
    if (nf) {
        bool guessed = false;
        ndpi_protocol p = adapter_giveup(d->mod, nf, &guessed);
        st->master = p.master_protocol;
        st->app = p.app_protocol;
        if (guessed && (p.app_protocol || p.master_protocol))
            st->flags |= F_GUESSED;
        st->confidence = (uint8_t)nf->confidence;
        st->category = (uint16_t)ndpi_get_proto_category(d->mod, p);
        ndpi_protocol2name(d->mod, p, appname, sizeof appname);
        collect_metadata(st, nf, &ss);
    }
    strings_set(&ss, S_APPNAME, appname, sizeof appname);
    strings_set(&ss, S_CATEGORY, ndpi_category_get_name(d->mod, (ndpi_protocol_category_t)st->category),
                STRING_MAX);
    store_strings(d, st, &ss);
    nf_dispose(d, nf);
    count_verdict(d, st);
}

/* ---- extension callbacks -------------------------------------------------- */

static uint32_t budget_of(const struct dpi *d, uint8_t proto)
{
    return proto == 6 ? d->cfg.max_tcp_packets : d->cfg.max_udp_packets;
}

/* nDPI reads the IP datagram as the IP header describes it; a datagram not
 * captured whole, or a fragment after the first, tells it nothing (and
 * ndpiReader skips those too). */
static bool packet_usable(const struct packet_view *pv)
{
    if (pv->frag.is_fragment && pv->frag.offset != 0)
        return false;
    return pv->l3 && pv->l3_caplen >= pv->ip_len;
}

static enum ext_verdict dissect(struct dpi *d, struct dpi_state *st, const struct flow *f,
                                const struct packet_view *pv)
{
    if (st->flags & F_CONCLUDED)
        return EXT_DONE;
    if (!packet_usable(pv))
        return EXT_MORE;
    /* The budget counts every usable packet, as ndpiReader counts a flow's
     * packets, including the TCP segments nDPI is not shown. */
    st->fed++;
    if (!has_ndpi_flow(st) && tcp_without_payload(pv)) {
        if (st->fed < budget_of(d, pv->proto))
            return EXT_MORE;
        conclude(d, st, f);
        return EXT_DONE;
    }
    struct ndpi_flow_struct *nf = nf_take(d, st);
    if (!nf) {                  /* no memory for nDPI's flow: Unknown */
        conclude(d, st, NULL);
        return EXT_DONE;
    }
    d->stats.packets_fed++;
    /* All the captured bytes from the IP header on, as ndpiReader passes
     * them; nDPI bounds itself by the IP header's lengths. */
    uint32_t len = pv->l3_caplen > 0xFFFF ? 0xFFFF : pv->l3_caplen;
    ndpi_protocol p = adapter_process(d->mod, nf, pv->l3, (uint16_t)len, pv->ts_us / 1000);
    bool enough = st->fed >= budget_of(d, pv->proto) || adapter_hopeless(nf);
    bool found = p.app_protocol != NDPI_PROTOCOL_UNKNOWN;
    if (!enough && (!found || adapter_more_useful(d->mod, nf)))
        return EXT_MORE;
    conclude(d, st, f);
    return EXT_DONE;
}

static enum ext_verdict on_flow_init(void *ctx, void *state, const struct flow *f,
                                     const struct packet_view *pv, int dir)
{
    (void)dir;      /* a flow's first packet */
    struct dpi *d = ctx;
    struct dpi_state *st = state;
    st->arena_class = NO_ARENA;
    d->stats.flows_dissected++;
    return dissect(d, st, f, pv);
}

static enum ext_verdict on_flow_packet(void *ctx, void *state, const struct flow *f,
                                       const struct packet_view *pv, int dir)
{
    (void)dir;
    return dissect(ctx, state, f, pv);
}

static void on_flow_export(void *ctx, void *state, const struct flow *f, enum end_reason reason)
{
    (void)reason;
    conclude(ctx, state, f);
}

/* A record that crosses to the exporter thread takes its strings along. */
static size_t on_flow_detach(void *ctx, void *copy, uint8_t *out)
{
    (void)ctx;
    struct dpi_state *st = copy;
    const char *arena = arena_of(st);
    if (!arena)
        return 0;
    size_t n = string_offset(st, S_COUNT);
    memcpy(out, arena, n);
    st->p = out;
    return n;
}

static void on_flow_free(void *ctx, void *state)
{
    struct dpi *d = ctx;
    struct dpi_state *st = state;
    if (!(st->flags & F_CONCLUDED))
        nf_dispose(d, nf_detach(d, st));
    release_arena(d, st);
}

/* ---- lifecycle ------------------------------------------------------------ */

struct dpi *dpi_new(const struct dpi_config *cfg, char *err, size_t errlen)
{
    size_t lib = ndpi_detection_get_sizeof_ndpi_flow_struct();
    if (lib != sizeof(struct ndpi_flow_struct)) {
        snprintf(err, errlen,
                 "nDPI: the library's flow struct is %zu bytes, this program was built for %zu "
                 "(headers and library differ: rebuild against the installed libndpi)",
                 lib, sizeof(struct ndpi_flow_struct));
        return NULL;
    }
    uint32_t hot = cfg->hot_flows ? cfg->hot_flows : DPI_HOT_FLOWS_DEFAULT;
    if (hot > DPI_HOT_FLOWS_MAX) {
        snprintf(err, errlen, "%u nDPI flow states kept unpacked: at most %u", hot,
                 (unsigned)DPI_HOT_FLOWS_MAX);
        return NULL;
    }
    struct dpi *d = calloc(1, sizeof *d);
    if (d) {
        d->hot = calloc(hot, sizeof *d->hot);
        d->hot_used = calloc(hot, sizeof *d->hot_used);
    }
    if (!d || !d->hot || !d->hot_used) {
        snprintf(err, errlen, "out of memory");
        if (d) {
            free(d->hot);
            free(d->hot_used);
        }
        free(d);
        return NULL;
    }
    d->mod = adapter_module_new();
    d->scratch = malloc(sizeof *d->scratch);
    if (!d->mod || !d->scratch) {
        snprintf(err, errlen, "nDPI: cannot initialise a detection module");
        if (d->mod)
            ndpi_exit_detection_module(d->mod);
        free(d->scratch);
        free(d->hot);
        free(d->hot_used);
        free(d);
        return NULL;
    }
    d->cfg = *cfg;
    d->cfg.hot_flows = hot;
    /* A slab touches a whole chunk when it grows: chunks of ~64 KiB keep
     * the memory of size classes a run hardly uses small. */
    size_t flows_per_chunk = (hot + 3) / 4;     /* 64 for the default 256 */
    if (flows_per_chunk > DPI_HOT_FLOWS_DEFAULT / 4)
        flows_per_chunk = DPI_HOT_FLOWS_DEFAULT / 4;
    slab_init(&d->flows, lib, flows_per_chunk);
    for (int i = 0; i < PACKED_CLASSES; i++)
        slab_init(&d->packed[i], packed_classes[i] * 8u, PACKED_CHUNK_BYTES / (packed_classes[i] * 8u));
    for (int i = 0; i < ARENA_CLASSES; i++)
        slab_init(&d->arenas[i], arena_classes[i], SLAB_CHUNK_BYTES / arena_classes[i]);
    d->ext = (struct extension){
        .name = "dpi",
        .state_size = sizeof(struct dpi_state),
        .ctx = d,
        .flow_init = on_flow_init,
        .flow_packet = on_flow_packet,
        .flow_export = on_flow_export,
        .flow_free = on_flow_free,
        .flow_detach = on_flow_detach,
        .detach_max = S_COUNT * (STRING_MAX + 1),
    };
    return d;
}

void dpi_free(struct dpi *d)
{
    if (!d)
        return;
    slab_destroy(&d->flows);
    for (int i = 0; i < PACKED_CLASSES; i++)
        slab_destroy(&d->packed[i]);
    free(d->scratch);
    free(d->hot);
    free(d->hot_used);
    for (int i = 0; i < ARENA_CLASSES; i++)
        slab_destroy(&d->arenas[i]);
    ndpi_exit_detection_module(d->mod);
    free(d->app_rows);
    free(d->app_desc);
    free(d);
}

const struct extension *dpi_extension(struct dpi *d) { return &d->ext; }
void dpi_set_state_offset(size_t offset) { state_offset = offset; }
size_t dpi_ndpi_flows_in_use(const struct dpi *d) { return d->nhot + d->npacked; }
const struct dpi_stats *dpi_get_stats(const struct dpi *d) { return &d->stats; }
unsigned dpi_hot_flows(const struct dpi *d) { return d->cfg.hot_flows; }

size_t dpi_protocol_count(const struct dpi *d)
{
    return ndpi_get_num_supported_protocols(d->mod);
}

const char *dpi_protocol_name(const struct dpi *d, size_t id)
{
    return ndpi_get_proto_name(d->mod, (uint16_t)id);
}

const char *dpi_protocol_category(const struct dpi *d, size_t id)
{
    ndpi_protocol p = {NDPI_PROTOCOL_UNKNOWN, (uint16_t)id, NDPI_PROTOCOL_CATEGORY_UNSPECIFIED};
    return ndpi_category_get_name(d->mod, ndpi_get_proto_category(d->mod, p));
}

const void *dpi_state_of_record(const struct flow_record *r)
{
    return ext_state(r, state_offset);
}

bool dpi_result_of(const void *state, struct dpi_result *out)
{
    const struct dpi_state *st = state;
    if (!st)
        return false;
    *out = (struct dpi_result){
        .master = st->master, .app = st->app, .category = st->category,
        .concluded = (st->flags & F_CONCLUDED) != 0, .guessed = (st->flags & F_GUESSED) != 0,
        .application_name = state_string(st, S_APPNAME),
        .category_name = state_string(st, S_CATEGORY),
        .server_name = state_string(st, S_SERVER),
        .ja3c = state_string(st, S_JA3C), .ja3s = state_string(st, S_JA3S),
    };
    return true;
}

/* ---- applicationId (RFC 6759) --------------------------------------------- */

const struct ipfix_app_table *dpi_app_table(struct dpi *d)
{
    if (d->app_rows)
        return &d->apps;
    size_t n = dpi_protocol_count(d);
    d->app_rows = calloc(n ? n : 1, sizeof *d->app_rows);
    d->app_desc = calloc(n ? n : 1, sizeof *d->app_desc);
    if (!d->app_rows || !d->app_desc)
        return NULL;
    for (size_t id = 0; id < n; id++) {
        struct ipfix_app_name *a = &d->app_rows[id];
        dpi_encode_app_id((uint16_t)id, a->id);
        a->name = dpi_protocol_name(d, id);
        a->category = dpi_protocol_category(d, id);
        snprintf(d->app_desc[id], sizeof d->app_desc[id], "nDPI protocol %zu: %s (%s)", id,
                 a->name ? a->name : "?", a->category ? a->category : "?");
        a->description = d->app_desc[id];
    }
    d->apps = (struct ipfix_app_table){d->app_rows, n, (uint16_t)dpi_app_id_len()};
    return &d->apps;
}

enum { ENGINE_PANA_L7 = 13, ENGINE_PANA_L7_PEN = 20 };
static bool app_id_pen_form;

void dpi_set_app_id_pen_form(bool pen_form) { app_id_pen_form = pen_form; }
size_t dpi_app_id_len(void) { return app_id_pen_form ? 7 : 5; }

void dpi_encode_app_id(uint16_t proto_id, uint8_t *out)
{
    if (app_id_pen_form) {
        out[0] = ENGINE_PANA_L7_PEN;
        out[1] = (uint8_t)(PEN_NTOP >> 24), out[2] = (uint8_t)(PEN_NTOP >> 16);
        out[3] = (uint8_t)(PEN_NTOP >> 8), out[4] = (uint8_t)PEN_NTOP;
        out[5] = (uint8_t)(proto_id >> 8), out[6] = (uint8_t)proto_id;
        return;
    }
    out[0] = ENGINE_PANA_L7;
    out[1] = 0, out[2] = 0;
    out[3] = (uint8_t)(proto_id >> 8), out[4] = (uint8_t)proto_id;
}

/* ---- element rows --------------------------------------------------------- */

static const struct dpi_state *record_state(const struct flow_record *r)
{
    const struct dpi_state *st = dpi_state_of_record(r);
    return st && (st->flags & F_CONCLUDED) ? st : NULL;
}

/* The most specific protocol: YouTube in TLS.YouTube, DNS in DNS. */
static uint16_t specific_protocol(const struct dpi_state *st)
{
    return st->app ? st->app : st->master;
}

static bool put_string(const struct dpi_state *st, enum dpi_string i, struct elem_value *v)
{
    v->bytes = (const uint8_t *)state_string(st, i);
    v->nbytes = arena_of(st) ? st->len[i] : 0;
    return true;
}

#define STATE_OR_FALSE(r) \
    const struct dpi_state *st = record_state(r); \
    if (!st) return false

static bool get_app_id(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    STATE_OR_FALSE(r);
    static _Thread_local uint8_t buf[8];
    dpi_encode_app_id(specific_protocol(st), buf);
    v->bytes = buf;
    v->nbytes = dpi_app_id_len();
    return true;
}

static bool get_l7_proto(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    STATE_OR_FALSE(r);
    v->u = specific_protocol(st);
    return true;
}

static bool get_master(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    STATE_OR_FALSE(r);
    v->u = st->master;
    return true;
}

static bool get_app(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    STATE_OR_FALSE(r);
    v->u = st->app;
    return true;
}

static bool get_guessed(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    STATE_OR_FALSE(r);
    v->u = (st->flags & F_GUESSED) ? 1 : 0;
    return true;
}

/* nDPI's own number (nfstream passes it on unchanged too): in nDPI 4.2 0
 * unknown, 1 by port, 2 by IP, 3 DPI cache, 4 DPI; later nDPI releases
 * renumbered them. */
static bool get_confidence(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    STATE_OR_FALSE(r);
    v->u = st->confidence;
    return true;
}

#define STRING_GETTER(fn, which) \
    static bool fn(const struct flow_record *r, int view, struct elem_value *v) \
    { \
        (void)view; \
        STATE_OR_FALSE(r); \
        return put_string(st, which, v); \
    }
STRING_GETTER(get_app_name, S_APPNAME)
STRING_GETTER(get_category_name, S_CATEGORY)
STRING_GETTER(get_server_name, S_SERVER)
STRING_GETTER(get_ja3c, S_JA3C)
STRING_GETTER(get_ja3s, S_JA3S)
STRING_GETTER(get_user_agent, S_UA)

/* The server name as the ntop element of its kind (empty for other kinds). */
#define SERVER_NAME_GETTER(fn, kind) \
    static bool fn(const struct flow_record *r, int view, struct elem_value *v) \
    { \
        (void)view; \
        STATE_OR_FALSE(r); \
        if (st->sni_kind != kind) return false; \
        return put_string(st, S_SERVER, v); \
    }
SERVER_NAME_GETTER(get_tls_server_name, SNI_TLS)
SERVER_NAME_GETTER(get_http_host, SNI_HTTP)
SERVER_NAME_GETTER(get_dns_query, SNI_DNS)

/* Fields that only a flow of one protocol has. */
#define PROTO_STRING_GETTER(fn, flag, which) \
    static bool fn(const struct flow_record *r, int view, struct elem_value *v) \
    { \
        (void)view; \
        STATE_OR_FALSE(r); \
        if (!(st->flags & (flag))) return false; \
        return put_string(st, which, v); \
    }
PROTO_STRING_GETTER(get_ssh_client, F_SSH, S_SSH_C)
PROTO_STRING_GETTER(get_ssh_server, F_SSH, S_SSH_S)
PROTO_STRING_GETTER(get_tls_alpn, F_TLS, S_ALPN)
PROTO_STRING_GETTER(get_tls_issuer, F_TLS, S_ISSUER)
PROTO_STRING_GETTER(get_tls_subject, F_TLS, S_SUBJECT)

#define PROTO_NUMBER_GETTER(fn, flag, field) \
    static bool fn(const struct flow_record *r, int view, struct elem_value *v) \
    { \
        (void)view; \
        STATE_OR_FALSE(r); \
        if (!(st->flags & (flag))) return false; \
        v->u = st->field; \
        return true; \
    }
PROTO_NUMBER_GETTER(get_dns_qtype, F_DNS, dns_qtype)
PROTO_NUMBER_GETTER(get_dns_rcode, F_DNS, dns_rcode)
PROTO_NUMBER_GETTER(get_tls_version, F_TLS, tls_version)
PROTO_NUMBER_GETTER(get_tls_cipher, F_TLS, tls_cipher)
PROTO_NUMBER_GETTER(get_tls_not_before, F_TLS, not_before)
PROTO_NUMBER_GETTER(get_tls_not_after, F_TLS, not_after)

/* ntop's ids (nProbe's, PEN 35632; NetFlow v9: 57472 + id). Rows with id 0
 * have no IPFIX element (nProbe defines none we know of): they are JSON only
 * and must not be listed in a template (templates/dpi.tmpl). */
#define V9(id) ((uint16_t)(57472u + (id)))
#define S ET_STRING, ELEM_VARLEN
static struct element rows[] = {
    /* name                 pen       id   v9       type/len     rev    json                          json_rev get */
    {"applicationId",       0,        95,  95,      ET_OCTETS, 5, false, NULL,                        NULL, get_app_id, 0},
    {"ndpiMasterProtocol",  0,        0,   0,       ET_UNSIGNED, 2, false, "master_protocol",         NULL, get_master, 0},
    {"ndpiAppProtocol",     0,        0,   0,       ET_UNSIGNED, 2, false, "app_protocol",            NULL, get_app, 0},
    {"L7_PROTO",            PEN_NTOP, 118, V9(118), ET_UNSIGNED, 2, false, NULL,                      NULL, get_l7_proto, 0},
    {"L7_PROTO_NAME",       PEN_NTOP, 119, V9(119), S,                false, "application_name",     NULL, get_app_name, 0},
    {"L7_PROTO_CATEGORY",   PEN_NTOP, 501, V9(501), S,                false, "application_category_name", NULL, get_category_name, 0},
    {"ndpiGuessed",         0,        0,   0,       ET_UNSIGNED, 1, false, "application_is_guessed",  NULL, get_guessed, 0},
    {"ndpiConfidence",      0,        0,   0,       ET_UNSIGNED, 1, false, "application_confidence",  NULL, get_confidence, 0},
    {"ndpiServerName",      0,        0,   0,       S,                false, "requested_server_name", NULL, get_server_name, 0},
    {"TLS_SERVER_NAME",     PEN_NTOP, 188, V9(188), S,                false, NULL,                    NULL, get_tls_server_name, 0},
    {"HTTP_HOST",           PEN_NTOP, 187, V9(187), S,                false, NULL,                    NULL, get_http_host, 0},
    {"DNS_QUERY",           PEN_NTOP, 205, V9(205), S,                false, NULL,                    NULL, get_dns_query, 0},
    {"JA3C_HASH",           PEN_NTOP, 489, V9(489), S,                false, "client_fingerprint",    NULL, get_ja3c, 0},
    {"JA3S_HASH",           PEN_NTOP, 490, V9(490), S,                false, "server_fingerprint",    NULL, get_ja3s, 0},
    {"HTTP_UA",             PEN_NTOP, 183, V9(183), S,                false, "user_agent",            NULL, get_user_agent, 0},
    {"DNS_QUERY_TYPE",      PEN_NTOP, 207, V9(207), ET_UNSIGNED, 2, false, "dns_query_type",          NULL, get_dns_qtype, 0},
    {"DNS_RET_CODE",        PEN_NTOP, 208, V9(208), ET_UNSIGNED, 1, false, "dns_rcode",               NULL, get_dns_rcode, 0},
    {"ndpiSshClientSignature", 0,     0,   0,       S,                false, "ssh_client_signature",  NULL, get_ssh_client, 0},
    {"ndpiSshServerSignature", 0,     0,   0,       S,                false, "ssh_server_signature",  NULL, get_ssh_server, 0},
    {"ndpiTlsVersion",      0,        0,   0,       ET_UNSIGNED, 2, false, "tls_version",             NULL, get_tls_version, 0},
    {"ndpiTlsCipher",       0,        0,   0,       ET_UNSIGNED, 2, false, "tls_cipher",              NULL, get_tls_cipher, 0},
    {"ndpiTlsAlpn",         0,        0,   0,       S,                false, "tls_alpn",              NULL, get_tls_alpn, 0},
    {"ndpiTlsIssuer",       0,        0,   0,       S,                false, "tls_issuer",            NULL, get_tls_issuer, 0},
    {"ndpiTlsSubject",      0,        0,   0,       S,                false, "tls_subject",           NULL, get_tls_subject, 0},
    {"ndpiTlsNotBefore",    0,        0,   0,       ET_UNSIGNED, 4, false, "tls_not_before",          NULL, get_tls_not_before, 0},
    {"ndpiTlsNotAfter",     0,        0,   0,       ET_UNSIGNED, 4, false, "tls_not_after",           NULL, get_tls_not_after, 0},
};
#undef S

int dpi_extend(struct dpi *d, size_t *offset, char *err, size_t errlen)
{
    rows[0].len = (uint16_t)dpi_app_id_len();
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        rows[i].per_flow = true;    /* what nDPI says of a flow holds both ways */
    return extend_register(dpi_extension(d), rows, sizeof rows / sizeof rows[0],
                           template_builtin("dpi"), offset, err, errlen);
}
