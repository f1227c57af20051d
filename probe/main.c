/* main.c — options → wiring: capture → decode → meter → exporter. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "decode.h"
#include "dpi.h"
#include "export.h"
#include "extend.h"
#include "fields.h"
#include "meter.h"
#include "options.h"
#include "plugin.h"
#include "stats.h"
#include "util.h"

enum { EXIT_RUN_FAILED = 1, EXIT_USAGE = 2 };
enum { TICK_EVERY_PACKETS = 4096 };

static volatile sig_atomic_t stop_requested;
static struct capture *signal_capture;

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (signal_capture)
        capture_break(signal_capture);
}

static void install_signals(struct capture *cap)
{
    signal_capture = cap;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

struct probe {
    struct options opt;
    struct dpi *dpi;            /* NULL with --no-dissect */
    size_t dpi_offset;          /* of its state in a flow's extension block */
    struct capture *cap;
    struct meter meter;
    struct exporter exporter;
    struct stats_sources stats;
    uint64_t next_stats_us;
};

static struct capture *open_input(const struct options *o)
{
    char err[512];
    struct capture *c = o->read_file ? capture_open_file(o->read_file, o->bpf, err, sizeof err)
                                     : capture_open_live(o->interface, o->snaplen, o->bpf, err, sizeof err);
    if (!c) {
        log_error("%s", err);
        return NULL;
    }
    /* Tests and init scripts wait on this line: capture is running. */
    if (capture_is_live(c))
        log_info("capturing on %s", capture_name(c));
    return c;
}

/* Work that runs on the clock, not per packet. Live, idle flows expire on the
 * wall clock even when no packet arrives. */
static void tick(struct probe *p)
{
    uint64_t mono = now_mono_us();
    if (capture_is_live(p->cap))
        meter_advance(&p->meter, now_wall_us());
    exporter_tick(&p->exporter, mono);
    /* stdout's reader went away (`nfprobe -r big.pcap | head`): it is done
     * with us, as with any filter; the flows metered so far still go to
     * the other outputs. Stdout failing otherwise ends the run only when
     * it was the only output. */
    if (p->exporter.json_reader_gone || (p->exporter.json_errors && !p->exporter.nsinks))
        stop_requested = 1;
    if (p->opt.stats_interval_us && mono >= p->next_stats_us) {
        stats_print(stderr, &p->stats);
        struct probe_stats_record r;
        stats_to_record(&p->stats, &r);
        exporter_send_stats(&p->exporter, &r);
        p->next_stats_us = mono + p->opt.stats_interval_us;
    }
}

/* Returns 0 at end of input or on a stop signal, -1 on a capture error. */
static int run_loop(struct probe *p)
{
    int dlt = capture_datalink(p->cap);
    unsigned since_tick = 0;
    while (!stop_requested) {
        struct capture_packet pkt;
        enum capture_result rc = capture_next(p->cap, &pkt);
        if (rc == CAPTURE_PACKET) {
            struct packet_view pv;
            enum decode_status st = decode_packet(dlt, pkt.data, pkt.caplen, pkt.wirelen, pkt.ts_us, &pv);
            meter_packet(&p->meter, st, &pv);
            if (++since_tick < TICK_EVERY_PACKETS)
                continue;
        } else if (rc == CAPTURE_END) {
            return 0;
        } else if (rc == CAPTURE_ERROR) {
            log_error("%s", capture_error(p->cap));
            return -1;
        }
        since_tick = 0;
        tick(p);
    }
    return 0;
}

static int finish(struct probe *p, int loop_rc)
{
    meter_flush(&p->meter);
    struct probe_stats_record r;
    stats_to_record(&p->stats, &r);
    exporter_finish(&p->exporter, &r);
    if (!p->opt.quiet || loop_rc < 0)
        stats_print(stderr, &p->stats);
    uint64_t dropped = exporter_records_dropped(&p->exporter);
    int rc = loop_rc < 0 ? EXIT_RUN_FAILED : 0;
    if (dropped) {
        log_error("%llu flow records could not be delivered (see the export lines above)",
                  (unsigned long long)dropped);
        rc = EXIT_RUN_FAILED;
    }
    if (p->exporter.json_errors) {
        log_error("writing JSON to stdout failed: %s", strerror(p->exporter.json_errno));
        rc = EXIT_RUN_FAILED;
    }
    return rc;
}

/* Layer-7 dissection (on unless --no-dissect): its elements must be known
 * before the templates are read, its extension attached before the first
 * packet. It extends records the way plugins do (extend.h). */
static int start_dpi(struct probe *p)
{
    if (!p->opt.dissect)
        return 0;
    char err[512];
    struct dpi_config cfg = {p->opt.max_tcp_dissections, p->opt.max_udp_dissections, p->opt.dpi_hot_flows};
    dpi_set_app_id_pen_form(p->opt.app_id_pen);    /* before the rows are registered */
    p->dpi = dpi_new(&cfg, err, sizeof err);
    if (!p->dpi || dpi_extend(p->dpi, &p->dpi_offset, err, sizeof err) < 0) {
        log_error("DPI: %s", err);
        return -1;
    }
    plugins_set_dpi(p->dpi);
    return 0;
}

static int load_plugins(const struct options *o)
{
    unsigned flags = o->early_expire ? NFP_RUN_EARLY_EXPIRE : 0;
    for (int i = 0; i < o->nplugins; i++) {
        char err[1024];
        if (plugin_load(o->plugins[i], o->plugin_pen, flags, err, sizeof err) < 0) {
            log_error("%s", err);
            return -1;
        }
    }
    return 0;
}

static int attach_extensions(struct probe *p)
{
    if (extend_attach(&p->meter) < 0) {
        log_error("cannot attach the DPI and plugin extensions");
        return -1;
    }
    if (p->dpi)
        dpi_set_state_offset(p->dpi_offset);
    return 0;
}

static void stop_extensions(struct probe *p)
{
    plugins_unload();
    dpi_free(p->dpi);
}

/* IPFIX collectors learn the names of the applicationIds from options data. */
static int send_app_names(struct probe *p)
{
    if (!p->dpi)
        return 0;
    const struct ipfix_app_table *t = dpi_app_table(p->dpi);
    if (!t) {
        log_error("out of memory");
        return -1;
    }
    return exporter_send_app_names(&p->exporter, t);
}

int main(int argc, char **argv)
{
    static struct probe p;
    int prc = options_parse(argc, argv, &p.opt);
    if (prc != 0)
        return prc > 0 ? 0 : EXIT_USAGE;
    log_set_quiet(p.opt.quiet);

    if (start_dpi(&p) < 0 || load_plugins(&p.opt) < 0) {
        stop_extensions(&p);
        return EXIT_RUN_FAILED;
    }
    if (p.opt.list_fields) {    /* after the extensions: their rows are in the table now */
        int lrc = fields_list(stdout);
        stop_extensions(&p);
        return lrc < 0 ? EXIT_RUN_FAILED : 0;
    }
    p.cap = open_input(&p.opt);
    if (!p.cap)
        return EXIT_RUN_FAILED;
    if (exporter_open(&p.exporter, &p.opt) < 0) {
        exporter_close(&p.exporter);
        capture_close(p.cap);
        return EXIT_RUN_FAILED;
    }
    struct meter_config mc = {p.opt.idle_us, p.opt.active_us, p.opt.tcp_close_us, p.opt.max_flows};
    if (meter_init(&p.meter, &mc, exporter_record, &p.exporter) < 0) {
        log_error("cannot allocate a flow cache of %u flows (lower --max-flows)", p.opt.max_flows);
        exporter_close(&p.exporter);
        capture_close(p.cap);
        return EXIT_RUN_FAILED;
    }
    if (attach_extensions(&p) < 0 || send_app_names(&p) < 0)
        return EXIT_RUN_FAILED;
    p.stats = (struct stats_sources){&p.meter, p.cap, &p.exporter, now_wall_us() / 1000, p.dpi};
    p.next_stats_us = now_mono_us() + p.opt.stats_interval_us;
    install_signals(p.cap);

    int loop_rc = run_loop(&p);
    int rc = finish(&p, loop_rc);

    meter_free(&p.meter);
    stop_extensions(&p);
    exporter_close(&p.exporter);
    capture_close(p.cap);
    return rc;
}
