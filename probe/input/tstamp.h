/* tstamp.h — which clock stamps live packets (--timestamp-type): libpcap's
 * time stamp types (pcap-tstamp(7)), host by default, adapter (the NIC's
 * clock, synchronised to the host's) or adapter_unsynced where the driver
 * offers them. Capture files carry their own stamps. */
#ifndef NFPROBE_TSTAMP_H
#define NFPROBE_TSTAMP_H

#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>

/* The type every live capture asks for; NULL (the start): libpcap's default.
 * Set before the captures are opened. */
void tstamp_set_type(const char *name);

/* Print the types iface offers, a line each: name, a tab, libpcap's
 * description. 0, or -1 with a message in err. */
int tstamp_list(const char *iface, FILE *out, char *err, size_t errlen);

/* Whether iface offers the chosen type (none chosen: yes). -1 with a message
 * in err naming what it offers, else 0; an interface that cannot be looked at
 * is left to the capture to report. */
int tstamp_check(const char *iface, char *err, size_t errlen);

/* Ask p (created, not yet activated) for the chosen type. 0, or -1 with err. */
int tstamp_request(pcap_t *p, const char *iface, char *err, size_t errlen);

/* After pcap_activate() returned rc: true, with err, when rc is the
 * interface refusing the type asked for (an error, or libpcap's warning that
 * it used another: a probe asked for hardware stamps must not give host ones). */
bool tstamp_refused(pcap_t *p, int rc, const char *iface, char *err, size_t errlen);

/* A capture failed to open because its interface refused the type: a bad
 * option (exit 2), not a failed run. */
bool tstamp_was_refused(void);

#endif
