#include "capture.h"

#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "decode.h"

#define LIVE_TIMEOUT_MS 100
#define LIVE_BUFFER_BYTES (64 * 1024 * 1024)

struct capture {
    pcap_t *p;
    int dlt;
    bool live;
    uint64_t file_size;     /* a regular capture file's size, else 0 */
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
    FILE *f = pcap_file(c->p);
    struct stat st;
    if (f && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode))
        c->file_size = (uint64_t)st.st_size;
    return c;
}

bool capture_file_progress(const struct capture *c, uint64_t *done, uint64_t *size)
{
    FILE *f = c->file_size ? pcap_file(c->p) : NULL;
    off_t at = f ? ftello(f) : -1;
    if (at < 0)
        return false;
    *done = (uint64_t)at;
    *size = c->file_size;
    return true;
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
