#include "ntopng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dpi.h"        /* PEN_NTOP */
#include "elements.h"
#include "json.h"
#include "textbuf.h"
#include "util.h"

/* nProbe's field ids (NetFlow v9 numbering, which nProbe's JSON uses). */
enum {
    NP_IN_BYTES = 1, NP_IN_PKTS = 2, NP_PROTOCOL = 4, NP_L4_SRC_PORT = 7, NP_IPV4_SRC_ADDR = 8,
    NP_L4_DST_PORT = 11, NP_IPV4_DST_ADDR = 12, NP_LAST_SWITCHED = 21, NP_FIRST_SWITCHED = 22,
    NP_OUT_BYTES = 23, NP_OUT_PKTS = 24, NP_IPV6_SRC_ADDR = 27, NP_IPV6_DST_ADDR = 28,
    NP_ICMP_TYPE = 32, NP_SRC_VLAN = 58,
    NP_CLIENT_TCP_FLAGS = NTOPNG_V9_ID(78), NP_SERVER_TCP_FLAGS = NTOPNG_V9_ID(79),
    NTOP_L7_PROTO = 118,
};

struct ntopng_encoder {
    struct ntopng_config cfg;
    ipfix_msg_fn out;
    void *ctx;
    struct textbuf msg;         /* "[" and the flows so far */
    struct textbuf flow;        /* the flow being formatted */
    uint32_t nflows;
    uint8_t *packed;            /* --zmq-compress: 0x00, then the zlib stream */
    size_t packed_cap;
    struct export_counters counters;
};

/* ---- one flow ------------------------------------------------------------------ */

/* An object's members: the first one opens it. */
struct object {
    struct textbuf *t;
    bool open;
};

static void name(struct object *o, const char *s)
{
    tb_put_bytes(o->t, o->open ? ",\"" : "{\"", 2);
    o->open = true;
    tb_put_text(o->t, s);
    tb_put_bytes(o->t, "\":", 2);
}

static void id_name(struct object *o, unsigned id)
{
    char s[12];
    snprintf(s, sizeof s, "%u", id);
    name(o, s);
}

static void member_u64(struct object *o, unsigned id, uint64_t v)
{
    id_name(o, id);
    tb_put_u64(o->t, v);
}

static void member_string(struct object *o, unsigned id, const char *s)
{
    id_name(o, id);
    tb_put_json_string(o->t, (const uint8_t *)s, strlen(s));
}

static void put_addresses(struct object *o, const struct flow_record *r)
{
    char src[64], dst[64];
    addr_to_string(r->ip_version, r->src, src, sizeof src);
    addr_to_string(r->ip_version, r->dst, dst, sizeof dst);
    bool v6 = r->ip_version == 6;
    member_string(o, v6 ? NP_IPV6_SRC_ADDR : NP_IPV4_SRC_ADDR, src);
    member_string(o, v6 ? NP_IPV6_DST_ADDR : NP_IPV4_DST_ADDR, dst);
}

/* Source = client = the initiator; IN_* count client to server, OUT_* server
 * to client, as deltas since the flow's previous record (an active timeout's
 * records add up in ntopng). Times in epoch seconds: ntopng shows a flow
 * only near its own clock. */
static void put_core(struct object *o, const struct flow_record *r, uint64_t shift_ms)
{
    put_addresses(o, r);
    member_u64(o, NP_L4_SRC_PORT, r->sport);
    member_u64(o, NP_L4_DST_PORT, r->dport);
    member_u64(o, NP_PROTOCOL, r->proto);
    member_u64(o, NP_IN_BYTES, r->ip_octets[DIR_FWD]);
    member_u64(o, NP_IN_PKTS, r->packets[DIR_FWD]);
    member_u64(o, NP_OUT_BYTES, r->ip_octets[DIR_REV]);
    member_u64(o, NP_OUT_PKTS, r->packets[DIR_REV]);
    member_u64(o, NP_FIRST_SWITCHED, (record_first_ms(r) + shift_ms) / 1000);
    member_u64(o, NP_LAST_SWITCHED, (record_last_ms(r) + shift_ms) / 1000);
    if (r->proto == 6) {
        member_u64(o, NP_CLIENT_TCP_FLAGS, r->tcp_flags[DIR_FWD]);
        member_u64(o, NP_SERVER_TCP_FLAGS, r->tcp_flags[DIR_REV]);
    }
    if (r->proto == 1 || r->proto == 58)
        member_u64(o, NP_ICMP_TYPE, r->icmp_type_code[DIR_FWD]);
    if (r->vlan)
        member_u64(o, NP_SRC_VLAN, r->vlan);
}

static bool read_number(const char *elem, const struct flow_record *r, uint64_t *out)
{
    const struct element *el = elements_find(elem);
    struct elem_value v;
    memset(&v, 0, sizeof v);
    if (!el || !element_get(el, r, VIEW_BIFLOW, &v))
        return false;
    *out = v.u;
    return true;
}

/* L7_PROTO as nProbe writes it for ntopng: "master.app" (nDPI ids, "91.126"
 * TLS.Google), or the app alone when it has no other master. */
static void put_l7_proto(struct object *o, const struct flow_record *r)
{
    uint64_t master, app;
    if (!read_number("ndpiMasterProtocol", r, &master) || !read_number("ndpiAppProtocol", r, &app))
        return;
    char s[24];
    if (master && master != app)
        snprintf(s, sizeof s, "%u.%u", (unsigned)master, (unsigned)app);
    else
        snprintf(s, sizeof s, "%u", (unsigned)app);
    member_string(o, NTOPNG_V9_ID(NTOP_L7_PROTO), s);
}

/* The DPI's and plugins' values: ntop's elements under nProbe's ids (SNI
 * 57660, DNS query 57677, ...), the others under their JSON names, which
 * ntopng keeps as extra fields of the flow. */
static void put_extension_rows(struct object *o, const struct flow_record *r)
{
    for (size_t i = elements_builtin_count(); i < elements_count(); i++) {
        const struct element *el = elements_at(i);
        bool ntop = el->pen == PEN_NTOP;
        if ((ntop && el->id == NTOP_L7_PROTO) || (!ntop && !el->json))
            continue;
        struct elem_value v;
        memset(&v, 0, sizeof v);
        /* nDPI's empty strings say "not seen": ntopng would keep them as values */
        if (!element_get(el, r, VIEW_BIFLOW, &v) || (el->type == ET_STRING && v.nbytes == 0))
            continue;
        if (ntop)
            id_name(o, NTOPNG_V9_ID(el->id));
        else
            name(o, el->json);
        json_put_value(o->t, el, &v);
    }
    put_l7_proto(o, r);
}

int ntopng_format_flow(struct textbuf *out, const struct flow_record *r, uint64_t shift_ms)
{
    struct object o = {out, false};
    put_core(&o, r, shift_ms);
    put_extension_rows(&o, r);
    tb_put_char(out, '}');
    return out->failed ? -1 : 0;
}

/* ---- messages --------------------------------------------------------------- */

struct ntopng_encoder *ntopng_new(const struct ntopng_config *cfg, ipfix_msg_fn out, void *ctx,
                                  char *err, size_t errlen)
{
    struct ntopng_encoder *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->cfg = *cfg;
    e->out = out;
    e->ctx = ctx;
    return e;
}

void ntopng_free(struct ntopng_encoder *e)
{
    if (!e)
        return;
    tb_free(&e->msg);
    tb_free(&e->flow);
    free(e->packed);
    free(e);
}

/* ntopng takes a payload whose first byte is 0 as a zlib stream (RFC 1950)
 * of the JSON, unpacked into at most max(5 x its size, 16 KiB): our JSON is
 * at most 16 KiB but for a single larger flow, which packs well. */
static int pack(struct ntopng_encoder *e, const char **p, size_t *len)
{
    uLongf packed_len = compressBound((uLong)*len);
    if (1 + packed_len > e->packed_cap) {
        uint8_t *b = realloc(e->packed, 1 + packed_len);
        if (!b)
            return -1;
        e->packed = b;
        e->packed_cap = 1 + packed_len;
    }
    if (compress2(e->packed + 1, &packed_len, (const Bytef *)*p, (uLong)*len, Z_DEFAULT_COMPRESSION) != Z_OK)
        return -1;
    e->packed[0] = 0;
    *p = (const char *)e->packed;
    *len = 1 + packed_len;
    return 0;
}

int ntopng_flush(struct ntopng_encoder *e)
{
    if (!e->nflows)
        return 0;
    tb_put_char(&e->msg, ']');
    size_t len = e->msg.len;
    const char *p = e->msg.p;
    uint32_t n = e->nflows;
    e->nflows = 0;
    if (e->msg.failed) {
        tb_reset(&e->msg);
        return -1;
    }
    if (e->cfg.compress && pack(e, &p, &len) < 0) {
        tb_reset(&e->msg);
        return -1;
    }
    e->counters.messages++;
    e->counters.records += n;
    e->counters.octets += len;
    int rc = e->out(e->ctx, (const uint8_t *)p, len, n, MSG_DATA);
    tb_reset(&e->msg);
    return rc;
}

/* --zmq-now: the flow moves to end now, its duration kept. */
static uint64_t time_shift_ms(const struct ntopng_encoder *e, const struct flow_record *r)
{
    if (!e->cfg.times_now)
        return 0;
    uint64_t now = now_wall_us() / 1000, last = record_last_ms(r);
    return now > last ? now - last : 0;
}

int ntopng_add_flow(struct ntopng_encoder *e, const struct flow_record *r)
{
    tb_reset(&e->flow);
    if (ntopng_format_flow(&e->flow, r, time_shift_ms(e, r)) < 0)
        return -1;
    size_t len = e->flow.len, have = e->msg.len;
    /* a message the transport lost is counted there, not as unencodable */
    if (e->nflows && (e->nflows == NTOPNG_MAX_FLOWS || have + 1 + len + 1 > NTOPNG_MAX_PAYLOAD))
        ntopng_flush(e);
    tb_put_char(&e->msg, e->nflows ? ',' : '[');
    tb_put_bytes(&e->msg, e->flow.p, len);
    e->nflows++;
    return 0;
}

const struct export_counters *ntopng_counters(const struct ntopng_encoder *e)
{
    return &e->counters;
}
