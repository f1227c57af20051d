/* fuzz_export.c — every encoder's output read back and compared with what
 * was metered.
 *
 * Input: flow records, field by field (common.h: reads past the end give
 * zeros), up to MAX_RECORDS. They go through the IPFIX encoder (one-way
 * records, and RFC 5103 biflow records), NetFlow v9, NetFlow v5 and JSON;
 * then each output is decoded by a reader that does not share the encoders'
 * code: IPFIX by libfixbuf's collecting side (the messages as a collector
 * gets them, transcoded into a template of our own), v9, v5 and JSON by the
 * readers below, which know the formats from their specifications (RFC 3954,
 * Cisco's v5 layout, nfstream's member names), not from probe/export.
 * Checked: each one-way record (each direction with packets, in order; v5:
 * IPv4 only, a counter beyond 32 bits spread over consecutive records) has
 * the addresses, ports, protocol, packets, octets and times it was given. */
#include <arpa/inet.h>
#include <fixbuf/public.h>
#include <fixbuf/private.h>     /* fBufRewind(), as collector-test uses it */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "encoder.h"
#include "export.h"
#include "json.h"
#include "record.h"
#include "util.h"

#define MAX_RECORDS 64
#define MAX_ONEWAY (MAX_RECORDS * 2 * 8)    /* v5 splits a direction into a few */
#define BASE_MS 1700000000000ull

/* One direction of a flow as a reader sees it. */
struct oneway {
    uint8_t version;
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint8_t proto;
    uint8_t tcp_flags;
    uint64_t packets, octets;
    uint64_t first_ms, last_ms;
    uint64_t rpackets, roctets;     /* IPFIX biflow: the reverse direction */
};

struct oneway_list {
    struct oneway w[MAX_ONEWAY];
    size_t n;
};

static struct flow_record records[MAX_RECORDS];
static size_t nrecords;

/* ---- records from the input ----------------------------------------------- */

static void make_times(struct fuzz_input *in, struct flow_record *r, int d)
{
    r->first_ms[d] = BASE_MS + fuzz_u16(in) * 1000ull + fuzz_u8(in);
    r->last_ms[d] = r->first_ms[d] + fuzz_u16(in) * 16ull;
}

static void make_record(struct fuzz_input *in, struct flow_record *r)
{
    static const uint8_t protos[] = {6, 17, 1, 58, 47, 132, 6, 17};
    uint8_t kind = fuzz_u8(in);
    memset(r, 0, sizeof *r);
    r->id = nrecords + 1;
    r->ip_version = kind & 1 ? 6 : 4;
    r->proto = protos[kind >> 1 & 7];
    if (r->proto == 58 && r->ip_version == 4)
        r->proto = 1;
    if (r->proto == 1 && r->ip_version == 6)
        r->proto = 58;
    size_t alen = r->ip_version == 6 ? 16 : 4, got;
    memcpy(r->src, fuzz_bytes(in, alen, &got), got);
    memcpy(r->dst, fuzz_bytes(in, alen, &got), got);
    if (r->proto == 6 || r->proto == 17 || r->proto == 132) {
        r->sport = fuzz_u16(in);
        r->dport = fuzz_u16(in);
    }
    if (r->proto == 1 || r->proto == 58) {
        r->icmp_type_code[0] = fuzz_u16(in);
        r->icmp_type_code[1] = fuzz_u16(in);
    }
    r->vlan = fuzz_u16(in) & 0xfff;
    if (r->proto == 6) {
        r->tcp_flags[0] = fuzz_u8(in);
        r->tcp_flags[1] = fuzz_u8(in);
    }
    /* Counters up to 2^34 (v5 spreads them over up to 4 records each). */
    for (int d = 0; d < 2; d++) {
        uint8_t high = fuzz_u8(in);
        r->packets[d] = (uint64_t)(high & 3) << 32 | fuzz_u32(in);
        r->ip_octets[d] = (uint64_t)(high >> 2 & 3) << 32 | fuzz_u32(in);
        r->l2_octets[d] = r->ip_octets[d] + 14 * (r->packets[d] & 0xffff);
    }
    if (r->packets[0] == 0)     /* the initiator sent the first packet */
        r->packets[0] = 1;
    make_times(in, r, 0);
    if (r->packets[1])
        make_times(in, r, 1);
    r->end_reason = 1 + fuzz_u8(in) % 5;
}

/* What a one-way reader must find: each direction with packets, in order. */
static void expected_oneways(bool ipv4_only, struct oneway_list *out)
{
    out->n = 0;
    for (size_t i = 0; i < nrecords; i++) {
        const struct flow_record *r = &records[i];
        if (ipv4_only && r->ip_version != 4)
            continue;
        for (int d = 0; d < 2; d++) {
            if (!r->packets[d])
                continue;
            struct oneway *w = &out->w[out->n++];
            memset(w, 0, sizeof *w);
            w->version = r->ip_version;
            memcpy(w->src, d ? r->dst : r->src, 16);
            memcpy(w->dst, d ? r->src : r->dst, 16);
            w->sport = d ? r->dport : r->sport;
            w->dport = d ? r->sport : r->dport;
            w->proto = r->proto;
            w->tcp_flags = r->tcp_flags[d];
            w->packets = r->packets[d];
            w->octets = r->ip_octets[d];
            w->first_ms = r->first_ms[d];
            w->last_ms = r->last_ms[d];
        }
    }
}

static void compare(const char *format, const struct oneway_list *want, const struct oneway_list *got,
                    bool with_flags)
{
    if (want->n != got->n)
        fuzz_fail("%s: %zu records read back, %zu sent", format, got->n, want->n);
    for (size_t i = 0; i < want->n; i++) {
        const struct oneway *a = &want->w[i], *b = &got->w[i];
        if (a->version != b->version || memcmp(a->src, b->src, 16) || memcmp(a->dst, b->dst, 16) ||
            a->sport != b->sport || a->dport != b->dport || a->proto != b->proto)
            fuzz_fail("%s: record %zu: addresses, ports or protocol differ", format, i);
        if (a->packets != b->packets || a->octets != b->octets)
            fuzz_fail("%s: record %zu: %llu packets %llu octets sent, %llu %llu read", format, i,
                      (unsigned long long)a->packets, (unsigned long long)a->octets,
                      (unsigned long long)b->packets, (unsigned long long)b->octets);
        if (a->rpackets != b->rpackets || a->roctets != b->roctets)
            fuzz_fail("%s: record %zu: reverse counters differ", format, i);
        if (a->first_ms != b->first_ms || a->last_ms != b->last_ms)
            fuzz_fail("%s: record %zu: times %llu-%llu sent, %llu-%llu read", format, i,
                      (unsigned long long)a->first_ms, (unsigned long long)a->last_ms,
                      (unsigned long long)b->first_ms, (unsigned long long)b->last_ms);
        if (with_flags && a->proto == 6 && a->tcp_flags != b->tcp_flags)
            fuzz_fail("%s: record %zu: TCP flags %#x sent, %#x read", format, i, a->tcp_flags,
                      b->tcp_flags);
    }
}

/* ---- the encoders' messages, kept for the readers ------------------------- */

struct messages {
    uint8_t *buf;
    size_t len, cap;
    size_t starts[4096];
    size_t n;
};

static int keep_message(void *ctx, const uint8_t *msg, size_t len, uint32_t nrec, enum msg_kind kind)
{
    (void)nrec, (void)kind;
    struct messages *m = ctx;
    if (m->n == sizeof m->starts / sizeof m->starts[0])
        fuzz_fail("more than %zu messages", m->n);
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->buf = realloc(m->buf, m->cap);
        if (!m->buf)
            abort();
    }
    memcpy(m->buf + m->len, msg, len);
    m->starts[m->n++] = m->len;
    m->len += len;
    return 0;
}

static const uint8_t *message_at(const struct messages *m, size_t i, size_t *len)
{
    size_t end = i + 1 < m->n ? m->starts[i + 1] : m->len;
    *len = end - m->starts[i];
    return m->buf + m->starts[i];
}

/* The built-in templates, parsed once (LLVMFuzzerInitialize()): they do not
 * depend on the input. */
static struct template_def default_template, biflow_template;

static void encode_all(enum export_format f, bool biflow, const struct template_def *t,
                       struct messages *out)
{
    char err[512] = "";
    struct encoder_config cfg = {f, 3, 1400, biflow, 0, t};
    out->len = out->n = 0;
    struct encoder *e = encoder_new(&cfg, keep_message, out, err, sizeof err);
    if (!e)
        fuzz_fail("encoder: %s", err);
    if (encoder_send_templates(e) < 0)
        fuzz_fail("templates refused");
    for (size_t i = 0; i < nrecords; i++)
        if (encoder_add_flow(e, &records[i]) < 0)
            fuzz_fail("record %zu refused", i);
    if (encoder_flush(e) < 0)
        fuzz_fail("flush failed");
    encoder_free(e);
}

/* ---- IPFIX, through libfixbuf --------------------------------------------- */

#define READ_TID 0x9999

struct ipfix_rec {
    uint64_t start, end;
    uint32_t sip4, dip4;
    uint8_t sip6[16], dip6[16];
    uint16_t sport, dport, vlan, flags;
    uint8_t proto, version;
    uint64_t packets, octets, rpackets, roctets;
} __attribute__((packed));

static fbInfoElementSpec_t read_spec[] = {
    {"flowStartMilliseconds", 8, 0}, {"flowEndMilliseconds", 8, 0},
    {"sourceIPv4Address", 4, 0}, {"destinationIPv4Address", 4, 0},
    {"sourceIPv6Address", 16, 0}, {"destinationIPv6Address", 16, 0},
    {"sourceTransportPort", 2, 0}, {"destinationTransportPort", 2, 0},
    {"vlanId", 2, 0}, {"tcpControlBits", 2, 0},
    {"protocolIdentifier", 1, 0}, {"ipVersion", 1, 0},
    {"packetDeltaCount", 8, 0}, {"octetDeltaCount", 8, 0},
    {"reversePacketDeltaCount", 8, 0}, {"reverseOctetDeltaCount", 8, 0},
    FB_IESPEC_NULL,
};

static void oneway_of_ipfix(const struct ipfix_rec *x, struct oneway *w)
{
    memset(w, 0, sizeof *w);
    w->version = x->version;
    if (x->version == 4) {
        uint32_t s = htonl(x->sip4), d = htonl(x->dip4);
        memcpy(w->src, &s, 4);
        memcpy(w->dst, &d, 4);
    } else {
        memcpy(w->src, x->sip6, 16);
        memcpy(w->dst, x->dip6, 16);
    }
    w->sport = x->sport, w->dport = x->dport, w->proto = x->proto;
    w->tcp_flags = (uint8_t)x->flags;
    w->packets = x->packets, w->octets = x->octets;
    w->rpackets = x->rpackets, w->roctets = x->roctets;
    w->first_ms = x->start, w->last_ms = x->end;
}

static void read_ipfix(const struct messages *m, struct oneway_list *out)
{
    GError *err = NULL;
    static fbInfoModel_t *model;
    if (!model)
        model = fbInfoModelAlloc();
    fbSession_t *session = fbSessionAlloc(model);
    fbTemplate_t *mine = fbTemplateAlloc(model);
    if (!fbTemplateAppendSpecArray(mine, read_spec, 0xffffffff, &err) ||
        !fbSessionAddTemplate(session, TRUE, READ_TID, mine, &err))
        fuzz_fail("libfixbuf: %s", err->message);
    fBuf_t *fbuf = fBufAllocForCollection(session, NULL);
    out->n = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t len;
        const uint8_t *msg = message_at(m, i, &len);
        fBufSetBuffer(fbuf, (uint8_t *)msg, len);
        for (;;) {
            uint16_t tid = 0;
            fbTemplate_t *t = fBufNextCollectionTemplate(fbuf, &tid, &err);
            if (!t)
                break;
            bool options = fbTemplateGetOptionsScope(t) > 0;
            struct ipfix_rec x;
            size_t xlen = sizeof x;
            memset(&x, 0, sizeof x);
            if (!fBufSetInternalTemplate(fbuf, READ_TID, &err) || !fBufNext(fbuf, (uint8_t *)&x, &xlen, &err))
                break;
            if (options)
                continue;
            if (out->n == MAX_ONEWAY)
                fuzz_fail("IPFIX: more records than sent");
            oneway_of_ipfix(&x, &out->w[out->n++]);
        }
        /* EOM or BUFSZ: the message was read to its end (collector-test) */
        if (err && !g_error_matches(err, FB_ERROR_DOMAIN, FB_ERROR_EOM) &&
            !g_error_matches(err, FB_ERROR_DOMAIN, FB_ERROR_BUFSZ))
            fuzz_fail("IPFIX: message %zu: libfixbuf: %s", i, err->message);
        if (!err)
            fBufRewind(fbuf);
        g_clear_error(&err);
    }
    fBufFree(fbuf);     /* frees the session and its templates */
}

/* ---- NetFlow v9 (RFC 3954) ----------------------------------------------- */

struct v9_template {
    uint16_t id, nfields;
    uint16_t type[64], len[64];
};

static uint64_t be_uint(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n && i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void v9_field(struct oneway *w, uint16_t type, const uint8_t *p, uint16_t len, uint64_t boot_ms)
{
    switch (type) {
    case 1: w->octets = be_uint(p, len); break;            /* IN_BYTES */
    case 2: w->packets = be_uint(p, len); break;           /* IN_PKTS */
    case 4: w->proto = p[0]; break;                        /* PROTOCOL */
    case 6: w->tcp_flags = (uint8_t)be_uint(p, len); break; /* TCP_FLAGS */
    case 7: w->sport = (uint16_t)be_uint(p, len); break;   /* L4_SRC_PORT */
    case 11: w->dport = (uint16_t)be_uint(p, len); break;  /* L4_DST_PORT */
    case 8: memcpy(w->src, p, 4); w->version = 4; break;   /* IPV4_SRC_ADDR */
    case 12: memcpy(w->dst, p, 4); break;                  /* IPV4_DST_ADDR */
    case 27: memcpy(w->src, p, 16); w->version = 6; break; /* IPV6_SRC_ADDR */
    case 28: memcpy(w->dst, p, 16); break;                 /* IPV6_DST_ADDR */
    case 22: w->first_ms = boot_ms + be_uint(p, len); break;   /* FIRST_SWITCHED */
    case 21: w->last_ms = boot_ms + be_uint(p, len); break;    /* LAST_SWITCHED */
    default: break;
    }
}

static void v9_templates(const uint8_t *p, size_t n, struct v9_template *t, size_t *nt)
{
    while (n >= 4) {
        uint16_t id = rd16(p), count = rd16(p + 2);
        p += 4, n -= 4;
        if (count > 64 || n < count * 4u || *nt == 16)
            fuzz_fail("v9: bad template %u", id);
        struct v9_template *x = NULL;
        for (size_t i = 0; i < *nt; i++)
            if (t[i].id == id)
                x = &t[i];
        if (!x)
            x = &t[(*nt)++];
        x->id = id, x->nfields = count;
        for (uint16_t i = 0; i < count; i++)
            x->type[i] = rd16(p + 4 * i), x->len[i] = rd16(p + 4 * i + 2);
        p += count * 4u, n -= count * 4u;
    }
}

static void v9_data(const uint8_t *p, size_t n, const struct v9_template *t, uint64_t boot_ms,
                    struct oneway_list *out)
{
    size_t reclen = 0;
    for (uint16_t i = 0; i < t->nfields; i++)
        reclen += t->len[i];
    if (!reclen)
        fuzz_fail("v9: empty template %u", t->id);
    for (; n >= reclen; p += reclen, n -= reclen) {   /* what is left is padding */
        if (out->n == MAX_ONEWAY)
            fuzz_fail("v9: more records than sent");
        struct oneway *w = &out->w[out->n++];
        memset(w, 0, sizeof *w);
        const uint8_t *f = p;
        for (uint16_t i = 0; i < t->nfields; f += t->len[i], i++)
            v9_field(w, t->type[i], f, t->len[i], boot_ms);
    }
}

static void read_v9(const struct messages *m, struct oneway_list *out)
{
    struct v9_template t[16];
    size_t nt = 0;
    out->n = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t len;
        const uint8_t *msg = message_at(m, i, &len);
        if (len < 20 || rd16(msg) != 9)
            fuzz_fail("v9: message %zu is not NetFlow v9", i);
        uint64_t boot_ms = rd32(msg + 8) * 1000ull - rd32(msg + 4);
        for (size_t off = 20; off + 4 <= len;) {
            uint16_t id = rd16(msg + off), slen = rd16(msg + off + 2);
            if (slen < 4 || off + slen > len)
                fuzz_fail("v9: message %zu: flowset length %u", i, slen);
            const uint8_t *body = msg + off + 4;
            if (id == 0)
                v9_templates(body, slen - 4u, t, &nt);
            for (size_t k = 0; id >= 256 && k < nt; k++)
                if (t[k].id == id)
                    v9_data(body, slen - 4u, &t[k], boot_ms, out);
            off += slen;
        }
    }
}

/* ---- NetFlow v5 ------------------------------------------------------------ */

static void read_v5(const struct messages *m, struct oneway_list *out)
{
    out->n = 0;
    for (size_t i = 0; i < m->n; i++) {
        size_t len;
        const uint8_t *msg = message_at(m, i, &len);
        uint16_t count = len >= 24 ? rd16(msg + 2) : 0;
        if (len < 24 || rd16(msg) != 5 || len != 24 + 48u * count)
            fuzz_fail("v5: message %zu: %zu bytes, %u records", i, len, count);
        uint64_t boot_ms = rd32(msg + 8) * 1000ull + rd32(msg + 12) / 1000000 - rd32(msg + 4);
        for (uint16_t k = 0; k < count; k++) {
            const uint8_t *p = msg + 24 + 48 * k;
            struct oneway w = {.version = 4};
            memcpy(w.src, p, 4);
            memcpy(w.dst, p + 4, 4);
            w.packets = rd32(p + 16), w.octets = rd32(p + 20);
            w.first_ms = boot_ms + rd32(p + 24), w.last_ms = boot_ms + rd32(p + 28);
            w.proto = p[38], w.tcp_flags = p[37];
            bool icmp = w.proto == 1;
            w.sport = icmp ? 0 : rd16(p + 32), w.dport = icmp ? 0 : rd16(p + 34);
            if (out->n == MAX_ONEWAY)
                fuzz_fail("v5: more records than sent");
            out->w[out->n++] = w;
        }
    }
}

/* A direction too big for v5's 32-bit counters comes as consecutive records
 * of the same flow: add them up, each part to the direction sent. */
static void merge_v5_parts(const struct oneway_list *want, struct oneway_list *got)
{
    size_t k = 0, n = 0;
    for (size_t i = 0; i < want->n && k < got->n; i++) {
        struct oneway sum = got->w[k++];
        while ((sum.packets < want->w[i].packets || sum.octets < want->w[i].octets) && k < got->n) {
            const struct oneway *part = &got->w[k++];
            if (memcmp(part->src, sum.src, 16) || memcmp(part->dst, sum.dst, 16) ||
                part->first_ms != sum.first_ms || part->last_ms != sum.last_ms)
                fuzz_fail("v5: record %zu (%llu packets %llu octets, %llu-%llu ms): a part of another flow "
                          "(%llu packets %llu octets, %llu-%llu ms)", i,
                          (unsigned long long)want->w[i].packets, (unsigned long long)want->w[i].octets,
                          (unsigned long long)sum.first_ms, (unsigned long long)sum.last_ms,
                          (unsigned long long)part->packets, (unsigned long long)part->octets,
                          (unsigned long long)part->first_ms, (unsigned long long)part->last_ms);
            sum.packets += part->packets, sum.octets += part->octets;
        }
        got->w[n++] = sum;
    }
    while (k < got->n)
        got->w[n++] = got->w[k++];
    got->n = n;
}

/* ---- JSON (nfstream's names) -------------------------------------------- */

static uint64_t json_number(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (!p)
        fuzz_fail("JSON: no %s in %s", key, line);
    return strtoull(p + strlen(pat), NULL, 10);
}

static void json_string(const char *line, const char *key, char *out, size_t outlen)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(line, pat);
    if (!p)
        fuzz_fail("JSON: no %s in %s", key, line);
    p += strlen(pat);
    size_t n = strcspn(p, "\"");
    if (n >= outlen)
        fuzz_fail("JSON: %s too long", key);
    memcpy(out, p, n);
    out[n] = '\0';
}

static void check_json(void)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        abort();
    for (size_t i = 0; i < nrecords; i++)
        if (json_write_record(f, &records[i]) < 0)
            fuzz_fail("JSON: record %zu refused", i);
    fclose(f);
    char *line = text;
    for (size_t i = 0; i < nrecords; i++) {
        char *nl = strchr(line, '\n');
        if (!nl)
            fuzz_fail("JSON: %zu lines for %zu records", i, nrecords);
        *nl = '\0';
        const struct flow_record *r = &records[i];
        char want[INET6_ADDRSTRLEN], got[INET6_ADDRSTRLEN];
        const char *names[2] = {"src_ip", "dst_ip"};
        for (int k = 0; k < 2; k++) {
            inet_ntop(r->ip_version == 6 ? AF_INET6 : AF_INET, k ? r->dst : r->src, want, sizeof want);
            json_string(line, names[k], got, sizeof got);
            if (strcmp(want, got))
                fuzz_fail("JSON: record %zu: %s %s, sent %s", i, names[k], got, want);
        }
        if (json_number(line, "src_port") != r->sport || json_number(line, "dst_port") != r->dport ||
            json_number(line, "protocol") != r->proto ||
            json_number(line, "src2dst_packets") != r->packets[0] ||
            json_number(line, "dst2src_packets") != r->packets[1] ||
            json_number(line, "src2dst_bytes") != r->ip_octets[0] ||
            json_number(line, "dst2src_bytes") != r->ip_octets[1] ||
            json_number(line, "bidirectional_first_seen_ms") != record_first_ms(r) ||
            json_number(line, "bidirectional_last_seen_ms") != record_last_ms(r))
            fuzz_fail("JSON: record %zu differs: %s", i, line);
        line = nl + 1;
    }
    if (*line)
        fuzz_fail("JSON: more lines than records");
    free(text);
}

/* ---- the target ------------------------------------------------------------ */

static void check_ipfix_biflow(struct messages *m)
{
    static struct oneway_list want_list, got_list;     /* 80 KiB each */
    struct oneway_list *want = &want_list, *got = &got_list;
    want->n = 0;
    for (size_t i = 0; i < nrecords; i++) {
        const struct flow_record *r = &records[i];
        struct oneway *w = &want->w[want->n++];
        memset(w, 0, sizeof *w);
        w->version = r->ip_version;
        memcpy(w->src, r->src, 16);
        memcpy(w->dst, r->dst, 16);
        w->sport = r->sport, w->dport = r->dport, w->proto = r->proto;
        w->tcp_flags = r->tcp_flags[0];
        w->packets = r->packets[0], w->octets = r->ip_octets[0];
        w->rpackets = r->packets[1], w->roctets = r->ip_octets[1];
        w->first_ms = record_first_ms(r), w->last_ms = record_last_ms(r);
    }
    encode_all(FORMAT_IPFIX, true, &biflow_template, m);
    read_ipfix(m, got);
    compare("IPFIX biflow", want, got, true);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[512] = "";
    log_set_quiet(true);
    if (exporter_load_template("default", &default_template, err, sizeof err) < 0 ||
        exporter_load_template("biflow", &biflow_template, err, sizeof err) < 0)
        fuzz_fail("built-in template: %s", err);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct messages m;
    static struct oneway_list want, got;
    struct fuzz_input in = {data, size};
    nrecords = 0;
    while (in.left && nrecords < MAX_RECORDS) {
        make_record(&in, &records[nrecords]);
        nrecords++;
    }

    expected_oneways(false, &want);
    encode_all(FORMAT_IPFIX, false, &default_template, &m);
    read_ipfix(&m, &got);
    compare("IPFIX", &want, &got, true);
    check_ipfix_biflow(&m);

    encode_all(FORMAT_NETFLOW9, false, &default_template, &m);
    read_v9(&m, &got);
    compare("NetFlow v9", &want, &got, true);

    expected_oneways(true, &want);
    encode_all(FORMAT_NETFLOW5, false, &default_template, &m);
    read_v5(&m, &got);
    merge_v5_parts(&want, &got);
    compare("NetFlow v5", &want, &got, true);

    check_json();
    return 0;
}
