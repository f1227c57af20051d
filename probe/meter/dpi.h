/* dpi.h — layer-7 dissection with nDPI, as a meter extension.
 *
 * The only module that includes nDPI. Per worker there is one detection
 * module (struct dpi); per flow a small state block holds the verdict and
 * the metadata, plus a pointer to nDPI's ~700-byte flow struct that lives in
 * a slab of its own, is taken only with the first packet nDPI can learn from
 * (a TCP segment with payload; any packet of other protocols) and is released
 * as soon as detection concludes: after the packet budget
 * (--max-tcp/udp-dissections), when nDPI says nothing more is to be learnt,
 * or at the flow's first export, whichever comes first. Only a few hundred
 * of those structs stay expanded; flows that wait for their next packet
 * keep theirs packed (zero words left out: ~100 bytes) until it comes.
 *
 * What DPI knows goes out through element rows (elements.h) registered once
 * by dpi_extend(): JSON with nfstream's names, IPFIX as
 * applicationId (RFC 6759) and ntop's enterprise elements (PEN 35632). */
#ifndef NFPROBE_DPI_H
#define NFPROBE_DPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "extension.h"
#include "ipfix.h"
#include "slab.h"

#define PEN_NTOP 35632u

struct dpi_config {
    uint32_t max_tcp_packets;   /* packets of a TCP flow nDPI may see (10) */
    uint32_t max_udp_packets;   /* ... of a UDP flow (16); other protocols: the UDP budget */
    uint32_t hot_flows;         /* nDPI flow structs kept expanded, 1..DPI_HOT_FLOWS_MAX;
                                   0: DPI_HOT_FLOWS_DEFAULT. The others are packed. */
};
#define DPI_HOT_FLOWS_DEFAULT 256
#define DPI_HOT_FLOWS_MAX 65535     /* hot slots are 16-bit */

struct dpi_stats {
    uint64_t flows_dissected;
    uint64_t flows_detected;    /* concluded with a protocol nDPI found in the payload */
    uint64_t flows_guessed;     /* concluded with a guess (port, address) */
    uint64_t flows_unknown;
    uint64_t packets_fed;
    uint64_t packs;             /* nDPI flow structs packed to make room (see hot_flows) */
};

struct dpi;

/* One detection module. NULL (message in err) when nDPI cannot start, the
 * library's flow struct differs from the one this program was built with, or
 * cfg->hot_flows is out of range. */
struct dpi *dpi_new(const struct dpi_config *cfg, char *err, size_t errlen);
/* Prints a line of the module's counters (log_info: not with -q) when it has
 * dissected any flow. */
void dpi_free(struct dpi *d);

/* The extension to hand to meter_add_extension(); then tell dpi where the
 * state sits with dpi_set_state_offset() so element getters find it. */
const struct extension *dpi_extension(struct dpi *d);
void dpi_set_state_offset(size_t offset);

/* nDPI flow structs in use right now (tests: freed after the verdict). */
size_t dpi_ndpi_flows_in_use(const struct dpi *d);
const struct dpi_stats *dpi_get_stats(const struct dpi *d);
/* nDPI flow structs kept expanded (--dpi-hot-flows). */
unsigned dpi_hot_flows(const struct dpi *d);

/* Extend records with the DPI, as plugins do (extend.h): its element rows,
 * templates/dpi.tmpl for the built-in templates, its extension; *offset
 * tells where its state sits once attached (then dpi_set_state_offset()).
 * Once per process. 0, or -1 with a message in err. */
int dpi_extend(struct dpi *d, size_t *offset, char *err, size_t errlen);

/* applicationId form: RFC 6759 engine 13 (PANA-L7, 4-byte nDPI id) by
 * default; with pen_form, engine 20 (PANA-L7-PEN) + PEN 35632 + 4-byte id. */
void dpi_set_app_id_pen_form(bool pen_form);
size_t dpi_app_id_len(void);
/* Encode an application id for protocol id into out (dpi_app_id_len() bytes). */
void dpi_encode_app_id(uint16_t proto_id, uint8_t *out);

/* The protocol table, for the applicationName options records: ids 0 to
 * count-1; name/category NULL for ids nDPI leaves unused. */
size_t dpi_protocol_count(const struct dpi *d);
const char *dpi_protocol_name(const struct dpi *d, size_t id);
const char *dpi_protocol_category(const struct dpi *d, size_t id);

/* Every protocol id nDPI knows with its name, a description and its
 * category, applicationId encoded as the flow records carry it: the
 * applicationName options data. The table lives as long as d. */
const struct ipfix_app_table *dpi_app_table(struct dpi *d);

/* The application fields of one flow state, for tests and encoders. */
struct dpi_result {
    uint16_t master, app, category;
    bool concluded, guessed;
    const char *application_name;   /* "TLS.YouTube" */
    const char *category_name;
    const char *server_name;        /* SNI, HTTP Host, DNS query, ... "" if none */
    const char *ja3c, *ja3s;
};
bool dpi_result_of(const void *state, struct dpi_result *out);
/* The state from an exported record (NULL without DPI). */
const void *dpi_state_of_record(const struct flow_record *r);

#endif
