/* csv.h — --csv: one row per flow record under a header row of the JSON
 * names (RFC 4180). Every row has every column JSON can carry, the DPI's
 * and plugins' included; a field a record has no value for is an empty
 * cell. */
#ifndef NFPROBE_CSV_H
#define NFPROBE_CSV_H

#include <stdio.h>
#include "record.h"

struct csv_writer;

/* The columns are the fields registered now (after DPI and plugins). The
 * header row is written at once. NULL with errno set (ENOMEM, a write
 * error). */
struct csv_writer *csv_open(FILE *out);
/* 0, or -1 with errno set (ENOMEM, the write error: EPIPE when stdout's
 * reader went away). */
int csv_write_record(struct csv_writer *w, const struct flow_record *r);
void csv_free(struct csv_writer *w);

#endif
