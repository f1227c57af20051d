#include "fields.h"

#include <stdlib.h>
#include <string.h>

#include "elements.h"
#include "netflow9.h"

#define MAX_BUILTIN_TEMPLATES 32

static const char *type_name(const struct element *el)
{
    switch (el->type) {
    case ET_UNSIGNED:
        return el->len == 1 ? "unsigned8" : el->len == 2 ? "unsigned16"
             : el->len == 4 ? "unsigned32" : "unsigned64";
    case ET_IPV4: return "ipv4Address";
    case ET_IPV6: return "ipv6Address";
    case ET_DATETIME_MS: return "dateTimeMilliseconds";
    case ET_DATETIME_US: return "dateTimeMicroseconds";
    case ET_DATETIME_NS: return "dateTimeNanoseconds";
    case ET_STRING: return "string";
    case ET_OCTETS: return "octetArray";
    case ET_FLOAT64: return "float64";
    }
    return "?";
}

/* Which built-in templates name this element (or its reverse twin). */
static void carried_by(const struct template_def *tmpls, size_t ntmpl, const struct element *el,
                       bool reverse, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t t = 0; t < ntmpl; t++) {
        for (size_t i = 0; i < tmpls[t].nfields; i++) {
            if (tmpls[t].fields[i].elem != el || tmpls[t].fields[i].reverse != reverse)
                continue;
            int n = snprintf(out + used, outlen - used, "%s%s", used ? "," : "", tmpls[t].name);
            if (n > 0 && (size_t)n < outlen - used)
                used += (size_t)n;
            break;
        }
    }
    if (!used)
        snprintf(out, outlen, "-");
}

static void print_row(FILE *out, const struct template_def *tmpls, size_t ntmpl,
                      const struct element *el, bool reverse)
{
    char name[160], ipfix_id[32], v9[16], len[16], carriers[256];
    struct template_field tf = {el, reverse};
    struct nf9_field_spec v9s = nf9_field_for(&tf);
    if (reverse) {
        element_reverse_name(el->name, name, sizeof name);
        snprintf(ipfix_id, sizeof ipfix_id, "%u/%u", PEN_REVERSE, el->id);
    } else {
        snprintf(name, sizeof name, "%s", el->name);
        if (!el->id)    /* JSON only: no IPFIX element */
            snprintf(ipfix_id, sizeof ipfix_id, "-");
        else if (el->pen)
            snprintf(ipfix_id, sizeof ipfix_id, "%u/%u", el->pen, el->id);
        else
            snprintf(ipfix_id, sizeof ipfix_id, "%u", el->id);
    }
    if (v9s.id)
        snprintf(v9, sizeof v9, "%u/%u", v9s.id, v9s.len);
    else
        snprintf(v9, sizeof v9, "-");
    if (el->len == ELEM_VARLEN)
        snprintf(len, sizeof len, "var");
    else
        snprintf(len, sizeof len, "%u", el->len);
    char type[40];
    snprintf(type, sizeof type, el->list ? "basicList(%s)" : "%s", type_name(el));
    carried_by(tmpls, ntmpl, el, reverse, carriers, sizeof carriers);
    fprintf(out, "%-32s %-12s %-8s %-21s %-4s %s\n", name, ipfix_id, v9, type, len, carriers);
}

int fields_list(FILE *out)
{
    struct template_def tmpls[MAX_BUILTIN_TEMPLATES];
    size_t ntmpl = 0;
    /* An extension's template (dpi, tunnel) names elements only registered
     * when the extension is on (--no-dissect, --no-decode-tunnels): then it
     * carries nothing and is left out. */
    for (size_t i = 0; ntmpl < MAX_BUILTIN_TEMPLATES; i++) {
        const char *n = template_builtin_name(i);
        if (!n)
            break;
        char err[256];
        if (template_parse(n, template_builtin(n), &tmpls[ntmpl], err, sizeof err) == 0)
            ntmpl++;
    }
    fprintf(out, "# %-30s %-12s %-8s %-21s %-4s %s\n", "element", "ipfix-id", "v9-id/len", "type",
            "len", "built-in templates");
    for (size_t i = 0; i < elements_count(); i++) {
        const struct element *el = elements_at(i);
        print_row(out, tmpls, ntmpl, el, false);
        if (el->reversible)
            print_row(out, tmpls, ntmpl, el, true);
    }
    for (size_t t = 0; t < ntmpl; t++)
        template_free(&tmpls[t]);
    return 0;
}
