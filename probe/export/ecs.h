/* ecs.h — --json-format ecs: a flow record as one JSON object with Elastic
 * Common Schema (ECS 9.4.0) names, nested as Elasticsearch stores them, so
 * Filebeat or Elastic Agent ingest it with an ndjson input and no pipeline.
 * JSON's fields without an ECS field go under the custom namespace
 * "nfprobe" with their JSON names (README has the mapping table). */
#ifndef NFPROBE_ECS_H
#define NFPROBE_ECS_H

#include "record.h"
#include "textbuf.h"

#define ECS_VERSION "9.4.0"
#define ECS_CUSTOM_NAMESPACE "nfprobe"

/* The record as one line (with its newline) in b. 0, or -1 with errno
 * ENOMEM. */
int ecs_format_record(struct textbuf *b, const struct flow_record *r);

#endif
