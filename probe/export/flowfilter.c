#include "flowfilter.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "elements.h"

/* ---- what a comparison reads ------------------------------------------------ */

/* Values that have no element row (nfstream's totals and times, json.c's
 * put_nfstream_times()). */
enum computed {
    C_NONE, C_BI_PACKETS, C_BI_BYTES, C_BI_FIRST, C_BI_LAST, C_BI_DURATION,
    C_S2D_DURATION, C_D2S_DURATION,
};

static const struct {
    const char *name;
    enum computed c;
} computed_names[] = {
    {"bidirectional_packets", C_BI_PACKETS}, {"bidirectional_bytes", C_BI_BYTES},
    {"bidirectional_first_seen_ms", C_BI_FIRST}, {"bidirectional_last_seen_ms", C_BI_LAST},
    {"bidirectional_duration_ms", C_BI_DURATION}, {"src2dst_duration_ms", C_S2D_DURATION},
    {"dst2src_duration_ms", C_D2S_DURATION},
};

/* Short names for what people filter on most: either end, or nfstream's
 * long names. */
static const struct {
    const char *alias;
    const char *name, *other;   /* other: the field matches if either does */
} aliases[] = {
    {"port", "src_port", "dst_port"},
    {"ip", "src_ip", "dst_ip"},
    {"host", "src_ip", "dst_ip"},
    {"application", "application_name", NULL},
    {"category", "application_category_name", NULL},
    {"packets", "bidirectional_packets", NULL},
    {"bytes", "bidirectional_bytes", NULL},
};

struct operand {
    const struct element *el;   /* NULL: computed */
    int view;
    enum computed c;
};

enum kind { K_NUMBER, K_REAL, K_ADDR, K_STRING };

static enum kind kind_of(const struct operand *o)
{
    if (!o->el)
        return K_NUMBER;
    switch (o->el->type) {
    case ET_IPV4: case ET_IPV6: return K_ADDR;
    case ET_STRING: case ET_OCTETS: return K_STRING;
    case ET_FLOAT64: return K_REAL;
    default: return K_NUMBER;
    }
}

/* ---- the compiled expression --------------------------------------------------- */

enum op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum node_type { N_AND, N_OR, N_NOT, N_CMP };

struct value {
    uint64_t u;
    double f;
    uint8_t addr[16];
    int family;                 /* 4 or 6 */
    unsigned prefix;            /* bits that must match */
    char *s;
    size_t slen;
};

struct node {
    enum node_type type;
    int a, b;                   /* children (N_AND, N_OR: both; N_NOT: a) */
    struct operand lhs[2];      /* N_CMP: one, or two for an either-end alias */
    int nlhs;
    enum op op;
    struct value v;
};

struct flow_filter {
    struct node *nodes;
    int n, cap;
    int root;
};

/* ---- the parser -------------------------------------------------------------------- */

struct parser {
    const char *text;
    size_t at;
    struct flow_filter *f;
    char *err;
    size_t errlen;
    size_t err_pos;
    bool failed;
};

static void fail_at(struct parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    p->err_pos = pos + 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
}

static void skip_space(struct parser *p)
{
    while (isspace((unsigned char)p->text[p->at]))
        p->at++;
}

static int new_node(struct parser *p, enum node_type t)
{
    if (p->f->n == p->f->cap) {
        int cap = p->f->cap ? p->f->cap * 2 : 16;
        struct node *grown = realloc(p->f->nodes, (size_t)cap * sizeof *grown);
        if (!grown) {
            fail_at(p, p->at, "out of memory");
            return -1;
        }
        p->f->nodes = grown;
        p->f->cap = cap;
    }
    struct node *n = &p->f->nodes[p->f->n];
    memset(n, 0, sizeof *n);
    n->type = t;
    return p->f->n++;
}

static bool is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '.' || c == ':' || c == '/' || c == '-';
}

/* A keyword (and, or, not, in) as a whole word at the cursor, or its
 * symbol (&&, ||, !; NULL: none); taken if there. */
static bool take_keyword(struct parser *p, const char *kw, const char *symbol)
{
    skip_space(p);
    const char *s = p->text + p->at;
    size_t n = strlen(kw);
    if (strncasecmp(s, kw, n) == 0 && !is_word_char(s[n])) {
        p->at += n;
        return true;
    }
    n = symbol ? strlen(symbol) : 0;
    if (n && strncmp(s, symbol, n) == 0 && s[n] != '=') {
        p->at += n;
        return true;
    }
    return false;
}

/* A word: field name, number, address or bare string. Returns its length. */
static size_t word_at(const struct parser *p)
{
    size_t n = 0;
    while (is_word_char(p->text[p->at + n]))
        n++;
    return n;
}

static bool is_keyword(const char *word)
{
    static const char *const keywords[] = {"and", "or", "not", "in"};
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strcasecmp(word, keywords[i]) == 0)
            return true;
    return false;
}

static bool resolve_name(const char *name, struct operand *o)
{
    memset(o, 0, sizeof *o);
    for (size_t i = 0; i < sizeof computed_names / sizeof computed_names[0]; i++)
        if (strcmp(name, computed_names[i].name) == 0) {
            o->c = computed_names[i].c;
            return true;
        }
    for (size_t i = 0; i < elements_count(); i++) {
        const struct element *el = elements_at(i);
        if (el->list)
            continue;
        if (el->json && strcmp(el->json, name) == 0) {
            o->el = el;
            o->view = VIEW_BIFLOW | VIEW_FWD;
            return true;
        }
        if (el->json_rev && strcmp(el->json_rev, name) == 0) {
            o->el = el;
            o->view = VIEW_REV;
            return true;
        }
    }
    return false;
}

static int resolve_field(const char *name, struct operand lhs[2])
{
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(name, aliases[i].alias) == 0) {
            if (!resolve_name(aliases[i].name, &lhs[0]))
                return 0;
            if (!aliases[i].other)
                return 1;
            return resolve_name(aliases[i].other, &lhs[1]) ? 2 : 0;
        }
    return resolve_name(name, &lhs[0]) ? 1 : 0;
}

static bool take_op(struct parser *p, enum op *op)
{
    static const struct {
        const char *s;
        enum op op;
    } ops[] = {{"==", OP_EQ}, {"!=", OP_NE}, {"<=", OP_LE}, {">=", OP_GE}, {"<", OP_LT},
               {">", OP_GT}, {"=", OP_EQ}};
    skip_space(p);
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen(ops[i].s);
        if (strncmp(p->text + p->at, ops[i].s, n) == 0) {
            p->at += n;
            *op = ops[i].op;
            return true;
        }
    }
    if (take_keyword(p, "in", NULL)) {
        *op = OP_EQ;
        return true;
    }
    return false;
}

/* "..." with \" and \\ escapes. */
static bool parse_quoted(struct parser *p, struct value *v)
{
    size_t start = p->at++;
    char *s = malloc(strlen(p->text + p->at) + 1);
    if (!s) {
        fail_at(p, start, "out of memory");
        return false;
    }
    size_t n = 0;
    for (;;) {
        char c = p->text[p->at];
        if (c == '\0') {
            free(s);
            fail_at(p, start, "string not closed (a '\"' is missing)");
            return false;
        }
        p->at++;
        if (c == '"')
            break;
        if (c == '\\' && (p->text[p->at] == '"' || p->text[p->at] == '\\'))
            c = p->text[p->at++];
        s[n++] = c;
    }
    s[n] = '\0';
    v->s = s;
    v->slen = n;
    return true;
}

static bool parse_address(const char *word, struct value *v)
{
    char buf[64];
    if (strlen(word) >= sizeof buf)
        return false;
    strcpy(buf, word);
    char *slash = strchr(buf, '/');
    if (slash)
        *slash = '\0';
    memset(v->addr, 0, sizeof v->addr);
    if (inet_pton(AF_INET, buf, v->addr) == 1)
        v->family = 4;
    else if (inet_pton(AF_INET6, buf, v->addr) == 1)
        v->family = 6;
    else
        return false;
    unsigned max = v->family == 4 ? 32 : 128;
    v->prefix = max;
    if (slash) {
        char *end;
        errno = 0;
        unsigned long bits = strtoul(slash + 1, &end, 10);
        if (errno || *end || end == slash + 1 || bits > max)
            return false;
        v->prefix = (unsigned)bits;
    }
    return true;
}

static bool parse_number_word(const char *word, enum kind k, struct value *v)
{
    char *end;
    errno = 0;
    if (k == K_REAL) {
        v->f = strtod(word, &end);
        return !errno && *end == '\0' && end != word && isfinite(v->f);
    }
    if (!isdigit((unsigned char)word[0]))
        return false;
    bool hex = word[0] == '0' && (word[1] == 'x' || word[1] == 'X');
    v->u = strtoull(word, &end, hex ? 16 : 10);     /* 010 is ten, not octal */
    return !errno && *end == '\0';
}

static const char *kind_name(enum kind k)
{
    static const char *const names[] = {"a whole number", "a number", "an address or prefix (10.0.0.0/8)",
                                        "a string"};
    return names[k];
}

/* The value after the operator, read as the field's kind wants. */
static void parse_value(struct parser *p, struct node *n)
{
    skip_space(p);
    size_t start = p->at;
    enum kind k = kind_of(&n->lhs[0]);
    if (p->text[p->at] == '"') {
        if (k != K_STRING) {
            fail_at(p, start, "expected %s, not a string", kind_name(k));
            return;
        }
        parse_quoted(p, &n->v);
        return;
    }
    size_t len = word_at(p);
    if (len == 0) {
        fail_at(p, start, p->text[start] ? "expected a value, found '%c'" : "expected a value at the end",
                p->text[start]);
        return;
    }
    char *word = strndup(p->text + start, len);
    if (!word) {
        fail_at(p, start, "out of memory");
        return;
    }
    p->at += len;
    bool ok = k == K_ADDR ? parse_address(word, &n->v)
            : k == K_STRING ? (n->v.s = word, n->v.slen = len, true)
            : parse_number_word(word, k, &n->v);
    if (k != K_STRING)
        free(word);
    if (!ok)
        fail_at(p, start, "expected %s", kind_name(k));
}

static bool op_fits(enum kind k, enum op op)
{
    return (k != K_ADDR && k != K_STRING) || op == OP_EQ || op == OP_NE;
}

static int parse_comparison(struct parser *p)
{
    skip_space(p);
    size_t start = p->at, len = word_at(p);
    if (len == 0) {
        fail_at(p, start, p->text[start] ? "expected a field name, found '%c'"
                                         : "expected a field name at the end", p->text[start]);
        return -1;
    }
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)len, p->text + start);
    if (is_keyword(name)) {
        fail_at(p, start, "expected a field name, found '%s'", name);
        return -1;
    }
    int id = new_node(p, N_CMP);
    if (id < 0)
        return -1;
    struct node *n = &p->f->nodes[id];
    n->nlhs = len < sizeof name ? resolve_field(name, n->lhs) : 0;
    if (n->nlhs == 0) {
        fail_at(p, start, "unknown field '%s' (the JSON names, e.g. dst_port, application_name)", name);
        return -1;
    }
    p->at += len;
    size_t op_at = (skip_space(p), p->at);
    if (!take_op(p, &n->op)) {
        fail_at(p, op_at, "expected a comparison (== != < <= > >= in) after '%s'", name);
        return -1;
    }
    if (!op_fits(kind_of(&n->lhs[0]), n->op)) {
        fail_at(p, op_at, "'%s' takes only == and != (or in)", name);
        return -1;
    }
    parse_value(p, n);
    return p->failed ? -1 : id;
}

static int parse_or(struct parser *p);

static int parse_primary(struct parser *p)
{
    skip_space(p);
    if (p->text[p->at] == '(') {
        size_t open = p->at++;
        int id = parse_or(p);
        if (id < 0)
            return -1;
        skip_space(p);
        if (p->text[p->at] != ')') {
            fail_at(p, p->text[p->at] ? p->at : open, p->text[p->at] ? "expected ')'"
                                                                   : "'(' not closed");
            return -1;
        }
        p->at++;
        return id;
    }
    return parse_comparison(p);
}

static int parse_not(struct parser *p)
{
    if (take_keyword(p, "not", "!")) {
        int a = parse_not(p);
        if (a < 0)
            return -1;
        int id = new_node(p, N_NOT);
        if (id >= 0)
            p->f->nodes[id].a = a;
        return id;
    }
    return parse_primary(p);
}

static int parse_binary(struct parser *p, enum node_type t, int (*operand)(struct parser *),
                        const char *kw, const char *symbol)
{
    int left = operand(p);
    while (left >= 0 && take_keyword(p, kw, symbol)) {
        int right = operand(p);
        if (right < 0)
            return -1;
        int id = new_node(p, t);
        if (id < 0)
            return -1;
        p->f->nodes[id].a = left;
        p->f->nodes[id].b = right;
        left = id;
    }
    return left;
}

static int parse_and(struct parser *p)
{
    return parse_binary(p, N_AND, parse_not, "and", "&&");
}

static int parse_or(struct parser *p)
{
    return parse_binary(p, N_OR, parse_and, "or", "||");
}

struct flow_filter *flow_filter_compile(const char *expr, char *err, size_t errlen, size_t *err_pos)
{
    struct flow_filter *f = calloc(1, sizeof *f);
    struct parser p = {expr, 0, f, err, errlen, 0, false};
    if (!f) {
        snprintf(err, errlen, "out of memory");
        *err_pos = 1;
        return NULL;
    }
    f->root = parse_or(&p);
    skip_space(&p);
    if (!p.failed && expr[p.at] != '\0')
        fail_at(&p, p.at, "expected 'and', 'or' or the end, found '%c'", expr[p.at]);
    if (!p.failed && f->n == 0)
        fail_at(&p, 0, "empty expression");
    if (p.failed) {
        *err_pos = p.err_pos;
        flow_filter_free(f);
        return NULL;
    }
    return f;
}

void flow_filter_free(struct flow_filter *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free(f->nodes[i].v.s);
    free(f->nodes);
    free(f);
}

/* ---- matching ------------------------------------------------------------------------- */

static uint64_t computed_value(enum computed c, const struct flow_record *r)
{
    uint64_t first = record_first_ms(r), last = record_last_ms(r);
    switch (c) {
    case C_BI_PACKETS: return r->packets[0] + r->packets[1];
    case C_BI_BYTES: return r->ip_octets[0] + r->ip_octets[1];
    case C_BI_FIRST: return first;
    case C_BI_LAST: return last;
    case C_BI_DURATION: return last - first;
    case C_S2D_DURATION: return r->packets[0] ? r->last_ms[0] - r->first_ms[0] : 0;
    case C_D2S_DURATION: return r->packets[1] ? r->last_ms[1] - r->first_ms[1] : 0;
    case C_NONE: break;
    }
    return 0;
}

static int compare_u(uint64_t a, uint64_t b) { return a < b ? -1 : a > b; }
static int compare_f(double a, double b) { return a < b ? -1 : a > b; }

static bool apply_op(enum op op, int cmp)
{
    switch (op) {
    case OP_EQ: return cmp == 0;
    case OP_NE: return cmp != 0;
    case OP_LT: return cmp < 0;
    case OP_LE: return cmp <= 0;
    case OP_GT: return cmp > 0;
    case OP_GE: return cmp >= 0;
    }
    return false;
}

static bool in_prefix(const uint8_t *a, const struct value *v)
{
    unsigned bytes = v->prefix / 8, bits = v->prefix % 8;
    if (memcmp(a, v->addr, bytes) != 0)
        return false;
    if (!bits)
        return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - bits));
    return (a[bytes] & mask) == (v->addr[bytes] & mask);
}

/* A field the record does not have (an IPv6 address of an IPv4 flow, DNS
 * fields of a TLS flow) makes the comparison false, whatever the operator. */
static bool compare_one(const struct node *n, const struct operand *o, const struct flow_record *r)
{
    if (!o->el)
        return apply_op(n->op, compare_u(computed_value(o->c, r), n->v.u));
    struct elem_value v;
    memset(&v, 0, sizeof v);
    if (!element_get(o->el, r, o->view, &v))
        return false;
    switch (kind_of(o)) {
    case K_ADDR: {
        int family = o->el->type == ET_IPV6 ? 6 : 4;
        bool match = family == n->v.family && in_prefix(v.addr, &n->v);
        return n->op == OP_EQ ? match : !match;
    }
    case K_STRING: {
        bool eq = v.nbytes == n->v.slen && (n->v.slen == 0 || memcmp(v.bytes, n->v.s, n->v.slen) == 0);
        return n->op == OP_EQ ? eq : !eq;
    }
    case K_REAL:
        return apply_op(n->op, compare_f(v.f, n->v.f));
    case K_NUMBER:
        break;
    }
    return apply_op(n->op, compare_u(v.u, n->v.u));
}

/* The rows of an address field are one per family (src_ip: sourceIPv4Address
 * and sourceIPv6Address): the record's family picks the row. */
static const struct operand *family_row(const struct operand *o, const struct flow_record *r,
                                        struct operand *tmp)
{
    if (!o->el || kind_of(o) != K_ADDR)
        return o;
    int want = r->ip_version;
    int have = o->el->type == ET_IPV6 ? 6 : 4;
    if (want == have)
        return o;
    *tmp = *o;
    for (size_t i = 0; i < elements_count(); i++) {
        const struct element *el = elements_at(i);
        bool same_name = (o->view == VIEW_REV ? el->json_rev && o->el->json_rev &&
                                                    strcmp(el->json_rev, o->el->json_rev) == 0
                                              : el->json && o->el->json && strcmp(el->json, o->el->json) == 0);
        if (same_name && (el->type == ET_IPV6) == (want == 6)) {
            tmp->el = el;
            return tmp;
        }
    }
    return o;
}

static bool match_node(const struct flow_filter *f, int i, const struct flow_record *r)
{
    const struct node *n = &f->nodes[i];
    switch (n->type) {
    case N_AND: return match_node(f, n->a, r) && match_node(f, n->b, r);
    case N_OR: return match_node(f, n->a, r) || match_node(f, n->b, r);
    case N_NOT: return !match_node(f, n->a, r);
    case N_CMP: break;
    }
    for (int k = 0; k < n->nlhs; k++) {
        struct operand tmp;
        if (compare_one(n, family_row(&n->lhs[k], r, &tmp), r))
            return true;
    }
    return false;
}

bool flow_filter_match(const struct flow_filter *f, const struct flow_record *r)
{
    return match_node(f, f->root, r);
}
