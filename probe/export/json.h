/* json.h — one JSON object per flow, with nfstream's field names. */
#ifndef NFPROBE_JSON_H
#define NFPROBE_JSON_H

#include <stdio.h>
#include "record.h"

/* Write the record as one line. Returns 0, or -1 with errno set: ENOMEM,
 * or the write error (EPIPE when stdout's reader went away). */
int json_write_record(FILE *out, const struct flow_record *r);

#endif
