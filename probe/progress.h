/* progress.h — one status line while a long capture file is read: how far
 * (percent of the file), how fast, flows active, records exported. Only on
 * a terminal, never with -q; refreshed from the main loop's tick, a few
 * times a second, never per packet. */
#ifndef NFPROBE_PROGRESS_H
#define NFPROBE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#include "capture.h"

struct progress {
    bool on;
    unsigned columns;           /* the terminal's width: a wrapped line cannot be redrawn */
    uint64_t next_us;           /* monotonic time of the next refresh */
    uint64_t last_us, last_packets;
};

/* What the line counts (over every worker). */
struct progress_counts {
    uint64_t packets;           /* read */
    uint64_t active_flows;
    uint64_t records;           /* exported */
};

/* On when reading a file (not live), stderr is a terminal and not quiet.
 * c: the capture the main thread reads, NULL when there is none (live with
 * several workers: off). */
void progress_init(struct progress *pr, const struct capture *c, bool quiet, uint64_t now_mono);
/* Redraw the line if its time has come. */
void progress_tick(struct progress *pr, const struct capture *c, const struct progress_counts *n,
                   uint64_t now_mono);
/* Take the line away (before the statistics at exit). */
void progress_end(struct progress *pr);

#endif
