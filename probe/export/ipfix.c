#include "ipfix.h"

#include <endian.h>
#include <fixbuf/public.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ntptime.h"
#include "selector.h"
#include "util.h"

/* One encodable template: its element list, its id, and the size of the
 * record laid out in libfixbuf's internal form (fields packed in order). */
struct wire_op;
struct encoded_template {
    struct template_def def;
    uint16_t tid;
    size_t per_flow_from;   /* fields from here on are per_flow (nfields: none) */
    struct wire_op *ops;    /* how each field is written; built at the first record */
};

/* One enterprise element described to collectors (RFC 5610). */
struct ietype {
    uint32_t pen;
    uint16_t id;
    uint8_t type;               /* IANA informationElementDataType (libfixbuf's FB_*) */
    char name[160];
};

struct ipfix_encoder {
    fbInfoModel_t *model;
    fbSession_t *session;
    fBuf_t *fbuf;               /* owns session and exporter */
    uint8_t *msgbuf;
    bool biflow;
    bool message_open;          /* something appended since the last emit */
    uint32_t records_in_message;
    uint32_t msg_records;       /* data records of any template in the open message */
    bool told_append_error;     /* one message; the rest are counted */
    bool sending_setup;         /* messages now are MSG_SETUP (after the templates) */
    uint32_t sequence;          /* data records appended so far, options included (RFC 7011) */
    struct encoded_template v4, v6;
    uint16_t stats_tid;
    uint16_t worker_stats_tid;
    const struct ipfix_app_table *apps; /* application names, NULL: none */
    uint16_t apps_tid;
    struct ietype *ietypes;     /* enterprise elements of the flow templates */
    size_t nietypes;
    uint16_t ietype_tid;        /* 0: no enterprise elements, no template */
    uint16_t selector_tids[SELECTORS_MAX];  /* RFC 5476 selector reports, 0: none */
    uint32_t domain;
    uint16_t mtu;
    uint8_t *dmsg;              /* the message flow records are written into (mtu bytes) */
    size_t dlen;                /* its length so far, 0: none open */
    size_t dset_at;             /* offset of its open data set, 0: none */
    uint16_t dset_tid;
    uint8_t *shared;            /* the per_flow fields of the flow being written, encoded */
    size_t shared_len;          /* 0: not yet */
    ipfix_msg_fn out;
    void *out_ctx;
    struct export_counters counters;
};

/* Options template: the probe's reliability statistics (RFC 7011 §4). */
static const char *const stats_fields[] = {
    "observationDomainId",          /* scope */
    "systemInitTimeMilliseconds",
    "packetTotalCount",
    "ignoredPacketTotalCount",
    "droppedPacketTotalCount",
    "observedFlowTotalCount",
    "notSentFlowTotalCount",
    "exportedMessageTotalCount",
    "exportedFlowRecordTotalCount",
    "exportedOctetTotalCount",
    "selectorIdTotalPktsObserved",
    "selectorIdTotalPktsSelected",
    "selectorIDTotalFlowsObserved",
    "selectorIDTotalFlowsSelected",
};
enum { STATS_SCOPE_COUNT = 1, STATS_NFIELDS = sizeof stats_fields / sizeof stats_fields[0] };

/* Each worker's own counters (its socket's kernel drops above all): RFC 7011
 * §4.1's metering process statistics, one record per worker, scoped by the
 * domain and the worker's meteringProcessId (its index). */
static const char *const worker_stats_fields[] = {
    "observationDomainId",          /* scope */
    "meteringProcessId",            /* scope */
    "packetTotalCount",
    "ignoredPacketTotalCount",
    "droppedPacketTotalCount",
    "observedFlowTotalCount",
};
enum {
    WORKER_STATS_SCOPE_COUNT = 2,
    WORKER_STATS_NFIELDS = sizeof worker_stats_fields / sizeof worker_stats_fields[0]
};

static void set_err(char *err, size_t errlen, const char *what, GError *gerr)
{
    snprintf(err, errlen, "%s: %s", what, gerr ? gerr->message : "failed");
    if (gerr)
        g_error_free(gerr);
}

static char *field_ipfix_name(const struct template_field *f, char *buf, size_t buflen)
{
    if (f->reverse) {
        element_reverse_name(f->elem->name, buf, buflen);
        return buf;
    }
    snprintf(buf, buflen, "%s", f->elem->name);
    return buf;
}

/* The IPFIX data type of a row (of one item, for a list row). libfixbuf's
 * FB_* constants are IANA's informationElementDataType values. */
static uint8_t fb_type_of(const struct element *el)
{
    switch (el->type) {
    case ET_STRING: return FB_STRING;
    case ET_OCTETS: return FB_OCTET_ARRAY;
    case ET_IPV4: return FB_IP4_ADDR;
    case ET_IPV6: return FB_IP6_ADDR;
    case ET_DATETIME_MS: return FB_DT_MILSEC;
    case ET_DATETIME_US: return FB_DT_MICROSEC;
    case ET_DATETIME_NS: return FB_DT_NANOSEC;
    case ET_FLOAT64: return FB_FLOAT_64;
    case ET_UNSIGNED: break;
    }
    return el->len == 1 ? FB_UINT_8 : el->len == 2 ? FB_UINT_16 : el->len == 4 ? FB_UINT_32
         : FB_UINT_64;
}

/* libfixbuf knows IANA's elements (and their reverse twins); teach it the
 * rows that extensions registered under their enterprise numbers. A list
 * row's element is the item of its basicList. */
static void ensure_in_model(fbInfoModel_t *model, const struct element *el)
{
    if (fbInfoModelGetElementByName(model, el->name))
        return;
    fbInfoElement_t ie;
    memset(&ie, 0, sizeof ie);
    ie.ref.name = el->name;
    ie.ent = el->pen;
    ie.num = el->id;
    ie.len = el->len;
    ie.flags = el->reversible ? FB_IE_F_REVERSIBLE : 0;
    /* Numbers travel in network order: libfixbuf swaps only elements
     * flagged as endian-sensitive, and put_value() and list items hold them
     * in host order. */
    if (el->type == ET_UNSIGNED || el->type == ET_DATETIME_MS || el->type == ET_FLOAT64 ||
        el->type == ET_IPV4 || el->type == ET_DATETIME_US || el->type == ET_DATETIME_NS)
        ie.flags |= FB_IE_F_ENDIAN;
    ie.type = fb_type_of(el);
    fbInfoModelAddElement(model, &ie);
}

/* A list row goes out as an RFC 6313 basicList (IANA 291, variable length)
 * whose items are the row's element (it must be of fixed length). */
static fbTemplate_t *build_template(fbInfoModel_t *model, const struct template_def *def,
                                    char *err, size_t errlen)
{
    fbTemplate_t *t = fbTemplateAlloc(model);
    for (size_t i = 0; i < def->nfields; i++) {
        const struct template_field *f = &def->fields[i];
        char name[160];
        if (f->elem->id == 0) {     /* a JSON-only row (DPI fields nProbe has no id for) */
            snprintf(err, errlen, "template %s: element %s has no IPFIX id (JSON only)",
                     def->name, f->elem->name);
            fbTemplateFreeUnused(t);
            return NULL;
        }
        ensure_in_model(model, f->elem);
        fbInfoElementSpec_t spec = {field_ipfix_name(f, name, sizeof name), f->elem->len, 0};
        if (f->elem->list) {
            const fbInfoElement_t *item = fbInfoModelGetElementByName(model, name);
            if (f->elem->len == ELEM_VARLEN || f->elem->len == 0 || !item ||
                item->len != f->elem->len) {
                snprintf(err, errlen, "template %s: element %s: a list needs items of a fixed "
                         "length (that of the information model)", def->name, name);
                fbTemplateFreeUnused(t);
                return NULL;
            }
            spec.name = (char *)"basicList";
            spec.len_override = FB_IE_VARLEN;
        }
        GError *gerr = NULL;
        if (!fbTemplateAppendSpec(t, &spec, 0, &gerr)) {
            char what[200];
            snprintf(what, sizeof what, "template %s: element %s", def->name, name);
            set_err(err, errlen, what, gerr);
            fbTemplateFreeUnused(t);
            return NULL;
        }
    }
    return t;
}

/* Fixed template ids keep a collector's view stable across refreshes and
 * restarts. */
enum { TID_IPV4 = 256, TID_IPV6 = 257, TID_STATS = 258, TID_WORKER_STATS = 263 };

static int add_template(struct ipfix_encoder *e, fbTemplate_t *t, uint16_t want, uint16_t *tid,
                        char *err, size_t errlen)
{
    GError *gerr = NULL;
    uint16_t id = fbSessionAddTemplate(e->session, TRUE, want, t, &gerr);
    /* Added after data went out (application names after the selector
     * reports), libfixbuf in manual mode refuses the template once with
     * "end of message" (see ipfix_send_templates()); the message is empty,
     * so asking again succeeds. */
    if (id && !fbSessionAddTemplate(e->session, FALSE, id, t, &gerr) &&
        g_error_matches(gerr, FB_ERROR_DOMAIN, FB_ERROR_EOM)) {
        g_clear_error(&gerr);
        fbSessionAddTemplate(e->session, FALSE, id, t, &gerr);
    }
    if (!id || gerr) {
        set_err(err, errlen, "adding template to session", gerr);
        return -1;
    }
    *tid = id;
    return 0;
}

static int setup_flow_template(struct ipfix_encoder *e, const struct template_def *def, int family,
                               uint16_t tid, struct encoded_template *et, char *err, size_t errlen)
{
    if (template_for_family(def, family, &et->def) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    fbTemplate_t *t = build_template(e->model, &et->def, err, errlen);
    if (!t)
        return -1;
    et->per_flow_from = et->def.nfields;
    while (et->per_flow_from > 0) {
        const struct template_field *f = &et->def.fields[et->per_flow_from - 1];
        if (!f->elem->per_flow || f->reverse)
            break;
        et->per_flow_from--;
    }
    return add_template(e, t, tid, &et->tid, err, errlen);
}

/* An options template of IANA elements, the first SCOPE of them the scope. */
static int setup_options_template(struct ipfix_encoder *e, const char *const *fields, size_t n,
                                  uint16_t scope, uint16_t tid, uint16_t *tid_out, char *err,
                                  size_t errlen)
{
    fbTemplate_t *t = fbTemplateAlloc(e->model);
    for (size_t i = 0; i < n; i++) {
        const fbInfoElement_t *ie = fbInfoModelGetElementByName(e->model, fields[i]);
        fbInfoElementSpec_t spec = {(char *)fields[i], ie ? ie->len : 0, 0};
        GError *gerr = NULL;
        if (!ie || !fbTemplateAppendSpec(t, &spec, 0, &gerr)) {
            set_err(err, errlen, "statistics options template", gerr);
            fbTemplateFreeUnused(t);
            return -1;
        }
    }
    fbTemplateSetOptionsScope(t, scope);
    return add_template(e, t, tid, tid_out, err, errlen);
}

static int setup_stats_templates(struct ipfix_encoder *e, char *err, size_t errlen)
{
    if (setup_options_template(e, stats_fields, STATS_NFIELDS, STATS_SCOPE_COUNT, TID_STATS,
                               &e->stats_tid, err, errlen) < 0)
        return -1;
    return setup_options_template(e, worker_stats_fields, WORKER_STATS_NFIELDS,
                                  WORKER_STATS_SCOPE_COUNT, TID_WORKER_STATS, &e->worker_stats_tid,
                                  err, errlen);
}

/* ---- RFC 5610: the names and types of our enterprise elements --------------- */

enum { TID_IETYPE = 260 };

/* What libfixbuf's collectors (fBufSetAutomaticInsert) require of an
 * information element type record: every field of its own type template
 * but the padding. */
static const struct {
    const char *name;
    uint16_t len;
} ietype_fields[] = {
    {"privateEnterpriseNumber", 4},         /* scope */
    {"informationElementId", 2},            /* scope */
    {"informationElementDataType", 1},
    {"informationElementSemantics", 1},
    {"informationElementUnits", 2},
    {"informationElementRangeBegin", 8},
    {"informationElementRangeEnd", 8},
    {"informationElementName", FB_IE_VARLEN},
    {"informationElementDescription", FB_IE_VARLEN},
};
enum { IETYPE_SCOPE_COUNT = 2 };

/* The enterprise elements a flow template uses, each once: ntop's and the
 * plugins', not IANA's nor their RFC 5103 reverse twins (PEN 29305). The
 * reverse twin of an enterprise element is that PEN's id | 0x4000. */
static int collect_ietypes(struct ipfix_encoder *e, const struct encoded_template *et)
{
    for (size_t i = 0; i < et->def.nfields; i++) {
        const struct template_field *f = &et->def.fields[i];
        const struct element *el = f->elem;
        if (el->pen == 0 || el->pen == PEN_REVERSE)
            continue;
        uint16_t id = (uint16_t)(f->reverse ? el->id | FB_IE_VENDOR_BIT_REVERSE : el->id);
        bool known = false;
        for (size_t j = 0; j < e->nietypes && !known; j++)
            known = e->ietypes[j].pen == el->pen && e->ietypes[j].id == id;
        if (known)
            continue;
        struct ietype *grown = realloc(e->ietypes, (e->nietypes + 1) * sizeof *grown);
        if (!grown)
            return -1;
        e->ietypes = grown;
        struct ietype *t = &e->ietypes[e->nietypes++];
        t->pen = el->pen;
        t->id = id;
        t->type = fb_type_of(el);
        field_ipfix_name(f, t->name, sizeof t->name);
    }
    return 0;
}

static int setup_ietype_template(struct ipfix_encoder *e, char *err, size_t errlen)
{
    if (collect_ietypes(e, &e->v4) < 0 || collect_ietypes(e, &e->v6) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (e->nietypes == 0)
        return 0;
    fbTemplate_t *t = fbTemplateAlloc(e->model);
    for (size_t i = 0; i < sizeof ietype_fields / sizeof ietype_fields[0]; i++) {
        fbInfoElementSpec_t spec = {(char *)ietype_fields[i].name, ietype_fields[i].len, 0};
        GError *gerr = NULL;
        if (!fbTemplateAppendSpec(t, &spec, 0, &gerr)) {
            set_err(err, errlen, "element types options template", gerr);
            fbTemplateFreeUnused(t);
            return -1;
        }
    }
    fbTemplateSetOptionsScope(t, IETYPE_SCOPE_COUNT);
    return add_template(e, t, TID_IETYPE, &e->ietype_tid, err, errlen);
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8), p[1] = (uint8_t)v;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Bytes written into a message, refusing to go past its end. */
struct wire {
    uint8_t *p;
    size_t len, cap;
    bool full;
};

static void w_bytes(struct wire *w, const void *src, size_t n)
{
    if (w->full || n > w->cap - w->len) {
        w->full = true;
        return;
    }
    if (n)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void w_zeros(struct wire *w, size_t n)
{
    if (w->full || n > w->cap - w->len) {
        w->full = true;
        return;
    }
    memset(w->p + w->len, 0, n);
    w->len += n;
}

/* An unsigned number in network order in len bytes (1..8). */
static void w_uint(struct wire *w, uint64_t v, size_t len)
{
    if (w->full || len > w->cap - w->len) {
        w->full = true;
        return;
    }
    uint8_t *p = w->p + w->len;
    w->len += len;
    switch (len) {
    case 1: *p = (uint8_t)v; return;
    case 2: { uint16_t x = htobe16((uint16_t)v); memcpy(p, &x, 2); return; }
    case 4: { uint32_t x = htobe32((uint32_t)v); memcpy(p, &x, 4); return; }
    case 8: { uint64_t x = htobe64(v); memcpy(p, &x, 8); return; }
    }
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
}

/* RFC 7011 §7: one length byte below 255, else 255 and two bytes. */
static void w_varlen_prefix(struct wire *w, size_t n, bool three_bytes)
{
    if (n < 255 && !three_bytes) {
        w_uint(w, n, 1);
        return;
    }
    w_uint(w, 255, 1);
    w_uint(w, n, 2);
}

/* informationElementDescription. Never short: libfixbuf 2.4's collectors
 * (fBufSetAutomaticInsert) stop reading type records when fewer bytes than
 * the length of their own type template definition (46) are left in the
 * set, so a short last record would be lost and the rest of the message
 * with it: this one makes every record at least 26 + 2 + 1 + 22 bytes. */
static size_t ietype_desc(const struct ietype *t, char *buf, size_t buflen)
{
    int n = snprintf(buf, buflen, "enterprise %u element %u", t->pen, t->id);
    return n < 0 ? 0 : (size_t)n < buflen ? (size_t)n : buflen - 1;
}

static void w_ietype(struct wire *w, const struct ietype *t)
{
    char desc[256];
    size_t d = ietype_desc(t, desc, sizeof desc), n = strlen(t->name);
    w_uint(w, t->pen, 4);
    w_uint(w, t->id, 2);
    w_uint(w, t->type, 1);
    w_uint(w, 0, 1);        /* semantics: default */
    w_uint(w, 0, 2);        /* units: none */
    w_zeros(w, 16);         /* range: none */
    w_varlen_prefix(w, n, false);
    w_bytes(w, t->name, n);
    w_varlen_prefix(w, d, false);
    w_bytes(w, desc, d);
}

/* Append to the message in msgbuf (len bytes so far, the header's length
 * field updated) one data set of template 260 with the records from *next
 * on that fit in --mtu; *next moves past them. They are data records: they
 * count in the sequence numbers. Written here rather than by libfixbuf, which
 * in manual mode will not put data records in a message of templates. */
static size_t put_ietype_set(struct ipfix_encoder *e, size_t len, size_t *next)
{
    size_t set = len;
    struct wire w = {e->msgbuf, len + 4, e->mtu, len + 4 > e->mtu};
    while (*next < e->nietypes) {
        size_t before = w.len;
        w_ietype(&w, &e->ietypes[*next]);
        if (w.full) {
            w.len = before;     /* this one goes in the next message */
            break;
        }
        (*next)++;
        e->sequence++;
        e->msg_records++;
    }
    if (w.len == set + 4)
        return len;
    put_u16(e->msgbuf + set, e->ietype_tid);
    put_u16(e->msgbuf + set + 2, (uint16_t)(w.len - set));
    put_u16(e->msgbuf + 2, (uint16_t)w.len);
    return w.len;
}

static int setup_selector_templates(struct ipfix_encoder *e, char *err, size_t errlen);

/* ---- encoder ----------------------------------------------------------------- */

/* libfixbuf's model of IANA's elements takes thousands of allocations to
 * build; the encoders of a process share one (elements are only added to it,
 * by name: ensure_in_model()), built with the first and never freed. The
 * exporter makes its encoders in one thread. */
static fbInfoModel_t *shared_model(void)
{
    static fbInfoModel_t *model;
    if (!model)
        model = fbInfoModelAlloc();
    return model;
}

struct ipfix_encoder *ipfix_new(const struct ipfix_config *cfg, ipfix_msg_fn out, void *ctx,
                                char *err, size_t errlen)
{
    struct ipfix_encoder *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->biflow = cfg->biflow;
    e->out = out;
    e->out_ctx = ctx;
    e->domain = cfg->domain;
    e->mtu = cfg->mtu;
    e->model = shared_model();
    e->session = fbSessionAlloc(e->model);
    fbSessionSetDomain(e->session, cfg->domain);
    if (setup_flow_template(e, cfg->tmpl, 4, TID_IPV4, &e->v4, err, errlen) < 0 ||
        setup_flow_template(e, cfg->tmpl, 6, TID_IPV6, &e->v6, err, errlen) < 0 ||
        setup_stats_templates(e, err, errlen) < 0 || setup_ietype_template(e, err, errlen) < 0 ||
        setup_selector_templates(e, err, errlen) < 0) {
        fbSessionFree(e->session);
        e->session = NULL;
        ipfix_free(e);
        return NULL;
    }
    e->dmsg = malloc(cfg->mtu);
    e->shared = malloc(cfg->mtu);
    e->msgbuf = malloc(cfg->mtu);
    if (!e->dmsg || !e->shared || !e->msgbuf) {
        snprintf(err, errlen, "out of memory");
        fbSessionFree(e->session);
        e->session = NULL;
        ipfix_free(e);
        return NULL;
    }
    fbExporter_t *x = fbExporterAllocBuffer(e->msgbuf, cfg->mtu);
    e->fbuf = fBufAllocForExport(e->session, x);
    fBufSetAutomaticMode(e->fbuf, FALSE);
    return e;
}

/* Also frees what a failed ipfix_new() got as far as (its session freed). */
void ipfix_free(struct ipfix_encoder *e)
{
    if (!e)
        return;
    fBufFree(e->fbuf);          /* and the session it owns */
    template_free(&e->v4.def);
    template_free(&e->v6.def);
    free(e->v4.ops);
    free(e->v6.ops);
    free(e->ietypes);
    free(e->dmsg);
    free(e->shared);
    free(e->msgbuf);
    free(e);
}

const struct export_counters *ipfix_counters(const struct ipfix_encoder *e)
{
    return &e->counters;
}

/* Finish the current message and hand it on. libfixbuf's buffer exporter
 * keeps the length of the last message it wrote even when an emit writes
 * nothing, so the message header itself tells whether a new one is there. */
/* When a record does not fit after a switch of template, libfixbuf has
 * already opened the new template's set: the message would end in a set
 * with no record, which collectors report as malformed (Wireshark: "No flow
 * information"). Cut it off. Returns the new message length. */
static size_t drop_empty_last_set(uint8_t *msg, size_t len)
{
    size_t at = 16, last = 0;
    while (at + 4 <= len) {
        size_t set_len = (size_t)msg[at + 2] << 8 | msg[at + 3];
        if (set_len < 4 || at + set_len > len)
            return len;     /* not ours to judge */
        last = at;
        at += set_len;
    }
    if (last && len - last == 4) {
        len = last;
        msg[2] = (uint8_t)(len >> 8);
        msg[3] = (uint8_t)len;
    }
    return len;
}

/* Finish the message libfixbuf holds in msgbuf; *len: its length, 0 when
 * there is none. */
static int finish(struct ipfix_encoder *e, size_t *len)
{
    GError *gerr = NULL;
    *len = 0;
    memset(e->msgbuf, 0, 4);
    if (!fBufEmit(e->fbuf, &gerr)) {
        log_error("IPFIX: cannot finish message: %s", gerr ? gerr->message : "?");
        if (gerr)
            g_error_free(gerr);
        return -1;
    }
    e->message_open = false;
    size_t n = (size_t)e->msgbuf[2] << 8 | e->msgbuf[3];
    if (e->msgbuf[1] == 10 && n >= 16)
        *len = drop_empty_last_set(e->msgbuf, n);
    return 0;
}

/* Hand on the message in buf (len 0: none), its sequence number the data
 * records sent before it (ours: some records are not written by libfixbuf). */
static int deliver_from(struct ipfix_encoder *e, uint8_t *buf, size_t len, enum msg_kind kind)
{
    uint32_t nrec = e->records_in_message;
    uint32_t seq = e->sequence - e->msg_records;
    if (kind == MSG_DATA && e->sending_setup)
        kind = MSG_SETUP;
    e->records_in_message = 0;
    e->msg_records = 0;
    if (len == 0)
        return 0;
    put_u32(buf + 8, seq);
    e->counters.messages++;
    e->counters.octets += len;
    return e->out(e->out_ctx, buf, len, nrec, kind);
}

static int deliver(struct ipfix_encoder *e, size_t len, enum msg_kind kind)
{
    return deliver_from(e, e->msgbuf, len, kind);
}

static int emit(struct ipfix_encoder *e, enum msg_kind kind)
{
    size_t len;
    if (finish(e, &len) < 0)
        return -1;
    return deliver(e, len, kind);
}

static int flush_flow_message(struct ipfix_encoder *e);

int ipfix_flush(struct ipfix_encoder *e)
{
    if (e->message_open && emit(e, MSG_DATA) < 0)
        return -1;
    return flush_flow_message(e);
}

static int send_app_names(struct ipfix_encoder *e);
static int send_selector_reports(struct ipfix_encoder *e);

/* The element type records that did not fit in the templates message, in
 * messages of their own (a stream transport re-sends only the templates
 * message after a reconnect). */
static int send_ietype_overflow(struct ipfix_encoder *e, size_t next)
{
    while (next < e->nietypes) {
        size_t first = next;
        memset(e->msgbuf, 0, 16);
        e->msgbuf[1] = 10;
        put_u32(e->msgbuf + 4, (uint32_t)time(NULL));
        put_u32(e->msgbuf + 12, e->domain);
        size_t len = put_ietype_set(e, 16, &next);
        if (next == first) {
            log_error("IPFIX: the description of element %s does not fit in --mtu",
                      e->ietypes[next].name);
            next++;
            continue;
        }
        if (deliver(e, len, MSG_DATA) < 0)
            return -1;
    }
    return 0;
}

/* Every template, in a fixed order: flows, statistics, application names,
 * and the element types last, in a set of their own. nfacctd 1.7.7 drops the
 * rest of a message after an options template with variable-length fields
 * (it lost template 257 when libfixbuf's own order put 260 before it). As
 * many as fit go in a message; when --mtu is too small for all of them
 * (many DPI and tunnel elements), a full message goes out with the templates
 * it holds and the rest follow in the next, in the same order. The last
 * message is left finished, not delivered (*len), for the element types'
 * records. In manual mode libfixbuf refuses the first template set after
 * data with "end of message" once, to make the caller start a fresh message;
 * asking again then succeeds. */
static int export_templates(struct ipfix_encoder *e, size_t *len)
{
    const uint16_t tids[] = {e->v4.tid, e->v6.tid, e->stats_tid, e->worker_stats_tid, e->apps_tid,
                             e->ietype_tid};
    size_t held = 0;    /* templates in the open message */
    for (size_t i = 0; i < sizeof tids / sizeof tids[0]; i++) {
        if (!tids[i])
            continue;
        for (int attempt = 0;; attempt++) {
            GError *gerr = NULL;
            if (fbSessionExportTemplate(e->session, tids[i], &gerr)) {
                held++;
                break;
            }
            bool eom = g_error_matches(gerr, FB_ERROR_DOMAIN, FB_ERROR_EOM);
            if (!eom || attempt == 2) {
                log_error("IPFIX: cannot export templates%s: %s",
                          eom ? " (one does not fit in --mtu)" : "", gerr ? gerr->message : "?");
                g_clear_error(&gerr);
                return -1;
            }
            g_clear_error(&gerr);
            if (held) {
                size_t full;
                e->message_open = true;
                if (finish(e, &full) < 0 || deliver(e, full, MSG_TEMPLATES) < 0)
                    return -1;
                held = 0;
            }
        }
    }
    e->message_open = true;
    return finish(e, len);
}

/* The templates, then (RFC 5610) one record per enterprise element after
 * them as far as --mtu allows, the rest in further messages; then the
 * application names and the selector reports. */
int ipfix_send_templates(struct ipfix_encoder *e)
{
    if (ipfix_flush(e) < 0)
        return -1;
    size_t len, next = 0;
    if (export_templates(e, &len) < 0)
        return -1;
    if (len && e->ietype_tid)
        len = put_ietype_set(e, len, &next);
    int rc = deliver(e, len, MSG_TEMPLATES);
    e->sending_setup = true;
    if (rc == 0 && e->ietype_tid)
        rc = send_ietype_overflow(e, next);
    if (rc == 0)
        rc = send_app_names(e);
    if (rc == 0)
        rc = send_selector_reports(e);
    e->sending_setup = false;
    return rc;
}

/* The withdrawal message is written here, not by libfixbuf: removing a
 * template from a libfixbuf export session in manual mode drops it before
 * the revocation set fits, and the retry then finds no template. RFC 7011
 * §8.1: a Template Record with Field Count 0, in a Template Set (2) for
 * templates and an Options Template Set (3) for options templates. */
static size_t put_withdrawal_set(uint8_t *p, uint16_t set_id, const uint16_t *tids, size_t n)
{
    size_t len = 4;
    for (size_t i = 0; i < n; i++) {
        if (!tids[i])
            continue;
        p[len] = (uint8_t)(tids[i] >> 8);
        p[len + 1] = (uint8_t)tids[i];
        p[len + 2] = p[len + 3] = 0;
        len += 4;
    }
    if (len == 4)
        return 0;
    p[0] = (uint8_t)(set_id >> 8), p[1] = (uint8_t)set_id;
    p[2] = (uint8_t)(len >> 8), p[3] = (uint8_t)len;
    return len;
}

int ipfix_withdraw_templates(struct ipfix_encoder *e)
{
    if (ipfix_flush(e) < 0)
        return -1;
    uint8_t msg[16 + 4 + 4 * 4 + 4 + 6 * 4];
    const uint16_t data_tids[] = {e->v4.tid, e->v6.tid};
    const uint16_t options_tids[] = {e->stats_tid, e->worker_stats_tid, e->apps_tid, e->selector_tids[0],
                                     e->selector_tids[1], e->ietype_tid};
    size_t len = 16;
    len += put_withdrawal_set(msg + len, 2, data_tids, 2);
    len += put_withdrawal_set(msg + len, 3, options_tids, sizeof options_tids / sizeof options_tids[0]);
    msg[0] = 0, msg[1] = 10;
    msg[2] = (uint8_t)(len >> 8), msg[3] = (uint8_t)len;
    put_u32(msg + 4, (uint32_t)time(NULL));
    put_u32(msg + 8, e->sequence);
    put_u32(msg + 12, e->domain);
    e->counters.messages++;
    e->counters.octets += len;
    return e->out(e->out_ctx, msg, len, 0, MSG_WITHDRAWAL);
}

/* Append one record; when the message is full, send it and start another. */
static int append(struct ipfix_encoder *e, uint16_t tid, const uint8_t *rec, size_t len,
                  bool is_flow)
{
    if (flush_flow_message(e) < 0)  /* a message holds one kind or the other */
        return -1;
    for (int attempt = 0; attempt < 3; attempt++) {
        GError *gerr = NULL;
        if (!fBufSetInternalTemplate(e->fbuf, tid, &gerr) ||
            !fBufSetExportTemplate(e->fbuf, tid, &gerr)) {
            log_error("IPFIX: template %u: %s", tid, gerr ? gerr->message : "?");
            if (gerr)
                g_error_free(gerr);
            return -1;
        }
        if (fBufAppend(e->fbuf, (uint8_t *)rec, len, &gerr)) {
            e->message_open = true;
            e->sequence++;
            e->msg_records++;
            if (is_flow) {
                e->records_in_message++;
                e->counters.records++;
            }
            return 0;
        }
        bool full = g_error_matches(gerr, FB_ERROR_DOMAIN, FB_ERROR_EOM);
        if (!full || attempt == 2) {
            if (!e->told_append_error)
                log_error("IPFIX: cannot add a record: %s%s (such records are counted as not delivered)",
                          gerr ? gerr->message : "?", full ? " (record larger than --mtu)" : "");
            e->told_append_error = true;
            g_clear_error(&gerr);
            return -1;
        }
        g_clear_error(&gerr);
        if (emit(e, MSG_DATA) < 0)
            return -1;
    }
    return -1;
}

/* ---- flow records, written here ------------------------------------------------
 * Flow records go straight into a message in wire form (RFC 7011 §6-7, RFC
 * 6313 basicLists): libfixbuf's per-field transcoding cost more than the rest
 * of the export together. Templates and options records still go through
 * libfixbuf; a message holds flow records or those, never both. */

/* A number of len bytes, host order at src, network order at dst. */
static inline void put_number(uint8_t *dst, const uint8_t *src, size_t len)
{
    switch (len) {
    case 1: *dst = *src; return;
    case 2: { uint16_t x; memcpy(&x, src, 2); x = htobe16(x); memcpy(dst, &x, 2); return; }
    case 4: { uint32_t x; memcpy(&x, src, 4); x = htobe32(x); memcpy(dst, &x, 4); return; }
    default: { uint64_t x; memcpy(&x, src, 8); x = htobe64(x); memcpy(dst, &x, 8); return; }
    }
}

/* n numbers of len bytes, host order at src, network order at dst. */
static void put_numbers(uint8_t *dst, const uint8_t *src, size_t n, size_t len)
{
    for (size_t i = 0; i < n; i++)
        put_number(dst + i * len, src + i * len, len);
}

/* n numbers of len bytes, host order at src (NULL when n is 0), into the
 * message in network order. */
static void w_numbers(struct wire *w, const uint8_t *src, size_t n, size_t len)
{
    if (w->full || n * len > w->cap - w->len) {
        w->full = true;
        return;
    }
    if (n)
        put_numbers(w->p + w->len, src, n, len);
    w->len += n * len;
}

/* An RFC 6313 basicList after its length prefix: semantic, item element
 * (enterprise bit and PEN when it has one), item length; then the items. */
static size_t list_header_len(const struct element *el)
{
    return el->pen ? 9 : 5;
}

static void w_list_header(struct wire *w, const struct element *el)
{
    w_uint(w, FB_LIST_SEM_ORDERED, 1);
    w_uint(w, el->pen ? (uint64_t)el->id | 0x8000u : el->id, 2);
    w_uint(w, el->len, 2);
    if (el->pen)
        w_uint(w, el->pen, 4);
}

/* The most items of len bytes a list holds: its length is 16 bits. */
static size_t list_items_most(const struct element *el)
{
    return (UINT16_MAX - list_header_len(el)) / el->len;
}

/* A list row's value, items in host order at v->bytes. */
static void w_list(struct wire *w, const struct element *el, const struct elem_value *v)
{
    size_t n = v->bytes ? v->nitems : 0;
    if (n > list_items_most(el))
        n = list_items_most(el);
    w_varlen_prefix(w, list_header_len(el) + n * el->len, true);
    w_list_header(w, el);
    w_numbers(w, v->bytes, n, el->len);
}

/* Strings go out as UTF-8 (utf8_scrub()): fixed on the copy in the message,
 * after any cut to the field's length. */
static void w_octets(struct wire *w, const struct element *el, const struct elem_value *v)
{
    size_t n = v->bytes ? v->nbytes : 0;
    if (el->len == ELEM_VARLEN) {
        if (n > UINT16_MAX)
            n = UINT16_MAX;
        w_varlen_prefix(w, n, false);
    } else if (n > el->len) {
        n = el->len;
    }
    size_t at = w->len;
    w_bytes(w, v->bytes, n);
    if (el->type == ET_STRING && !w->full)
        utf8_scrub(w->p + at, n);
    if (el->len != ELEM_VARLEN)
        w_zeros(w, el->len - n);
}

static void w_value(struct wire *w, const struct element *el, const struct elem_value *v)
{
    if (el->list) {
        w_list(w, el, v);
        return;
    }
    switch (el->type) {
    case ET_IPV4: w_bytes(w, v->addr, 4); return;
    case ET_IPV6: w_bytes(w, v->addr, 16); return;
    case ET_STRING: case ET_OCTETS: w_octets(w, el, v); return;
    case ET_FLOAT64: {
        uint64_t bits;
        memcpy(&bits, &v->f, sizeof bits);
        w_uint(w, bits, 8);
        return;
    }
    case ET_UNSIGNED: case ET_DATETIME_MS: w_uint(w, v->u, el->len); return;
    case ET_DATETIME_US: w_uint(w, ntp_from_unix_us(v->u), 8); return;
    case ET_DATETIME_NS: w_uint(w, ntp_from_unix_ns(v->u), 8); return;
    }
}

/* How one field of a template is written. Numbers and lists of numbers that
 * sit in the extension block (plugin fields: elements.h locate) are converted
 * straight from there, a few instructions each; every other field is read
 * through its row. */
enum wire_op_kind { OP_ROW, OP_EXT_NUMBER, OP_EXT_LIST };
enum { LIST_HEADER_MAX = 12 };      /* varlen prefix 3, semantic 1, id 2, length 2, PEN 4 */

struct wire_op {
    uint8_t kind;
    uint8_t len;                    /* a number's or a list item's bytes: 1, 2, 4 or 8 */
    uint8_t header_len;             /* lists: the bytes of header below, prefix excluded */
    uint8_t header[LIST_HEADER_MAX - 3];
    size_t at, count_at, max_items; /* struct ext_place; max_items also capped to fit 65535 */
    /* OP_EXT_NUMBER: the numbers from this one on that are written together
     * (consecutive, on the same side of per_flow_from), and their bytes */
    size_t run_ops, run_bytes;
};

static void plan_field(const struct template_field *f, struct wire_op *op)
{
    const struct element *el = f->elem;
    struct ext_place place;
    *op = (struct wire_op){.kind = OP_ROW};
    if (f->reverse || !el->locate || !el->locate(el, &place) ||
        (el->len != 1 && el->len != 2 && el->len != 4 && el->len != 8))
        return;
    *op = (struct wire_op){.kind = el->list ? OP_EXT_LIST : OP_EXT_NUMBER, .len = (uint8_t)el->len,
                           .at = place.at, .count_at = place.count_at, .max_items = place.max_items};
    if (!el->list)
        return;
    struct wire h = {op->header, 0, sizeof op->header, false};
    w_list_header(&h, el);
    op->header_len = (uint8_t)h.len;
    if (op->max_items > list_items_most(el))
        op->max_items = list_items_most(el);
}

static int plan_template(struct encoded_template *et)
{
    size_t n = et->def.nfields;
    et->ops = calloc(n ? n : 1, sizeof *et->ops);
    if (!et->ops)
        return -1;
    for (size_t i = 0; i < n; i++)
        plan_field(&et->def.fields[i], &et->ops[i]);
    for (size_t i = n; i-- > 0;) {
        struct wire_op *op = &et->ops[i];
        if (op->kind != OP_EXT_NUMBER)
            continue;
        op->run_ops = 1;
        op->run_bytes = op->len;
        if (i + 1 < n && i + 1 != et->per_flow_from && op[1].kind == OP_EXT_NUMBER) {
            op->run_ops += op[1].run_ops;
            op->run_bytes += op[1].run_bytes;
        }
    }
    return 0;
}

/* The run of numbers starting at op, at most most of them; how many went.
 * A flow without an extension block (none was free) exports zeros and
 * empty lists, as the rows' readers would say. */
static size_t w_ext_numbers(struct wire *w, const struct wire_op *op, size_t most,
                            const uint8_t *ext)
{
    size_t n = op->run_ops < most ? op->run_ops : most;
    size_t bytes = op->run_ops <= most ? op->run_bytes : 0;
    for (size_t k = n; bytes == 0 && k-- > 0;)
        bytes += op[k].len;
    if (w->full || bytes > w->cap - w->len) {
        w->full = true;
        return n;
    }
    uint8_t *dst = w->p + w->len;
    w->len += bytes;
    if (!ext) {
        memset(dst, 0, bytes);
        return n;
    }
    for (size_t k = 0; k < n; k++) {
        put_number(dst, ext + op[k].at, op[k].len);
        dst += op[k].len;
    }
    return n;
}

static void w_ext_list(struct wire *w, const struct wire_op *op, const uint8_t *ext)
{
    uint32_t n = 0;
    if (ext)
        memcpy(&n, ext + op->count_at, sizeof n);
    if (n > op->max_items)
        n = (uint32_t)op->max_items;
    w_varlen_prefix(w, op->header_len + (size_t)n * op->len, true);
    w_bytes(w, op->header, op->header_len);
    w_numbers(w, n ? ext + op->at : NULL, n, op->len);
}

static void w_row(struct wire *w, const struct template_field *f, const struct flow_record *r,
                  int view)
{
    struct elem_value v;
    memset(&v, 0, sizeof v);
    /* A value the record lacks (no ICMP type for TCP) goes out as zero,
     * or as an empty list. */
    element_get(f->elem, r, f->reverse ? VIEW_REV : view, &v);
    w_value(w, f->elem, &v);
}

static void w_fields(struct wire *w, const struct encoded_template *et, size_t from, size_t to,
                     const struct flow_record *r, int view)
{
    const uint8_t *ext = r->ext;
    for (size_t i = from; i < to && !w->full; i++) {
        const struct wire_op *op = &et->ops[i];
        switch (op->kind) {
        case OP_EXT_NUMBER: i += w_ext_numbers(w, op, to - i, ext) - 1; break;
        case OP_EXT_LIST: w_ext_list(w, op, ext); break;
        default: w_row(w, &et->def.fields[i], r, view); break;
        }
    }
}

/* The per_flow fields at the end of the template are encoded once per flow
 * and copied into its second one-way record. */
static void w_record(struct ipfix_encoder *e, struct wire *w, const struct encoded_template *et,
                     const struct flow_record *r, int view)
{
    w_fields(w, et, 0, et->per_flow_from, r, view);
    if (e->shared_len) {
        w_bytes(w, e->shared, e->shared_len);
        return;
    }
    size_t at = w->len;
    w_fields(w, et, et->per_flow_from, et->def.nfields, r, view);
    if (!w->full && w->len > at) {
        e->shared_len = w->len - at;
        memcpy(e->shared, w->p + at, e->shared_len);
    }
}

static void close_flow_set(struct ipfix_encoder *e)
{
    if (e->dset_at)
        put_u16(e->dmsg + e->dset_at + 2, (uint16_t)(e->dlen - e->dset_at));
    e->dset_at = 0;
    e->dset_tid = 0;
}

static int flush_flow_message(struct ipfix_encoder *e)
{
    if (!e->dset_at) {      /* nothing in it */
        e->dlen = 0;
        return 0;
    }
    close_flow_set(e);
    size_t len = e->dlen;
    e->dlen = 0;
    uint8_t *m = e->dmsg;
    m[0] = 0, m[1] = 10;
    put_u16(m + 2, (uint16_t)len);
    put_u32(m + 4, (uint32_t)time(NULL));
    put_u32(m + 12, e->domain);
    return deliver_from(e, m, len, MSG_DATA);
}

/* Add one flow record in a view; when the message is full, send it and
 * start another. */
static int add_flow_record(struct ipfix_encoder *e, const struct encoded_template *et,
                           const struct flow_record *r, int view)
{
    if (e->message_open && emit(e, MSG_DATA) < 0)   /* options records first */
        return -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        size_t at = e->dset_at ? e->dlen : 16;
        bool new_set = e->dset_tid != et->tid;
        size_t start = at + (new_set ? 4 : 0);
        struct wire w = {e->dmsg, start, e->mtu, start > e->mtu};
        w_record(e, &w, et, r, view);
        if (!w.full) {
            if (new_set) {
                if (e->dset_at)
                    close_flow_set(e);
                put_u16(e->dmsg + at, et->tid);
                e->dset_at = at;
                e->dset_tid = et->tid;
            }
            e->dlen = w.len;
            e->sequence++;
            e->msg_records++;
            e->records_in_message++;
            e->counters.records++;
            return 0;
        }
        if (!e->dset_at)
            break;          /* not even an empty message holds it */
        if (flush_flow_message(e) < 0)
            return -1;
    }
    if (!e->told_append_error)
        log_error("IPFIX: cannot add a record: it is larger than --mtu %u (such records are "
                  "counted as not delivered)", e->mtu);
    e->told_append_error = true;
    return -1;
}

int ipfix_add_flow(struct ipfix_encoder *e, const struct flow_record *r)
{
    struct encoded_template *et = r->ip_version == 6 ? &e->v6 : &e->v4;
    if (!et->ops && plan_template(et) < 0) {
        log_error("IPFIX: out of memory");
        return -1;
    }
    e->shared_len = 0;
    if (e->biflow)
        return add_flow_record(e, et, r, VIEW_BIFLOW);
    for (int dir = DIR_FWD; dir <= DIR_REV; dir++) {
        if (r->packets[dir] == 0)
            continue;
        if (add_flow_record(e, et, r, dir == DIR_FWD ? VIEW_FWD : VIEW_REV) < 0)
            return -1;
    }
    return 0;
}

static int add_worker_stats(struct ipfix_encoder *e, unsigned id, const struct worker_stats_record *w)
{
    struct {
        uint32_t domain, process;
        uint64_t packets, ignored, dropped, flows;
    } __attribute__((packed)) rec = {
        e->domain, id, w->packets_observed, w->packets_ignored, w->packets_dropped, w->flows_observed,
    };
    return append(e, e->worker_stats_tid, (const uint8_t *)&rec, sizeof rec, false);
}

int ipfix_add_stats(struct ipfix_encoder *e, const struct probe_stats_record *s)
{
    /* Counters as of this record: what was exported before it. */
    struct {
        uint32_t domain;
        uint64_t start_ms, packets, ignored, dropped, flows, not_sent, messages, records, octets;
        uint64_t sel_pkts_observed, sel_pkts_selected, sel_flows_observed, sel_flows_selected;
    } __attribute__((packed)) rec = {
        e->domain, s->start_ms, s->packets_observed, s->packets_ignored, s->packets_dropped,
        s->flows_observed, s->flows_not_sent, e->counters.messages, e->counters.records,
        e->counters.octets, s->sel_packets_observed, s->sel_packets_selected, s->sel_flows_observed,
        s->sel_flows_selected,
    };
    if (append(e, e->stats_tid, (const uint8_t *)&rec, sizeof rec, false) < 0)
        return -1;
    for (unsigned i = 0; i < s->nworkers; i++)
        if (add_worker_stats(e, i, &s->worker[i]) < 0)
            return -1;
    return 0;
}

/* ---- application names (RFC 6759 options data) ----------------------------- */

enum { TID_APPS = 259, APP_NAME_LEN = 32, APP_DESC_LEN = 64, APP_CAT_LEN = 32 };

/* libfixbuf 2.4 may predate applicationCategoryName (372): teach it. */
static void ensure_iana_string(fbInfoModel_t *model, const char *name, uint16_t id)
{
    if (fbInfoModelGetElementByName(model, name))
        return;
    fbInfoElement_t ie;
    memset(&ie, 0, sizeof ie);
    ie.ref.name = name;
    ie.num = id;
    ie.len = FB_IE_VARLEN;
    ie.type = FB_STRING;
    fbInfoModelAddElement(model, &ie);
}

static int setup_app_templates(struct ipfix_encoder *e, uint16_t idlen, char *err, size_t errlen)
{
    static const char *const names[] = {"observationDomainId", "applicationId", "applicationName",
                                        "applicationDescription", "applicationCategoryName"};
    const uint16_t lens[] = {4, idlen, APP_NAME_LEN, APP_DESC_LEN, APP_CAT_LEN};
    ensure_iana_string(e->model, "applicationCategoryName", 372);
    fbTemplate_t *t = fbTemplateAlloc(e->model);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        fbInfoElementSpec_t spec = {(char *)names[i], lens[i], 0};
        GError *gerr = NULL;
        if (!fbTemplateAppendSpec(t, &spec, 0, &gerr)) {
            set_err(err, errlen, "application names options template", gerr);
            fbTemplateFreeUnused(t);
            return -1;
        }
    }
    fbTemplateSetOptionsScope(t, 1);
    return add_template(e, t, TID_APPS, &e->apps_tid, err, errlen);
}

int ipfix_set_app_names(struct ipfix_encoder *e, const struct ipfix_app_table *t, char *err,
                        size_t errlen)
{
    if (t->idlen == 0 || t->idlen > sizeof t->apps[0].id) {
        snprintf(err, errlen, "applicationId of %u bytes", t->idlen);
        return -1;
    }
    if (setup_app_templates(e, t->idlen, err, errlen) < 0)
        return -1;
    e->apps = t;
    return 0;
}

static size_t put_fixed_string(uint8_t *dst, const char *s, size_t len)
{
    memset(dst, 0, len);
    if (s)
        memcpy(dst, s, strnlen(s, len));
    return len;
}

/* One options record per application, all in one template: nfacctd 1.7.7
 * ignored the records of a second, identical twin template (tried, to put
 * each record in a set of its own for nfdump 1.7.1, which reads only the
 * first record of a set but cannot show IPFIX names anyway). */
static int send_app_names(struct ipfix_encoder *e)
{
    if (!e->apps)
        return 0;
    uint8_t rec[4 + 8 + APP_NAME_LEN + APP_DESC_LEN + APP_CAT_LEN];
    for (size_t i = 0; i < e->apps->n; i++) {
        const struct ipfix_app_name *a = &e->apps->apps[i];
        size_t off = 0;
        memcpy(rec, &e->domain, 4);
        off += 4;
        memcpy(rec + off, a->id, e->apps->idlen);
        off += e->apps->idlen;
        off += put_fixed_string(rec + off, a->name, APP_NAME_LEN);
        off += put_fixed_string(rec + off, a->description, APP_DESC_LEN);
        off += put_fixed_string(rec + off, a->category, APP_CAT_LEN);
        if (append(e, e->apps_tid, rec, off, false) < 0)
            return -1;
    }
    return ipfix_flush(e);
}

/* ---- selector reports (RFC 5476 §6.5.2, issue 14) ------------------------------ *
 * One options template per selector, scope selectorId, with the parameters of
 * its algorithm (RFC 5477). A random sampler also states the deprecated
 * samplingInterval (34) and samplingAlgorithm (35, 2: random): nfacctd
 * renormalizes by them (README: "Selection"), not by samplingProbability.
 * Each template goes out with its record in a message of its own, after the
 * templates message: nfacctd 1.7.7 reads only the first options template of
 * an options template set ("unable to read Options Template Flowset
 * (malformed)" for the next), and libfixbuf puts consecutive ones in one. */

enum { TID_SELECTOR = 261, SELECTOR_FIELDS_MAX = 10 };

struct report_field {
    const char *name;
    uint16_t len;
    uint64_t u;
    double f;
    bool real;                  /* a float64 element: f, else u */
};

static size_t selector_fields(const struct selector_report *r, struct report_field *f)
{
    size_t n = 0;
    f[n++] = (struct report_field){"selectorId", 8, r->id, 0};
    f[n++] = (struct report_field){"selectorAlgorithm", 2, r->algorithm, 0};
    switch (r->algorithm) {
    case SELECTOR_ALG_COUNT:
        f[n++] = (struct report_field){"samplingPacketInterval", 4, 1, 0};
        f[n++] = (struct report_field){"samplingPacketSpace", 4, r->interval - 1, 0};
        break;
    case SELECTOR_ALG_UNIFORM:
        f[n++] = (struct report_field){"samplingProbability", 8, 0, 1.0 / r->interval, true};
        f[n++] = (struct report_field){"samplingInterval", 4, r->interval, 0};
        f[n++] = (struct report_field){"samplingAlgorithm", 1, 2, 0};
        break;
    default:
        f[n++] = (struct report_field){"hashIPPayloadOffset", 8, 0, 0};
        f[n++] = (struct report_field){"hashIPPayloadSize", 8, HASH_PAYLOAD_BYTES, 0};
        f[n++] = (struct report_field){"hashOutputRangeMin", 8, 0, 0};
        f[n++] = (struct report_field){"hashOutputRangeMax", 8, UINT32_MAX, 0};
        f[n++] = (struct report_field){"hashSelectedRangeMin", 8, r->hash_from, 0};
        f[n++] = (struct report_field){"hashSelectedRangeMax", 8, r->hash_to, 0};
        f[n++] = (struct report_field){"hashInitialiserValue", 8, r->hash_init, 0};
        break;
    }
    return n;
}

static int setup_selector_templates(struct ipfix_encoder *e, char *err, size_t errlen)
{
    const struct selection_export *sx = selection_export_get();
    for (int i = 0; i < sx->n; i++) {
        struct report_field f[SELECTOR_FIELDS_MAX];
        size_t n = selector_fields(&sx->sel[i], f);
        fbTemplate_t *t = fbTemplateAlloc(e->model);
        for (size_t k = 0; k < n; k++) {
            fbInfoElementSpec_t spec = {(char *)f[k].name, f[k].len, 0};
            GError *gerr = NULL;
            if (!fbTemplateAppendSpec(t, &spec, 0, &gerr)) {
                set_err(err, errlen, "selector report options template", gerr);
                fbTemplateFreeUnused(t);
                return -1;
            }
        }
        fbTemplateSetOptionsScope(t, 1);
        if (add_template(e, t, (uint16_t)(TID_SELECTOR + i), &e->selector_tids[i], err, errlen) < 0)
            return -1;
    }
    return 0;
}

/* The record in libfixbuf's internal form: fields packed in order, numbers
 * in host order (it swaps them on the way out). */
static size_t pack_report(const struct report_field *f, size_t n, uint8_t *rec)
{
    size_t off = 0;
    for (size_t k = 0; k < n; k++) {
        if (f[k].real) {
            memcpy(rec + off, &f[k].f, 8);
        } else if (f[k].len == 1) {
            rec[off] = (uint8_t)f[k].u;
        } else if (f[k].len == 2) {
            uint16_t v = (uint16_t)f[k].u;
            memcpy(rec + off, &v, 2);
        } else if (f[k].len == 4) {
            uint32_t v = (uint32_t)f[k].u;
            memcpy(rec + off, &v, 4);
        } else {
            memcpy(rec + off, &f[k].u, 8);
        }
        off += f[k].len;
    }
    return off;
}

/* A fresh message: libfixbuf in manual mode refuses the first template set
 * after data once, with "end of message" (see ipfix_send_templates()). */
static int export_template_alone(struct ipfix_encoder *e, uint16_t tid)
{
    if (ipfix_flush(e) < 0)
        return -1;
    for (int attempt = 0; attempt < 2; attempt++) {
        GError *gerr = NULL;
        if (fbSessionExportTemplate(e->session, tid, &gerr)) {
            e->message_open = true;
            return 0;
        }
        bool eom = g_error_matches(gerr, FB_ERROR_DOMAIN, FB_ERROR_EOM);
        if (!eom || attempt == 1)
            log_error("IPFIX: cannot export template %u: %s", tid, gerr ? gerr->message : "?");
        g_clear_error(&gerr);
        if (!eom)
            break;
    }
    return -1;
}

static int send_selector_reports(struct ipfix_encoder *e)
{
    const struct selection_export *sx = selection_export_get();
    for (int i = 0; i < sx->n; i++) {
        struct report_field f[SELECTOR_FIELDS_MAX];
        uint8_t rec[SELECTOR_FIELDS_MAX * 8];
        size_t n = selector_fields(&sx->sel[i], f);
        if (export_template_alone(e, e->selector_tids[i]) < 0 ||
            append(e, e->selector_tids[i], rec, pack_report(f, n, rec), false) < 0 || ipfix_flush(e) < 0)
            return -1;
    }
    return 0;
}
