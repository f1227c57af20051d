/* worker.h — metering workers (--workers N).
 *
 * A worker owns everything a packet touches: its meter (flow cache, fragment
 * table), its nDPI module, the plugins' per-flow states; no lock on the
 * packet path. Every packet of a flow, both directions and its non-first
 * fragments, reaches the same worker: live, the kernel spreads packets over
 * one capture socket per worker (PACKET_FANOUT, by a hash of the addresses:
 * capture_join_fanout()); reading a classic pcap file, every worker reads
 * all of it through a cursor of its own (capture_open_cursors()) and keeps
 * the packets that the same kind of hash gives it; other files are read by
 * the main thread, which meters worker 0's share and hands the rest over
 * through each worker's ring. Either way every worker's clock follows the
 * capture's, so it expires flows as the capture's time moves. Finished
 * records go back through a second ring to the one exporter (the main
 * thread). With one
 * worker none of this runs: the main thread meters and exports itself. */
#ifndef NFPROBE_WORKER_H
#define NFPROBE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "capture.h"
#include "meter.h"
#include "ring.h"
#include "select.h"


struct dpi;

struct worker_pool;

/* Where the workers' packets come from. */
enum pool_input {
    POOL_LIVE,              /* a socket each, in one fanout group */
    POOL_FILE_READER,       /* a file read by the main thread, handed out through rings */
    POOL_FILE_CURSORS,      /* a file read in place by every worker (capture_open_cursors()) */
};

struct worker {
    int index;
    struct worker_pool *pool;
    struct meter meter;
    struct dpi *dpi;            /* NULL with --no-dissect */
    struct capture *cap;        /* its own socket (live) or cursor (file) */
    struct ring in;             /* reading a file: packets from the reader */
    struct ring out;            /* records to the exporter */
    size_t record_max;          /* bytes of the largest record in out */
    bool drop_when_full;        /* live: a slow exporter costs records, not packets */
    _Atomic uint64_t records_lost;  /* out was full (live) */
    atomic_bool input_done;     /* file: the reader handed over every packet */
    atomic_bool finished;       /* flushed: its last record is in out */
    atomic_bool failed;         /* its capture failed (message printed) */
    _Atomic uint64_t clock_us;  /* file through a cursor: the capture's time it has reached */
    int cpu;                    /* pinned to this CPU, or -1 */
    struct packet_select select;    /* live with several workers: its own selection */
    bool started;
    pthread_t thread;
};

/* The workers and, reading a file, what the reader needs to hand packets out. */
struct worker_pool {
    struct worker *w;
    int n;
    const atomic_bool *stop;    /* live: set on SIGINT/SIGTERM */
    int dlt;                    /* file */
    uint64_t clock_us;          /* file: the latest packet time read */
    unsigned since_commit, since_clock;
    enum pool_input input;
    bool spin;                  /* a wait starts spinning (pool_backoff()) */
    uint32_t reader_cut;        /* file: hashes below it are worker 0's */
    struct capture_packet own[CAPTURE_BATCH_MAX];   /* file: worker 0's, of one batch */
    unsigned nown;
    atomic_bool error_logged;   /* file through cursors: the input's error was printed */
    bool selecting;             /* --sample / --hash-select */
    struct packet_select select;    /* the reading thread's (file, or one live socket) */
};

/* n workers with a meter each (cfg->max_flows is shared out between them).
 * One worker hands its records to sink itself; several hand them through
 * rings, drained by pool_drain(). live: a full ring drops records (counted)
 * rather than wait; else (a file of link type dlt) it waits. 0, or -1 with
 * a message printed. */
int pool_init(struct worker_pool *p, int n, const struct meter_config *cfg, enum pool_input input, int dlt,
              const atomic_bool *stop, record_sink_fn sink, void *ctx);
/* Reading a file with several workers: with DPI on (dissecting), metering
 * weighs more than the reading thread's own work; worker 0's share of the
 * flows, which that thread meters, is set by it (the records are the same
 * whatever the shares). */
void pool_balance(struct worker_pool *p, bool dissecting);
/* Packet selection (select.h) where packets are read: in the reading thread
 * (a file, or one live socket), or in each live worker (stream = its index). */
void pool_set_selection(struct worker_pool *p, const struct select_config *c);
/* The reading thread's selection of pkts[0..n): how many are kept, at the front. */
unsigned pool_select(struct worker_pool *p, struct capture_packet *pkts, unsigned n, int dlt);

/* Start each worker's thread, pinned to cpus[i % ncpus] when ncpus > 0.
 * 0, or -1 with a message printed (then stop the started ones as after a
 * run: pool_input_done() or the stop flag, and wait until pool_finished()). */
int pool_start(struct worker_pool *p, const int *cpus, int ncpus);

/* Reading a file: hand one packet to its flow's worker (waits while that
 * worker's ring is full, handing records to sink meanwhile). */
void pool_dispatch(struct worker_pool *p, const struct capture_packet *pkts, unsigned n,
                   record_sink_fn sink, void *ctx);
/* Every packet has been handed over (or the run stops): the workers flush
 * and finish. */
void pool_input_done(struct worker_pool *p, record_sink_fn sink, void *ctx);

/* Hand every record waiting in the rings to sink; how many. */
size_t pool_drain(struct worker_pool *p, record_sink_fn sink, void *ctx);
/* Every worker finished: one more pool_drain() hands over its last records. */
bool pool_finished(struct worker_pool *p);
/* Reading a file: the capture's time every worker has reached. */
uint64_t pool_file_clock(const struct worker_pool *p);
/* Records lost because the exporter fell behind (live). */
uint64_t pool_records_lost(const struct worker_pool *p);
/* A worker's capture failed. */
bool pool_failed(const struct worker_pool *p);
/* Wait for the threads, free everything but the captures and DPI modules. */
void pool_join(struct worker_pool *p);
void pool_free(struct worker_pool *p);

/* Wait a little, longer the longer there was nothing to do (spins were
 * counted in *idle; reset it to 0 after work). */
void pool_backoff(const struct worker_pool *p, unsigned *idle);

#endif
