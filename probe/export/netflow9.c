#include "netflow9.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"
#include "sysuptime.h"
#include "util.h"

#define NF9_VERSION 9
#define NF9_HEADER_LEN 20
#define NF9_SET_HEADER_LEN 4
#define NF9_TEMPLATE_SET_ID 0
#define NF9_OPTIONS_TEMPLATE_SET_ID 1
#define NF9_SCOPE_SYSTEM 1
#define NF9_FIELD_APP_ID 95
#define NF9_FIELD_APP_NAME 96
#define NF9_FIELD_APP_DESC 94
#define NF9_APP_NAME_LEN 32
#define NF9_APP_DESC_LEN 64
/* set header, template id, two lengths, four fields, 2 bytes of padding */
#define NF9_APPS_TEMPLATE_SET_LEN (4 + 6 + 4 * 4 + 2)
/* v9 has no variable-length fields: strings go out NUL-padded at this size. */
#define NF9_STRING_LEN 64
#define NF9_FIELD_FIRST_SWITCHED 22
#define NF9_FIELD_LAST_SWITCHED 21
#define NF9_FIELD_TCP_FLAGS 6

enum { NF9_TID_IPV4 = 256, NF9_TID_IPV6 = 257, NF9_TID_APPS = 258, NF9_TID_SAMPLER = 259 };

struct nf9_field {
    const struct template_field *tf;
    struct nf9_field_spec spec;
};

struct nf9_template {
    uint16_t tid;
    struct template_def def;    /* the family's fields (owned) */
    struct nf9_field *fields;   /* those v9 can carry */
    size_t nfields;
    size_t reclen;
};

struct nf9_encoder {
    struct nf9_template v4, v6;
    uint8_t *buf;
    size_t mtu;
    size_t len;                 /* bytes in buf; 0: no message open */
    size_t set_start;           /* offset of the open data set, 0: none */
    uint16_t set_tid;
    uint16_t count;             /* header count: template and data records */
    uint32_t flow_records;      /* data records in the open message */
    uint32_t sequence;          /* messages sent before this one (RFC 3954) */
    uint32_t source_id;
    uint32_t refresh_packets, since_templates;
    bool templates_last;        /* the last message sent was the templates */
    bool sending_setup;         /* messages now are MSG_SETUP (names after the templates) */
    struct sysuptime clock;
    const struct ipfix_app_table *apps;     /* NULL: no application names */
    ipfix_msg_fn out;
    void *out_ctx;
    struct export_counters counters;
};

/* ---- what v9 carries ------------------------------------------------------ */

/* RFC 3954 §8 gives these fields a length other than IPFIX's. */
struct nf9_field_spec nf9_field_for(const struct template_field *f)
{
    struct nf9_field_spec s = {0, 0, false};
    const struct element *el = f->elem;
    if (f->reverse || el->v9_id == 0 || el->list)
        return s;   /* RFC 5103 reverse twins and lists have no v9 field */
    s.id = el->v9_id;
    s.len = el->len == ELEM_VARLEN ? NF9_STRING_LEN : el->len;
    if (s.id == NF9_FIELD_FIRST_SWITCHED || s.id == NF9_FIELD_LAST_SWITCHED) {
        s.len = 4;
        s.uptime = true;
    } else if (s.id == NF9_FIELD_TCP_FLAGS) {
        s.len = 1;
    }
    return s;
}

/* One line, once per run, naming the elements v9 leaves out. */
static void note_left_out(const struct template_def *t)
{
    static bool noted;
    char names[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < t->nfields && !noted; i++) {
        if (nf9_field_for(&t->fields[i]).id)
            continue;
        char rev[160];
        const char *name = t->fields[i].elem->name;
        if (t->fields[i].reverse) {
            element_reverse_name(name, rev, sizeof rev);
            name = rev;
        }
        int n = snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", name);
        if (n > 0 && (size_t)n < sizeof names - used)
            used += (size_t)n;
    }
    if (used && !noted) {
        log_info("NetFlow v9 has no field for %s: left out of v9 templates", names);
        noted = true;
    }
}

/* Microsecond and nanosecond times have no v9 field (RFC 3954 carries
 * FIRST/LAST_SWITCHED in ms of sysUptime; nfdump and nfacctd read nothing
 * else): asked for, they are refused, not silently left out. */
static int refuse_finer_times(const struct template_def *t, char *err, size_t errlen)
{
    for (size_t i = 0; i < t->nfields; i++) {
        const struct element *el = t->fields[i].elem;
        if (el->type != ET_DATETIME_US && el->type != ET_DATETIME_NS)
            continue;
        char name[160];
        if (t->fields[i].reverse)
            element_reverse_name(el->name, name, sizeof name);
        snprintf(err, errlen, "template %s: NetFlow v9 has no field for %s; export IPFIX (-V 10) "
                 "or use flowStartMilliseconds/flowEndMilliseconds",
                 t->name, t->fields[i].reverse ? name : el->name);
        return -1;
    }
    return 0;
}

static int setup_template(struct nf9_template *nt, const struct template_def *all, int family,
                          uint16_t tid, size_t mtu, char *err, size_t errlen)
{
    nt->tid = tid;
    if (refuse_finer_times(all, err, errlen) < 0)
        return -1;
    if (template_for_family(all, family, &nt->def) < 0 ||
        !(nt->fields = calloc(nt->def.nfields ? nt->def.nfields : 1, sizeof *nt->fields))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < nt->def.nfields; i++) {
        struct nf9_field_spec s = nf9_field_for(&nt->def.fields[i]);
        if (!s.id)
            continue;
        nt->fields[nt->nfields++] = (struct nf9_field){&nt->def.fields[i], s};
        nt->reclen += s.len;
    }
    if (nt->nfields == 0) {
        snprintf(err, errlen, "template %s has no element NetFlow v9 can carry", nt->def.name);
        return -1;
    }
    if (NF9_HEADER_LEN + NF9_SET_HEADER_LEN + nt->reclen + 3 > mtu) {
        snprintf(err, errlen, "template %s: a %zu-byte record does not fit in --mtu %zu",
                 nt->def.name, nt->reclen, mtu);
        return -1;
    }
    return 0;
}

static void free_template(struct nf9_template *nt)
{
    template_free(&nt->def);
    free(nt->fields);
    memset(nt, 0, sizeof *nt);
}

struct nf9_encoder *nf9_new(const struct nf9_config *cfg, ipfix_msg_fn out, void *ctx,
                            char *err, size_t errlen)
{
    struct nf9_encoder *e = calloc(1, sizeof *e);
    if (!e || !(e->buf = malloc(cfg->mtu))) {
        free(e);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->mtu = cfg->mtu;
    e->source_id = cfg->source_id;
    e->refresh_packets = cfg->refresh_packets;
    e->out = out;
    e->out_ctx = ctx;
    if (setup_template(&e->v4, cfg->tmpl, 4, NF9_TID_IPV4, e->mtu, err, errlen) < 0 ||
        setup_template(&e->v6, cfg->tmpl, 6, NF9_TID_IPV6, e->mtu, err, errlen) < 0) {
        nf9_free(e);
        return NULL;
    }
    note_left_out(cfg->tmpl);
    return e;
}

void nf9_free(struct nf9_encoder *e)
{
    if (!e)
        return;
    free_template(&e->v4);
    free_template(&e->v6);
    free(e->buf);
    free(e);
}

const struct export_counters *nf9_counters(const struct nf9_encoder *e)
{
    return &e->counters;
}

/* ---- message assembly ------------------------------------------------------- */

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Big-endian at the field's length, from the low-order bytes of v. */
static void put_uint(uint8_t *p, uint64_t v, uint16_t len)
{
    for (uint16_t i = 0; i < len; i++)
        p[len - 1 - i] = i < 8 ? (uint8_t)(v >> (8 * i)) : 0;
}

static void begin_message(struct nf9_encoder *e)
{
    e->len = NF9_HEADER_LEN;
    e->set_start = 0;
    e->count = 0;
    e->flow_records = 0;
}

/* Sets end on a 4-byte boundary (RFC 3954 §5.3: padding SHOULD be used). */
static void close_set(struct nf9_encoder *e)
{
    if (!e->set_start)
        return;
    while ((e->len - e->set_start) % 4)
        e->buf[e->len++] = 0;
    put16(e->buf + e->set_start + 2, (uint16_t)(e->len - e->set_start));
    e->set_start = 0;
}

static int send_templates_now(struct nf9_encoder *e);

static int emit(struct nf9_encoder *e, bool templates)
{
    if (!e->len)
        return 0;
    close_set(e);
    uint32_t uptime, secs;
    sysuptime_header(&e->clock, &uptime, &secs);
    put16(e->buf, NF9_VERSION);
    put16(e->buf + 2, e->count);
    put32(e->buf + 4, uptime);
    put32(e->buf + 8, secs);
    put32(e->buf + 12, e->sequence++);
    put32(e->buf + 16, e->source_id);
    size_t len = e->len;
    uint32_t nrec = e->flow_records;
    e->len = 0;
    e->counters.messages++;
    e->counters.octets += len;
    e->templates_last = templates;
    enum msg_kind kind = templates ? MSG_TEMPLATES : e->sending_setup ? MSG_SETUP : MSG_DATA;
    int rc = e->out(e->out_ctx, e->buf, len, nrec, kind);
    /* Collectors that missed the templates (UDP) learn them again soon. */
    if (!templates && e->refresh_packets && ++e->since_templates >= e->refresh_packets &&
        send_templates_now(e) < 0)
        rc = -1;
    return rc;
}

static void append_template_record(struct nf9_encoder *e, const struct nf9_template *nt)
{
    put16(e->buf + e->len, nt->tid);
    put16(e->buf + e->len + 2, (uint16_t)nt->nfields);
    e->len += 4;
    for (size_t i = 0; i < nt->nfields; i++) {
        put16(e->buf + e->len, nt->fields[i].spec.id);
        put16(e->buf + e->len + 2, nt->fields[i].spec.len);
        e->len += 4;
    }
    e->count++;
}

/* One options record (scope System: the source id, then reclen - 4 bytes
 * the caller writes at the pointer returned) in a data set of its own, in
 * the open message or a new one. NULL when sending the full one failed. */
static uint8_t *begin_option_record(struct nf9_encoder *e, uint16_t tid, size_t reclen)
{
    if (e->len && e->len + NF9_SET_HEADER_LEN + reclen + 3 > e->mtu && emit(e, false) < 0)
        return NULL;
    if (!e->len)
        begin_message(e);
    close_set(e);
    e->set_start = e->len;
    e->set_tid = tid;
    put16(e->buf + e->len, tid);
    uint8_t *p = e->buf + e->len + NF9_SET_HEADER_LEN;
    put32(p, e->source_id);
    e->len += NF9_SET_HEADER_LEN + reclen;
    e->count++;
    return p + 4;
}

/* ---- sampler options (issue 14) ---------------------------------------------
 * Cisco's form, which nfacctd renormalizes by: an options template (scope
 * System) with FLOW_SAMPLER_ID 48, FLOW_SAMPLER_MODE 49 (1 deterministic,
 * 2 random) and FLOW_SAMPLER_RANDOM_INTERVAL 50; each flow record carries
 * FLOW_SAMPLER_ID. v9 has no form for hash selection. */
#define NF9_SAMPLER_TEMPLATE_SET_LEN (4 + 6 + 4 * 4 + 2)
#define NF9_SAMPLER_RECORD_LEN (4 + 2 + 1 + 4)

static void append_options_template(struct nf9_encoder *e, uint16_t tid, const uint16_t fields[3][2]);

static void append_sampler_template(struct nf9_encoder *e)
{
    static const uint16_t fields[3][2] = {{48, 2}, {49, 1}, {50, 4}};
    if (selection_sampler(selection_export_get()))
        append_options_template(e, NF9_TID_SAMPLER, fields);
}

static int send_sampler_options(struct nf9_encoder *e)
{
    const struct selector_report *r = selection_sampler(selection_export_get());
    if (!r)
        return 0;
    uint8_t *p = begin_option_record(e, NF9_TID_SAMPLER, NF9_SAMPLER_RECORD_LEN);
    if (!p)
        return -1;
    put16(p, r->id);
    p[2] = r->algorithm == SELECTOR_ALG_COUNT ? 1 : 2;
    put32(p + 3, r->interval);
    close_set(e);
    e->sending_setup = true;
    int rc = nf9_flush(e);
    e->sending_setup = false;
    return rc;
}

/* RFC 3954 §6.1: an options template set of its own, scope System, three
 * fields (id, length). */
static void append_options_template(struct nf9_encoder *e, uint16_t tid, const uint16_t fields[3][2])
{
    close_set(e);
    e->set_start = e->len;
    uint8_t *p = e->buf + e->len;
    put16(p, NF9_OPTIONS_TEMPLATE_SET_ID);
    put16(p + 4, tid);
    put16(p + 6, 4);                    /* scope: one field */
    put16(p + 8, 3 * 4);                /* options: three fields */
    put16(p + 10, NF9_SCOPE_SYSTEM);
    put16(p + 12, 4);
    for (int i = 0; i < 3; i++) {
        put16(p + 14 + 4 * i, fields[i][0]);
        put16(p + 16 + 4 * i, fields[i][1]);
    }
    e->len += 26;
    e->count++;
}

static void append_apps_template(struct nf9_encoder *e)
{
    const uint16_t fields[3][2] = {{NF9_FIELD_APP_ID, e->apps->idlen}, {NF9_FIELD_APP_NAME, NF9_APP_NAME_LEN},
                                   {NF9_FIELD_APP_DESC, NF9_APP_DESC_LEN}};
    append_options_template(e, NF9_TID_APPS, fields);
}

static size_t app_record_len(const struct nf9_encoder *e)
{
    return 4 + e->apps->idlen + NF9_APP_NAME_LEN + NF9_APP_DESC_LEN;
}

static void put_fixed_string(uint8_t *p, const char *s, size_t len)
{
    memset(p, 0, len);
    if (s)
        memcpy(p, s, strnlen(s, len));
}

static int send_app_records(struct nf9_encoder *e);

/* Application names follow the templates; stream transports keep them with
 * the templates for a new connection. */
static int send_app_names(struct nf9_encoder *e)
{
    if (!e->apps)
        return 0;
    e->sending_setup = true;
    int rc = send_app_records(e);
    e->sending_setup = false;
    return rc;
}

/* One record per data set: nfdump 1.7.1 reads only the first option record
 * of a set (REFERENCE.md). */
static int send_app_records(struct nf9_encoder *e)
{
    for (size_t i = 0; i < e->apps->n; i++) {
        const struct ipfix_app_name *a = &e->apps->apps[i];
        uint8_t *p = begin_option_record(e, NF9_TID_APPS, app_record_len(e));
        if (!p)
            return -1;
        memcpy(p, a->id, e->apps->idlen);
        put_fixed_string(p + e->apps->idlen, a->name, NF9_APP_NAME_LEN);
        put_fixed_string(p + e->apps->idlen + NF9_APP_NAME_LEN, a->description, NF9_APP_DESC_LEN);
    }
    /* A data set may not follow in the same set: the next record opens one. */
    close_set(e);
    return nf9_flush(e);
}

int nf9_set_app_names(struct nf9_encoder *e, const struct ipfix_app_table *t, char *err,
                      size_t errlen)
{
    if (t->idlen == 0 || t->idlen > sizeof t->apps[0].id) {
        snprintf(err, errlen, "applicationId of %u bytes", t->idlen);
        return -1;
    }
    e->apps = t;
    e->templates_last = false;          /* the options template must go out */
    if (NF9_HEADER_LEN + NF9_SET_HEADER_LEN + app_record_len(e) + 3 > e->mtu) {
        snprintf(err, errlen, "an application name record does not fit in --mtu %zu", e->mtu);
        e->apps = NULL;
        return -1;
    }
    return 0;
}

static size_t template_record_len(const struct nf9_template *nt)
{
    return 4 + 4 * nt->nfields;
}

/* Both templates in one template set, in a message of their own (transports
 * keep it to send first on a new connection). */
static int send_templates_now(struct nf9_encoder *e)
{
    size_t need = NF9_HEADER_LEN + NF9_SET_HEADER_LEN + template_record_len(&e->v4) +
                  template_record_len(&e->v6) + (e->apps ? NF9_APPS_TEMPLATE_SET_LEN : 0) +
                  NF9_SAMPLER_TEMPLATE_SET_LEN;
    if (need > e->mtu) {
        log_error("NetFlow v9: the templates (%zu bytes) do not fit in --mtu %zu", need, e->mtu);
        return -1;
    }
    begin_message(e);
    e->set_start = e->len;
    put16(e->buf + e->len, NF9_TEMPLATE_SET_ID);
    e->len += NF9_SET_HEADER_LEN;
    append_template_record(e, &e->v4);
    append_template_record(e, &e->v6);
    if (e->apps)
        append_apps_template(e);
    append_sampler_template(e);
    e->since_templates = 0;
    return emit(e, true);
}

int nf9_send_templates(struct nf9_encoder *e)
{
    if (nf9_flush(e) < 0)
        return -1;
    /* The flush may have sent them already (--template-refresh-packets). */
    if (!e->templates_last && send_templates_now(e) < 0)
        return -1;
    return send_app_names(e) < 0 ? -1 : send_sampler_options(e);
}

int nf9_begin_session(struct nf9_encoder *e)
{
    if (nf9_flush(e) < 0)
        return -1;
    e->templates_last = false;  /* whatever went before went to another session */
    return nf9_send_templates(e);
}

int nf9_flush(struct nf9_encoder *e)
{
    return e->len ? emit(e, false) : 0;
}

/* Room for one more record of nt, in the open data set or a new one. */
static bool has_room(const struct nf9_encoder *e, const struct nf9_template *nt)
{
    size_t need = nt->reclen + 3;   /* the set's padding */
    if (!e->set_start || e->set_tid != nt->tid)
        need += NF9_SET_HEADER_LEN;
    return e->len + need <= e->mtu;
}

static void open_data_set(struct nf9_encoder *e, uint16_t tid)
{
    if (e->set_start && e->set_tid == tid)
        return;
    close_set(e);
    e->set_start = e->len;
    e->set_tid = tid;
    put16(e->buf + e->len, tid);
    e->len += NF9_SET_HEADER_LEN;
}

static void put_field(uint8_t *p, const struct nf9_field *f, const struct elem_value *v,
                      const struct sysuptime *clock)
{
    const struct element *el = f->tf->elem;
    uint16_t len = f->spec.len;
    if (f->spec.uptime) {
        put32(p, sysuptime_offset(clock, v->u));
        return;
    }
    switch (el->type) {
    case ET_IPV4:
        memcpy(p, v->addr, 4);
        return;
    case ET_IPV6:
        memcpy(p, v->addr, 16);
        return;
    case ET_STRING: case ET_OCTETS: {
        size_t n = v->nbytes < len ? v->nbytes : len;
        memset(p, 0, len);
        if (n && v->bytes)
            memcpy(p, v->bytes, n);
        if (el->type == ET_STRING && v->bytes)
            utf8_scrub(p, n);   /* after the cut to the field's length */
        return;
    }
    case ET_UNSIGNED: case ET_DATETIME_MS: case ET_DATETIME_US: case ET_DATETIME_NS:
        put_uint(p, v->u, len);     /* (finer times never get here: refuse_finer_times()) */
        return;
    case ET_FLOAT64: {
        uint64_t bits;
        memcpy(&bits, &v->f, sizeof bits);
        put_uint(p, bits, 8);
        return;
    }
    }
}

static void write_record(struct nf9_encoder *e, const struct nf9_template *nt,
                         const struct flow_record *r, int view)
{
    uint8_t *p = e->buf + e->len;
    for (size_t i = 0; i < nt->nfields; i++) {
        const struct nf9_field *f = &nt->fields[i];
        struct elem_value v;
        memset(&v, 0, sizeof v);
        /* A value the record lacks (no ICMP type for TCP) goes out as zero. */
        element_get(f->tf->elem, r, f->tf->reverse ? VIEW_REV : view, &v);
        put_field(p, f, &v, &e->clock);
        p += f->spec.len;
    }
    e->len += nt->reclen;
    e->count++;
    e->flow_records++;
    e->counters.records++;
}

/* The flow's times must be offsets from this message's boot time: if they
 * cannot be, the message is finished and the clock re-based. */
static int ensure_clock(struct nf9_encoder *e, uint64_t first_ms, uint64_t last_ms)
{
    if (sysuptime_fits(&e->clock, first_ms, last_ms))
        return 0;
    if (nf9_flush(e) < 0)
        return -1;
    sysuptime_rebase(&e->clock, first_ms);
    return 0;
}

int nf9_add_flow(struct nf9_encoder *e, const struct flow_record *r)
{
    const struct nf9_template *nt = r->ip_version == 6 ? &e->v6 : &e->v4;
    uint64_t first = record_first_ms(r), last = record_last_ms(r);
    if (ensure_clock(e, first, last) < 0)
        return -1;
    int rc = 0;
    for (int dir = DIR_FWD; dir <= DIR_REV; dir++) {
        if (r->packets[dir] == 0)
            continue;
        if (e->len && !has_room(e, nt) && emit(e, false) < 0)
            rc = -1;
        if (!e->len)
            begin_message(e);
        open_data_set(e, nt->tid);
        write_record(e, nt, r, dir == DIR_FWD ? VIEW_FWD : VIEW_REV);
        sysuptime_note(&e->clock, last);
    }
    return rc;
}
