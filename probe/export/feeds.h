/* feeds.h — the exporter's text outputs beside IPFIX and NetFlow (issue
 * 15): JSON lines on stdout in the chosen format (nfstream's names or
 * ECS), the same lines as MQTT messages, and CSV rows. */
#ifndef NFPROBE_FEEDS_H
#define NFPROBE_FEEDS_H

#include <stdint.h>
#include <stdio.h>

#include "export.h"

/* Open the CSV output and the MQTT brokers among the -c collectors. 0, or
 * -1 after a one-line message. */
int feeds_open(struct exporter *x, const struct options *o);
/* The -c collectors that take IPFIX or NetFlow (not MQTT brokers). */
int feeds_ipfix_collectors(const struct options *o);
bool feeds_is_feed_collector(const char *spec);
void feeds_record(struct exporter *x, const struct flow_record *r);
void feeds_tick(struct exporter *x);
/* Flush, and give the brokers up to --drain-timeout to take the rest. */
void feeds_finish(struct exporter *x);
uint64_t feeds_records_dropped(const struct exporter *x);
void feeds_print_stats(FILE *out, const struct exporter *x);
void feeds_close(struct exporter *x);

#endif
