#include "stats.h"

#include <inttypes.h>
#include <string.h>

#include "feeds.h"
#include "options.h"

/* What every worker counted, added up. */
struct totals {
    struct meter_stats m;
    uint64_t active_flows;
    uint64_t frag_orphans;
    struct dpi_stats dpi;
    bool dissected;
    unsigned dpi_hot_flows;
    struct capture_stats cap;
    uint64_t records_lost;
    struct select_stats sel;        /* packet selection, where packets are read */
    uint64_t idle_now_us;           /* dynamic timeouts: the shortest idle timeout now */
};

static void add_meter(struct meter_stats *t, const struct meter_stats *s)
{
    t->packets += s->packets;
    t->decoded += s->decoded;
    for (int i = 0; i < DECODE_STATUS_COUNT; i++)
        t->undecoded[i] += s->undecoded[i];
    t->l4_truncated += s->l4_truncated;
    t->flows_created += s->flows_created;
    t->records += s->records;
    for (int i = 0; i < 6; i++)
        t->records_by_reason[i] += s->records_by_reason[i];
    t->active_flows_peak += s->active_flows_peak;   /* each worker's peak: a bound */
    t->ext_unavailable += s->ext_unavailable;
    t->ext_exports += s->ext_exports;
    t->decapsulated += s->decapsulated;
    for (int i = 0; i < TUNNEL_STOP_COUNT; i++)
        t->tunnel_stops[i] += s->tunnel_stops[i];
    t->tunnel_tails += s->tunnel_tails;
    t->dynamic_expired += s->dynamic_expired;
}

static void add_dpi(struct dpi_stats *t, const struct dpi_stats *s)
{
    t->flows_dissected += s->flows_dissected;
    t->flows_detected += s->flows_detected;
    t->flows_guessed += s->flows_guessed;
    t->flows_unknown += s->flows_unknown;
    t->packets_fed += s->packets_fed;
    t->packs += s->packs;
}

static void add_capture(struct capture_stats *t, struct capture *c)
{
    struct capture_stats cs;
    capture_get_stats(c, &cs);
    t->received += cs.received;
    t->dropped += cs.dropped;
    t->if_dropped += cs.if_dropped;
    t->unread += cs.unread;
}

static void add_select(struct select_stats *t, const struct select_stats *s)
{
    t->observed += s->observed;
    t->hash_rejected += s->hash_rejected;
    t->sample_rejected += s->sample_rejected;
}

static void sum(const struct stats_sources *s, struct totals *t)
{
    memset(t, 0, sizeof *t);
    if (s->capture)
        add_capture(&t->cap, s->capture);
    const struct worker_pool *p = s->pool;
    for (int i = 0; i < p->n; i++) {
        const struct worker *w = &p->w[i];
        add_meter(&t->m, &w->meter.stats);
        t->active_flows += w->meter.cache.used;
        if (i == 0 || w->meter.idle_us < t->idle_now_us)
            t->idle_now_us = w->meter.idle_us;
        t->frag_orphans += w->meter.frags.orphans;
        if (w->dpi) {
            add_dpi(&t->dpi, dpi_get_stats(w->dpi));
            t->dissected = true;
            t->dpi_hot_flows = dpi_hot_flows(w->dpi);
        }
        if (w->cap)
            add_capture(&t->cap, w->cap);
    }
    t->records_lost = pool_records_lost(p);
    add_select(&t->sel, &p->select.stats);
    for (int i = 0; i < p->n; i++)
        add_select(&t->sel, &p->w[i].select.stats);
}

static uint64_t undecoded_total(const struct meter_stats *m)
{
    uint64_t n = 0;
    for (int i = 1; i < DECODE_STATUS_COUNT; i++)
        n += m->undecoded[i];
    n += m->tunnel_tails;
    return n;
}

static uint64_t flows_not_selected(const struct exporter *x)
{
    return x->flows_filtered + x->flows_unsampled;
}

/* Only when something selects: the line says what was left out and why. */
static void print_selection(FILE *out, const struct totals *t, const struct exporter *x)
{
    if (t->sel.hash_rejected || t->sel.sample_rejected)
        fprintf(out, "nfprobe: selection: %" PRIu64 " packets observed, %" PRIu64 " not selected (hash %"
                PRIu64 ", sampling %" PRIu64 ")\n", t->sel.observed,
                t->sel.hash_rejected + t->sel.sample_rejected, t->sel.hash_rejected, t->sel.sample_rejected);
    if (flows_not_selected(x))
        fprintf(out, "nfprobe: selection: %" PRIu64 " flow records observed, %" PRIu64 " not exported "
                "(--flow-filter %" PRIu64 ", --flow-sample %" PRIu64 ")\n", x->flows,
                flows_not_selected(x), x->flows_filtered, x->flows_unsampled);
}

_Static_assert(MAX_WORKERS <= STATS_WORKERS_MAX, "a worker without its statistics record");

/* A worker's own counters; the one shared socket (live, one worker) counts
 * as that worker's. */
static void worker_to_record(const struct stats_sources *s, int i, struct worker_stats_record *r)
{
    const struct worker *w = &s->pool->w[i];
    struct capture_stats cs = {0};
    if (w->cap)
        add_capture(&cs, w->cap);
    else if (s->capture && s->pool->n == 1)
        add_capture(&cs, s->capture);
    r->packets_observed = w->meter.stats.packets;
    r->packets_ignored = undecoded_total(&w->meter.stats);
    r->packets_dropped = cs.dropped + cs.if_dropped;
    r->flows_observed = w->meter.stats.flows_created;
}

void stats_to_record(const struct stats_sources *s, struct probe_stats_record *r)
{
    struct totals t;
    sum(s, &t);
    r->packets_observed = t.m.packets;
    r->packets_ignored = undecoded_total(&t.m);
    r->packets_dropped = t.cap.dropped + t.cap.if_dropped;
    r->flows_observed = t.m.flows_created;
    r->flows_not_sent = exporter_records_dropped(s->exporter) + t.records_lost;
    r->start_ms = s->start_ms;
    r->sel_packets_observed = t.sel.observed;
    r->sel_packets_selected = t.sel.observed - t.sel.hash_rejected - t.sel.sample_rejected;
    r->sel_flows_observed = s->exporter->flows;
    r->sel_flows_selected = s->exporter->flows - flows_not_selected(s->exporter);
    r->nworkers = (unsigned)s->pool->n;
    for (int i = 0; i < s->pool->n; i++)
        worker_to_record(s, i, &r->worker[i]);
}

static void print_dpi(FILE *out, const struct totals *t)
{
    const struct dpi_stats *s = &t->dpi;
    if (!s->flows_dissected)
        return;
    fprintf(out, "nfprobe: DPI: %" PRIu64 " flows dissected (%" PRIu64 " detected, %" PRIu64
            " guessed, %" PRIu64 " unknown), %" PRIu64 " packets to nDPI, %" PRIu64
            " flow states packed (--dpi-hot-flows %u)\n", s->flows_dissected, s->flows_detected,
            s->flows_guessed, s->flows_unknown, s->packets_fed, s->packs, t->dpi_hot_flows);
}

static void print_kernel(FILE *out, const char *who, const struct capture_stats *cs)
{
    fprintf(out, "nfprobe: kernel%s: %" PRIu64 " received, %" PRIu64 " dropped, %" PRIu64
            " dropped by interface", who, cs->received, cs->dropped, cs->if_dropped);
    /* at the end: those that came after the stop (capture_break()) */
    if (cs->unread)
        fprintf(out, ", %" PRIu64 " not read from the ring", cs->unread);
    fputc('\n', out);
}

/* Live with a socket per worker: the kernel's counters of each, then the sum. */
static void print_kernel_per_worker(FILE *out, const struct worker_pool *p)
{
    for (int i = 0; i < p->n; i++) {
        if (!p->w[i].cap)
            continue;
        struct capture_stats cs = {0};
        add_capture(&cs, p->w[i].cap);
        char who[32];
        snprintf(who, sizeof who, " (worker %d)", i);
        print_kernel(out, who, &cs);
    }
}

static bool is_live(const struct stats_sources *s)
{
    return s->capture ? capture_is_live(s->capture) : s->pool->w[0].cap != NULL;
}

static void print_export(FILE *out, const struct exporter *x, uint64_t records_lost)
{
    if (x->unencodable)
        fprintf(out, "nfprobe: export: %" PRIu64 " flow records did not fit in a message (see --mtu)\n",
                x->unencodable);
    if (records_lost)
        fprintf(out, "nfprobe: export: %" PRIu64 " flow records lost: the exporter fell behind the "
                "workers\n", records_lost);
    for (int i = 0; i < x->ntransports; i++) {
        const struct transport_stats *ts = transport_stats(x->transports[i]);
        fprintf(out, "nfprobe: export %s: %" PRIu64 " messages, %" PRIu64 " records sent, %" PRIu64
                " records dropped\n", transport_name(x->transports[i]), ts->messages_sent,
                ts->records_sent, ts->records_dropped);
    }
    feeds_print_stats(out, x);
}

/* Decapsulation: how many packets were metered inside a tunnel, and why
 * others were metered as the outer packet (tunnel.h). */
static void print_tunnels(FILE *out, const struct meter_stats *m)
{
    uint64_t stopped = 0;
    for (int i = 1; i < TUNNEL_STOP_COUNT; i++)
        stopped += m->tunnel_stops[i];
    if (!m->decapsulated && !stopped)
        return;
    fprintf(out, "nfprobe: tunnels: %" PRIu64 " packets metered inside a tunnel, %" PRIu64
            " metered short of one", m->decapsulated, stopped);
    for (int i = 1; i < TUNNEL_STOP_COUNT; i++)
        if (m->tunnel_stops[i])
            fprintf(out, " (%s: %" PRIu64 ")", tunnel_stop_name(i), m->tunnel_stops[i]);
    fputc('\n', out);
}

void stats_print(FILE *out, const struct stats_sources *s)
{
    struct totals t;
    sum(s, &t);
    const struct meter_stats *m = &t.m;
    fprintf(out, "nfprobe: packets: %" PRIu64 " seen, %" PRIu64 " metered, %" PRIu64 " not metered",
            m->packets, m->decoded, undecoded_total(m));
    for (int i = 1; i < DECODE_STATUS_COUNT; i++)
        if (m->undecoded[i])
            fprintf(out, " (%s: %" PRIu64 ")", decode_status_name(i), m->undecoded[i]);
    if (m->tunnel_tails)
        fprintf(out, " (later fragments of decapsulated packets: %" PRIu64 ")", m->tunnel_tails);
    fputc('\n', out);
    print_tunnels(out, m);
    if (m->l4_truncated || t.frag_orphans)
        fprintf(out, "nfprobe: packets metered with ports 0: %" PRIu64 " truncated transport header, %"
                PRIu64 " fragments without a first fragment\n", m->l4_truncated, t.frag_orphans);
    if (is_live(s)) {
        if (!s->capture)
            print_kernel_per_worker(out, s->pool);
        print_kernel(out, "", &t.cap);
    }
    fprintf(out, "nfprobe: flows: %" PRIu64 " created, %" PRIu64 " active (peak %" PRIu64 "), %" PRIu64
            " records exported (idle %" PRIu64 ", active %" PRIu64 ", end %" PRIu64 ", forced %" PRIu64
            ", emergency %" PRIu64 ")\n",
            m->flows_created, t.active_flows, m->active_flows_peak, m->records,
            m->records_by_reason[END_IDLE], m->records_by_reason[END_ACTIVE],
            m->records_by_reason[END_OF_FLOW], m->records_by_reason[END_FORCED],
            m->records_by_reason[END_LACK_OF_RESOURCES]);
    print_selection(out, &t, s->exporter);
    if (s->pool->w[0].meter.cfg.dynamic_timeouts)
        fprintf(out, "nfprobe: dynamic timeouts: idle timeout now %.3g s (configured %.3g s), %" PRIu64
                " records ended early (reason 5)\n", t.idle_now_us / 1e6,
                s->pool->w[0].meter.cfg.idle_us / 1e6, m->dynamic_expired);
    if (t.dissected)
        print_dpi(out, &t);
    if (m->ext_exports || m->ext_unavailable)
        fprintf(out, "nfprobe: extensions: %" PRIu64 " records exported when a plugin asked, %" PRIu64
                " flows metered without DPI/plugin state (out of memory)\n",
                m->ext_exports, m->ext_unavailable);
    print_export(out, s->exporter, t.records_lost);
    fflush(out);
}
