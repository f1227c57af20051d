/* netflow9.h — NetFlow v9 (RFC 3954) messages from flow records.
 *
 * Reads the same template description as IPFIX (a template_def over the
 * element table): each row's v9_id names its v9 field; rows without one are
 * left out (noted once). Flows go out as two one-way records, as the default
 * IPFIX export; times as FIRST_SWITCHED/LAST_SWITCHED relative to sysUptime
 * (sysuptime.h). Finished messages go to the same callback as IPFIX, so every
 * transport carries them. */
#ifndef NFPROBE_NETFLOW9_H
#define NFPROBE_NETFLOW9_H

#include "ipfix.h"

struct nf9_config {
    uint32_t source_id;                 /* the header's Source ID (-O) */
    uint16_t mtu;
    uint32_t refresh_packets;           /* templates again after N messages, 0: never */
    const struct template_def *tmpl;    /* for both families */
};

struct nf9_encoder;

struct nf9_encoder *nf9_new(const struct nf9_config *cfg, ipfix_msg_fn out, void *ctx,
                            char *err, size_t errlen);
void nf9_free(struct nf9_encoder *e);
int nf9_add_flow(struct nf9_encoder *e, const struct flow_record *r);
int nf9_send_templates(struct nf9_encoder *e);
int nf9_flush(struct nf9_encoder *e);
/* The messages from now on start a new transport session (the next -o
 * file): the templates and application names first, even if the last
 * message sent was the templates. */
int nf9_begin_session(struct nf9_encoder *e);
const struct export_counters *nf9_counters(const struct nf9_encoder *e);

/* Application names (RFC 6759 ids and names) as v9 options data: template
 * 258 in the options template set (scope System, 4 bytes; applicationId 95,
 * applicationName 96 and applicationDescription 94 as fixed-length,
 * NUL-padded fields: nfdump 1.7.1 refuses variable-length ones). The options
 * template goes out with every template set; the records, one per data set,
 * after the templates at start and on every time-based refresh (not on the
 * --template-refresh-packets ones: they are many). t must outlive e. */
int nf9_set_app_names(struct nf9_encoder *e, const struct ipfix_app_table *t, char *err,
                      size_t errlen);

/* How NetFlow v9 carries an element: its field type and length (0 when v9
 * has no field for it), and whether it is a sysUptime offset. */
struct nf9_field_spec {
    uint16_t id;
    uint16_t len;
    bool uptime;
};
struct nf9_field_spec nf9_field_for(const struct template_field *f);

#endif
