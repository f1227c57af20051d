/* encoder.h — one export stream in the format the user chose: IPFIX
 * (libfixbuf), NetFlow v9 or NetFlow v5. Each encoder keeps its own message
 * state (sequence numbers, open message, template refresh), so one can
 * serve every collector, or each collector its own (--collector-mode
 * balance). Finished messages go to the callback. */
#ifndef NFPROBE_ENCODER_H
#define NFPROBE_ENCODER_H

#include "ipfix.h"

enum export_format { FORMAT_NETFLOW5 = 5, FORMAT_NETFLOW9 = 9, FORMAT_IPFIX = 10,
                     FORMAT_NTOPNG = 200 /* zmq:// collectors: JSON for ntopng (ntopng.h) */ };

struct encoder_config {
    enum export_format format;
    uint32_t domain;            /* observation domain / source id / engine id */
    uint16_t mtu;
    bool biflow;                /* IPFIX only */
    uint32_t refresh_packets;   /* v9: templates again after N messages */
    const struct template_def *tmpl;    /* IPFIX and v9 */
    bool times_now;             /* ntopng: --zmq-now */
    bool zmq_compress;          /* ntopng: --zmq-compress */
};

struct encoder;

struct encoder *encoder_new(const struct encoder_config *cfg, ipfix_msg_fn out, void *ctx,
                            char *err, size_t errlen);
void encoder_free(struct encoder *e);
int encoder_add_flow(struct encoder *e, const struct flow_record *r);
/* The probe's statistics as an options record (IPFIX; others ignore it). */
int encoder_add_stats(struct encoder *e, const struct probe_stats_record *s);
/* Finish the open message, then send the templates (none in v5). */
int encoder_send_templates(struct encoder *e);
int encoder_flush(struct encoder *e);
/* The messages from now on go to a new transport session that knows
 * nothing yet (the next -o file): flush, then everything a session starts
 * with (IPFIX, v9: templates, application names, element types). */
int encoder_begin_session(struct encoder *e);
/* At a clean end: IPFIX withdraws its templates (transports that cannot
 * carry a withdrawal, UDP, drop it); NetFlow has none. */
int encoder_withdraw_templates(struct encoder *e);
const struct export_counters *encoder_counters(const struct encoder *e);
enum export_format encoder_format(const struct encoder *e);
/* Application names as options data after the templates (IPFIX, v9; v5
 * has no options): see ipfix_set_app_names and nf9_set_app_names. */
int encoder_set_app_names(struct encoder *e, const struct ipfix_app_table *t, char *err,
                          size_t errlen);
/* The IPFIX encoder inside, for IPFIX-only additions (NULL otherwise). */
struct ipfix_encoder *encoder_ipfix(struct encoder *e);

#endif
