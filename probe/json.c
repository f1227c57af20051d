#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "elements.h"
#include "util.h"

static void put_string(FILE *out, const uint8_t *s, size_t n)
{
    fputc('"', out);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* The shortest text that reads back as the same double; JSON has no NaN. */
static void put_double(FILE *out, double d)
{
    if (!isfinite(d)) {
        fputs("null", out);
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    fputs(buf, out);
}

/* One item of a list element's value (host order, the element's length). */
static void put_item(FILE *out, const struct element *el, const uint8_t *p)
{
    if (el->type == ET_FLOAT64) {
        double d;
        memcpy(&d, p, sizeof d);
        put_double(out, d);
        return;
    }
    fprintf(out, "%" PRIu64, host_uint_at(p, el->len));
}

static void put_list(FILE *out, const struct element *el, const struct elem_value *v)
{
    fputc('[', out);
    for (size_t i = 0; i < v->nitems; i++) {
        if (i)
            fputc(',', out);
        put_item(out, el, v->bytes + i * el->len);
    }
    fputc(']', out);
}

static void put_value(FILE *out, const struct flow_record *r, const struct element *el,
                      const struct elem_value *v)
{
    char buf[64];
    if (el->list) {
        put_list(out, el, v);
        return;
    }
    switch (el->type) {
    case ET_IPV4: case ET_IPV6:
        addr_to_string(el->type == ET_IPV6 ? 6 : 4, v->addr, buf, sizeof buf);
        fprintf(out, "\"%s\"", buf);
        return;
    case ET_STRING:
        put_string(out, v->bytes, v->nbytes);
        return;
    case ET_OCTETS:
        fputc('"', out);
        for (size_t i = 0; i < v->nbytes; i++)
            fprintf(out, "%02x", v->bytes[i]);
        fputc('"', out);
        return;
    case ET_UNSIGNED: case ET_DATETIME_MS:
        fprintf(out, "%" PRIu64, v->u);
        return;
    case ET_FLOAT64:
        put_double(out, v->f);
        return;
    }
    (void)r;
}

/* Print one JSON member if the record has a value for it. */
static void put_member(FILE *out, const struct flow_record *r, const struct element *el,
                       const char *name, int view, bool *first)
{
    struct elem_value v;
    memset(&v, 0, sizeof v);
    if (!name || !element_get(el, r, view, &v))
        return;
    fprintf(out, "%s\"%s\":", *first ? "" : ",", name);
    put_value(out, r, el, &v);
    *first = false;
}

int json_write_record(FILE *out, const struct flow_record *r)
{
    bool first = true;
    fputc('{', out);
    for (size_t i = 0; i < elements_count(); i++) {
        const struct element *el = elements_at(i);
        put_member(out, r, el, el->json, VIEW_BIFLOW | VIEW_FWD, &first);
        put_member(out, r, el, el->json_rev, VIEW_REV, &first);
    }
    fputs("}\n", out);
    return ferror(out) ? -1 : 0;
}
