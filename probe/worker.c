#include "worker.h"

#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode.h"
#include "util.h"

/* Rings sized for a few milliseconds of packets: the reader runs ahead of
 * the workers, and a worker's records wait for the exporter. */
enum { IN_RING_BYTES = 8u << 20, OUT_RING_BYTES = 2u << 20, OUT_RING_BYTES_LIVE = 8u << 20 };
/* The reader publishes packets in groups (one shared write per group) and
 * tells every worker the time every CLOCK_EVERY packets, so a worker that
 * gets none of them still expires its flows. */
enum { COMMIT_EVERY = 32, CLOCK_EVERY = 1024 };
/* A live worker looks at the clock at least this often, as the single
 * thread does (main.c). */
enum { LIVE_TICK_PACKETS = 4096 };

#define CLOCK_ONLY UINT32_MAX   /* a packet entry that only moves the clock */

/* One packet handed from the reader to a worker. */
struct packet_entry {
    uint64_t ts_us;
    uint64_t clock_us;      /* the capture's time at this packet (>= ts_us) */
    uint32_t caplen;        /* CLOCK_ONLY: no packet, clock_us only */
    uint32_t wirelen;
    uint16_t ts_sub_ns;     /* (apart: a damaged file's times overflow 64 bits of ns) */
    uint8_t data[];
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* How many times a waiting thread that has a core of its own spins before
 * it sleeps: about 10-100 µs, the time the other side takes to fill or
 * empty a few batches. */
enum { SPIN_ROUNDS = 256, PAUSES_PER_ROUND = 32 };

void pool_backoff(const struct worker_pool *p, unsigned *idle)
{
    /* Reading a file with a core for every thread, a short wait is spent
     * spinning: going to sleep and waking costs more than it waits (tens
     * of µs in a virtual machine). Otherwise, and after that, sleep 20 µs
     * doubling to 1 ms: a thread that waits leaves its core to the others
     * (more threads than cores, or live capture on a quiet link); the
     * rings hold milliseconds of work. */
    if (p->spin && *idle < SPIN_ROUNDS) {
        ++*idle;
        for (int i = 0; i < PAUSES_PER_ROUND; i++)
            cpu_relax();
        return;
    }
    unsigned slept = p->spin ? *idle - SPIN_ROUNDS : *idle;
    unsigned shift = slept < 6 ? slept : 6;
    ++*idle;
    struct timespec ts = {0, 20000L << shift};
    if (ts.tv_nsec > 1000000L)
        ts.tv_nsec = 1000000L;
    nanosleep(&ts, NULL);
}

/* ---- records: worker -> exporter ------------------------------------------ */

/* record_sink_fn of a worker with several: the record, its block and what
 * the extensions point to, copied into the ring. */
static void worker_record(void *ctx, const struct flow_record *r)
{
    struct worker *w = ctx;
    void *e;
    unsigned idle = 0;
    while (!(e = ring_reserve(&w->out, w->record_max))) {
        if (w->drop_when_full) {
            atomic_fetch_add_explicit(&w->records_lost, 1, memory_order_relaxed);
            return;
        }
        ring_commit(&w->out);
        pool_backoff(w->pool, &idle);
    }
    ring_trim(&w->out, e, meter_record_copy(&w->meter, r, e));
}

/* Reading a file with several workers, the reading thread meters worker 0's
 * share of the flows itself: one thread fewer than workers + 1 to share
 * the cores, and no handoff between cores for those packets. */
static bool metered_by_reader(const struct worker_pool *p, int i)
{
    return p->input == POOL_FILE_READER && i == 0;
}

size_t pool_drain(struct worker_pool *p, record_sink_fn sink, void *ctx)
{
    size_t n = 0;
    for (int i = 0; i < p->n && p->n > 1; i++) {
        if (metered_by_reader(p, i))
            continue;
        struct ring *r = &p->w[i].out;
        size_t len;
        const struct flow_record *rec;
        while ((rec = ring_next(r, &len))) {
            sink(ctx, rec);
            n++;
        }
        ring_release(r);
    }
    return n;
}

/* ---- the worker threads ----------------------------------------------------- */

/* Up to CAPTURE_BATCH_MAX packets from the ring, for meter_packets(); their
 * data stay in the ring until ring_release(). A clock entry ends a batch:
 * *clock_us is then where the clock goes after it (else 0). */
static unsigned take_batch(struct worker *w, struct capture_packet *pkts, uint64_t *clock_us)
{
    unsigned n = 0;
    *clock_us = 0;
    size_t len;
    const struct packet_entry *e;
    while (n < CAPTURE_BATCH_MAX && (e = ring_next(&w->in, &len))) {
        if (e->caplen == CLOCK_ONLY) {
            *clock_us = e->clock_us;
            break;
        }
        pkts[n++] = (struct capture_packet){e->ts_us, e->clock_us, e->caplen, e->wirelen, e->data,
                                            e->ts_sub_ns};
    }
    return n;
}

static void run_from_reader(struct worker *w, int dlt)
{
    unsigned idle = 0;
    struct capture_packet pkts[CAPTURE_BATCH_MAX];
    for (;;) {
        /* read before the ring is found empty: what the reader handed over
         * before it said it was done is all in the ring by then */
        bool done = atomic_load_explicit(&w->input_done, memory_order_acquire);
        uint64_t clock_us;
        unsigned n = take_batch(w, pkts, &clock_us);
        meter_packets(&w->meter, dlt, pkts, n);
        if (clock_us)
            meter_advance(&w->meter, clock_us);
        ring_release(&w->in);
        ring_commit(&w->out);
        if (n || clock_us) {
            idle = 0;
            continue;
        }
        if (done)
            return;
        pool_backoff(w->pool, &idle);
    }
}

static void run_live(struct worker *w, const atomic_bool *stop)
{
    int dlt = capture_datalink(w->cap);
    unsigned since_tick = 0;
    struct capture_packet pkts[CAPTURE_BATCH_MAX];
    for (;;) {
        /* the socket ends after what the kernel had delivered at the stop */
        if (atomic_load_explicit(stop, memory_order_relaxed))
            capture_break(w->cap);
        enum capture_result rc;
        unsigned n = capture_next_batch(w->cap, pkts, CAPTURE_BATCH_MAX, &rc);
        if (w->pool->selecting)
            n = select_packets(&w->select, dlt, pkts, n);
        meter_packets(&w->meter, dlt, pkts, n);
        ring_commit(&w->out);
        since_tick += n;
        if (rc == CAPTURE_PACKET && since_tick < LIVE_TICK_PACKETS)
            continue;
        if (rc == CAPTURE_ERROR) {
            log_error("%s", capture_error(w->cap));
            atomic_store(&w->failed, true);
            return;
        } else if (rc == CAPTURE_END) {
            return;
        }
        since_tick = 0;
        meter_advance(&w->meter, now_wall_us());
        ring_commit(&w->out);
    }
}

static int worker_of(const struct worker_pool *p, const struct capture_packet *pkt);

/* Reading a file through a cursor of its own: every packet is read, and
 * moves the clock; this worker's share is metered. */
static void run_cursor(struct worker *w, const atomic_bool *stop)
{
    struct worker_pool *p = w->pool;
    struct capture_packet pkts[CAPTURE_BATCH_MAX], mine[CAPTURE_BATCH_MAX];
    uint64_t clock_us = 0;
    enum capture_result rc = CAPTURE_PACKET;
    while (rc == CAPTURE_PACKET && !atomic_load_explicit(stop, memory_order_relaxed)) {
        unsigned n = capture_next_batch(w->cap, pkts, CAPTURE_BATCH_MAX, &rc), k = 0;
        if (p->selecting)
            n = select_packets(&w->select, p->dlt, pkts, n);
        for (unsigned i = 0; i < n; i++) {
            if (pkts[i].ts_us > clock_us)
                clock_us = pkts[i].ts_us;
            if (worker_of(p, &pkts[i]) == w->index) {
                mine[k] = pkts[i];
                mine[k++].clock_us = clock_us;
            }
        }
        meter_packets(&w->meter, p->dlt, mine, k);
        meter_advance(&w->meter, clock_us);
        ring_commit(&w->out);
        atomic_store_explicit(&w->clock_us, clock_us, memory_order_relaxed);
    }
    capture_cursor_done(w->cap);
    if (rc == CAPTURE_ERROR) {
        /* every cursor meets the same damage: one message */
        if (!atomic_exchange(&p->error_logged, true))
            log_error("%s", capture_error(w->cap));
        atomic_store(&w->failed, true);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct worker_pool *p = w->pool;
    if (p->input == POOL_LIVE)
        run_live(w, p->stop);
    else if (p->input == POOL_FILE_CURSORS)
        run_cursor(w, p->stop);
    else
        run_from_reader(w, p->dlt);
    meter_flush(&w->meter);
    ring_commit(&w->out);
    atomic_store_explicit(&w->finished, true, memory_order_release);
    return NULL;
}

static int start_threads(struct worker_pool *p, const int *cpus, int ncpus);

static int pin(struct worker *w)
{
    if (w->cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(w->cpu, &set);
    int rc = pthread_setaffinity_np(w->thread, sizeof set, &set);
    if (rc != 0)
        log_error("worker %d: cannot pin to CPU %d: %s", w->index, w->cpu, strerror(rc));
    return rc == 0 ? 0 : -1;
}

/* Signals (SIGINT, SIGTERM, SIGHUP) are the main thread's: the workers are
 * started with every signal but SIGBUS blocked, and only look at the stop
 * flag. */
int pool_start(struct worker_pool *p, const int *cpus, int ncpus)
{
    if (p->n == 1)
        return 0;
    sigset_t all, before;
    sigfillset(&all);
    /* but not SIGBUS: a worker reading a file that shrinks takes it
     * (capture.c puts zeros there); blocked, the kernel would kill */
    sigdelset(&all, SIGBUS);
    pthread_sigmask(SIG_BLOCK, &all, &before);
    int rc = start_threads(p, cpus, ncpus);
    pthread_sigmask(SIG_SETMASK, &before, NULL);
    return rc;
}

static int start_threads(struct worker_pool *p, const int *cpus, int ncpus)
{
    for (int i = 0; i < p->n; i++) {
        struct worker *w = &p->w[i];
        w->cpu = ncpus > 0 ? cpus[i % ncpus] : -1;
        if (metered_by_reader(p, i))
            continue;
        w->record_max = meter_record_copy_max(&w->meter);    /* extensions attached now */
        int rc = pthread_create(&w->thread, NULL, worker_main, w);
        if (rc != 0) {
            log_error("cannot start worker %d: %s", i, strerror(rc));
            return -1;
        }
        w->started = true;
        if (pin(w) < 0)
            return -1;
    }
    return 0;
}

/* ---- the reader: packets -> workers -------------------------------------------- */

/* The worker of a packet's flow, from a symmetric hash of its two IP
 * addresses, as live capture spreads packets (capture_join_fanout()): the
 * same for both directions and for every fragment, ports or not, and cheap
 * enough to run on every packet of a file in every worker (no full decode
 * for plain Ethernet). Packets that are not IP go to worker 0, which counts
 * them. */
static int worker_of(const struct worker_pool *p, const struct capture_packet *pkt)
{
    uint8_t src[16], dst[16];
    if (!decode_address_pair(p->dlt, pkt->data, pkt->caplen, pkt->wirelen, src, dst))
        return 0;
    uint32_t sw[4], dw[4];      /* any byte order: only needs to be symmetric */
    memcpy(sw, src, sizeof sw);
    memcpy(dw, dst, sizeof dw);
    uint32_t s = sw[0] + sw[1] + sw[2] + sw[3], d = dw[0] + dw[1] + dw[2] + dw[3];
    uint32_t h = (s + d) * 0x9E3779B1u ^ (s ^ d) * 0x85EBCA77u;
    h ^= h >> 15;
    if (h < p->reader_cut || p->n == 1)
        return 0;
    uint64_t rest = (1ull << 32) - p->reader_cut;
    return 1 + (int)((uint64_t)(h - p->reader_cut) * (uint32_t)(p->n - 1) / rest);
}

static void commit_inputs(struct worker_pool *p)
{
    for (int i = 0; i < p->n; i++)
        if (!metered_by_reader(p, i))
            ring_commit(&p->w[i].in);
    p->since_commit = 0;
}

static struct packet_entry *reserve_input(struct worker_pool *p, struct worker *w, size_t len,
                                          record_sink_fn sink, void *ctx)
{
    struct packet_entry *e;
    unsigned idle = 0;
    while (!(e = ring_reserve(&w->in, sizeof *e + len))) {
        commit_inputs(p);
        if (pool_drain(p, sink, ctx))
            idle = 0;
        else
            pool_backoff(p, &idle);
    }
    return e;
}

/* The reader's own share of the packets read so far, metered. */
static void meter_own_share(struct worker_pool *p)
{
    meter_packets(&p->w[0].meter, p->dlt, p->own, p->nown);
    p->nown = 0;
}

static void send_clock(struct worker_pool *p, record_sink_fn sink, void *ctx)
{
    meter_own_share(p);
    meter_advance(&p->w[0].meter, p->clock_us);
    for (int i = 1; i < p->n; i++) {
        struct packet_entry *e = reserve_input(p, &p->w[i], 0, sink, ctx);
        *e = (struct packet_entry){0, p->clock_us, CLOCK_ONLY, 0};
    }
    p->since_clock = 0;
}

static void dispatch(struct worker_pool *p, const struct capture_packet *pkt, record_sink_fn sink,
                     void *ctx)
{
    if (pkt->ts_us > p->clock_us)
        p->clock_us = pkt->ts_us;
    int i = worker_of(p, pkt);
    if (i == 0) {
        p->own[p->nown] = *pkt;
        p->own[p->nown++].clock_us = p->clock_us;
    } else {
        struct packet_entry *e = reserve_input(p, &p->w[i], pkt->caplen, sink, ctx);
        *e = (struct packet_entry){pkt->ts_us, p->clock_us, pkt->caplen, pkt->wirelen,
                                   pkt->ts_sub_ns};
        memcpy(e->data, pkt->data, pkt->caplen);
    }
    if (++p->since_clock == CLOCK_EVERY)
        send_clock(p, sink, ctx);
    if (++p->since_commit >= COMMIT_EVERY)
        commit_inputs(p);
}

void pool_dispatch(struct worker_pool *p, const struct capture_packet *pkts, unsigned n,
                   record_sink_fn sink, void *ctx)
{
    for (unsigned i = 0; i < n; i++)
        dispatch(p, &pkts[i], sink, ctx);
    meter_own_share(p);     /* before the packets' data are read over */
}

void pool_input_done(struct worker_pool *p, record_sink_fn sink, void *ctx)
{
    if (p->input == POOL_FILE_READER) {
        send_clock(p, sink, ctx);   /* the end: every worker's clock where the capture's stopped */
        commit_inputs(p);
        meter_flush(&p->w[0].meter);
    }
    for (int i = 0; i < p->n; i++)
        atomic_store_explicit(&p->w[i].input_done, true, memory_order_release);
}

/* ---- life cycle ------------------------------------------------------------------ */

static int online_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    return 1;
}

/* Reading a file, worker 0's share of the flows is metered by the reading
 * thread, which also reads, hands out and exports: a smaller share than the
 * others', so that it ends with them. The share is a cut in the 32-bit hash
 * space. Measured on 2 cores (bench/workers.sh): best at about 0.6 of an
 * even share without DPI and 0.85 with it, where metering weighs more
 * beside the rest. */
void pool_balance(struct worker_pool *p, bool dissecting)
{
    double share = (p->input == POOL_FILE_READER ? (dissecting ? 0.85 : 0.6) : 1.0) / p->n;
    p->reader_cut = (uint32_t)(share * 4294967296.0);
}

int pool_init(struct worker_pool *p, int n, const struct meter_config *cfg, enum pool_input input, int dlt,
              const atomic_bool *stop, record_sink_fn sink, void *ctx)
{
    memset(p, 0, sizeof *p);
    p->w = calloc((size_t)n, sizeof *p->w);
    if (!p->w) {
        log_error("out of memory");
        return -1;
    }
    p->n = n;
    p->stop = stop;
    p->dlt = dlt;
    p->input = input;
    bool live = input == POOL_LIVE;
    pool_balance(p, false);
    p->spin = input == POOL_FILE_READER && n <= online_cpus();
    struct meter_config mc = *cfg;
    mc.max_flows = (cfg->max_flows + (uint32_t)n - 1) / (uint32_t)n;
    for (int i = 0; i < n; i++) {
        struct worker *w = &p->w[i];
        w->index = i;
        w->pool = p;
        w->drop_when_full = live;
        bool own_sink = n == 1 || metered_by_reader(p, i);
        if (meter_init(&w->meter, &mc, own_sink ? sink : worker_record, own_sink ? ctx : w) < 0) {
            log_error("cannot allocate a flow cache of %u flows (lower --max-flows)", mc.max_flows);
            return -1;
        }
        meter_number_flows(&w->meter, (uint64_t)i, (uint64_t)n);
        if (n > 1 && !own_sink && ((input == POOL_FILE_READER && ring_init(&w->in, IN_RING_BYTES) < 0) ||
                                   ring_init(&w->out, live ? OUT_RING_BYTES_LIVE : OUT_RING_BYTES) < 0)) {
            log_error("out of memory");
            return -1;
        }
    }
    return 0;
}

void pool_set_selection(struct worker_pool *p, const struct select_config *c)
{
    p->selecting = select_active(c);
    select_init(&p->select, c, 0);
    /* every cursor makes the reading thread's choices, packet by packet */
    for (int i = 0; i < p->n; i++)
        select_init(&p->w[i].select, c, p->input == POOL_LIVE ? (unsigned)i + 1 : 0);
}

unsigned pool_select(struct worker_pool *p, struct capture_packet *pkts, unsigned n, int dlt)
{
    return p->selecting ? select_packets(&p->select, dlt, pkts, n) : n;
}

uint64_t pool_file_clock(const struct worker_pool *p)
{
    if (p->input != POOL_FILE_CURSORS)
        return p->clock_us;
    uint64_t low = UINT64_MAX;
    for (int i = 0; i < p->n; i++) {
        uint64_t c = atomic_load_explicit(&p->w[i].clock_us, memory_order_relaxed);
        low = c < low ? c : low;
    }
    return low;
}

bool pool_finished(struct worker_pool *p)
{
    for (int i = 0; i < p->n; i++) {
        struct worker *w = &p->w[i];
        if (w->started && !atomic_load_explicit(&w->finished, memory_order_acquire))
            return false;
    }
    return true;
}

uint64_t pool_records_lost(const struct worker_pool *p)
{
    uint64_t n = 0;
    for (int i = 0; i < p->n; i++)
        n += atomic_load_explicit(&p->w[i].records_lost, memory_order_relaxed);
    return n;
}

bool pool_failed(const struct worker_pool *p)
{
    for (int i = 0; i < p->n; i++)
        if (atomic_load(&p->w[i].failed))
            return true;
    return false;
}

void pool_join(struct worker_pool *p)
{
    for (int i = 0; i < p->n; i++)
        if (p->w[i].started) {
            pthread_join(p->w[i].thread, NULL);
            p->w[i].started = false;
        }
}

void pool_free(struct worker_pool *p)
{
    for (int i = 0; p->w && i < p->n; i++) {
        meter_free(&p->w[i].meter);
        ring_free(&p->w[i].in);
        ring_free(&p->w[i].out);
    }
    free(p->w);
    p->w = NULL;
}
