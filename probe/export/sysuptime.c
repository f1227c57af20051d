#include "sysuptime.h"

#include "util.h"

/* Flows may start this long before the first one exported. */
#define BOOT_MARGIN_MS (7ull * 24 * 3600 * 1000)
/* sysUptime is 32 bits; keep 2 s spare for rounding the export time up. */
#define UPTIME_LIMIT_MS ((1ull << 32) - 2000)

bool sysuptime_fits(const struct sysuptime *c, uint64_t first_ms, uint64_t last_ms)
{
    return c->based && first_ms >= c->boot_ms && last_ms >= first_ms &&
           last_ms - c->boot_ms < UPTIME_LIMIT_MS;
}

void sysuptime_rebase(struct sysuptime *c, uint64_t first_ms)
{
    uint64_t boot = first_ms > BOOT_MARGIN_MS ? first_ms - BOOT_MARGIN_MS : 0;
    c->boot_ms = boot - boot % 1000;
    c->based = true;
    c->msg_latest_ms = 0;
    c->last_export_ms = 0;
}

void sysuptime_note(struct sysuptime *c, uint64_t last_ms)
{
    if (last_ms > c->msg_latest_ms)
        c->msg_latest_ms = last_ms;
}

uint32_t sysuptime_offset(const struct sysuptime *c, uint64_t ms)
{
    return ms > c->boot_ms ? (uint32_t)(ms - c->boot_ms) : 0;
}

/* Live, the export time is the wall clock; reading a capture, the wall clock
 * is usually years after the flows, out of sysUptime's reach, so the export
 * time is the end of the latest flow (rounded up to its second). */
void sysuptime_header(struct sysuptime *c, uint32_t *uptime_ms, uint32_t *unix_secs)
{
    uint64_t wall = now_wall_us() / 1000;
    if (!c->based)
        sysuptime_rebase(c, wall);
    uint64_t t = c->msg_latest_ms > c->last_export_ms ? c->msg_latest_ms : c->last_export_ms;
    if (t < c->boot_ms)
        t = c->boot_ms;
    if (wall > t && wall - c->boot_ms < UPTIME_LIMIT_MS)
        t = wall;
    uint64_t secs = (t + 999) / 1000;
    *unix_secs = (uint32_t)secs;
    *uptime_ms = (uint32_t)(secs * 1000 - c->boot_ms);
    c->last_export_ms = t;
    c->msg_latest_ms = 0;
}
