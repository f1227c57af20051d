#include "ipfix.h"

#include <fixbuf/public.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* One encodable template: its element list, its id, and the size of the
 * record laid out in libfixbuf's internal form (fields packed in order). */
struct encoded_template {
    struct template_def def;
    uint16_t tid;
    size_t reclen;
};

struct ipfix_encoder {
    fbInfoModel_t *model;
    fbSession_t *session;
    fBuf_t *fbuf;               /* owns session and exporter */
    uint8_t *msgbuf;
    bool biflow;
    bool message_open;          /* something appended since the last emit */
    uint32_t records_in_message;
    bool told_append_error;     /* one message; the rest are counted */
    uint32_t sequence;          /* data records appended so far, options included (RFC 7011) */
    struct encoded_template v4, v6;
    uint16_t stats_tid;
    const struct ipfix_app_table *apps; /* application names, NULL: none */
    uint16_t apps_tid;
    uint32_t domain;
    uint8_t *rec;               /* scratch record, largest template */
    size_t rec_cap;
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
};
enum { STATS_SCOPE_COUNT = 1, STATS_NFIELDS = sizeof stats_fields / sizeof stats_fields[0] };

static void set_err(char *err, size_t errlen, const char *what, GError *gerr)
{
    snprintf(err, errlen, "%s: %s", what, gerr ? gerr->message : "failed");
    if (gerr)
        g_error_free(gerr);
}

static size_t field_internal_len(const struct element *el)
{
    return el->len == ELEM_VARLEN ? sizeof(fbVarfield_t) : el->len;
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

/* libfixbuf knows IANA's elements (and their reverse twins); teach it the
 * rows that extensions registered under their enterprise numbers. */
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
    /* Integers travel in network order: libfixbuf swaps only elements
     * flagged as endian-sensitive. */
    if (el->type == ET_UNSIGNED || el->type == ET_DATETIME_MS)
        ie.flags |= FB_IE_F_ENDIAN;
    ie.type = el->type == ET_STRING ? FB_STRING
            : el->type == ET_OCTETS ? FB_OCTET_ARRAY
            : el->type == ET_IPV4 ? FB_IP4_ADDR
            : el->type == ET_IPV6 ? FB_IP6_ADDR
            : el->type == ET_DATETIME_MS ? FB_DT_MILSEC
            : el->len == 1 ? FB_UINT_8 : el->len == 2 ? FB_UINT_16 : el->len == 4 ? FB_UINT_32
            : FB_UINT_64;
    fbInfoModelAddElement(model, &ie);
}

static fbTemplate_t *build_template(fbInfoModel_t *model, const struct template_def *def,
                                    size_t *reclen, char *err, size_t errlen)
{
    fbTemplate_t *t = fbTemplateAlloc(model);
    *reclen = 0;
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
        GError *gerr = NULL;
        if (!fbTemplateAppendSpec(t, &spec, 0, &gerr)) {
            char what[200];
            snprintf(what, sizeof what, "template %s: element %s", def->name, name);
            set_err(err, errlen, what, gerr);
            fbTemplateFreeUnused(t);
            return NULL;
        }
        *reclen += field_internal_len(f->elem);
    }
    return t;
}

/* Fixed template ids keep a collector's view stable across refreshes and
 * restarts. */
enum { TID_IPV4 = 256, TID_IPV6 = 257, TID_STATS = 258 };

static int add_template(struct ipfix_encoder *e, fbTemplate_t *t, uint16_t want, uint16_t *tid,
                        char *err, size_t errlen)
{
    GError *gerr = NULL;
    uint16_t id = fbSessionAddTemplate(e->session, TRUE, want, t, &gerr);
    if (!id || !fbSessionAddTemplate(e->session, FALSE, id, t, &gerr)) {
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
    fbTemplate_t *t = build_template(e->model, &et->def, &et->reclen, err, errlen);
    if (!t)
        return -1;
    if (add_template(e, t, tid, &et->tid, err, errlen) < 0)
        return -1;
    if (et->reclen > e->rec_cap)
        e->rec_cap = et->reclen;
    return 0;
}

static int setup_stats_template(struct ipfix_encoder *e, char *err, size_t errlen)
{
    fbTemplate_t *t = fbTemplateAlloc(e->model);
    for (size_t i = 0; i < STATS_NFIELDS; i++) {
        const fbInfoElement_t *ie = fbInfoModelGetElementByName(e->model, stats_fields[i]);
        fbInfoElementSpec_t spec = {(char *)stats_fields[i], ie ? ie->len : 0, 0};
        GError *gerr = NULL;
        if (!ie || !fbTemplateAppendSpec(t, &spec, 0, &gerr)) {
            set_err(err, errlen, "statistics options template", gerr);
            fbTemplateFreeUnused(t);
            return -1;
        }
    }
    fbTemplateSetOptionsScope(t, STATS_SCOPE_COUNT);
    return add_template(e, t, TID_STATS, &e->stats_tid, err, errlen);
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
    e->model = fbInfoModelAlloc();
    e->session = fbSessionAlloc(e->model);
    fbSessionSetDomain(e->session, cfg->domain);
    if (setup_flow_template(e, cfg->tmpl, 4, TID_IPV4, &e->v4, err, errlen) < 0 ||
        setup_flow_template(e, cfg->tmpl, 6, TID_IPV6, &e->v6, err, errlen) < 0 ||
        setup_stats_template(e, err, errlen) < 0) {
        fbSessionFree(e->session);
        fbInfoModelFree(e->model);
        template_free(&e->v4.def);
        template_free(&e->v6.def);
        free(e);
        return NULL;
    }
    e->rec = calloc(1, e->rec_cap ? e->rec_cap : 1);
    e->msgbuf = malloc(cfg->mtu);
    if (!e->rec || !e->msgbuf) {
        snprintf(err, errlen, "out of memory");
        fbSessionFree(e->session);
        fbInfoModelFree(e->model);
        free(e->rec);
        free(e->msgbuf);
        free(e);
        return NULL;
    }
    fbExporter_t *x = fbExporterAllocBuffer(e->msgbuf, cfg->mtu);
    e->fbuf = fBufAllocForExport(e->session, x);
    fBufSetAutomaticMode(e->fbuf, FALSE);
    return e;
}

void ipfix_free(struct ipfix_encoder *e)
{
    if (!e)
        return;
    fBufFree(e->fbuf);
    fbInfoModelFree(e->model);
    template_free(&e->v4.def);
    template_free(&e->v6.def);
    free(e->rec);
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

static int emit(struct ipfix_encoder *e, enum msg_kind kind)
{
    GError *gerr = NULL;
    memset(e->msgbuf, 0, 4);
    if (!fBufEmit(e->fbuf, &gerr)) {
        log_error("IPFIX: cannot finish message: %s", gerr ? gerr->message : "?");
        if (gerr)
            g_error_free(gerr);
        return -1;
    }
    uint32_t nrec = e->records_in_message;
    e->message_open = false;
    e->records_in_message = 0;
    size_t len = (size_t)e->msgbuf[2] << 8 | e->msgbuf[3];
    if (e->msgbuf[1] != 10 || len < 16)
        return 0;
    len = drop_empty_last_set(e->msgbuf, len);
    e->counters.messages++;
    e->counters.octets += len;
    return e->out(e->out_ctx, e->msgbuf, len, nrec, kind);
}

int ipfix_flush(struct ipfix_encoder *e)
{
    return e->message_open ? emit(e, MSG_DATA) : 0;
}

static int send_app_names(struct ipfix_encoder *e);

int ipfix_send_templates(struct ipfix_encoder *e)
{
    if (ipfix_flush(e) < 0)
        return -1;
    /* In manual mode libfixbuf refuses the first template set after data
     * with "end of message" once, to make the caller start a fresh message;
     * the message is empty here, so asking again succeeds. */
    for (int attempt = 0; attempt < 2; attempt++) {
        GError *gerr = NULL;
        if (fbSessionExportTemplates(e->session, &gerr)) {
            e->message_open = true;
            int rc = emit(e, MSG_TEMPLATES);
            return rc < 0 ? rc : send_app_names(e);
        }
        bool eom = g_error_matches(gerr, FB_ERROR_DOMAIN, FB_ERROR_EOM);
        if (!eom || attempt == 1) {
            log_error("IPFIX: cannot export templates%s: %s",
                      eom ? " (they do not fit in --mtu)" : "", gerr ? gerr->message : "?");
            g_clear_error(&gerr);
            return -1;
        }
        g_clear_error(&gerr);
    }
    return -1;
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

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

int ipfix_withdraw_templates(struct ipfix_encoder *e)
{
    if (ipfix_flush(e) < 0)
        return -1;
    uint8_t msg[16 + 4 + 4 * 4 + 4 + 4 * 4];
    const uint16_t data_tids[] = {e->v4.tid, e->v6.tid};
    const uint16_t options_tids[] = {e->stats_tid, e->apps_tid};
    size_t len = 16;
    len += put_withdrawal_set(msg + len, 2, data_tids, 2);
    len += put_withdrawal_set(msg + len, 3, options_tids, 2);
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

/* Lay a value out as libfixbuf's internal record wants it: integers and IPv4
 * addresses in host order at their length, IPv6 as bytes, strings as
 * fbVarfield_t. */
static void put_value(uint8_t *dst, const struct element *el, const struct elem_value *v)
{
    switch (el->type) {
    case ET_IPV4: {
        uint32_t a = (uint32_t)v->addr[0] << 24 | (uint32_t)v->addr[1] << 16 |
                     (uint32_t)v->addr[2] << 8 | v->addr[3];
        memcpy(dst, &a, 4);
        return;
    }
    case ET_IPV6:
        memcpy(dst, v->addr, 16);
        return;
    case ET_STRING: case ET_OCTETS:
        if (el->len == ELEM_VARLEN) {
            fbVarfield_t vf = {v->nbytes, (uint8_t *)v->bytes};
            memcpy(dst, &vf, sizeof vf);
        } else {
            size_t n = v->nbytes < el->len ? v->nbytes : el->len;
            memset(dst, 0, el->len);
            if (n)
                memcpy(dst, v->bytes, n);
        }
        return;
    case ET_UNSIGNED: case ET_DATETIME_MS:
        switch (el->len) {
        case 1: { uint8_t x = (uint8_t)v->u; memcpy(dst, &x, 1); return; }
        case 2: { uint16_t x = (uint16_t)v->u; memcpy(dst, &x, 2); return; }
        case 4: { uint32_t x = (uint32_t)v->u; memcpy(dst, &x, 4); return; }
        default: memcpy(dst, &v->u, 8); return;
        }
    }
}

static void fill_record(const struct encoded_template *et, const struct flow_record *r,
                        int view, uint8_t *rec)
{
    size_t off = 0;
    for (size_t i = 0; i < et->def.nfields; i++) {
        const struct template_field *f = &et->def.fields[i];
        struct elem_value v;
        memset(&v, 0, sizeof v);
        /* A value the record lacks (no ICMP type for TCP) goes out as zero. */
        f->elem->get(r, f->reverse ? VIEW_REV : view, &v);
        put_value(rec + off, f->elem, &v);
        off += field_internal_len(f->elem);
    }
}

int ipfix_add_flow(struct ipfix_encoder *e, const struct flow_record *r)
{
    const struct encoded_template *et = r->ip_version == 6 ? &e->v6 : &e->v4;
    if (e->biflow) {
        fill_record(et, r, VIEW_BIFLOW, e->rec);
        return append(e, et->tid, e->rec, et->reclen, true);
    }
    for (int dir = DIR_FWD; dir <= DIR_REV; dir++) {
        if (r->packets[dir] == 0)
            continue;
        fill_record(et, r, dir == DIR_FWD ? VIEW_FWD : VIEW_REV, e->rec);
        if (append(e, et->tid, e->rec, et->reclen, true) < 0)
            return -1;
    }
    return 0;
}

int ipfix_add_stats(struct ipfix_encoder *e, const struct probe_stats_record *s)
{
    /* Counters as of this record: what was exported before it. */
    struct {
        uint32_t domain;
        uint64_t start_ms, packets, ignored, dropped, flows, not_sent, messages, records, octets;
    } __attribute__((packed)) rec = {
        e->domain, s->start_ms, s->packets_observed, s->packets_ignored, s->packets_dropped,
        s->flows_observed, s->flows_not_sent, e->counters.messages, e->counters.records,
        e->counters.octets,
    };
    return append(e, e->stats_tid, (const uint8_t *)&rec, sizeof rec, false);
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
