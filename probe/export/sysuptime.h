/* sysuptime.h — NetFlow v5/v9 times: sysUptime-relative milliseconds.
 *
 * NetFlow carries a flow's first and last packet times as milliseconds since
 * the exporter booted (sysUptime), and each message header carries the
 * export time as unix_secs and sysUptime. Collectors rebuild the boot time
 * per message: nfdump as unix_secs * 1000 - sysUptime. So a message header
 * whose sysUptime is taken at the whole second of unix_secs lets nfdump
 * recover the boot time, and with it every flow time, to the millisecond.
 *
 * The "boot time" is ours to choose: a fixed point a margin before the first
 * flow, so that flows exported later but started earlier (a capture read
 * offline exports its long flows last) still have a non-negative offset.
 * When a flow does not fit in the 32-bit range, the clock is re-based
 * (the caller first finishes its message: the base is per message). */
#ifndef NFPROBE_SYSUPTIME_H
#define NFPROBE_SYSUPTIME_H

#include <stdbool.h>
#include <stdint.h>

struct sysuptime {
    uint64_t boot_ms;           /* epoch ms that sysUptime 0 stands for */
    bool based;                 /* boot_ms chosen */
    uint64_t msg_latest_ms;     /* latest flow end in the open message */
    uint64_t last_export_ms;    /* export time of the previous message */
};

/* Can a flow from first_ms to last_ms go into the open message? */
bool sysuptime_fits(const struct sysuptime *c, uint64_t first_ms, uint64_t last_ms);
/* Choose a new boot time for a flow starting at first_ms (message empty). */
void sysuptime_rebase(struct sysuptime *c, uint64_t first_ms);
/* A flow ending at last_ms went into the open message. */
void sysuptime_note(struct sysuptime *c, uint64_t last_ms);
/* Offset of an epoch-ms time from the boot time, as NetFlow carries it. */
uint32_t sysuptime_offset(const struct sysuptime *c, uint64_t ms);
/* Header values for the message being finished: the export time (never
 * before a flow of the message ends) as whole seconds, and sysUptime at
 * exactly that second. Starts a new message. */
void sysuptime_header(struct sysuptime *c, uint32_t *uptime_ms, uint32_t *unix_secs);

#endif
