#include "extend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct registration {
    const struct extension *ext;
    size_t *offset;
    void *const *worker_ctx;    /* NULL: ext->ctx for every worker */
};

static struct registration regs[EXT_MAX];
static size_t nregs;
static struct template_def fields;      /* what the built-in templates gain */

/* The fields ext adds to the built-in templates: the named ones, or every
 * row with an IPFIX id. */
static int template_of(const char *name, const struct element *rows, size_t nrows,
                       const char *text, struct template_def *t, char *err, size_t errlen)
{
    if (text)
        return template_parse(name, text, t, err, errlen);
    memset(t, 0, sizeof *t);
    t->fields = calloc(nrows ? nrows : 1, sizeof *t->fields);
    if (!t->fields) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < nrows; i++)
        if (rows[i].id)
            t->fields[t->nfields++] = (struct template_field){&rows[i], false};
    return 0;
}

int extend_register_rows(const char *name, const struct element *rows, size_t nrows,
                         const char *template_text, char *err, size_t errlen)
{
    if (nrows && elements_register(rows, nrows) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct template_def more;
    int rc = template_of(name, rows, nrows, template_text, &more, err, errlen);
    if (rc == 0) {
        rc = template_append(&fields, &more);
        template_free(&more);
        if (rc < 0)
            snprintf(err, errlen, "out of memory");
    }
    if (rc < 0)
        elements_unregister_last(nrows);
    return rc;
}

int extend_register(const struct extension *ext, const struct element *rows, size_t nrows,
                    const char *template_text, size_t *offset, char *err, size_t errlen)
{
    if (nregs == EXT_MAX) {
        snprintf(err, errlen, "%s: more than %d extensions", ext->name, EXT_MAX);
        return -1;
    }
    if (extend_register_rows(ext->name, rows, nrows, template_text, err, errlen) < 0)
        return -1;
    regs[nregs++] = (struct registration){ext, offset, NULL};
    return 0;
}

int extend_set_worker_contexts(const struct extension *ext, void *const *ctx)
{
    for (size_t i = 0; i < nregs; i++)
        if (regs[i].ext == ext) {
            regs[i].worker_ctx = ctx;
            return 0;
        }
    return -1;
}

int extend_attach(struct meter *m, int worker)
{
    for (size_t i = 0; i < nregs; i++) {
        const struct registration *g = &regs[i];
        void *ctx = g->worker_ctx ? g->worker_ctx[worker] : g->ext->ctx;
        if (meter_add_extension(m, g->ext, ctx, g->offset) < 0)
            return -1;
    }
    return 0;
}

int extend_template_append(struct template_def *t)
{
    return fields.nfields ? template_append(t, &fields) : 0;
}

void extend_reset(void)
{
    template_free(&fields);
    memset(&fields, 0, sizeof fields);
    nregs = 0;
}
