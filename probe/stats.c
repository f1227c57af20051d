#include "stats.h"

#include <inttypes.h>

static uint64_t undecoded_total(const struct meter_stats *m)
{
    uint64_t n = 0;
    for (int i = 1; i < DECODE_STATUS_COUNT; i++)
        n += m->undecoded[i];
    return n;
}

void stats_to_record(const struct stats_sources *s, struct probe_stats_record *r)
{
    struct capture_stats cs;
    capture_get_stats(s->capture, &cs);
    const struct meter_stats *m = &s->meter->stats;
    r->packets_observed = m->packets;
    r->packets_ignored = undecoded_total(m);
    r->packets_dropped = cs.dropped + cs.if_dropped;
    r->flows_observed = m->flows_created;
    r->flows_not_sent = exporter_records_dropped(s->exporter);
    r->start_ms = s->start_ms;
}

static void print_dpi(FILE *out, const struct dpi *d)
{
    const struct dpi_stats *s = dpi_get_stats(d);
    if (!s->flows_dissected)
        return;
    fprintf(out, "nfprobe: DPI: %" PRIu64 " flows dissected (%" PRIu64 " detected, %" PRIu64
            " guessed, %" PRIu64 " unknown), %" PRIu64 " packets to nDPI, %" PRIu64
            " flow states packed (--dpi-hot-flows %u)\n", s->flows_dissected, s->flows_detected,
            s->flows_guessed, s->flows_unknown, s->packets_fed, s->packs, dpi_hot_flows(d));
}

void stats_print(FILE *out, const struct stats_sources *s)
{
    struct capture_stats cs;
    capture_get_stats(s->capture, &cs);
    const struct meter_stats *m = &s->meter->stats;
    const struct frag_table *fr = &s->meter->frags;
    fprintf(out, "nfprobe: packets: %" PRIu64 " seen, %" PRIu64 " metered, %" PRIu64 " not metered",
            m->packets, m->decoded, undecoded_total(m));
    for (int i = 1; i < DECODE_STATUS_COUNT; i++)
        if (m->undecoded[i])
            fprintf(out, " (%s: %" PRIu64 ")", decode_status_name(i), m->undecoded[i]);
    fputc('\n', out);
    if (m->l4_truncated || fr->orphans)
        fprintf(out, "nfprobe: packets metered with ports 0: %" PRIu64 " truncated transport header, %"
                PRIu64 " fragments without a first fragment\n", m->l4_truncated, fr->orphans);
    if (capture_is_live(s->capture))
        fprintf(out, "nfprobe: kernel: %" PRIu64 " received, %" PRIu64 " dropped, %" PRIu64
                " dropped by interface\n", cs.received, cs.dropped, cs.if_dropped);
    fprintf(out, "nfprobe: flows: %" PRIu64 " created, %u active (peak %" PRIu64 "), %" PRIu64
            " records exported (idle %" PRIu64 ", active %" PRIu64 ", end %" PRIu64 ", forced %" PRIu64
            ", emergency %" PRIu64 ")\n",
            m->flows_created, s->meter->cache.used, m->active_flows_peak, m->records,
            m->records_by_reason[END_IDLE], m->records_by_reason[END_ACTIVE],
            m->records_by_reason[END_OF_FLOW], m->records_by_reason[END_FORCED],
            m->records_by_reason[END_LACK_OF_RESOURCES]);
    if (s->dpi)
        print_dpi(out, s->dpi);
    if (m->ext_exports || m->ext_unavailable)
        fprintf(out, "nfprobe: extensions: %" PRIu64 " records exported when a plugin asked, %" PRIu64
                " flows metered without DPI/plugin state (out of memory)\n",
                m->ext_exports, m->ext_unavailable);
    const struct exporter *x = s->exporter;
    if (x->unencodable)
        fprintf(out, "nfprobe: export: %" PRIu64 " flow records did not fit in a message (see --mtu)\n",
                x->unencodable);
    for (int i = 0; i < x->ntransports; i++) {
        const struct transport_stats *ts = transport_stats(x->transports[i]);
        fprintf(out, "nfprobe: export %s: %" PRIu64 " messages, %" PRIu64 " records sent, %" PRIu64
                " records dropped\n", transport_name(x->transports[i]), ts->messages_sent,
                ts->records_sent, ts->records_dropped);
    }
    fflush(out);
}
