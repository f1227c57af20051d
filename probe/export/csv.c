#include "csv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "textbuf.h"

/* Where the walk's fields go. The walk yields the same fields in the same
 * order for every record (json_walk), so the k-th field's column is found
 * once, from the header's walk. */
struct cell {
    size_t off, len;
    bool set;
};

struct csv_writer {
    FILE *out;
    const char **names;         /* the columns, unique names in walk order */
    size_t ncolumns;
    size_t *column_of;          /* walk position -> column */
    size_t nfields;
    struct cell *cells;
    struct textbuf values;      /* the record's cell texts, back to back */
    struct textbuf row;
    size_t at;                  /* walk position while a record is read */
    bool failed;
};

static size_t find_column(const struct csv_writer *w, const char *name)
{
    for (size_t c = 0; c < w->ncolumns; c++)
        if (strcmp(w->names[c], name) == 0)
            return c;
    return w->ncolumns;
}

/* The header's walk: a column for every new name. */
static void add_column(void *ctx, const struct json_field *f)
{
    struct csv_writer *w = ctx;
    size_t *pos = realloc(w->column_of, (w->nfields + 1) * sizeof *pos);
    const char **names = realloc(w->names, (w->ncolumns + 1) * sizeof *names);
    if (pos)
        w->column_of = pos;
    if (names)
        w->names = names;
    if (!pos || !names) {
        w->failed = true;
        return;
    }
    size_t c = find_column(w, f->name);
    if (c == w->ncolumns)
        w->names[w->ncolumns++] = f->name;
    w->column_of[w->nfields++] = c;
}

static bool needs_quotes(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
            return true;
    return false;
}

/* RFC 4180: a field with a comma, quote or line break is quoted, its
 * quotes doubled. */
static void put_field(struct textbuf *b, const char *s, size_t n)
{
    if (!needs_quotes(s, n)) {
        tb_put_bytes(b, s, n);
        return;
    }
    tb_put_char(b, '"');
    for (const char *q; (q = memchr(s, '"', n)) != NULL; n -= (size_t)(q + 1 - s), s = q + 1) {
        tb_put_bytes(b, s, (size_t)(q + 1 - s));
        tb_put_char(b, '"');
    }
    tb_put_bytes(b, s, n);
    tb_put_char(b, '"');
}

/* A cell holds JSON's value, but strings as their text (the UTF-8 scrub
 * of JSON, no escapes) and addresses and hex octets without quotes. */
static void put_cell_value(struct textbuf *b, const struct json_field *f)
{
    if (f->el->list || f->el->type == ET_UNSIGNED || f->el->type == ET_DATETIME_MS ||
        f->el->type == ET_FLOAT64) {
        json_put_value(b, f->el, f->v);
    } else if (f->el->type == ET_STRING) {
        tb_put_utf8(b, f->v->bytes, f->v->nbytes);
    } else {
        size_t start = b->len;
        json_put_value(b, f->el, f->v);
        if (!b->failed && b->len >= start + 2) {     /* "..." -> ... */
            memmove(b->p + start, b->p + start + 1, b->len - start - 2);
            b->len -= 2;
        }
    }
}

static void set_cell(void *ctx, const struct json_field *f)
{
    struct csv_writer *w = ctx;
    if (w->at == w->nfields)
        return;     /* a field registered after the header: no column */
    size_t c = w->column_of[w->at++];
    if (!f->v)
        return;
    struct cell *cell = &w->cells[c];
    cell->off = w->values.len;
    put_cell_value(&w->values, f);
    cell->len = w->values.len - cell->off;
    cell->set = true;
}

static int write_row(struct csv_writer *w)
{
    if (w->values.failed || w->row.failed) {
        errno = ENOMEM;
        return -1;
    }
    fwrite(w->row.p, 1, w->row.len, w->out);
    return ferror(w->out) ? -1 : 0;
}

static int write_header(struct csv_writer *w)
{
    tb_reset(&w->row);
    for (size_t c = 0; c < w->ncolumns; c++) {
        if (c)
            tb_put_char(&w->row, ',');
        put_field(&w->row, w->names[c], strlen(w->names[c]));
    }
    tb_put_bytes(&w->row, "\r\n", 2);
    return write_row(w);
}

struct csv_writer *csv_open(FILE *out)
{
    struct csv_writer *w = calloc(1, sizeof *w);
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    w->out = out;
    json_walk(NULL, add_column, w);
    w->cells = calloc(w->ncolumns ? w->ncolumns : 1, sizeof *w->cells);
    if (w->failed || !w->cells) {
        csv_free(w);
        errno = ENOMEM;
        return NULL;
    }
    if (write_header(w) < 0) {
        int e = errno;
        csv_free(w);
        errno = e;
        return NULL;
    }
    return w;
}

int csv_write_record(struct csv_writer *w, const struct flow_record *r)
{
    tb_reset(&w->values);
    memset(w->cells, 0, w->ncolumns * sizeof *w->cells);
    w->at = 0;
    json_walk(r, set_cell, w);
    tb_reset(&w->row);
    for (size_t c = 0; c < w->ncolumns; c++) {
        if (c)
            tb_put_char(&w->row, ',');
        if (w->cells[c].set && !w->values.failed)
            put_field(&w->row, w->values.p + w->cells[c].off, w->cells[c].len);
    }
    tb_put_bytes(&w->row, "\r\n", 2);
    return write_row(w);
}

void csv_free(struct csv_writer *w)
{
    if (!w)
        return;
    free(w->names);
    free(w->column_of);
    free(w->cells);
    tb_free(&w->values);
    tb_free(&w->row);
    free(w);
}
