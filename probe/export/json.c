#include "json.h"

#include <errno.h>
#include <string.h>

#include "elements.h"
#include "util.h"

/* One item of a list element's value (host order, the element's length). */
static void put_item(struct textbuf *l, const struct element *el, const uint8_t *p)
{
    if (el->type == ET_FLOAT64) {
        double d;
        memcpy(&d, p, sizeof d);
        tb_put_double(l, d);
        return;
    }
    tb_put_u64(l, host_uint_at(p, el->len));
}

static void put_list(struct textbuf *l, const struct element *el, const struct elem_value *v)
{
    tb_put_char(l, '[');
    for (size_t i = 0; i < v->nitems; i++) {
        if (i)
            tb_put_char(l, ',');
        put_item(l, el, v->bytes + i * el->len);
    }
    tb_put_char(l, ']');
}

void json_put_value(struct textbuf *l, const struct element *el, const struct elem_value *v)
{
    if (el->list) {
        put_list(l, el, v);
        return;
    }
    switch (el->type) {
    case ET_IPV4: case ET_IPV6: {
        char buf[64];
        addr_to_string(el->type == ET_IPV6 ? 6 : 4, v->addr, buf, sizeof buf);
        tb_put_char(l, '"');
        tb_put_text(l, buf);
        tb_put_char(l, '"');
        return;
    }
    case ET_STRING:
        tb_put_json_string(l, v->bytes, v->nbytes);
        return;
    case ET_OCTETS:
        tb_put_char(l, '"');
        tb_put_hex(l, v->bytes, v->nbytes);
        tb_put_char(l, '"');
        return;
    case ET_UNSIGNED: case ET_DATETIME_MS: case ET_DATETIME_US: case ET_DATETIME_NS:
        tb_put_u64(l, v->u);
        return;
    case ET_FLOAT64:
        tb_put_double(l, v->f);
        return;
    }
}

/* The nfstream members without an element row of their own are numbers. */
static const struct element nfstream_number = {.type = ET_UNSIGNED, .len = 8};

/* The fields of element rows from..to-1: forward (or whole-flow) values
 * under json, reverse ones under json_rev. */
static void walk_rows(const struct flow_record *r, size_t from, size_t to, json_field_fn fn,
                      void *ctx)
{
    static const int views[2] = {VIEW_BIFLOW | VIEW_FWD, VIEW_REV};
    for (size_t i = from; i < to; i++) {
        const struct element *el = elements_at(i);
        const char *names[2] = {el->json, el->json_rev};
        for (int k = 0; k < 2; k++) {
            if (!names[k])
                continue;
            struct elem_value v;
            memset(&v, 0, sizeof v);
            bool has = r && element_get(el, r, views[k], &v);
            fn(ctx, &(struct json_field){names[k], el, has ? &v : NULL});
        }
    }
}

static void walk_number(const char *name, uint64_t u, bool has, json_field_fn fn, void *ctx)
{
    struct elem_value v;
    memset(&v, 0, sizeof v);
    v.u = u;
    fn(ctx, &(struct json_field){name, &nfstream_number, has ? &v : NULL});
}

/* nfstream's time and total members (its NFlow names), which have no element
 * row of their own: a direction that saw no packet reads 0 throughout, as in
 * nfstream; durations are last - first in ms. */
static void walk_nfstream_times(const struct flow_record *r, json_field_fn fn, void *ctx)
{
    static const char *const names[2][3] = {
        {"src2dst_first_seen_ms", "src2dst_last_seen_ms", "src2dst_duration_ms"},
        {"dst2src_first_seen_ms", "dst2src_last_seen_ms", "dst2src_duration_ms"},
    };
    bool has = r != NULL;
    uint64_t first = has ? record_first_ms(r) : 0, last = has ? record_last_ms(r) : 0;
    walk_number("bidirectional_first_seen_ms", first, has, fn, ctx);
    walk_number("bidirectional_last_seen_ms", last, has, fn, ctx);
    walk_number("bidirectional_duration_ms", last - first, has, fn, ctx);
    walk_number("bidirectional_packets", has ? r->packets[0] + r->packets[1] : 0, has, fn, ctx);
    walk_number("bidirectional_bytes", has ? r->ip_octets[0] + r->ip_octets[1] : 0, has, fn, ctx);
    for (int d = 0; d < 2; d++) {
        bool seen = has && r->packets[d] > 0;
        uint64_t f = seen ? r->first_ms[d] : 0, e = seen ? r->last_ms[d] : 0;
        walk_number(names[d][0], f, has, fn, ctx);
        walk_number(names[d][1], e, has, fn, ctx);
        walk_number(names[d][2], e - f, has, fn, ctx);
    }
    /* nfstream's expiration_id: 1 active timeout, 0 every other end (its -1,
     * a plugin's own expiry, has no number here: end_reason 3 covers it and
     * the TCP close alike). */
    walk_number("expiration_id", has && r->end_reason == END_ACTIVE ? 1 : 0, has, fn, ctx);
}

void json_walk(const struct flow_record *r, json_field_fn fn, void *ctx)
{
    size_t nbuiltin = elements_builtin_count();
    walk_rows(r, 0, nbuiltin, fn, ctx);
    walk_nfstream_times(r, fn, ctx);
    walk_rows(r, nbuiltin, elements_count(), fn, ctx);   /* DPI's and plugins' */
}

/* One JSON member, if the record has a value for it. */
static void put_member(void *ctx, const struct json_field *f)
{
    struct textbuf *l = ctx;
    if (!f->v)
        return;
    if (l->len > 1)
        tb_put_char(l, ',');
    tb_put_char(l, '"');
    tb_put_text(l, f->name);
    tb_put_bytes(l, "\":", 2);
    json_put_value(l, f->el, f->v);
}

int json_format_record(struct textbuf *l, const struct flow_record *r)
{
    tb_reset(l);
    tb_put_char(l, '{');
    json_walk(r, put_member, l);
    tb_put_bytes(l, "}\n", 2);
    if (l->failed) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

int json_write_line(FILE *out, const struct textbuf *l)
{
    fwrite(l->p, 1, l->len, out);
    return ferror(out) ? -1 : 0;
}

int json_write_record(FILE *out, const struct flow_record *r)
{
    static struct textbuf l;
    if (json_format_record(&l, r) < 0)
        return -1;
    return json_write_line(out, &l);
}
