#include "capture.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "decode.h"

#define LIVE_TIMEOUT_MS 100
#define LIVE_BUFFER_BYTES (64 * 1024 * 1024)

struct capture {
    pcap_t *p;
    int dlt;
    bool live;
    char name[256];
    char error[PCAP_ERRBUF_SIZE + 300];
};

static struct capture *capture_alloc(const char *name, bool live)
{
    struct capture *c = calloc(1, sizeof *c);
    if (c) {
        c->live = live;
        snprintf(c->name, sizeof c->name, "%s", name);
    }
    return c;
}

static int apply_filter(struct capture *c, const char *bpf, char *err, size_t errlen)
{
    if (!bpf)
        return 0;
    struct bpf_program prog;
    if (pcap_compile(c->p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        snprintf(err, errlen, "filter '%s': %s", bpf, pcap_geterr(c->p));
        return -1;
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

static struct capture *fail(struct capture *c)
{
    if (c && c->p)
        pcap_close(c->p);
    free(c);
    return NULL;
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
    if (check_link(c, err, errlen) < 0 || apply_filter(c, bpf, err, errlen) < 0)
        return fail(c);
    return c;
}

static int live_setup(struct capture *c, uint32_t snaplen, char *err, size_t errlen)
{
    pcap_set_snaplen(c->p, (int)snaplen);
    pcap_set_promisc(c->p, 1);
    pcap_set_timeout(c->p, LIVE_TIMEOUT_MS);
    pcap_set_buffer_size(c->p, LIVE_BUFFER_BYTES);
    pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_NANO);
    int rc = pcap_activate(c->p);
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

struct capture *capture_open_live(const char *iface, uint32_t snaplen, const char *bpf,
                                  char *err, size_t errlen)
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
    if (live_setup(c, snaplen, err, errlen) < 0 || check_link(c, err, errlen) < 0 ||
        apply_filter(c, bpf, err, errlen) < 0)
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
static bool wait_readable(struct capture *c)
{
    struct pollfd pfd = {pcap_get_selectable_fd(c->p), POLLIN, 0};
    return pfd.fd >= 0 && poll(&pfd, 1, LIVE_TIMEOUT_MS) > 0;
}

enum capture_result capture_next(struct capture *c, struct capture_packet *pkt)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc = pcap_next_ex(c->p, &h, &data);
    if (rc == 0 && c->live && wait_readable(c))
        rc = pcap_next_ex(c->p, &h, &data);
    if (rc == 1) {
        pkt->ts_us = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec / 1000u;
        pkt->caplen = h->caplen;
        pkt->wirelen = h->len;
        pkt->data = data;
        return CAPTURE_PACKET;
    }
    if (rc == 0)
        return CAPTURE_TIMEOUT;
    if (rc == PCAP_ERROR_BREAK)
        return CAPTURE_END;
    snprintf(c->error, sizeof c->error, "%s: %s", c->name, pcap_geterr(c->p));
    return CAPTURE_ERROR;
}

const char *capture_error(const struct capture *c) { return c->error; }
int capture_datalink(const struct capture *c) { return c->dlt; }
bool capture_is_live(const struct capture *c) { return c->live; }
const char *capture_name(const struct capture *c) { return c->name; }

void capture_get_stats(struct capture *c, struct capture_stats *s)
{
    memset(s, 0, sizeof *s);
    struct pcap_stat ps;
    if (c->live && pcap_stats(c->p, &ps) == 0) {
        s->received = ps.ps_recv;
        s->dropped = ps.ps_drop;
        s->if_dropped = ps.ps_ifdrop;
    }
}

void capture_break(struct capture *c) { pcap_breakloop(c->p); }

void capture_close(struct capture *c)
{
    if (!c)
        return;
    pcap_close(c->p);
    free(c);
}
