/* ipfix.h — IPFIX (RFC 7011) messages from flow records, encoded by libfixbuf.
 *
 * libfixbuf encodes into memory (its buffer exporter, manual mode); each
 * finished message is handed to a callback, so the transport is ours: UDP,
 * TCP with reconnect, a file, and later TLS or SCTP, without asking
 * Debian's libfixbuf for transports it was built without.
 *
 * Templates: 256 (IPv4 flows), 257 (IPv6 flows), options 258 (statistics),
 * 259 (application names), 260 (RFC 5610 element types). A float64 row goes
 * out as an 8-byte float64; a list row (element.list) as an RFC 6313
 * basicList field (IANA basicList 291, variable length) whose list header
 * names the row's element (semantic "ordered", enterprise id and PEN, item
 * length) and whose items follow in network order. Every enterprise element
 * of the flow templates (ntop's, plugins'; not IANA's nor RFC 5103 reverse
 * twins under 29305) is described by one record of template 260: scope
 * privateEnterpriseNumber, informationElementId; informationElementDataType,
 * -Semantics, -Units, -RangeBegin, -RangeEnd, -Name, -Description, all of
 * which libfixbuf's collectors (fBufSetAutomaticInsert) require. */
#ifndef NFPROBE_IPFIX_H
#define NFPROBE_IPFIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "elements.h"
#include "record.h"

/* A finished message: its bytes, how many flow records it carries, and
 * whether it is the templates-only message a transport re-sends after a
 * reconnect. */
enum msg_kind {
    MSG_DATA = 0,
    MSG_TEMPLATES = 1,      /* kept by stream transports, sent first on reconnect */
    MSG_WITHDRAWAL = 2,     /* IPFIX template withdrawal: streams and files only */
    MSG_SETUP = 3,          /* options data a new session needs after the templates
                               (application names, element types): kept with them */
};
typedef int (*ipfix_msg_fn)(void *ctx, const uint8_t *msg, size_t len, uint32_t nrecords,
                            enum msg_kind kind);

struct ipfix_config {
    uint32_t domain;            /* observation domain id */
    uint16_t mtu;               /* largest message */
    bool biflow;                /* RFC 5103 records instead of two one-way records */
    const struct template_def *tmpl;    /* for both families: see template_for_family() */
};

/* Exporter statistics, for the options records (RFC 7011 §4.3). */
struct export_counters {
    uint64_t messages;
    uint64_t records;           /* data records sent (one-way records count one each) */
    uint64_t octets;            /* message bytes */
};

/* What one worker (a metering process of its own: its socket, its flow
 * cache) counted, for its options record scoped by meteringProcessId. */
struct worker_stats_record {
    uint64_t packets_observed;
    uint64_t packets_ignored;
    uint64_t packets_dropped;   /* its socket's kernel drops */
    uint64_t flows_observed;
};
#define STATS_WORKERS_MAX 64

/* Metering process statistics sent as an options record. */
struct probe_stats_record {
    uint64_t packets_observed;
    uint64_t packets_ignored;   /* not metered: undecodable */
    uint64_t packets_dropped;   /* lost before metering (kernel drops) */
    uint64_t flows_observed;
    uint64_t flows_not_sent;    /* dropped by the exporter */
    uint64_t start_ms;          /* when the probe started */
    /* selection (issue 14): packets offered to and kept by --sample and
     * --hash-select, flow records offered to and kept by --flow-filter and
     * --flow-sample */
    uint64_t sel_packets_observed, sel_packets_selected;
    uint64_t sel_flows_observed, sel_flows_selected;
    unsigned nworkers;          /* one record each after the totals' */
    struct worker_stats_record worker[STATS_WORKERS_MAX];
};

struct ipfix_encoder;

struct ipfix_encoder *ipfix_new(const struct ipfix_config *cfg, ipfix_msg_fn out, void *ctx,
                                char *err, size_t errlen);
void ipfix_free(struct ipfix_encoder *e);

/* Add a flow (one or two data records). 0, or -1 with a message logged. */
int ipfix_add_flow(struct ipfix_encoder *e, const struct flow_record *r);
/* Add an options record with the probe's statistics. */
int ipfix_add_stats(struct ipfix_encoder *e, const struct probe_stats_record *s);
/* Finish the current message, then send one with every template in it
 * (MSG_TEMPLATES) and after them the element type records (template 260) as
 * far as the MTU allows; those that do not fit follow in messages of their
 * own (MSG_DATA), then the application names. */
int ipfix_send_templates(struct ipfix_encoder *e);
/* Withdraw every template (RFC 7011 §8.1), at a clean shutdown of a stream
 * (TCP, TLS) or file export; nothing may be added after it. */
int ipfix_withdraw_templates(struct ipfix_encoder *e);
/* Send the current message if it holds anything. */
int ipfix_flush(struct ipfix_encoder *e);

const struct export_counters *ipfix_counters(const struct ipfix_encoder *e);

/* Application names (RFC 6759) as options data: one record per application
 * id (scope observationDomainId; applicationId, applicationName,
 * applicationDescription, applicationCategoryName as fixed-length,
 * NUL-padded strings, the form nfdump and nfacctd accept), template 259. */
struct ipfix_app_name {
    uint8_t id[8];              /* the applicationId bytes, idlen of them */
    const char *name, *description, *category;
};
struct ipfix_app_table {
    const struct ipfix_app_name *apps;
    size_t n;
    uint16_t idlen;             /* bytes of applicationId, as in the flow records */
};
/* From now on the records of t (which must outlive e) follow the templates
 * every time they are sent. 0, or -1 with a message in err. */
int ipfix_set_app_names(struct ipfix_encoder *e, const struct ipfix_app_table *t, char *err,
                        size_t errlen);

#endif
