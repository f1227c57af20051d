#include "progress.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "util.h"

#define REFRESH_US 250000ull        /* four times a second */
#define DEFAULT_COLUMNS 80

static unsigned terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return DEFAULT_COLUMNS;
}

void progress_init(struct progress *pr, const struct capture *c, bool quiet, uint64_t now_mono)
{
    *pr = (struct progress){0};
    /* Only for a file being read. Live with several workers there is no
     * capture here at all (each worker has its own socket): c is NULL. */
    pr->on = !quiet && c && !capture_is_live(c) && isatty(STDERR_FILENO);
    if (!pr->on)
        return;
    pr->columns = terminal_columns();
    pr->last_us = now_mono;
    pr->next_us = now_mono + REFRESH_US;
}

/* "42.3%" of the file where its size is known, else the packets read. */
static void describe_position(const struct capture *c, uint64_t packets, char *out, size_t outlen)
{
    uint64_t done, size;
    if (capture_file_progress(c, &done, &size))
        snprintf(out, outlen, "%.1f%%", size ? 100.0 * (double)done / (double)size : 100.0);
    else
        snprintf(out, outlen, "%" PRIu64 " packets", packets);
}

void progress_tick(struct progress *pr, const struct capture *c, const struct progress_counts *n,
                   uint64_t now_mono)
{
    if (!pr->on || now_mono < pr->next_us)
        return;
    uint64_t packets = n->packets;
    double rate = (double)(packets - pr->last_packets) * 1e6 / (double)(now_mono - pr->last_us);
    char where[64], line[512];
    describe_position(c, packets, where, sizeof where);
    const char *name = strrchr(capture_name(c), '/');
    int len = snprintf(line, sizeof line, "%s, %.2f Mpps, %" PRIu64 " active flows, %" PRIu64
                       " records exported (%s)", where, rate / 1e6, n->active_flows, n->records,
                       name ? name + 1 : capture_name(c));
    /* "nfprobe: " and the line must fit in one row: \r only goes back to
     * the start of the row the cursor is on. */
    int room = (int)pr->columns - 10;
    log_status("%.*s", len < room ? len : room > 0 ? room : 0, line);
    pr->last_packets = packets;
    pr->last_us = now_mono;
    pr->next_us = now_mono + REFRESH_US;
}

void progress_end(struct progress *pr)
{
    if (pr->on)
        log_status_clear();
}
