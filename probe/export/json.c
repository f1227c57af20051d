#include "json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "elements.h"
#include "util.h"

/* A record's line is built in memory and written with one fwrite: stdio's
 * formatting per member cost more than the rest of a JSON run. The buffer
 * grows to the longest line once and is reused. */
struct line {
    char *p;
    size_t len, cap;
    bool failed;            /* out of memory: the record is not written */
};

static char *room(struct line *l, size_t n)
{
    if (l->failed)
        return NULL;
    if (n > l->cap - l->len) {
        size_t cap = l->cap ? l->cap : 4096;
        while (n > cap - l->len)
            cap *= 2;
        char *p = realloc(l->p, cap);
        if (!p) {
            l->failed = true;
            return NULL;
        }
        l->p = p;
        l->cap = cap;
    }
    return l->p + l->len;
}

static void put_bytes(struct line *l, const void *s, size_t n)
{
    char *at = room(l, n);
    if (!at)
        return;
    memcpy(at, s, n);
    l->len += n;
}

static void put_char(struct line *l, char c)
{
    put_bytes(l, &c, 1);
}

static void put_text(struct line *l, const char *s)
{
    put_bytes(l, s, strlen(s));
}

static void put_u64(struct line *l, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_bytes(l, digits + sizeof digits - n, n);
}

/* A string value: escaped, and bytes that are not UTF-8 written as '?'
 * (utf8_scrub(), as the IPFIX encoders do). */
static void put_string(struct line *l, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put_char(l, '"');
    size_t run = 0;     /* characters that need no escape, written together */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c >= 0x80) {
            size_t k = utf8_sequence_len(s + i, n - i);
            if (k) {
                i += k - 1;
                continue;
            }
        } else if (c != '"' && c != '\\' && c >= 0x20 && c != 0x7F) {
            continue;
        }
        put_bytes(l, s + run, i - run);
        run = i + 1;
        if (c >= 0x80) {
            put_char(l, '?');
        } else if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            put_bytes(l, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put_bytes(l, esc, 6);
        }
    }
    put_bytes(l, s + run, n - run);
    put_char(l, '"');
}

static void put_hex(struct line *l, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put_char(l, '"');
    for (size_t i = 0; i < n; i++) {
        char pair[2] = {hex[s[i] >> 4], hex[s[i] & 15]};
        put_bytes(l, pair, 2);
    }
    put_char(l, '"');
}

/* The shortest text that reads back as the same double; JSON has no NaN. */
static void put_double(struct line *l, double d)
{
    if (!isfinite(d)) {
        put_text(l, "null");
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    put_text(l, buf);
}

/* One item of a list element's value (host order, the element's length). */
static void put_item(struct line *l, const struct element *el, const uint8_t *p)
{
    if (el->type == ET_FLOAT64) {
        double d;
        memcpy(&d, p, sizeof d);
        put_double(l, d);
        return;
    }
    put_u64(l, host_uint_at(p, el->len));
}

static void put_list(struct line *l, const struct element *el, const struct elem_value *v)
{
    put_char(l, '[');
    for (size_t i = 0; i < v->nitems; i++) {
        if (i)
            put_char(l, ',');
        put_item(l, el, v->bytes + i * el->len);
    }
    put_char(l, ']');
}

static void put_value(struct line *l, const struct element *el, const struct elem_value *v)
{
    if (el->list) {
        put_list(l, el, v);
        return;
    }
    switch (el->type) {
    case ET_IPV4: case ET_IPV6: {
        char buf[64];
        addr_to_string(el->type == ET_IPV6 ? 6 : 4, v->addr, buf, sizeof buf);
        put_char(l, '"');
        put_text(l, buf);
        put_char(l, '"');
        return;
    }
    case ET_STRING:
        put_string(l, v->bytes, v->nbytes);
        return;
    case ET_OCTETS:
        put_hex(l, v->bytes, v->nbytes);
        return;
    case ET_UNSIGNED: case ET_DATETIME_MS:
        put_u64(l, v->u);
        return;
    case ET_FLOAT64:
        put_double(l, v->f);
        return;
    }
}

/* One JSON member, if the record has a value for it. */
static void put_member(struct line *l, const struct flow_record *r, const struct element *el,
                       const char *name, int view)
{
    struct elem_value v;
    memset(&v, 0, sizeof v);
    if (!name || !element_get(el, r, view, &v))
        return;
    if (l->len > 1)
        put_char(l, ',');
    put_char(l, '"');
    put_text(l, name);
    put_bytes(l, "\":", 2);
    put_value(l, el, &v);
}

/* The members of element rows from..to-1: forward (or whole-flow) values
 * under json, reverse ones under json_rev. */
static void put_rows(struct line *l, const struct flow_record *r, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++) {
        const struct element *el = elements_at(i);
        put_member(l, r, el, el->json, VIEW_BIFLOW | VIEW_FWD);
        put_member(l, r, el, el->json_rev, VIEW_REV);
    }
}

static void put_u64_member(struct line *l, const char *name, uint64_t v)
{
    put_bytes(l, ",\"", 2);
    put_text(l, name);
    put_bytes(l, "\":", 2);
    put_u64(l, v);
}

/* nfstream's time and total members (its NFlow names), which have no element
 * row of their own: a direction that saw no packet reads 0 throughout, as in
 * nfstream; durations are last - first in ms. */
static void put_nfstream_times(struct line *l, const struct flow_record *r)
{
    static const char *const names[2][3] = {
        {"src2dst_first_seen_ms", "src2dst_last_seen_ms", "src2dst_duration_ms"},
        {"dst2src_first_seen_ms", "dst2src_last_seen_ms", "dst2src_duration_ms"},
    };
    uint64_t first = record_first_ms(r), last = record_last_ms(r);
    put_u64_member(l, "bidirectional_first_seen_ms", first);
    put_u64_member(l, "bidirectional_last_seen_ms", last);
    put_u64_member(l, "bidirectional_duration_ms", last - first);
    put_u64_member(l, "bidirectional_packets", r->packets[0] + r->packets[1]);
    put_u64_member(l, "bidirectional_bytes", r->ip_octets[0] + r->ip_octets[1]);
    for (int d = 0; d < 2; d++) {
        bool seen = r->packets[d] > 0;
        uint64_t f = seen ? r->first_ms[d] : 0, e = seen ? r->last_ms[d] : 0;
        put_u64_member(l, names[d][0], f);
        put_u64_member(l, names[d][1], e);
        put_u64_member(l, names[d][2], e - f);
    }
}

int json_write_record(FILE *out, const struct flow_record *r)
{
    static struct line l;
    l.len = 0;
    l.failed = false;
    put_char(&l, '{');
    size_t nbuiltin = elements_builtin_count();
    put_rows(&l, r, 0, nbuiltin);
    put_nfstream_times(&l, r);
    put_rows(&l, r, nbuiltin, elements_count());   /* DPI's and plugins' */
    put_bytes(&l, "}\n", 2);
    if (l.failed) {
        errno = ENOMEM;
        return -1;
    }
    fwrite(l.p, 1, l.len, out);
    return ferror(out) ? -1 : 0;
}

/* ---- json_text: the builder above for other JSON encoders ------------------- */

struct json_text {
    struct line l;
};

struct json_text *json_text_new(void)
{
    return calloc(1, sizeof(struct json_text));
}

void json_text_free(struct json_text *t)
{
    if (t)
        free(t->l.p);
    free(t);
}

void json_text_clear(struct json_text *t)
{
    t->l.len = 0;
    t->l.failed = false;
}

void json_text_raw(struct json_text *t, const void *s, size_t n) { put_bytes(&t->l, s, n); }
void json_text_u64(struct json_text *t, uint64_t v) { put_u64(&t->l, v); }

void json_text_string(struct json_text *t, const char *s)
{
    put_string(&t->l, (const uint8_t *)s, strlen(s));
}

void json_text_value(struct json_text *t, const struct element *el, const struct elem_value *v)
{
    put_value(&t->l, el, v);
}

const char *json_text_data(const struct json_text *t, size_t *len)
{
    *len = t->l.len;
    return t->l.p;
}

bool json_text_failed(const struct json_text *t) { return t->l.failed; }
