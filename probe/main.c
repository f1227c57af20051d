/* main.c — options → wiring: capture → decode → meter → exporter. */
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "decode.h"
#include "dpi.h"
#include "export.h"
#include "extend.h"
#include "fields.h"
#include "flowselect.h"
#include "meter.h"
#include "options.h"
#include "plugin.h"
#include "privdrop.h"
#include "progress.h"
#include "tstamp.h"
#include "tunnel_fields.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

enum { EXIT_RUN_FAILED = 1, EXIT_USAGE = 2 };
enum { TICK_EVERY_PACKETS = 4096 };
#define TICK_EVERY_US 100000u   /* with workers: how often the exporter's clock work runs */

static atomic_bool stop_requested;
static volatile sig_atomic_t reopen_requested;
static _Atomic(struct capture *) signal_capture;

static void on_stop_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, true);
    struct capture *c = atomic_load(&signal_capture);
    if (c)
        capture_break(c);
}

static void on_reopen_signal(int sig)
{
    (void)sig;
    reopen_requested = 1;
}

/* SIGHUP reopens the -o file (log rotation) and goes on; restarting the
 * interrupted system calls keeps it from breaking a collector's send. */
static void install_reopen_signal(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_reopen_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
}

/* Before the input opens: a stop that comes while the run is set up (once
 * "capturing on" is printed, say) is a clean stop, not a kill. */
static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    install_reopen_signal();
}

static bool stopping(void)
{
    return atomic_load_explicit(&stop_requested, memory_order_relaxed);
}

struct probe {
    struct options opt;
    struct run_as run_as;           /* -u */
    struct dpi *dpi[MAX_WORKERS];   /* each worker's; none with --no-dissect */
    size_t dpi_offset;              /* of its state in a flow's extension block */
    struct capture *cap;            /* the file, or the one live socket */
    struct capture *inputs[MAX_WORKERS];    /* several workers: a socket or a file cursor each */
    struct worker_pool pool;
    struct exporter exporter;
    struct stats_sources stats;
    uint64_t next_stats_us;
    uint64_t next_tick_us;
    struct progress progress;
    uint64_t next_rotate_us;        /* --rotate with several workers: next file at */
    struct flow_select *flow_select;    /* --flow-filter, --flow-sample; NULL: none */
};

static void reopen_output_if_asked(struct probe *p)
{
    if (!reopen_requested)
        return;
    reopen_requested = 0;
    exporter_reopen_file(&p->exporter);
}

static bool several_live(const struct options *o)
{
    return o->interface && o->workers > 1;
}

static struct capture *open_one(const struct options *o)
{
    char err[512];
    const struct live_config live = {o->snaplen, o->bpf, o->capture_buffer_mib};
    struct capture *c = o->read_file ? capture_open_file(o->read_file, o->bpf, err, sizeof err)
                                     : capture_open_live(o->interface, &live, err, sizeof err);
    if (!c)
        log_error("%s", err);
    return c;
}

/* Live with several workers: a socket each, joined in one fanout group
 * (named after the process, so two probes on one interface do not mix). */
static int open_fanout(struct probe *p)
{
    uint16_t group = (uint16_t)getpid();
    for (int i = 0; i < p->opt.workers; i++) {
        char err[512];
        p->inputs[i] = open_one(&p->opt);
        if (!p->inputs[i])
            return -1;
        if (capture_join_fanout(p->inputs[i], group, err, sizeof err) < 0) {
            log_error("%s", err);
            return -1;
        }
    }
    return 0;
}

/* A file read in place, several workers: each reads all of it through a
 * cursor of its own and meters its share of the flows (no thread hands
 * packets to another, no packet crosses between cores). Other files go
 * through the main thread (run_reader()). */
static int open_cursors(struct probe *p)
{
    if (p->opt.workers == 1 || !capture_can_share(p->cap))
        return 0;
    if (capture_open_cursors(p->cap, p->opt.workers, p->inputs) < 0) {
        log_error("out of memory");
        return -1;
    }
    return 0;
}

static int open_input(struct probe *p)
{
    if (several_live(&p->opt)) {
        if (open_fanout(p) < 0)
            return -1;
    } else if (!(p->cap = open_one(&p->opt)) || open_cursors(p) < 0) {
        return -1;
    }
    /* Tests and init scripts wait on this line: capture is running. */
    if (p->opt.interface)
        log_info("capturing on %s%s", p->opt.interface, several_live(&p->opt) ? ", a socket per worker" : "");
    return 0;
}

static void close_input(struct probe *p)
{
    for (int i = 0; i < MAX_WORKERS; i++)
        capture_close(p->inputs[i]);
    capture_close(p->cap);
}

static struct meter *single_meter(struct probe *p)
{
    return &p->pool.w[0].meter;
}

static void print_stats(struct probe *p)
{
    stats_print(stderr, &p->stats);
    struct probe_stats_record r;
    stats_to_record(&p->stats, &r);
    exporter_send_stats(&p->exporter, &r);
}

/* Several workers: the -o file follows the main thread's clock (the capture's
 * time as read, the wall clock live), so a record goes in the file open when
 * it reaches the exporter: one a worker exported just before a boundary can
 * land in the next interval's file. */
static void rotate_if_due(struct probe *p, uint64_t clock_us)
{
    if (p->next_rotate_us && clock_us >= p->next_rotate_us)
        p->next_rotate_us = exporter_clock(&p->exporter, clock_us);
}

/* --rotate: one worker moves the -o file with its meter's clock (packet time
 * offline, the wall clock live), so each record lands in the file of the
 * interval in which it was exported; the first file opens when the clock
 * starts. */
static void start_rotation(struct probe *p)
{
    if (!p->opt.rotate_us)
        return;
    if (p->pool.n == 1)
        meter_set_alarm(single_meter(p), 1, exporter_clock, &p->exporter);
    else
        p->next_rotate_us = 1;
}

/* The progress line's counts, summed over the workers (read while they run:
 * a display, a moment old at worst). */
static void show_progress(struct probe *p, uint64_t mono)
{
    struct progress_counts n = {0, 0, 0};
    for (int i = 0; i < p->pool.n; i++) {
        const struct meter *m = &p->pool.w[i].meter;
        n.packets += m->stats.packets;
        n.active_flows += m->cache.used;
        n.records += m->stats.records;
    }
    progress_tick(&p->progress, p->cap, &n, mono);
}

/* Work that runs on the clock, not per packet. Live, idle flows expire on the
 * wall clock even when no packet arrives (each worker sees to its own). */
static void tick(struct probe *p)
{
    uint64_t mono = now_mono_us();
    p->next_tick_us = mono + TICK_EVERY_US;
    if (p->pool.n == 1 && capture_is_live(p->cap))
        meter_advance(single_meter(p), now_wall_us());
    reopen_output_if_asked(p);
    if (p->pool.n > 1)
        rotate_if_due(p, p->cap ? pool_file_clock(&p->pool) : now_wall_us());
    exporter_tick(&p->exporter, mono);
    /* stdout's reader went away (`nfprobe -r big.pcap | head`): it is done
     * with us, as with any filter; the flows metered so far still go to
     * the other outputs. Stdout failing otherwise ends the run only when
     * it was the only output. */
    if (p->exporter.json_reader_gone || (p->exporter.json_errors && !p->exporter.nsinks))
        atomic_store(&stop_requested, true);
    show_progress(p, mono);
    if (p->opt.stats_interval_us && mono >= p->next_stats_us) {
        print_stats(p);
        p->next_stats_us = mono + p->opt.stats_interval_us;
    }
}

static void tick_if_due(struct probe *p)
{
    if (now_mono_us() >= p->next_tick_us)
        tick(p);
}

/* One worker: the main thread reads, meters and exports. Packets go to the
 * meter in batches (its lookups overlap their misses).
 * Returns 0 at end of input or on a stop signal, -1 on a capture error. */
static int run_single(struct probe *p)
{
    int dlt = capture_datalink(p->cap);
    struct meter *m = single_meter(p);
    unsigned since_tick = 0;
    struct capture_packet batch[CAPTURE_BATCH_MAX];
    for (;;) {
        /* the capture ends: live, after what the kernel had delivered */
        if (stopping())
            capture_break(p->cap);
        enum capture_result rc;
        unsigned n = capture_next_batch(p->cap, batch, CAPTURE_BATCH_MAX, &rc);
        since_tick += n;
        n = pool_select(&p->pool, batch, n, dlt);
        meter_packets(m, dlt, batch, n);
        if (rc == CAPTURE_END)
            return 0;
        if (rc == CAPTURE_ERROR) {
            log_error("%s", capture_error(p->cap));
            return -1;
        }
        if (rc == CAPTURE_PACKET && since_tick < TICK_EVERY_PACKETS)
            continue;
        since_tick = 0;
        tick(p);
    }
    return 0;
}

static size_t drain(struct probe *p)
{
    return pool_drain(&p->pool, exporter_record, &p->exporter);
}

/* The workers flush their flows and stop; their last records go out. */
static void wait_for_workers(struct probe *p)
{
    unsigned idle = 0;
    while (!pool_finished(&p->pool)) {
        if (drain(p))
            idle = 0;
        else
            pool_backoff(&p->pool, &idle);
        tick_if_due(p);
    }
    drain(p);
    pool_join(&p->pool);
}

/* Several workers, a file: the main thread reads and hands each packet to
 * its flow's worker, and exports what the workers finish. */
static int run_reader(struct probe *p)
{
    int rc = 0;
    unsigned since_tick = 0;
    struct capture_packet batch[CAPTURE_BATCH_MAX];
    while (!stopping()) {
        enum capture_result cr;
        unsigned n = capture_next_batch(p->cap, batch, CAPTURE_BATCH_MAX, &cr);
        since_tick += n;
        n = pool_select(&p->pool, batch, n, p->pool.dlt);
        pool_dispatch(&p->pool, batch, n, exporter_record, &p->exporter);
        rotate_if_due(p, p->pool.clock_us);
        if (cr == CAPTURE_END)
            break;
        if (cr == CAPTURE_ERROR) {
            log_error("%s", capture_error(p->cap));
            rc = -1;
            break;
        }
        if (cr == CAPTURE_PACKET && since_tick < TICK_EVERY_PACKETS)
            continue;
        since_tick = 0;
        drain(p);
        tick(p);
    }
    pool_input_done(&p->pool, exporter_record, &p->exporter);
    wait_for_workers(p);
    return rc;
}

/* Several workers, each reading its own socket (live) or cursor (a file):
 * the main thread exports. A failed socket stops the run; a damaged file
 * stops each cursor where the damage is, as it stops one reader. */
static int run_workers(struct probe *p)
{
    bool live = p->pool.input == POOL_LIVE;
    while (!stopping() && (live || !pool_finished(&p->pool))) {
        /* the rings hold far more than a millisecond of records: waking
         * less often leaves the workers their cores */
        drain(p);
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
        tick_if_due(p);
        if (live && pool_failed(&p->pool))
            atomic_store(&stop_requested, true);
    }
    wait_for_workers(p);
    return pool_failed(&p->pool) ? -1 : 0;
}

static int run(struct probe *p)
{
    if (p->pool.n == 1)
        return run_single(p);
    return p->pool.input == POOL_FILE_READER ? run_reader(p) : run_workers(p);
}

/* -u: a user that does not exist fails before anything is opened. */
static int lookup_user(struct probe *p)
{
    char err[512];
    if (p->opt.user && privdrop_lookup(p->opt.user, &p->run_as, err, sizeof err) < 0) {
        log_error("%s", err);
        return -1;
    }
    return 0;
}

/* The capture, sockets and files are open: nothing later needs privileges
 * (reconnects make ordinary sockets; files made later belong to the user). */
static int drop_privileges(struct probe *p)
{
    char err[512];
    if (privdrop_after_open(p->opt.user ? &p->run_as : NULL, err, sizeof err) < 0) {
        log_error("%s", err);
        return -1;
    }
    if (p->opt.user)
        log_info("running as %s (uid %u)", p->run_as.name, (unsigned)p->run_as.uid);
    return 0;
}

static int finish(struct probe *p, int loop_rc)
{
    progress_end(&p->progress);
    if (p->pool.n == 1)
        meter_flush(single_meter(p));
    struct probe_stats_record r;
    stats_to_record(&p->stats, &r);
    exporter_finish(&p->exporter, &r);
    if (!p->opt.quiet || loop_rc < 0)
        stats_print(stderr, &p->stats);
    uint64_t dropped = exporter_records_dropped(&p->exporter) + pool_records_lost(&p->pool);
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
 * packet. It extends records the way plugins do (extend.h). Each worker has
 * a detection module of its own; the first registers the rows. */
static int start_dpi(struct probe *p)
{
    if (!p->opt.dissect)
        return 0;
    char err[512];
    struct dpi_config cfg = {p->opt.max_tcp_dissections, p->opt.max_udp_dissections, p->opt.dpi_hot_flows};
    dpi_set_app_id_pen_form(p->opt.app_id_pen);    /* before the rows are registered */
    for (int i = 0; i < p->opt.workers; i++) {
        p->dpi[i] = dpi_new(&cfg, err, sizeof err);
        if (!p->dpi[i]) {
            log_error("DPI: %s", err);
            return -1;
        }
    }
    if (dpi_extend(p->dpi[0], &p->dpi_offset, err, sizeof err) < 0) {
        log_error("DPI: %s", err);
        return -1;
    }
    static void *contexts[MAX_WORKERS];
    for (int i = 0; i < p->opt.workers; i++)
        contexts[i] = p->dpi[i];
    extend_set_worker_contexts(dpi_extension(p->dpi[0]), contexts);
    plugins_set_dpi(p->dpi[0]);
    return 0;
}

/* Tunnel decapsulation (on unless --no-decode-tunnels): the decoder is told
 * before the first packet; the tunnel's elements come before DPI's (whose
 * per-flow values end the templates). */
static int start_tunnels(const struct options *o)
{
    decode_set_tunnels(o->decode_tunnels);
    if (!o->decode_tunnels)
        return 0;
    char err[512];
    if (tunnel_fields_register(err, sizeof err) < 0) {
        log_error("tunnels: %s", err);
        return -1;
    }
    return 0;
}

/* --timestamp-type: every live capture asks for it; a type the interface
 * does not offer is a bad command line. 'list' prints what it offers.
 * 0 to go on, 1 when done (listed), -1 on error (said). */
static int start_timestamps(const struct options *o)
{
    if (!o->timestamp_type || !o->interface)
        return 0;
    char err[512];
    if (strcmp(o->timestamp_type, "list") == 0) {
        if (tstamp_list(o->interface, stdout, err, sizeof err) < 0) {
            log_error("%s", err);
            return -1;
        }
        return 1;
    }
    tstamp_set_type(o->timestamp_type);
    if (tstamp_check(o->interface, err, sizeof err) < 0) {
        log_error("%s", err);
        return -1;
    }
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

/* The workers: a meter each with the extensions attached, and, live with
 * several, a socket each. */
static int start_workers(struct probe *p)
{
    struct meter_config mc = {p->opt.idle_us, p->opt.active_us, p->opt.tcp_close_us, p->opt.max_flows,
                              p->opt.dynamic_timeouts};
    int dlt = p->cap ? capture_datalink(p->cap) : 0;
    enum pool_input input = p->opt.interface ? POOL_LIVE : p->inputs[0] ? POOL_FILE_CURSORS : POOL_FILE_READER;
    if (pool_init(&p->pool, p->opt.workers, &mc, input, dlt, &stop_requested,
                  exporter_record, &p->exporter) < 0)
        return -1;
    pool_set_selection(&p->pool, &p->opt.select);
    pool_balance(&p->pool, p->opt.dissect);
    for (int i = 0; i < p->pool.n; i++) {
        struct worker *w = &p->pool.w[i];
        w->dpi = p->dpi[i];
        w->cap = p->inputs[i];
        if (extend_attach(&w->meter, i) < 0) {
            log_error("cannot attach the DPI and plugin extensions");
            return -1;
        }
    }
    if (p->dpi[0])
        dpi_set_state_offset(p->dpi_offset);
    return 0;
}

static void stop_extensions(struct probe *p)
{
    plugins_unload();
    for (int i = 0; i < MAX_WORKERS; i++)
        dpi_free(p->dpi[i]);
}

/* IPFIX collectors learn the names of the applicationIds from options data. */
static int send_app_names(struct probe *p)
{
    if (!p->dpi[0])
        return 0;
    const struct ipfix_app_table *t = dpi_app_table(p->dpi[0]);
    if (!t) {
        log_error("out of memory");
        return -1;
    }
    return exporter_send_app_names(&p->exporter, t);
}

/* After the extensions: the filter may name their fields. A bad
 * expression is a bad command line. */
static int compile_flow_selection(struct probe *p)
{
    char err[512];
    int failed;
    p->flow_select = flow_select_new(p->opt.flow_filter, p->opt.flow_sample, (uint32_t)p->opt.select.seed,
                                     err, sizeof err, &failed);
    if (failed)
        log_error("%s", err);
    return failed ? -1 : 0;
}

static void stop_all(struct probe *p)
{
    flow_select_free(p->flow_select);
    pool_free(&p->pool);
    stop_extensions(p);
    exporter_close(&p->exporter);
    close_input(p);
}

int main(int argc, char **argv)
{
    static struct probe p;
    int prc = options_parse(argc, argv, &p.opt);
    if (prc != 0)
        return prc > 0 ? 0 : EXIT_USAGE;
    log_set_quiet(p.opt.quiet);
    if (lookup_user(&p) < 0)
        return EXIT_USAGE;
    int trc = start_timestamps(&p.opt);
    if (trc != 0)
        return trc < 0 ? EXIT_USAGE : 0;

    if (start_tunnels(&p.opt) < 0 || start_dpi(&p) < 0 || load_plugins(&p.opt) < 0) {
        stop_extensions(&p);
        return EXIT_RUN_FAILED;
    }
    if (compile_flow_selection(&p) < 0) {
        stop_extensions(&p);
        return EXIT_USAGE;
    }
    if (p.opt.list_fields) {    /* after the extensions: their rows are in the table now */
        int lrc = fields_list(stdout);
        flow_select_free(p.flow_select);
        stop_extensions(&p);
        return lrc < 0 ? EXIT_RUN_FAILED : 0;
    }
    install_signals();
    if (open_input(&p) < 0 || exporter_open(&p.exporter, &p.opt) < 0 || drop_privileges(&p) < 0 ||
        start_workers(&p) < 0 || send_app_names(&p) < 0) {
        stop_all(&p);
        return tstamp_was_refused() ? EXIT_USAGE : EXIT_RUN_FAILED;
    }
    p.exporter.flow_select = p.flow_select;
    start_rotation(&p);
    p.stats = (struct stats_sources){&p.pool, p.cap, &p.exporter, now_wall_us() / 1000};
    p.next_stats_us = now_mono_us() + p.opt.stats_interval_us;
    progress_init(&p.progress, p.cap, p.opt.quiet, now_mono_us());
    /* one thread reads it: a signal ends a read in progress (the loops
     * look at stop_requested between reads) */
    atomic_store(&signal_capture, p.pool.n == 1 ? p.cap : NULL);
    if (pool_start(&p.pool, p.opt.cpus, p.opt.ncpus) < 0) {
        atomic_store(&stop_requested, true);
        pool_input_done(&p.pool, exporter_record, &p.exporter);
        wait_for_workers(&p);
        stop_all(&p);
        return EXIT_RUN_FAILED;
    }

    int loop_rc = run(&p);
    int rc = finish(&p, loop_rc);
    stop_all(&p);
    return rc;
}
