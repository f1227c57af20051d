#include "ecs.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

/* ---- the record's ECS fields, collected before they are written nested ---- */

struct ecs_entry {
    size_t name_off, name_len;      /* dotted ECS name, in names */
    size_t value_off, value_len;    /* JSON text, in values */
};

struct ecs_line {
    struct textbuf names, values;
    struct ecs_entry *entries;
    size_t n, cap;
    struct json_field *fields;      /* the record's fields with values (json_walk) */
    struct elem_value *field_values;
    size_t nfields, fields_cap;
    bool failed;
};

/* Start an entry: its name now, its value written by the caller next. */
static struct textbuf *begin_entry(struct ecs_line *e, const char *prefix, const char *name)
{
    if (e->n == e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 64;
        struct ecs_entry *grown = realloc(e->entries, cap * sizeof *grown);
        if (!grown) {
            e->failed = true;
            return NULL;
        }
        e->entries = grown;
        e->cap = cap;
    }
    struct ecs_entry *en = &e->entries[e->n];
    en->name_off = e->names.len;
    tb_put_text(&e->names, prefix);
    tb_put_text(&e->names, name);
    en->name_len = e->names.len - en->name_off;
    en->value_off = e->values.len;
    return &e->values;
}

static void end_entry(struct ecs_line *e)
{
    struct ecs_entry *en = &e->entries[e->n++];
    en->value_len = e->values.len - en->value_off;
}

static void add_text(struct ecs_line *e, const char *name, const char *text)
{
    struct textbuf *b = begin_entry(e, "", name);
    if (!b)
        return;
    tb_put_json_string(b, (const uint8_t *)text, strlen(text));
    end_entry(e);
}

static void add_raw(struct ecs_line *e, const char *name, const char *json)
{
    struct textbuf *b = begin_entry(e, "", name);
    if (!b)
        return;
    tb_put_text(b, json);
    end_entry(e);
}

static void add_value(struct ecs_line *e, const char *prefix, const char *name,
                      const struct json_field *f)
{
    struct textbuf *b = begin_entry(e, prefix, name);
    if (!b)
        return;
    json_put_value(b, f->el, f->v);
    end_entry(e);
}

static void add_number_text(struct ecs_line *e, const char *name, uint64_t u)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)u);
    add_text(e, name, buf);
}

static void add_number(struct ecs_line *e, const char *name, uint64_t u)
{
    struct textbuf *b = begin_entry(e, "", name);
    if (!b)
        return;
    tb_put_u64(b, u);
    end_entry(e);
}

/* ECS dates: ISO 8601 in UTC with milliseconds. A time past year 9999 (a
 * capture's garbage) is left out: Elasticsearch would refuse the document. */
static void add_date_ms(struct ecs_line *e, const char *name, uint64_t ms)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    char buf[64], date[40];
    if (ms / 1000 > INT64_C(253402300799) || !gmtime_r(&secs, &tm) ||
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return;
    snprintf(buf, sizeof buf, "%s.%03uZ", date, (unsigned)(ms % 1000));
    add_text(e, name, buf);
}

/* ---- conversions of the fields that have an ECS name ------------------------ */

static const struct elem_value *field_value(const struct ecs_line *e, const char *json_name)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (strcmp(e->fields[i].name, json_name) == 0)
            return e->fields[i].v;
    return NULL;
}

/* A value that says something: nDPI leaves strings empty and numbers 0
 * when it learnt nothing. */
static bool has_field(const struct ecs_line *e, const char *json_name)
{
    const struct elem_value *v = field_value(e, json_name);
    return v && (v->nbytes || v->u);
}

/* network.transport: IANA's keyword, lowercase, for the protocols that
 * carry flows nfprobe meters; others only by number (network.iana_number). */
static const char *transport_name(uint64_t proto)
{
    switch (proto) {
    case 1: return "icmp";
    case 2: return "igmp";
    case 6: return "tcp";
    case 17: return "udp";
    case 33: return "dccp";
    case 47: return "gre";
    case 50: return "esp";
    case 51: return "ah";
    case 58: return "ipv6-icmp";
    case 132: return "sctp";
    case 136: return "udplite";
    default: return NULL;
    }
}

static void conv_protocol(struct ecs_line *e, const struct json_field *f)
{
    add_number_text(e, "network.iana_number", f->v->u);
    const char *name = transport_name(f->v->u);
    if (name)
        add_text(e, "network.transport", name);
}

static void conv_ip_version(struct ecs_line *e, const struct json_field *f)
{
    add_text(e, "network.type", f->v->u == 6 ? "ipv6" : "ipv4");
}

static void conv_vlan(struct ecs_line *e, const struct json_field *f)
{
    if (f->v->u)
        add_number_text(e, "network.vlan.id", f->v->u);
}

static void conv_flow_id(struct ecs_line *e, const struct json_field *f)
{
    add_number_text(e, "event.id", f->v->u);
}

static void conv_start(struct ecs_line *e, const struct json_field *f)
{
    add_date_ms(e, "event.start", f->v->u);
}

/* The record is made when the flow ends: that is the event's time. */
static void conv_end(struct ecs_line *e, const struct json_field *f)
{
    add_date_ms(e, "event.end", f->v->u);
    add_date_ms(e, "@timestamp", f->v->u);
}

static void conv_duration(struct ecs_line *e, const struct json_field *f)
{
    add_number(e, "event.duration", f->v->u * 1000000u);    /* ECS: nanoseconds */
}

static void conv_not_before(struct ecs_line *e, const struct json_field *f)
{
    if (f->v->u)
        add_date_ms(e, "tls.server.not_before", f->v->u * 1000);
}

static void conv_not_after(struct ecs_line *e, const struct json_field *f)
{
    if (f->v->u)
        add_date_ms(e, "tls.server.not_after", f->v->u * 1000);
}

/* nDPI's "TLS.YouTube": protocol tls, application youtube (ECS wants both
 * lowercase); the name as nDPI wrote it stays in the custom namespace.
 * nDPI's "Unknown" is no protocol. */
static void conv_app_name(struct ecs_line *e, const struct json_field *f)
{
    if (f->v->nbytes == 7 && memcmp(f->v->bytes, "Unknown", 7) == 0) {
        add_value(e, ECS_CUSTOM_NAMESPACE ".", f->name, f);
        return;
    }
    char proto[64], app[64];
    size_t n = f->v->nbytes, p = 0, a = 0;
    const uint8_t *s = f->v->bytes;
    const uint8_t *dot = memchr(s, '.', n);
    size_t plen = dot ? (size_t)(dot - s) : n;
    for (size_t i = 0; i < plen && p < sizeof proto - 1; i++)
        proto[p++] = (char)tolower(s[i]);
    proto[p] = '\0';
    for (size_t i = plen + 1; dot && i < n && a < sizeof app - 1; i++)
        app[a++] = (char)tolower(s[i]);
    app[a] = '\0';
    struct elem_value lower = *f->v;
    struct json_field as_text = {f->name, f->el, &lower};
    if (p) {
        lower.bytes = (const uint8_t *)proto;
        lower.nbytes = p;
        add_value(e, "", "network.protocol", &as_text);
    }
    if (a) {
        lower.bytes = (const uint8_t *)app;
        lower.nbytes = a;
        add_value(e, "", "network.application", &as_text);
    }
    add_value(e, ECS_CUSTOM_NAMESPACE ".", f->name, f);
}

/* nDPI's server name is the DNS query, HTTP's Host or TLS's (QUIC's) SNI. */
static void conv_server_name(struct ecs_line *e, const struct json_field *f)
{
    const char *name = has_field(e, "dns_query_type") ? "dns.question.name"
                     : has_field(e, "user_agent") ? "url.domain"
                     : has_field(e, "tls_version") || has_field(e, "client_fingerprint")
                       ? "tls.client.server_name"
                     : NULL;
    if (name)
        add_value(e, "", name, f);
    else
        add_value(e, ECS_CUSTOM_NAMESPACE ".", f->name, f);
}

static void conv_dns_type(struct ecs_line *e, const struct json_field *f)
{
    static const struct { unsigned code; const char *name; } types[] = {
        {1, "A"}, {2, "NS"}, {5, "CNAME"}, {6, "SOA"}, {12, "PTR"}, {13, "HINFO"}, {15, "MX"},
        {16, "TXT"}, {28, "AAAA"}, {33, "SRV"}, {35, "NAPTR"}, {43, "DS"}, {46, "RRSIG"},
        {48, "DNSKEY"}, {64, "SVCB"}, {65, "HTTPS"}, {252, "AXFR"}, {255, "ANY"}, {257, "CAA"},
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].code == f->v->u) {
            add_text(e, "dns.question.type", types[i].name);
            return;
        }
    char buf[24];     /* RFC 3597's name for a type without a mnemonic */
    snprintf(buf, sizeof buf, "TYPE%llu", (unsigned long long)f->v->u);
    add_text(e, "dns.question.type", buf);
}

static void conv_dns_rcode(struct ecs_line *e, const struct json_field *f)
{
    static const char *const rcodes[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",
                                         "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
                                         "NOTZONE"};
    if (f->v->u < sizeof rcodes / sizeof rcodes[0])
        add_text(e, "dns.response_code", rcodes[f->v->u]);
    else
        add_number_text(e, "dns.response_code", f->v->u);
}

/* nDPI's version number (0x0303) as ECS writes it ("1.2", protocol tls). */
static void conv_tls_version(struct ecs_line *e, const struct json_field *f)
{
    uint64_t v = f->v->u;
    if (v == 0)
        return;     /* not TLS, or no version seen */
    if (v < 0x0301 || v > 0x0304) {
        add_value(e, ECS_CUSTOM_NAMESPACE ".", f->name, f);
        return;
    }
    char buf[8];
    snprintf(buf, sizeof buf, "1.%u", (unsigned)(v - 0x0301));
    add_text(e, "tls.version", buf);
    add_text(e, "tls.version_protocol", "tls");
}

typedef void (*ecs_conv_fn)(struct ecs_line *e, const struct json_field *f);

/* JSON name -> ECS: a name when the value goes over as it is, a
 * conversion otherwise; neither: the field is not written (it repeats
 * another). Fields not listed go under the custom namespace. */
static const struct ecs_map {
    const char *json;
    const char *ecs;
    ecs_conv_fn conv;
} ecs_map[] = {
    {"id",                          NULL,                   conv_flow_id},
    {"first_seen_ms",               NULL,                   conv_start},
    {"last_seen_ms",                NULL,                   conv_end},
    {"ip_version",                  NULL,                   conv_ip_version},
    {"protocol",                    NULL,                   conv_protocol},
    {"vlan_id",                     NULL,                   conv_vlan},
    {"src_ip",                      "source.ip",            NULL},
    {"dst_ip",                      "destination.ip",       NULL},
    {"src_port",                    "source.port",          NULL},
    {"dst_port",                    "destination.port",     NULL},
    {"src2dst_packets",             "source.packets",       NULL},
    {"dst2src_packets",             "destination.packets",  NULL},
    {"src2dst_bytes",               "source.bytes",         NULL},
    {"dst2src_bytes",               "destination.bytes",    NULL},
    {"bidirectional_first_seen_ms", NULL,                   NULL},  /* = event.start */
    {"bidirectional_last_seen_ms",  NULL,                   NULL},  /* = event.end */
    {"bidirectional_duration_ms",   NULL,                   conv_duration},
    {"bidirectional_packets",       "network.packets",      NULL},
    {"bidirectional_bytes",         "network.bytes",        NULL},
    {"application_name",            NULL,                   conv_app_name},
    {"requested_server_name",       NULL,                   conv_server_name},
    {"client_fingerprint",          "tls.client.ja3",       NULL},
    {"server_fingerprint",          "tls.server.ja3s",      NULL},
    {"user_agent",                  "user_agent.original",  NULL},
    {"dns_query_type",              NULL,                   conv_dns_type},
    {"dns_rcode",                   NULL,                   conv_dns_rcode},
    {"tls_version",                 NULL,                   conv_tls_version},
    {"tls_issuer",                  "tls.server.issuer",    NULL},
    {"tls_subject",                 "tls.server.subject",   NULL},
    {"tls_not_before",              NULL,                   conv_not_before},
    {"tls_not_after",               NULL,                   conv_not_after},
};

static int find_map_row(const char *json_name)
{
    for (size_t i = 0; i < sizeof ecs_map / sizeof ecs_map[0]; i++)
        if (strcmp(ecs_map[i].json, json_name) == 0)
            return (int)i;
    return -1;
}

/* ecs_map's row for a JSON name (-1: none), searched once per name: the
 * walk's names are the element table's strings, which stay where they are. */
static int map_row(const char *json_name)
{
    enum { SLOTS = 512 };
    static struct { const char *name; int row; } seen[SLOTS];
    size_t h = ((uintptr_t)json_name >> 3) % SLOTS;
    for (size_t i = 0; i < SLOTS; i++, h = (h + 1) % SLOTS) {
        if (seen[h].name == json_name)
            return seen[h].row;
        if (!seen[h].name) {
            seen[h].name = json_name;
            seen[h].row = find_map_row(json_name);
            return seen[h].row;
        }
    }
    return find_map_row(json_name);
}

static void map_field(struct ecs_line *e, const struct json_field *f)
{
    int row = map_row(f->name);
    if (row < 0) {
        add_value(e, ECS_CUSTOM_NAMESPACE ".", f->name, f);
        return;
    }
    const struct ecs_map *m = &ecs_map[row];
    if (m->conv)
        m->conv(e, f);
    else if (m->ecs)
        add_value(e, "", m->ecs, f);
}

/* ---- collecting the record's fields ---------------------------------------- */

/* ECS leaves out what is not known rather than write it empty. */
static void keep_field(void *ctx, const struct json_field *f)
{
    struct ecs_line *e = ctx;
    if (!f->v || (f->el->type == ET_STRING && f->v->nbytes == 0))
        return;
    if (e->nfields == e->fields_cap) {
        size_t cap = e->fields_cap ? e->fields_cap * 2 : 64;
        struct json_field *fields = realloc(e->fields, cap * sizeof *fields);
        if (fields)
            e->fields = fields;
        struct elem_value *values = realloc(e->field_values, cap * sizeof *values);
        if (values)
            e->field_values = values;
        if (!fields || !values) {
            e->failed = true;
            return;
        }
        e->fields_cap = cap;
    }
    e->field_values[e->nfields] = *f->v;
    e->fields[e->nfields] = *f;
    e->nfields++;
}

/* ---- writing nested objects ------------------------------------------------- */

static const char *entry_name(const struct ecs_line *e, const struct ecs_entry *en)
{
    return e->names.p + en->name_off;
}

/* Sorting by name, a dot before any other character, puts the members of
 * one object next to each other. */
static const struct ecs_line *sorting;
static int by_name(const void *a, const void *b)
{
    const struct ecs_entry *x = a, *y = b;
    const char *s = entry_name(sorting, x), *t = entry_name(sorting, y);
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == t[i])
            continue;
        if (s[i] == '.' || t[i] == '.')
            return s[i] == '.' ? -1 : 1;
        return (unsigned char)s[i] < (unsigned char)t[i] ? -1 : 1;
    }
    return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

enum { ECS_DEPTH_MAX = 8 };

/* Components of a dotted name: their starts and lengths. */
static size_t split_name(const char *s, size_t n, const char *part[], size_t len[])
{
    size_t k = 0, start = 0;
    for (size_t i = 0; i <= n && k < ECS_DEPTH_MAX; i++)
        if (i == n || s[i] == '.') {
            part[k] = s + start;
            len[k++] = i - start;
            start = i + 1;
        }
    return k;
}

static void put_key(struct textbuf *b, bool *first, const char *s, size_t n)
{
    if (!*first)
        tb_put_char(b, ',');
    *first = false;
    tb_put_json_string(b, (const uint8_t *)s, n);
    tb_put_char(b, ':');
}

static void write_nested(const struct ecs_line *e, struct textbuf *b)
{
    const char *open[ECS_DEPTH_MAX];
    size_t open_len[ECS_DEPTH_MAX], depth = 0;
    bool first[ECS_DEPTH_MAX + 1] = {true};
    tb_put_char(b, '{');
    for (size_t i = 0; i < e->n; i++) {
        const struct ecs_entry *en = &e->entries[i];
        const char *part[ECS_DEPTH_MAX];
        size_t len[ECS_DEPTH_MAX];
        size_t k = split_name(entry_name(e, en), en->name_len, part, len);
        size_t keep = 0;
        while (keep < depth && keep + 1 < k && len[keep] == open_len[keep] &&
               memcmp(part[keep], open[keep], len[keep]) == 0)
            keep++;
        for (; depth > keep; depth--)
            tb_put_char(b, '}');
        for (; depth + 1 < k; depth++) {
            put_key(b, &first[depth], part[depth], len[depth]);
            tb_put_char(b, '{');
            open[depth] = part[depth];
            open_len[depth] = len[depth];
            first[depth + 1] = true;
        }
        put_key(b, &first[depth], part[k - 1], len[k - 1]);
        tb_put_bytes(b, e->values.p + en->value_off, en->value_len);
    }
    for (; depth > 0; depth--)
        tb_put_char(b, '}');
    tb_put_bytes(b, "}\n", 2);
}

int ecs_format_record(struct textbuf *b, const struct flow_record *r)
{
    static struct ecs_line e;
    tb_reset(&e.names);
    tb_reset(&e.values);
    e.n = 0;
    e.nfields = 0;
    e.failed = false;
    json_walk(r, keep_field, &e);
    add_text(&e, "ecs.version", ECS_VERSION);
    add_text(&e, "event.kind", "event");
    add_raw(&e, "event.category", "[\"network\"]");
    add_raw(&e, "event.type", "[\"connection\"]");
    for (size_t i = 0; i < e.nfields; i++)
        e.fields[i].v = &e.field_values[i];     /* the walk's own copy is gone */
    for (size_t i = 0; i < e.nfields && !e.failed; i++)
        map_field(&e, &e.fields[i]);
    tb_reset(b);
    if (e.failed || e.names.failed || e.values.failed) {
        errno = ENOMEM;
        return -1;
    }
    sorting = &e;
    qsort(e.entries, e.n, sizeof *e.entries, by_name);
    write_nested(&e, b);
    if (b->failed) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}
