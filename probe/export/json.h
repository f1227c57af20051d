/* json.h — one JSON object per flow, with nfstream's field names. */
#ifndef NFPROBE_JSON_H
#define NFPROBE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "record.h"

/* Write the record as one line. Returns 0, or -1 with errno set: ENOMEM,
 * or the write error (EPIPE when stdout's reader went away). */
int json_write_record(FILE *out, const struct flow_record *r);

/* JSON text built in memory with the same value formatting (for the other
 * JSON encoders: ntopng's). Calls after a failed allocation do nothing;
 * json_text_failed says so. */
struct json_text;
struct element;
struct elem_value;
struct json_text *json_text_new(void);
void json_text_free(struct json_text *t);
void json_text_clear(struct json_text *t);
void json_text_raw(struct json_text *t, const void *s, size_t n);
void json_text_u64(struct json_text *t, uint64_t v);
void json_text_string(struct json_text *t, const char *s);
/* An element's value as its type reads in JSON. */
void json_text_value(struct json_text *t, const struct element *el, const struct elem_value *v);
const char *json_text_data(const struct json_text *t, size_t *len);
bool json_text_failed(const struct json_text *t);

#endif
