#include "capture.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "decode.h"
#include "tstamp.h"

#define LIVE_TIMEOUT_MS 100
/* Stopped live: how long to wait for the kernel to hand over a ring block it
 * still fills (it retires one after LIVE_TIMEOUT_MS) before giving up on it. */
#define DRAIN_WAIT_MS (4 * LIVE_TIMEOUT_MS)

enum {
    PCAP_FILE_HEADER = 24,
    PCAP_RECORD_HEADER = 16,
    PCAP_MAX_CAPLEN = 262144,   /* libpcap's MAXIMUM_SNAPLEN: a longer record is damage */
    MAP_WINDOW = 2 << 20,       /* the mapping's page tables are filled this far ahead */
    MAX_LEAD = 64 << 20,        /* a cursor waits this far ahead of the last one */
    READ_AHEAD = 1024,          /* bytes of the file prefetched ahead of the record read */
};
#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du

/* A classic pcap file read in place. libpcap reads every packet into one
 * buffer it reuses, so a batch of its packets would need copies; from the
 * mapping a batch is a set of pointers into the file. */
struct mapped_file {
    const uint8_t *base;        /* NULL: libpcap reads the input */
    size_t size;
    size_t off;                 /* next record header */
    size_t populated;           /* page tables filled up to here (page multiple) */
    size_t released;            /* unmapped below here */
    uint32_t snapshot;          /* the file's snapshot length, as libpcap adjusts it */
    bool swapped;
    bool nano;
    bool filtered;
    struct bpf_program filter;
    struct cursor_group *group;     /* read by several cursors (capture_open_cursors()) */
    int cursor;                     /* this one's index in it */
};

/* Cursors reading one mapping: what was read is unmapped behind the last of
 * them, and none runs more than MAX_LEAD ahead of it, so the mapped part of
 * the file stays bounded whatever the cursors' paces. */
struct cursor_group {
    int n;
    _Atomic size_t released;        /* unmapped below here */
    _Atomic size_t populated;       /* page tables filled (or being filled) up to here */
    _Atomic size_t *done;           /* [n]: each cursor's data before this are no longer used */
    volatile sig_atomic_t *stopped; /* the origin's capture_break() stops every cursor */
};

/* Where the last cursor is: every cursor is done with the data before it
 * (a cursor that reads no more counts as at the end). */
static size_t last_cursor(const struct cursor_group *g, size_t size)
{
    size_t low = size;
    for (int i = 0; i < g->n; i++) {
        size_t d = atomic_load_explicit(&g->done[i], memory_order_acquire);
        low = d < low ? d : low;
    }
    return low;
}

struct capture {
    pcap_t *p;
    int dlt;
    bool live;
    uint32_t ns_per_tick;       /* libpcap's tv_usec unit: 1 (nanosecond precision) or 1000 */
    volatile sig_atomic_t stopped;  /* capture_break() */
    /* live: packets handed to the caller, modulo 2^32 as the kernel's counts;
     * written by the reading thread, read by the one printing statistics */
    _Atomic uint32_t read;
    /* libpcap adds the kernel's counts (which reading resets) to its own:
     * the reading thread and the statistics' must not read them at once */
    pthread_mutex_t stats_lock;
    bool draining;              /* live and stopped: reading what the ring held */
    uint32_t drain_left;        /* of the packets the kernel had delivered at the stop */
    struct mapped_file map;
    /* libpcap's packets (live, pcapng) stay valid during its callback only:
     * the batch's are copied here, as pcap_next_ex() copied each before. */
    uint8_t *stage;
    size_t stage_size;
    size_t stage_used;
    struct capture_packet *batch;
    unsigned batched;
    uint64_t file_size;     /* a regular capture file's size, else 0 */
    char name[256];
    char error[PCAP_ERRBUF_SIZE + 300];
};

static struct capture *capture_alloc(const char *name, bool live)
{
    struct capture *c = calloc(1, sizeof *c);
    if (c) {
        c->live = live;
        c->ns_per_tick = 1;
        pthread_mutex_init(&c->stats_lock, NULL);
        snprintf(c->name, sizeof c->name, "%s", name);
    }
    return c;
}

/* A mapped file applies the filter itself (pcap_offline_filter), as libpcap
 * does for the files it reads: the program is kept. */
static int apply_filter(struct capture *c, const char *bpf, char *err, size_t errlen)
{
    if (!bpf)
        return 0;
    struct bpf_program prog;
    if (pcap_compile(c->p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        snprintf(err, errlen, "filter '%s': %s", bpf, pcap_geterr(c->p));
        return -1;
    }
    if (c->map.base) {
        c->map.filter = prog;
        c->map.filtered = true;
        return 0;
    }
    int rc = pcap_setfilter(c->p, &prog);
    pcap_freecode(&prog);
    if (rc < 0) {
        snprintf(err, errlen, "filter '%s': %s", bpf, pcap_geterr(c->p));
        return -1;
    }
    return 0;
}

static int check_link(struct capture *c, char *err, size_t errlen)
{
    c->dlt = pcap_datalink(c->p);
    if (decode_link_supported(c->dlt))
        return 0;
    const char *dname = pcap_datalink_val_to_name(c->dlt);
    snprintf(err, errlen, "%s: link type %d%s%s%s is not supported", c->name, c->dlt,
             dname ? " (" : "", dname ? dname : "", dname ? ")" : "");
    return -1;
}

/* A file that shrinks while it is mapped (another program truncates it)
 * raises SIGBUS where it is read past its new end. The handler puts a page
 * of zeros there, so the read completes, and says so: the next batch ends the
 * input with an error instead of the process dying. nfprobe maps one file. */
static struct {
    const uint8_t *base;
    size_t size;
    uintptr_t page;
} bus_map;
static volatile sig_atomic_t bus_faulted;

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    uintptr_t at = (uintptr_t)si->si_addr, base = (uintptr_t)bus_map.base;
    if (base && at >= base && at < base + bus_map.size &&
        mmap((void *)(at & ~(bus_map.page - 1)), bus_map.page, PROT_READ,
             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
        bus_faulted = 1;
        return;
    }
    signal(sig, SIG_DFL);       /* not the file's: the fault happens again, and kills */
}

static void watch_for_shrinking(const struct mapped_file *m)
{
    bus_map.page = (uintptr_t)sysconf(_SC_PAGESIZE);
    bus_map.size = m->size;
    bus_map.base = m->base;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

static void unmap_file(struct mapped_file *m)
{
    if (m->group && m->cursor >= 0) {   /* a cursor: the origin owns the mapping */
        memset(m, 0, sizeof *m);
        return;
    }
    if (m->group) {
        free(m->group->done);
        free(m->group);
    }
    if (m->filtered)
        pcap_freecode(&m->filter);
    if (m->base && bus_map.base == m->base)
        bus_map.base = NULL;
    if (m->base)
        munmap((void *)m->base, m->size);
    memset(m, 0, sizeof *m);
}

/* An open that failed half way: everything it set up so far is undone. */
static struct capture *fail(struct capture *c)
{
    capture_close(c);
    return NULL;
}

/* libpcap rewrites the pseudo-header of these link types when the file's
 * byte order is not ours; in place that cannot be done, so libpcap reads them. */
static bool swapped_link_needs_libpcap(int dlt)
{
    switch (dlt) {
    case DLT_PFLOG: case DLT_LINUX_SLL: case DLT_LINUX_SLL2:
    case DLT_USB_LINUX: case DLT_USB_LINUX_MMAPPED: case DLT_NFLOG:
        return true;
    default:
        return false;
    }
}

static uint32_t file_u32(const struct mapped_file *m, size_t at)
{
    uint32_t v;
    memcpy(&v, m->base + at, sizeof v);
    return m->swapped ? __builtin_bswap32(v) : v;
}

/* libpcap has opened the file and checked its header; a classic pcap file
 * (2.4, standard record headers) that is a regular file is then read from a
 * mapping. Anything else (pcapng, pipes, old or patched formats) is left to
 * libpcap: false is not an error. */
static bool map_file(struct capture *c)
{
    FILE *fp = pcap_file(c->p);
    struct stat st;
    if (!fp || fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < PCAP_FILE_HEADER)
        return false;
    if (pcap_major_version(c->p) != 2 || pcap_minor_version(c->p) != 4)
        return false;
    if (pcap_is_swapped(c->p) && swapped_link_needs_libpcap(c->dlt))
        return false;
    void *base = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fileno(fp), 0);
    if (base == MAP_FAILED)
        return false;
    struct mapped_file *m = &c->map;
    m->base = base;
    m->size = (size_t)st.st_size;
    m->swapped = pcap_is_swapped(c->p);
    uint32_t magic = file_u32(m, 0);
    if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) {     /* pcapng, patched formats */
        unmap_file(m);
        return false;
    }
    madvise(base, m->size, MADV_SEQUENTIAL);
    watch_for_shrinking(m);
    m->nano = magic == PCAP_MAGIC_NS;
    m->snapshot = (uint32_t)pcap_snapshot(c->p);
    m->off = PCAP_FILE_HEADER;
    return true;
}

/* libpcap's packets are copied into the stage: room for a full batch. */
static int alloc_stage(struct capture *c, char *err, size_t errlen)
{
    int snap = pcap_snapshot(c->p);
    size_t per_packet = snap > 0 && snap < PCAP_MAX_CAPLEN ? (size_t)snap : PCAP_MAX_CAPLEN;
    c->stage_size = per_packet * CAPTURE_BATCH_MAX;
    c->stage = malloc(c->stage_size);
    if (!c->stage) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

struct capture *capture_open_file(const char *path, const char *bpf, char *err, size_t errlen)
{
    struct capture *c = capture_alloc(path, false);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    /* Nanosecond precision reads both pcap flavours and pcapng exactly. */
    c->p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!c->p) {
        snprintf(err, errlen, "cannot read capture %s: %s", path, ebuf);
        return fail(c);
    }
    if (check_link(c, err, errlen) < 0)
        return fail(c);
    if (!map_file(c) && alloc_stage(c, err, errlen) < 0)
        return fail(c);
    if (apply_filter(c, bpf, err, errlen) < 0)
        return fail(c);
    FILE *f = pcap_file(c->p);
    struct stat st;
    if (f && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
        c->file_size = (uint64_t)st.st_size;
    return c;
}

bool capture_file_progress(const struct capture *c, uint64_t *done, uint64_t *size)
{
    if (c->map.base) {          /* read in place: where the next record starts */
        *done = c->map.group ? last_cursor(c->map.group, c->map.size) : c->map.off;
        *size = c->map.size;
        return true;
    }
    FILE *f = c->file_size ? pcap_file(c->p) : NULL;
    off_t at = f ? ftello(f) : -1;
    if (at < 0)
        return false;
    *done = (uint64_t)at;
    *size = c->file_size;
    return true;
}

static int live_setup(struct capture *c, const struct live_config *cfg, char *err, size_t errlen)
{
    pcap_set_snaplen(c->p, (int)cfg->snaplen);
    pcap_set_promisc(c->p, 1);
    pcap_set_timeout(c->p, LIVE_TIMEOUT_MS);
    pcap_set_buffer_size(c->p, (int)(cfg->buffer_mib * 1024u * 1024u));
    pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_NANO);    /* else micro: see below */
    if (tstamp_request(c->p, c->name, err, errlen) < 0)
        return -1;
    int rc = pcap_activate(c->p);
    if (tstamp_refused(c->p, rc, c->name, err, errlen))
        return -1;
    if (rc >= 0 && pcap_get_tstamp_precision(c->p) != PCAP_TSTAMP_PRECISION_NANO)
        c->ns_per_tick = 1000;
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    /* libpcap's read timeout does not fire on an idle Linux ring (TPACKET_V3
     * waits in poll forever), so read without blocking and wait ourselves. */
    if (rc >= 0 && pcap_setnonblock(c->p, 1, ebuf) < 0) {
        snprintf(err, errlen, "cannot capture on %s: %s", c->name, ebuf);
        return -1;
    }
    if (rc < 0) {
        const char *hint = rc == PCAP_ERROR_PERM_DENIED ? " (run as root or grant CAP_NET_RAW)"
                         : rc == PCAP_ERROR_NO_SUCH_DEVICE ? " (see 'ip link' for interfaces)" : "";
        snprintf(err, errlen, "cannot capture on %s: %s%s", c->name, pcap_geterr(c->p), hint);
        return -1;
    }
    return 0;
}

struct capture *capture_open_live(const char *iface, const struct live_config *cfg, char *err,
                                  size_t errlen)
{
    struct capture *c = capture_alloc(iface, true);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    c->p = pcap_create(iface, ebuf);
    if (!c->p) {
        snprintf(err, errlen, "cannot capture on %s: %s", iface, ebuf);
        return fail(c);
    }
    if (live_setup(c, cfg, err, errlen) < 0 || check_link(c, err, errlen) < 0 ||
        alloc_stage(c, err, errlen) < 0 || apply_filter(c, cfg->bpf, err, errlen) < 0)
        return fail(c);
    return c;
}

/* The fanout program: which socket of the group a packet goes to, from a
 * symmetric hash of its two IP addresses (their sum, mixed). Addresses only:
 * the ports are not in a fragment, and the kernel's own hash mode
 * (PACKET_FANOUT_HASH) hashes an IPv6 fragment on its addresses but the
 * unfragmented packets of the same flow on their ports too, so a flow would
 * be split over two workers; its defragmentation (IPv4 only) would hand the
 * probe one reassembled packet instead of the fragments on the wire. Not IP
 * (or an encapsulation the kernel does not strip, such as MPLS): socket 0. */
#define LD_NET_WORD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_NET_OFF + (off)))
#define TAX BPF_STMT(BPF_MISC | BPF_TAX, 0)
#define ADD_X BPF_STMT(BPF_ALU | BPF_ADD | BPF_X, 0)
static struct sock_filter address_hash[] = {
    /* 0 */ BPF_STMT(BPF_LD | BPF_H | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_PROTOCOL)),
    /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x0800, 0, 5),         /* IPv4, else to 7 */
    /* 2 */ LD_NET_WORD(12), TAX, LD_NET_WORD(16), ADD_X,
    /* 6 */ BPF_JUMP(BPF_JMP | BPF_JA, 25, 0, 0),                      /* to 32 */
    /* 7 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x86DD, 0, 23),        /* IPv6, else to 31 */
    /* 8 */ LD_NET_WORD(8), TAX,
    /* 10 */ LD_NET_WORD(12), ADD_X, TAX, LD_NET_WORD(16), ADD_X, TAX, LD_NET_WORD(20), ADD_X, TAX,
    /* 19 */ LD_NET_WORD(24), ADD_X, TAX, LD_NET_WORD(28), ADD_X, TAX, LD_NET_WORD(32), ADD_X, TAX,
    /* 28 */ LD_NET_WORD(36), ADD_X,
    /* 30 */ BPF_JUMP(BPF_JMP | BPF_JA, 1, 0, 0),                      /* to 32 */
    /* 31 */ BPF_STMT(BPF_RET | BPF_K, 0),
    /* 32 */ BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9E3779B1u), TAX,
    /* 34 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16), BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
    /* 36 */ BPF_STMT(BPF_RET | BPF_A, 0),     /* the kernel takes it modulo the group's size */
};
_Static_assert(sizeof address_hash / sizeof address_hash[0] == 37, "jump offsets above");

int capture_join_fanout(struct capture *c, uint16_t group, char *err, size_t errlen)
{
    int fd = c->live ? pcap_fileno(c->p) : -1;
    int arg = group | PACKET_FANOUT_CBPF << 16;
    struct sock_fprog prog = {sizeof address_hash / sizeof address_hash[0], address_hash};
    if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &arg, sizeof arg) < 0 ||
        setsockopt(fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof prog) < 0) {
        snprintf(err, errlen, "cannot spread %s's packets over several workers (PACKET_FANOUT: %s); "
                 "run with --workers 1", c->name, fd < 0 ? "not a live capture" : strerror(errno));
        return -1;
    }
    return 0;
}

/* Live and idle: wait for the ring to fill, at most LIVE_TIMEOUT_MS, so the
 * caller's clock work (idle expiry, statistics) runs when the link is quiet.
 * Only called when a non-blocking read found nothing: no syscall per packet. */
static bool wait_readable(struct capture *c, int ms)
{
    struct pollfd pfd = {pcap_get_selectable_fd(c->p), POLLIN, 0};
    return pfd.fd >= 0 && poll(&pfd, 1, ms) > 0;
}

/* libpcap at nanosecond precision: tv_usec holds nanoseconds (and
 * microseconds where a live capture could not have nanoseconds). */
static void fill_packet(const struct capture *c, struct capture_packet *pkt, const struct pcap_pkthdr *h,
                        const uint8_t *data)
{
    uint64_t ns = (uint64_t)h->ts.tv_usec * c->ns_per_tick;
    pkt->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + ns / 1000u;
    pkt->ts_sub_ns = (uint16_t)(ns % 1000u);
    pkt->clock_us = 0;
    pkt->caplen = h->caplen;
    pkt->wirelen = h->len;
    pkt->data = data;
}

/* A record's 32-bit time field as libpcap widens it: signed in our byte
 * order, unsigned when it swaps (its SWAPLONG is unsigned). Damaged times
 * then come out as they did through libpcap. */
static int64_t file_time_field(const struct mapped_file *m, size_t at)
{
    uint32_t v = file_u32(m, at);
    return m->swapped ? (int64_t)v : (int64_t)(int32_t)v;
}

/* libpcap's words for a file that ends inside a record (sf-pcap.c). */
static enum capture_result truncated(struct capture *c, const char *part, uint32_t want, size_t got)
{
    snprintf(c->error, sizeof c->error, "%s: truncated dump file; tried to read %u %s bytes, only got %zu",
             c->name, want, part, got);
    return CAPTURE_ERROR;
}

/* One record of the mapped file into *h and *data, with libpcap's checks and
 * words for a damaged file (sf-pcap.c): a record header cut short, a caplen
 * beyond any sane snapshot, data beyond the file's end. A caplen above the
 * file's snapshot (but sane) is cut to it. The offset only moves past a good
 * record, so an error stays where it is. */
static enum capture_result read_record(struct capture *c, struct pcap_pkthdr *h, const uint8_t **data)
{
    struct mapped_file *m = &c->map;
    size_t left = m->size - m->off;
    if (left == 0)
        return CAPTURE_END;
    if (left < PCAP_RECORD_HEADER)
        return truncated(c, "header", PCAP_RECORD_HEADER, left);
    uint32_t caplen = file_u32(m, m->off + 8);
    h->ts.tv_sec = file_time_field(m, m->off);
    h->ts.tv_usec = file_time_field(m, m->off + 4) * (m->nano ? 1 : 1000);
    h->len = file_u32(m, m->off + 12);
    left -= PCAP_RECORD_HEADER;
    if (caplen > PCAP_MAX_CAPLEN) {
        snprintf(c->error, sizeof c->error, "%s: invalid packet capture length %u, bigger than snaplen of %u",
                 c->name, caplen, m->snapshot);
        return CAPTURE_ERROR;
    }
    uint32_t keep = caplen > m->snapshot ? m->snapshot : caplen;
    if (left < caplen)      /* libpcap names the snapshot when the file ends before it */
        return truncated(c, "captured", left < keep ? keep : caplen, left);
    h->caplen = keep;
    *data = m->base + m->off + PCAP_RECORD_HEADER;
    /* the hardware prefetcher stops at page ends; records are read in order */
    __builtin_prefetch(*data + READ_AHEAD);
    __builtin_prefetch(*data + READ_AHEAD + 64);
    m->off += PCAP_RECORD_HEADER + (size_t)caplen;
    return CAPTURE_PACKET;
}

/* A page fault per 64 KiB (the kernel's fault-around) costs more than the
 * reading itself: the page tables are filled a window at a time, one call per
 * MAP_WINDOW bytes. And what was read is unmapped behind (the page cache
 * keeps it), so the process holds a window of the file, not all of it that
 * was read. Both only hints: where unsupported, pages fault in and stay. The
 * previous batch's data may go: it was valid until this call. */
/* A cursor's share of the window's work: it says how far it is done, unmaps
 * what every cursor is done with, and waits while it is too far ahead. */
static void slide_group_window(struct mapped_file *m)
{
    struct cursor_group *g = m->group;
    atomic_store_explicit(&g->done[m->cursor], m->off, memory_order_release);
    size_t low = last_cursor(g, m->size), page = 4096, behind = low & ~(page - 1);
    size_t released = atomic_load_explicit(&g->released, memory_order_relaxed);
    if (behind > released + MAP_WINDOW &&
        atomic_compare_exchange_strong(&g->released, &released, behind))
        madvise((void *)(m->base + released), behind - released, MADV_DONTNEED);
    while (m->off > low + MAX_LEAD && !*g->stopped) {
        struct timespec ts = {0, 50000};
        nanosleep(&ts, NULL);
        low = last_cursor(g, m->size);
    }
    /* the first cursor to near the end of the filled window fills the next */
    size_t populated = atomic_load_explicit(&g->populated, memory_order_relaxed);
    if (m->off + MAP_WINDOW / 2 < populated || populated >= m->size)
        return;
    size_t len = m->size - populated < MAP_WINDOW ? m->size - populated : MAP_WINDOW;
    if (!atomic_compare_exchange_strong(&g->populated, &populated, populated + len))
        return;
#ifdef MADV_POPULATE_READ
    madvise((void *)(m->base + populated), len, MADV_POPULATE_READ);
#endif
}

static void slide_window(struct mapped_file *m)
{
    if (m->group) {
        slide_group_window(m);
        return;
    }
    if (m->off + MAP_WINDOW / 2 < m->populated || m->populated >= m->size)
        return;
    size_t page = 4096, behind = m->off & ~(page - 1);
    if (behind > m->released) {
        madvise((void *)(m->base + m->released), behind - m->released, MADV_DONTNEED);
        m->released = behind;
    }
    size_t len = m->size - m->populated < MAP_WINDOW ? m->size - m->populated : MAP_WINDOW;
#ifdef MADV_POPULATE_READ
    madvise((void *)(m->base + m->populated), len, MADV_POPULATE_READ);
#endif
    m->populated += len;
}

static unsigned mapped_batch(struct capture *c, struct capture_packet *pkts, unsigned max,
                             enum capture_result *rc)
{
    unsigned n = 0;
    slide_window(&c->map);
    *rc = CAPTURE_PACKET;
    while (n < max) {
        struct pcap_pkthdr h;
        const uint8_t *data;
        *rc = read_record(c, &h, &data);
        if (bus_faulted) {
            snprintf(c->error, sizeof c->error, "%s: the file shrank while it was read "
                     "(truncated by another program?)", c->name);
            *rc = CAPTURE_ERROR;
            break;
        }
        if (*rc != CAPTURE_PACKET)
            break;
        if (c->map.filtered && !pcap_offline_filter(&c->map.filter, &h, data))
            continue;
        fill_packet(c, &pkts[n++], &h, data);
    }
    return n;
}

static void stage_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct capture *c = (struct capture *)user;
    struct pcap_pkthdr kept = *h;
    size_t room = c->stage_size - c->stage_used;
    if (kept.caplen > room)     /* cannot happen: a batch's room is its count x snapshot */
        kept.caplen = (uint32_t)room;
    uint8_t *copy = c->stage + c->stage_used;
    memcpy(copy, data, kept.caplen);
    c->stage_used += kept.caplen;
    fill_packet(c, &c->batch[c->batched++], &kept, copy);
}

static int dispatch(struct capture *c, unsigned max)
{
    c->batched = 0;
    c->stage_used = 0;
    return pcap_dispatch(c->p, (int)max, stage_packet, (u_char *)c);
}

/* wait_ms: how long a live capture waits for packets when none are there */
static unsigned libpcap_batch(struct capture *c, struct capture_packet *pkts, unsigned max, int wait_ms,
                              enum capture_result *rc)
{
    c->batch = pkts;
    int n = dispatch(c, max);
    if (n == 0 && c->live && wait_readable(c, wait_ms))
        n = dispatch(c, max);
    if (n > 0)
        *rc = CAPTURE_PACKET;
    else if (n == 0)
        *rc = c->live ? CAPTURE_TIMEOUT : CAPTURE_END;
    else if (n == PCAP_ERROR_BREAK)
        *rc = CAPTURE_END;
    else {
        snprintf(c->error, sizeof c->error, "%s: %s", c->name, pcap_geterr(c->p));
        *rc = CAPTURE_ERROR;
    }
    uint32_t read = atomic_load_explicit(&c->read, memory_order_relaxed);   /* one writer */
    atomic_store_explicit(&c->read, read + c->batched, memory_order_relaxed);
    return c->batched;
}

/* A live capture told to stop still reads the packets the kernel had
 * delivered by then, so a stop loses none it has counted as received; a
 * block the kernel still fills arrives within its retire timeout. Those that
 * arrive later are left, so a flood cannot hold the stop off. */
static unsigned drain_batch(struct capture *c, struct capture_packet *pkts, unsigned max,
                            enum capture_result *rc)
{
    if (!c->draining) {
        c->draining = true;
        struct capture_stats cs;
        capture_get_stats(c, &cs);
        c->drain_left = (uint32_t)cs.unread;
    }
    unsigned n = 0;
    *rc = CAPTURE_END;
    if (c->drain_left) {
        n = libpcap_batch(c, pkts, max < c->drain_left ? max : c->drain_left, DRAIN_WAIT_MS, rc);
        c->drain_left = *rc == CAPTURE_PACKET && n < c->drain_left ? c->drain_left - n : 0;
    }
    if (!c->drain_left && *rc != CAPTURE_ERROR)
        *rc = CAPTURE_END;
    return n;
}

unsigned capture_next_batch(struct capture *c, struct capture_packet *pkts, unsigned max,
                            enum capture_result *rc)
{
    if (max > CAPTURE_BATCH_MAX)
        max = CAPTURE_BATCH_MAX;
    if (c->stopped || (c->map.group && *c->map.group->stopped)) {
        if (c->live)
            return drain_batch(c, pkts, max, rc);
        *rc = CAPTURE_END;
        return 0;
    }
    return c->map.base ? mapped_batch(c, pkts, max, rc) : libpcap_batch(c, pkts, max, LIVE_TIMEOUT_MS, rc);
}

enum capture_result capture_next(struct capture *c, struct capture_packet *pkt)
{
    enum capture_result rc;
    return capture_next_batch(c, pkt, 1, &rc) ? CAPTURE_PACKET : rc;
}

const char *capture_error(const struct capture *c) { return c->error; }
int capture_datalink(const struct capture *c) { return c->dlt; }
bool capture_is_live(const struct capture *c) { return c->live; }
const char *capture_name(const struct capture *c) { return c->name; }

void capture_get_stats(struct capture *c, struct capture_stats *s)
{
    memset(s, 0, sizeof *s);
    if (!c->live)
        return;
    struct pcap_stat ps;
    pthread_mutex_lock(&c->stats_lock);
    int rc = pcap_stats(c->p, &ps);
    pthread_mutex_unlock(&c->stats_lock);
    if (rc < 0)
        return;
    s->received = ps.ps_recv;
    s->dropped = ps.ps_drop;
    s->if_dropped = ps.ps_ifdrop;
    /* Linux counts the packets it dropped among those received
     * (PACKET_STATISTICS); all counts wrap at 2^32 */
    uint32_t unread = ps.ps_recv - ps.ps_drop - atomic_load_explicit(&c->read, memory_order_relaxed);
    s->unread = unread > UINT32_MAX / 2 ? 0 : unread;   /* "negative": a kernel counting otherwise */
}

void capture_break(struct capture *c)
{
    c->stopped = 1;
    if (!c->live)   /* a live read never blocks in libpcap (see live_setup()) */
        pcap_breakloop(c->p);
}

bool capture_can_share(const struct capture *c)
{
    return c->map.base && !c->map.group;
}

int capture_open_cursors(struct capture *c, int n, struct capture **cursors)
{
    struct cursor_group *g = calloc(1, sizeof *g);
    _Atomic size_t *done = calloc((size_t)n, sizeof *done);
    if (!g || !done) {
        free(g);
        free(done);
        return -1;
    }
    g->n = n;
    g->done = done;
    g->stopped = &c->stopped;
    atomic_init(&g->released, c->map.released);
    atomic_init(&g->populated, c->map.populated);
    for (int i = 0; i < n; i++)
        atomic_init(&done[i], c->map.off);
    for (int i = 0; i < n; i++) {
        struct capture *k = capture_alloc(c->name, false);
        if (!k) {
            while (i--)
                capture_close(cursors[i]);
            free(done);
            free(g);
            return -1;
        }
        k->dlt = c->dlt;
        k->ns_per_tick = c->ns_per_tick;
        k->map = c->map;
        k->map.group = g;
        k->map.cursor = i;
        k->file_size = c->file_size;
        cursors[i] = k;
    }
    c->map.group = g;
    c->map.cursor = -1;
    return 0;
}

void capture_cursor_done(struct capture *c)
{
    if (c->map.group && c->map.cursor >= 0)
        atomic_store_explicit(&c->map.group->done[c->map.cursor], SIZE_MAX, memory_order_release);
}

void capture_close(struct capture *c)
{
    if (!c)
        return;
    unmap_file(&c->map);
    if (c->p)
        pcap_close(c->p);
    pthread_mutex_destroy(&c->stats_lock);
    free(c->stage);
    free(c);
}
