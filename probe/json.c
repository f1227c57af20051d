#include "json.h"

#include <inttypes.h>
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

static void put_value(FILE *out, const struct flow_record *r, const struct element *el,
                      const struct elem_value *v)
{
    char buf[64];
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
    }
    (void)r;
}

/* Print one JSON member if the record has a value for it. */
static void put_member(FILE *out, const struct flow_record *r, const struct element *el,
                       const char *name, int view, bool *first)
{
    struct elem_value v;
    memset(&v, 0, sizeof v);
    if (!name || !el->get(r, view, &v))
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
