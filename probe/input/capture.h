/* capture.h — packets in, from libpcap: a live interface or a capture file. */
#ifndef NFPROBE_CAPTURE_H
#define NFPROBE_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct capture_packet {
    uint64_t ts_us;
    uint64_t clock_us;      /* what the meter's clock shows when it handles the
                               packet; 0: the packet's own ts_us */
    uint32_t caplen;
    uint32_t wirelen;
    const uint8_t *data;
    uint16_t ts_sub_ns;     /* nanoseconds past ts_us (0-999): files and live
                               captures are read at nanosecond precision */
};

struct capture_stats {
    uint64_t received;      /* live: packets the kernel saw */
    uint64_t dropped;       /* live: dropped by the kernel (buffer full) */
    uint64_t if_dropped;    /* live: dropped by the interface/driver */
    uint64_t unread;        /* live: received, not dropped, not yet read from the ring */
};

enum capture_result { CAPTURE_PACKET = 1, CAPTURE_TIMEOUT = 0, CAPTURE_END = -2, CAPTURE_ERROR = -1 };

/* The most packets one capture_next_batch() call returns. */
enum { CAPTURE_BATCH_MAX = 64 };

struct capture;

struct capture *capture_open_file(const char *path, const char *bpf, char *err, size_t errlen);
/* What a live capture asks of libpcap and the kernel. */
struct live_config {
    uint32_t snaplen;
    const char *bpf;            /* NULL: every packet */
    uint32_t buffer_mib;        /* the kernel's ring of each socket (--capture-buffer) */
};

struct capture *capture_open_live(const char *iface, const struct live_config *cfg, char *err,
                                  size_t errlen);
/* Join the live capture's socket to the kernel's fanout group (Linux
 * PACKET_FANOUT with a program of ours: the packets of a flow, both
 * directions and every fragment, go to one socket of the group; see
 * capture.c). 0, or -1 with a message in err. */
int capture_join_fanout(struct capture *c, uint16_t group, char *err, size_t errlen);

/* Next packet; on CAPTURE_ERROR capture_error() says what happened. */
enum capture_result capture_next(struct capture *c, struct capture_packet *pkt);
/* Up to max (<= CAPTURE_BATCH_MAX) packets, in capture order; their data stay
 * valid until the next call. *rc says what follows them: CAPTURE_PACKET (more
 * to read), CAPTURE_TIMEOUT (live and quiet for now), CAPTURE_END or
 * CAPTURE_ERROR (capture_error()), after the packets returned with it. */
unsigned capture_next_batch(struct capture *c, struct capture_packet *pkts, unsigned max,
                            enum capture_result *rc);
const char *capture_error(const struct capture *c);
int capture_datalink(const struct capture *c);
bool capture_is_live(const struct capture *c);
const char *capture_name(const struct capture *c);
void capture_get_stats(struct capture *c, struct capture_stats *s);
/* How far a capture file has been read: bytes so far and the file's size.
 * False live, and for inputs of unknown size (a pipe, stdin). */
bool capture_file_progress(const struct capture *c, uint64_t *done, uint64_t *size);
/* End the input (safe in a signal handler): a file ends at once; a live
 * capture returns the packets the kernel had delivered by then, then ends. */
void capture_break(struct capture *c);
/* Close c; the cursors of a file (below) before the file itself. */
void capture_close(struct capture *c);

/* A classic pcap file read in place can be read by several threads at once,
 * each with a cursor of its own over the one mapping (its page tables filled
 * once): every cursor reads every packet. */
bool capture_can_share(const struct capture *c);
/* n cursors over file c (capture_can_share()), each a capture for one thread;
 * c is then read only through them (capture_file_progress() and
 * capture_break() on c still work). 0, or -1 (out of memory). */
int capture_open_cursors(struct capture *c, int n, struct capture **cursors);
/* A cursor that reads no more (the input ended or failed, or the run
 * stops): the others no longer wait for it. */
void capture_cursor_done(struct capture *c);

#endif
