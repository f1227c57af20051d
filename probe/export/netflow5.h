/* netflow5.h — NetFlow v5 messages: fixed 48-byte records, IPv4 only.
 *
 * v5 has no templates: the record layout is fixed (addresses, ports,
 * protocol, TCP flags, 32-bit packet and octet counters, sysUptime-relative
 * first/last times). Each flow goes out as one record per direction with
 * packets, as the default IPFIX export. IPv6 flows cannot be expressed: they
 * are counted (nf5_not_exportable) for the exit report, never silently lost. */
#ifndef NFPROBE_NETFLOW5_H
#define NFPROBE_NETFLOW5_H

#include "ipfix.h"

struct nf5_config {
    uint32_t domain;            /* low byte: the header's engine_id */
    uint16_t mtu;
};

struct nf5_encoder;

struct nf5_encoder *nf5_new(const struct nf5_config *cfg, ipfix_msg_fn out, void *ctx,
                            char *err, size_t errlen);
void nf5_free(struct nf5_encoder *e);
int nf5_add_flow(struct nf5_encoder *e, const struct flow_record *r);
int nf5_flush(struct nf5_encoder *e);
const struct export_counters *nf5_counters(const struct nf5_encoder *e);
/* Flows left out because v5 cannot carry them (IPv6). */
uint64_t nf5_not_exportable(const struct nf5_encoder *e);

#endif
