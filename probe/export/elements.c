#include "elements.h"
#include "selector.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- accessors ------------------------------------------------------------ */

static bool get_flow_id(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    v->u = r->id;
    return true;
}

static bool get_start(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = (view & VIEW_BIFLOW) ? record_first_ms(r) : r->first_ms[view_dir(view)];
    return true;
}

static bool get_end(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = (view & VIEW_BIFLOW) ? record_last_ms(r) : r->last_ms[view_dir(view)];
    return true;
}

/* The times at finer precision (dateTimeMicroseconds, dateTimeNanoseconds):
 * whole-flow in a biflow view, as get_start() and get_end(). */
static uint64_t start_ns(const struct flow_record *r, int view)
{
    return (view & VIEW_BIFLOW) ? record_first_ns(r) : r->first_ns[view_dir(view)];
}

static uint64_t end_ns(const struct flow_record *r, int view)
{
    return (view & VIEW_BIFLOW) ? record_last_ns(r) : r->last_ns[view_dir(view)];
}

static bool get_start_us(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = start_ns(r, view) / 1000;
    return true;
}

static bool get_end_us(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = end_ns(r, view) / 1000;
    return true;
}

static bool get_start_ns(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = start_ns(r, view);
    return true;
}

static bool get_end_ns(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = end_ns(r, view);
    return true;
}

/* In a one-way record of the reverse direction the responder is the source. */
static const uint8_t *source_addr(const struct flow_record *r, int view)
{
    return view == VIEW_REV ? r->dst : r->src;
}

static const uint8_t *destination_addr(const struct flow_record *r, int view)
{
    return view == VIEW_REV ? r->src : r->dst;
}

static bool copy_addr(const struct flow_record *r, int want_version, const uint8_t *a,
                      struct elem_value *v)
{
    if (r->ip_version != want_version)
        return false;
    memcpy(v->addr, a, 16);
    return true;
}

static bool get_src4(const struct flow_record *r, int view, struct elem_value *v)
{
    return copy_addr(r, 4, source_addr(r, view), v);
}
static bool get_dst4(const struct flow_record *r, int view, struct elem_value *v)
{
    return copy_addr(r, 4, destination_addr(r, view), v);
}
static bool get_src6(const struct flow_record *r, int view, struct elem_value *v)
{
    return copy_addr(r, 6, source_addr(r, view), v);
}
static bool get_dst6(const struct flow_record *r, int view, struct elem_value *v)
{
    return copy_addr(r, 6, destination_addr(r, view), v);
}

static bool get_sport(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = view == VIEW_REV ? r->dport : r->sport;
    return true;
}
static bool get_dport(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = view == VIEW_REV ? r->sport : r->dport;
    return true;
}

static bool get_proto(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    v->u = r->proto;
    return true;
}
static bool get_ip_version(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    v->u = r->ip_version;
    return true;
}
static bool get_vlan(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    v->u = r->vlan;
    return true;
}
static bool get_tcp_flags(const struct flow_record *r, int view, struct elem_value *v)
{
    if (r->proto != 6)
        return false;
    v->u = r->tcp_flags[view_dir(view)];
    return true;
}
static bool get_packets(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = r->packets[view_dir(view)];
    return true;
}
static bool get_octets(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = r->ip_octets[view_dir(view)];
    return true;
}
static bool get_l2_octets(const struct flow_record *r, int view, struct elem_value *v)
{
    v->u = r->l2_octets[view_dir(view)];
    return true;
}
static bool get_icmp4(const struct flow_record *r, int view, struct elem_value *v)
{
    if (r->ip_version != 4 || r->proto != 1)
        return false;
    v->u = r->icmp_type_code[view_dir(view)];
    return true;
}
static bool get_icmp6(const struct flow_record *r, int view, struct elem_value *v)
{
    if (r->ip_version != 6 || r->proto != 58)
        return false;
    v->u = r->icmp_type_code[view_dir(view)];
    return true;
}
static bool get_end_reason(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    v->u = r->end_reason;
    return true;
}
/* RFC 5103 biflowDirection: 1 initiator, 2 reverse initiator. */
static bool get_biflow_direction(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)r;
    v->u = view == VIEW_REV ? 2 : 1;
    return true;
}

/* The selector that chose the flow's packets (selector.h), when there is one. */
static bool get_selector_id(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)r;
    (void)view;
    v->u = selection_export_get()->record_selector;
    return v->u != 0;
}

/* ---- the table ------------------------------------------------------------ */

#define U(n) ET_UNSIGNED, n
static const struct element builtin[] = {
    /* name                    pen id   v9   type/len           rev    json              json_rev  get  family */
    {"flowId",                  0, 148, 148, U(8),              false, "id",              NULL, get_flow_id, 0},
    {"flowStartMilliseconds",   0, 152, 22,  ET_DATETIME_MS, 8, true,  "first_seen_ms",   NULL, get_start, 0},
    {"flowEndMilliseconds",     0, 153, 21,  ET_DATETIME_MS, 8, true,  "last_seen_ms",    NULL, get_end, 0},
    {"ipVersion",               0, 60,  60,  U(1),              false, "ip_version",      NULL, get_ip_version, 0},
    {"protocolIdentifier",      0, 4,   4,   U(1),              false, "protocol",        NULL, get_proto, 0},
    {"vlanId",                  0, 58,  58,  U(2),              false, "vlan_id",         NULL, get_vlan, 0},
    {"sourceIPv4Address",       0, 8,   8,   ET_IPV4, 4,        false, "src_ip",          NULL, get_src4, 4},
    {"sourceIPv6Address",       0, 27,  27,  ET_IPV6, 16,       false, "src_ip",          NULL, get_src6, 6},
    {"sourceTransportPort",     0, 7,   7,   U(2),              false, "src_port",        NULL, get_sport, 0},
    {"destinationIPv4Address",  0, 12,  12,  ET_IPV4, 4,        false, "dst_ip",          NULL, get_dst4, 4},
    {"destinationIPv6Address",  0, 28,  28,  ET_IPV6, 16,       false, "dst_ip",          NULL, get_dst6, 6},
    {"destinationTransportPort",0, 11,  11,  U(2),              false, "dst_port",        NULL, get_dport, 0},
    {"packetDeltaCount",        0, 2,   2,   U(8),              true,  "src2dst_packets", "dst2src_packets", get_packets, 0},
    {"octetDeltaCount",         0, 1,   1,   U(8),              true,  "src2dst_bytes",   "dst2src_bytes", get_octets, 0},
    {"layer2OctetDeltaCount",   0, 352, 0,   U(8),              true,  "src2dst_l2_bytes", "dst2src_l2_bytes", get_l2_octets, 0},
    {"tcpControlBits",          0, 6,   6,   U(2),              true,  "src2dst_tcp_flags", "dst2src_tcp_flags", get_tcp_flags, 0},
    {"icmpTypeCodeIPv4",        0, 32,  32,  U(2),              true,  "src2dst_icmp_type_code", "dst2src_icmp_type_code", get_icmp4, 4},
    {"icmpTypeCodeIPv6",        0, 139, 139, U(2),              true,  "src2dst_icmp_type_code", "dst2src_icmp_type_code", get_icmp6, 6},
    {"flowEndReason",           0, 136, 136, U(1),              false, "end_reason",      NULL, get_end_reason, 0},
    {"biflowDirection",         0, 239, 239, U(1),              false, NULL,              NULL, get_biflow_direction, 0},
    {"selectorId",              0, 302, 48,  U(2),              false, NULL,              NULL, get_selector_id, 0},
    /* Finer times (-T templates): IPFIX only (no v9 field, refused there);
     * not in JSON, whose nfstream times are milliseconds. */
    {"flowStartMicroseconds",   0, 154, 0,   ET_DATETIME_US, 8, true,  NULL,              NULL, get_start_us, 0},
    {"flowEndMicroseconds",     0, 155, 0,   ET_DATETIME_US, 8, true,  NULL,              NULL, get_end_us, 0},
    {"flowStartNanoseconds",    0, 156, 0,   ET_DATETIME_NS, 8, true,  NULL,              NULL, get_start_ns, 0},
    {"flowEndNanoseconds",      0, 157, 0,   ET_DATETIME_NS, 8, true,  NULL,              NULL, get_end_ns, 0},
};
#undef U

/* Rows registered at start-up by extensions, after the built-in ones. */
static const struct element **extra;
static size_t nextra;

int elements_register(const struct element *rows, size_t n)
{
    const struct element **grown = realloc(extra, (nextra + n) * sizeof *grown);
    if (!grown)
        return -1;
    extra = grown;
    for (size_t i = 0; i < n; i++)
        extra[nextra++] = &rows[i];
    return 0;
}

void elements_unregister_last(size_t n)
{
    nextra = n < nextra ? nextra - n : 0;
}

size_t elements_count(void)
{
    return elements_builtin_count() + nextra;
}

size_t elements_builtin_count(void)
{
    return sizeof builtin / sizeof builtin[0];
}

const struct element *elements_at(size_t i)
{
    size_t nb = elements_builtin_count();
    if (i < nb)
        return &builtin[i];
    return i - nb < nextra ? extra[i - nb] : NULL;
}

const struct element *elements_find(const char *name)
{
    for (size_t i = 0; i < elements_count(); i++) {
        const struct element *e = elements_at(i);
        if (strcmp(e->name, name) == 0)
            return e;
    }
    return NULL;
}

void element_reverse_name(const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "reverse%c%s", toupper((unsigned char)name[0]), name[0] ? name + 1 : "");
}

/* "reverseOctetDeltaCount" -> the row of "octetDeltaCount", if reversible. */
static const struct element *find_reverse(const char *name)
{
    if (strncmp(name, "reverse", 7) != 0 || !isupper((unsigned char)name[7]))
        return NULL;
    char base[128];
    snprintf(base, sizeof base, "%c%s", tolower((unsigned char)name[7]), name + 8);
    const struct element *e = elements_find(base);
    return e && e->reversible ? e : NULL;
}

static char *trim(char *s)
{
    char *hash = strchr(s, '#');
    if (hash)
        *hash = '\0';
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

int template_parse(const char *name, const char *text, struct template_def *t,
                   char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    char *copy = strdup(text);
    t->name = strdup(name);
    if (!copy || !t->name) {
        free(copy);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int lineno = 0;
    for (char *line = copy, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        char *word = trim(line);
        if (!*word)
            continue;
        struct template_field f = {elements_find(word), false};
        if (!f.elem) {
            f.elem = find_reverse(word);
            f.reverse = true;
        }
        if (!f.elem) {
            snprintf(err, errlen, "template %s, line %d: unknown element '%s' (see --list-fields)",
                     name, lineno, word);
            goto fail;
        }
        struct template_field *grown = realloc(t->fields, (t->nfields + 1) * sizeof *grown);
        if (!grown) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
        t->fields = grown;
        t->fields[t->nfields++] = f;
    }
    free(copy);
    if (t->nfields == 0) {
        snprintf(err, errlen, "template %s has no elements", name);
        template_free(t);
        return -1;
    }
    return 0;
fail:
    free(copy);
    template_free(t);
    return -1;
}

int template_for_family(const struct template_def *t, int family, struct template_def *out)
{
    memset(out, 0, sizeof *out);
    char name[160];
    snprintf(name, sizeof name, "%s-ipv%d", t->name, family);
    out->name = strdup(name);
    out->fields = calloc(t->nfields ? t->nfields : 1, sizeof *out->fields);
    if (!out->name || !out->fields) {
        template_free(out);
        return -1;
    }
    for (size_t i = 0; i < t->nfields; i++) {
        uint8_t fam = t->fields[i].elem->family;
        if (fam == 0 || fam == family)
            out->fields[out->nfields++] = t->fields[i];
    }
    return 0;
}

static bool template_has(const struct template_def *t, const struct template_field *f)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (t->fields[i].elem == f->elem && t->fields[i].reverse == f->reverse)
            return true;
    return false;
}

int template_append(struct template_def *t, const struct template_def *more)
{
    struct template_field *grown = realloc(t->fields, (t->nfields + more->nfields + 1) * sizeof *grown);
    if (!grown)
        return -1;
    t->fields = grown;
    for (size_t i = 0; i < more->nfields; i++)
        if (!template_has(t, &more->fields[i]))
            t->fields[t->nfields++] = more->fields[i];
    return 0;
}

void template_free(struct template_def *t)
{
    free(t->name);
    free(t->fields);
    memset(t, 0, sizeof *t);
}
