/* json.h — one JSON object per flow, with nfstream's field names; the walk
 * over a record's fields that CSV and ECS share with it. */
#ifndef NFPROBE_JSON_H
#define NFPROBE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "elements.h"
#include "record.h"
#include "textbuf.h"

/* One field of a record under its JSON name: v NULL when the record has
 * no value for it. A name can come twice in a walk (src_ip: the IPv4 row,
 * then the IPv6 one), at most one of them with a value. */
struct json_field {
    const char *name;
    const struct element *el;
    const struct elem_value *v;
};
typedef void (*json_field_fn)(void *ctx, const struct json_field *f);

/* Every field JSON can carry, in JSON's order: the built-in rows,
 * nfstream's times and totals, then the DPI's and plugins' rows. With r
 * NULL, every name with no value (a CSV header). */
void json_walk(const struct flow_record *r, json_field_fn fn, void *ctx);

/* A value as JSON writes it: a number, a quoted string or address, an
 * array for list elements. */
void json_put_value(struct textbuf *b, const struct element *el, const struct elem_value *v);

/* The record as one line (with its newline) in b. 0, or -1 with errno
 * ENOMEM. */
int json_format_record(struct textbuf *b, const struct flow_record *r);

/* Write a formatted line. 0, or -1 with errno set (EPIPE when stdout's
 * reader went away). */
int json_write_line(FILE *out, const struct textbuf *l);

/* Format and write the record. Returns 0, or -1 with errno set: ENOMEM,
 * or the write error. */
int json_write_record(FILE *out, const struct flow_record *r);

#endif
