#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>      /* SIOCOUTQ */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "msgqueue.h"
#include "udp_refused.h"
#include "util.h"
#include "zmq_link.h"

#define DEFAULT_PORT "4739"
#define BACKOFF_MIN_US 250000ull
#define BACKOFF_MAX_US 30000000ull
#define CONNECT_TIMEOUT_MS 2000
#define SEND_TIMEOUT_S 5
#define SOCKBUF_BYTES (4 * 1024 * 1024)
#define UDP_BATCH 32                    /* datagrams per sendmmsg() */
#define UDP_BATCH_BYTES (256 * 1024)

struct transport {
    enum transport_kind kind;
    char name[300];
    int fd;
    FILE *file;
    char *file_path;            /* the file open now, when not the name (--rotate) */
    struct addrinfo *addrs;
    char host[256];             /* as given: TLS checks the certificate against it */
    char port[8];
    bool resolve_again;         /* a name, not an address: looked up on each reconnect */
    bool warned_unresolved;
    SSL_CTX *tls_ctx;           /* tls:// only */
    SSL *tls;                   /* the TLS session of the open connection */
    struct msgqueue queue;      /* TCP: messages waiting for a connection */
    /* TCP, TLS: messages written that the collector's kernel has not
     * acknowledged yet, oldest first: sent again on the next connection if
     * this one breaks (see trim_acknowledged()). */
    struct msgqueue unacked;
    size_t unacked_wire;        /* the sum of their wire bytes */
    uint64_t next_attempt_us, backoff_us;
    bool warned_down;
    uint8_t *templates;         /* the last templates message and the setup messages
                                   after it (MSG_SETUP), back to back */
    size_t templates_len;
    /* UDP: datagrams waiting for one sendmmsg() call. */
    bool batching;
    uint8_t *batch;
    size_t batch_bytes;
    unsigned batch_count;
    size_t batch_len[UDP_BATCH];
    uint32_t batch_records[UDP_BATCH];
    struct zmq_link *zmq;       /* zmq://: messages wait in the queue until ntopng subscribes */
    /* UDP: the datagrams sent last, to count those refused (ICMP). */
    struct udp_refused refused;
    uint64_t refused_warned_us;
    struct transport_stats stats;
};

/* ---- address parsing -------------------------------------------------------- */

int transport_split_host_port(const char *hp, char *host, size_t hostlen, char *port, size_t portlen,
                           char *err, size_t errlen)
{
    const char *p;
    size_t hl;
    if (hp[0] == '[') {
        const char *close = strchr(hp, ']');
        if (!close) {
            snprintf(err, errlen, "collector '%s': missing ']' after IPv6 address", hp);
            return -1;
        }
        hl = (size_t)(close - hp - 1);
        hp++;
        p = close[1] == ':' ? close + 2 : close[1] == '\0' ? NULL : close;
        if (p == close) {
            snprintf(err, errlen, "collector '%s': expected ':port' after ']'", hp - 1);
            return -1;
        }
    } else {
        p = strrchr(hp, ':');
        if (p && strchr(hp, ':') != p) {
            snprintf(err, errlen, "collector '%s': write IPv6 addresses as [addr]:port", hp);
            return -1;
        }
        hl = p ? (size_t)(p - hp) : strlen(hp);
        if (p)
            p++;
    }
    if (hl == 0 || hl >= hostlen) {
        snprintf(err, errlen, "collector '%s': missing or too long host name", hp);
        return -1;
    }
    memcpy(host, hp, hl);
    host[hl] = '\0';
    const char *portstr = p ? p : DEFAULT_PORT;
    uint64_t n;
    if (!parse_u64(portstr, 1, 65535, &n)) {
        snprintf(err, errlen, "collector '%s': port '%s' is not a number from 1 to 65535", hp, portstr);
        return -1;
    }
    snprintf(port, portlen, "%u", (unsigned)n);
    return 0;
}

static int parse_scheme(const char *spec, enum transport_kind *kind, const char **rest,
                        char *err, size_t errlen)
{
    const char *sep = strstr(spec, "://");
    *kind = TRANSPORT_UDP;
    *rest = spec;
    if (!sep)
        return 0;
    size_t n = (size_t)(sep - spec);
    *rest = sep + 3;
    if (n == 3 && strncmp(spec, "udp", 3) == 0)
        return 0;
    if (n == 3 && strncmp(spec, "tcp", 3) == 0) {
        *kind = TRANSPORT_TCP;
        return 0;
    }
    if (n == 3 && strncmp(spec, "tls", 3) == 0) {
        *kind = TRANSPORT_TLS;
        return 0;
    }
    if (n == 4 && strncmp(spec, "sctp", 4) == 0) {
        *kind = TRANSPORT_SCTP;
        return 0;
    }
    if ((n == 3 && strncmp(spec, "zmq", 3) == 0) || (n == 11 && strncmp(spec, "zmq+connect", 11) == 0)) {
        *kind = TRANSPORT_ZMQ;
        return 0;
    }
    snprintf(err, errlen, "collector '%s': unknown transport '%.*s' (use udp://, tcp://, tls://, sctp://, "
             "mqtt://, mqtts://, zmq:// or zmq+connect://)",
             spec, (int)n, spec);
    return -1;
}

/* ---- sockets ---------------------------------------------------------------- */

/* TCP, TLS and SCTP: a connection, a queue, reconnects. */
static bool is_stream(const struct transport *t)
{
    return t->kind == TRANSPORT_TCP || t->kind == TRANSPORT_TLS || t->kind == TRANSPORT_SCTP;
}

static void close_fd(struct transport *t)
{
    if (t->tls) {
        SSL_free(t->tls);
        t->tls = NULL;
    }
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

static const char *file_path(const struct transport *t)
{
    return t->file_path ? t->file_path : t->name;
}

/* ---- TLS (RFC 7011 §10.4) ------------------------------------------------------ */

static void tls_error(char *err, size_t errlen, const char *what)
{
    char detail[256] = "unknown error";
    unsigned long e = ERR_get_error();
    if (e)
        ERR_error_string_n(e, detail, sizeof detail);
    ERR_clear_error();
    snprintf(err, errlen, "%s: %s", what, detail);
}

/* Both sides show certificates (RFC 7011 §10.4.2); the collector's must
 * chain to --tls-ca (or the system's CAs) and name the host we dialled. */
static SSL_CTX *tls_context(const char *spec, const struct transport_options *to, char *err,
                            size_t errlen)
{
    char what[400];
    if (!to->tls_cert || !to->tls_key) {
        snprintf(err, errlen, "collector '%s': TLS needs --tls-cert and --tls-key "
                 "(RFC 7011: the exporter is authenticated too)", spec);
        return NULL;
    }
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        tls_error(err, errlen, "TLS");
        return NULL;
    }
    /* TLS 1.2 exactly: IPFIX is one-way, and under TLS 1.3 a collector that
     * refuses our certificate says so only after the handshake has
     * "succeeded", so records would be counted as sent into a closing
     * connection. Under 1.2 the refusal fails the handshake itself. */
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    const char *failed = NULL;
    if (to->tls_ca ? SSL_CTX_load_verify_locations(ctx, to->tls_ca, NULL) != 1
                   : SSL_CTX_set_default_verify_paths(ctx) != 1)
        failed = to->tls_ca ? to->tls_ca : "the system's CA certificates";
    else if (SSL_CTX_use_certificate_chain_file(ctx, to->tls_cert) != 1)
        failed = to->tls_cert;
    else if (SSL_CTX_use_PrivateKey_file(ctx, to->tls_key, SSL_FILETYPE_PEM) != 1 ||
             SSL_CTX_check_private_key(ctx) != 1)
        failed = to->tls_key;
    if (failed) {
        snprintf(what, sizeof what, "collector '%s': cannot load %s", spec, failed);
        tls_error(err, errlen, what);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Handshake on a connected, blocking socket (bounded by its timeouts).
 * Returns 0, or -1 after saying why once. */
static int tls_handshake(struct transport *t)
{
    SSL *ssl = SSL_new(t->tls_ctx);
    if (!ssl || SSL_set_fd(ssl, t->fd) != 1)
        goto fail;
    X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
    /* An address is checked against the certificate's IP names, a name
     * against its DNS names. */
    if (X509_VERIFY_PARAM_set1_ip_asc(vp, t->host) != 1) {
        ERR_clear_error();
        if (SSL_set1_host(ssl, t->host) != 1 || SSL_set_tlsext_host_name(ssl, t->host) != 1)
            goto fail;
    }
    if (SSL_connect(ssl) != 1)
        goto fail;
    t->tls = ssl;
    return 0;
fail:;
    char msg[512];
    tls_error(msg, sizeof msg, "TLS handshake failed");
    if (ssl && SSL_get_verify_result(ssl) != X509_V_OK)
        snprintf(msg, sizeof msg, "TLS handshake failed: certificate: %s",
                 X509_verify_cert_error_string(SSL_get_verify_result(ssl)));
    if (!t->warned_down)
        log_error("collector %s: %s", t->name, msg);
    SSL_free(ssl);
    return -1;
}

static int wait_connected(int fd)
{
    struct pollfd pfd = {fd, POLLOUT, 0};
    int rc = poll(&pfd, 1, CONNECT_TIMEOUT_MS);
    if (rc <= 0)
        return rc == 0 ? ETIMEDOUT : errno;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        return errno;
    return soerr;
}

/* Connect to the first address that answers. Returns 0 or an errno value. */
static int connect_any(struct transport *t)
{
    int last = ECONNREFUSED;
    for (struct addrinfo *ai = t->addrs; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                        ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : errno;
        if (rc == EINPROGRESS)
            rc = wait_connected(fd);
        if (rc == 0 && t->kind == TRANSPORT_UDP && udp_refused_enable(fd, ai->ai_family) < 0)
            rc = errno;
        if (rc == 0) {
            int flags = fcntl(fd, F_GETFL);
            fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
            struct timeval tv = {SEND_TIMEOUT_S, 0};
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
            int sz = SOCKBUF_BYTES;
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
            t->fd = fd;
            if (!t->tls_ctx)
                return 0;
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            if (tls_handshake(t) == 0)
                return 0;
            t->fd = -1;
            close(fd);
            return EPROTO;
        }
        last = rc;
        close(fd);
    }
    return last;
}

/* The collector closed or reset the connection: it reads nothing we send. */
static bool peer_gone(int fd)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    if (poll(&pfd, 1, 0) <= 0)
        return false;
    if (pfd.revents & (POLLERR | POLLHUP))
        return true;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

static int write_all(int fd, const uint8_t *p, size_t len);

static int write_tls(SSL *ssl, const uint8_t *p, size_t len)
{
    while (len) {
        size_t n = 0;
        if (SSL_write_ex(ssl, p, len, &n) != 1) {
            ERR_clear_error();
            if (!errno)
                errno = ECONNRESET;
            return -1;
        }
        p += n;
        len -= n;
    }
    return 0;
}

static int write_stream(const struct transport *t, const uint8_t *p, size_t len)
{
    return t->tls ? write_tls(t->tls, p, len) : write_all(t->fd, p, len);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void collect_refusals(struct transport *t);

/* UDP: a refused datagram (no collector listening yet) is lost; a full
 * socket buffer is waited out briefly. */
static int send_datagram(struct transport *t, const uint8_t *msg, size_t len)
{
    for (int tries = 0; tries < 100; tries++) {
        if (send(t->fd, msg, len, 0) == (ssize_t)len)
            return 0;
        if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR && errno != ECONNREFUSED)
            break;
        if (errno == ECONNREFUSED && tries > 0)
            break;
        if (errno == ECONNREFUSED)     /* an earlier datagram was refused: count it */
            collect_refusals(t);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void count_sent(struct transport *t, uint32_t nrecords)
{
    t->stats.messages_sent++;
    t->stats.records_sent += nrecords;
    t->warned_down = false;
}

static void count_datagram_sent(struct transport *t, const uint8_t *msg, size_t len,
                                uint32_t nrecords)
{
    udp_refused_note(&t->refused, msg, len, nrecords);
    count_sent(t, nrecords);
}

/* Datagrams sent and then refused by the collector's host (ICMP port
 * unreachable) were lost: their records move from sent to dropped. */
static void collect_refusals(struct transport *t)
{
    unsigned messages;
    uint64_t records = udp_refused_collect(&t->refused, t->fd, &messages);
    if (!messages)
        return;
    records = records < t->stats.records_sent ? records : t->stats.records_sent;
    t->stats.records_sent -= records;
    t->stats.records_dropped += records;
    t->stats.messages_sent -= messages < t->stats.messages_sent ? messages : t->stats.messages_sent;
    uint64_t now = now_mono_us();
    if (!t->refused_warned_us || now - t->refused_warned_us > 10000000) {
        log_warning("collector %s: port unreachable (ICMP): records are lost until it listens",
                    t->name);
        t->refused_warned_us = now;
    }
}

static void count_lost_datagram(struct transport *t, uint32_t nrecords)
{
    t->stats.records_dropped += nrecords;
    if (!t->warned_down)
        log_error("collector %s: %s (records are lost until it listens)", t->name, strerror(errno));
    t->warned_down = true;
}

/* Send the batched datagrams with as few system calls as the kernel allows;
 * a datagram it refuses goes through send_datagram()'s retries alone. */
static void flush_batch(struct transport *t)
{
    struct iovec iov[UDP_BATCH];
    struct mmsghdr msgs[UDP_BATCH];
    size_t off = 0;
    for (unsigned i = 0; i < t->batch_count; i++) {
        iov[i] = (struct iovec){t->batch + off, t->batch_len[i]};
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        off += t->batch_len[i];
    }
    unsigned done = 0;
    collect_refusals(t);
    while (done < t->batch_count) {
        int n = sendmmsg(t->fd, msgs + done, t->batch_count - done, 0);
        if (n > 0) {
            for (unsigned i = done; i < done + (unsigned)n; i++)
                count_datagram_sent(t, iov[i].iov_base, iov[i].iov_len, t->batch_records[i]);
            done += (unsigned)n;
            continue;
        }
        if (send_datagram(t, iov[done].iov_base, iov[done].iov_len) == 0)
            count_datagram_sent(t, iov[done].iov_base, iov[done].iov_len, t->batch_records[done]);
        else
            count_lost_datagram(t, t->batch_records[done]);
        done++;
    }
    t->batch_count = 0;
    t->batch_bytes = 0;
}

static void send_udp(struct transport *t, const uint8_t *msg, size_t len, uint32_t nrecords)
{
    if (!t->batching || len > UDP_BATCH_BYTES) {
        collect_refusals(t);
        if (send_datagram(t, msg, len) == 0)
            count_datagram_sent(t, msg, len, nrecords);
        else
            count_lost_datagram(t, nrecords);
        return;
    }
    if (t->batch_count == UDP_BATCH || t->batch_bytes + len > UDP_BATCH_BYTES)
        flush_batch(t);
    memcpy(t->batch + t->batch_bytes, msg, len);
    t->batch_len[t->batch_count] = len;
    t->batch_records[t->batch_count] = nrecords;
    t->batch_count++;
    t->batch_bytes += len;
}

void transport_set_batching(struct transport *t, bool on)
{
    if (t->kind != TRANSPORT_UDP || on == t->batching)
        return;
    if (!on) {
        flush_batch(t);
        t->batching = false;
        return;
    }
    if (!t->batch)
        t->batch = malloc(UDP_BATCH_BYTES);
    t->batching = t->batch != NULL;
}

/* ---- TCP, TLS: what the collector has acknowledged ------------------------------
 * A message written to the socket may still be lost: the kernel holds it
 * until the collector's kernel acknowledges it, and a reset (a collector
 * that crashes or resets mid-message) throws away whatever is unacknowledged.
 * So written messages are kept until SIOCOUTQ (bytes not yet acknowledged)
 * shows them acknowledged, and only then counted sent; when the connection
 * breaks, the ones kept are sent again on the next connection. A message
 * acknowledged after the last look and before the break arrives twice (the
 * exporter looks at every tick); one acknowledged by the collector's kernel
 * but never read by the collector is lost uncounted (IPFIX has no
 * application-level acknowledgement). SCTP is not tracked. */

static bool tracks_acks(const struct transport *t)
{
    return t->kind == TRANSPORT_TCP || t->kind == TRANSPORT_TLS;
}

static void append_unacked(struct transport *t, struct queued_msg *m)
{
    msgqueue_append(&t->unacked, m);
    t->unacked_wire += m->wire;
}

static struct queued_msg *take_unacked(struct transport *t)
{
    struct queued_msg *m = msgqueue_take(&t->unacked);
    t->unacked_wire -= m->wire;
    return m;
}

/* Count sent the messages the collector's kernel has acknowledged. Only on
 * a connection that is established, or that the collector closed cleanly
 * (its FIN: what it acknowledged, it read): a reset empties the socket's
 * queue, which would look like everything acknowledged. */
static void trim_acknowledged(struct transport *t)
{
    int outq = 0;
    struct tcp_info ti;
    socklen_t tl = sizeof ti;
    if (!t->unacked.head || t->fd < 0 || ioctl(t->fd, SIOCOUTQ, &outq) < 0 || outq < 0 ||
        getsockopt(t->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) < 0 ||
        (ti.tcpi_state != TCP_ESTABLISHED && ti.tcpi_state != TCP_CLOSE_WAIT))
        return;
    size_t acked = t->unacked_wire > (size_t)outq ? t->unacked_wire - (size_t)outq : 0;
    while (t->unacked.head && t->unacked.head->wire <= acked) {
        struct queued_msg *m = take_unacked(t);
        acked -= m->wire;
        count_sent(t, m->nrecords);
        free(m);
    }
}

/* The connection broke: the unacknowledged data messages go back to the
 * front of the queue (templates and setup messages are sent first on every
 * connection anyway). */
static void requeue_unacked(struct transport *t)
{
    struct msgqueue resend;
    msgqueue_init(&resend, SIZE_MAX, &t->stats.records_dropped);
    while (t->unacked.head) {
        struct queued_msg *m = take_unacked(t);
        if (m->nrecords)
            msgqueue_append(&resend, m);
        else
            free(m);
    }
    msgqueue_prepend(&t->queue, &resend);
}

static void drop_unacked(struct transport *t)
{
    msgqueue_drop_all(&t->unacked);
    t->unacked_wire = 0;
}

/* ---- TCP queue ---------------------------------------------------------------- */

static void schedule_retry(struct transport *t)
{
    t->backoff_us = t->backoff_us ? t->backoff_us * 2 : BACKOFF_MIN_US;
    if (t->backoff_us > BACKOFF_MAX_US)
        t->backoff_us = BACKOFF_MAX_US;
    t->next_attempt_us = now_mono_us() + t->backoff_us;
}

static void connection_lost(struct transport *t, int err)
{
    if (!t->warned_down)
        log_warning("collector %s: %s; queueing records and retrying", t->name, strerror(err));
    t->warned_down = true;
    trim_acknowledged(t);
    requeue_unacked(t);
    close_fd(t);
    schedule_retry(t);
}

/* Templates first on every new connection: the collector knows nothing of
 * what an earlier connection carried. */
static int send_templates(struct transport *t)
{
    if (!t->templates)
        return 0;
    return write_stream(t, t->templates, t->templates_len);
}

static int lookup(const char *host, const char *port, enum transport_kind kind, int flags,
                  struct addrinfo **res)
{
    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = kind == TRANSPORT_UDP ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_protocol = kind == TRANSPORT_SCTP ? IPPROTO_SCTP : 0;
    hints.ai_flags = flags;
    return getaddrinfo(host, port, &hints, res);
}

/* A collector named by a DNS name may move: each reconnect looks the name
 * up again. A name that stops resolving keeps the last addresses (said
 * once); the lookup runs in the exporter, so a slow resolver delays the
 * export (records then wait in the rings, counted if lost). */
static void resolve_again(struct transport *t)
{
    struct addrinfo *res = NULL;
    int rc = lookup(t->host, t->port, t->kind, 0, &res);
    if (rc != 0) {
        if (!t->warned_unresolved)
            log_warning("collector %s: cannot resolve '%s' (%s); retrying with the last addresses",
                        t->name, t->host, gai_strerror(rc));
        t->warned_unresolved = true;
        return;
    }
    if (t->warned_unresolved)
        log_info("collector %s: '%s' resolves again", t->name, t->host);
    t->warned_unresolved = false;
    freeaddrinfo(t->addrs);
    t->addrs = res;
}

static void try_connect(struct transport *t)
{
    if (t->fd >= 0 || now_mono_us() < t->next_attempt_us)
        return;
    if (t->resolve_again && t->backoff_us)     /* not the first attempt */
        resolve_again(t);
    int rc = connect_any(t);
    if (rc == 0 && send_templates(t) == 0) {
        if (t->warned_down)
            log_info("collector %s: connected", t->name);
        t->warned_down = false;
        t->backoff_us = 0;
        t->stats.reconnects++;
        return;
    }
    connection_lost(t, rc ? rc : errno);
}

/* Bytes written on the connection so far (TLS: ciphertext, records and all). */
static uint64_t wire_written(const struct transport *t)
{
    return t->tls ? BIO_number_written(SSL_get_wbio(t->tls)) : 0;
}

static void drain(struct transport *t)
{
    while (t->queue.head && t->fd >= 0) {
        errno = 0;
        trim_acknowledged(t);   /* each time: a break re-sends only what is newer */
        uint64_t before = wire_written(t);
        if (peer_gone(t->fd) || write_stream(t, t->queue.head->bytes, t->queue.head->len) < 0) {
            connection_lost(t, errno ? errno : ECONNRESET);
            return;
        }
        struct queued_msg *m = msgqueue_take(&t->queue);
        m->wire = t->tls ? (size_t)(wire_written(t) - before) : m->len;
        if (tracks_acks(t)) {
            append_unacked(t, m);
        } else {
            count_sent(t, m->nrecords);
            free(m);
        }
    }
    trim_acknowledged(t);
}

/* ---- ZeroMQ (zmq://, for ntopng) ---------------------------------------------- */

/* A slow ntopng (libzmq's queue at its high-water mark) loses the message:
 * counted, said once per episode. */
static void send_zmq_message(struct transport *t, const struct queued_msg *m)
{
    int rc = zmq_link_send(t->zmq, m->bytes, m->len);
    if (rc == 0) {
        count_sent(t, m->nrecords);
        return;
    }
    t->stats.records_dropped += m->nrecords;
    if (!t->warned_down)
        log_warning("collector %s: %s: records are dropped", t->name,
                    rc > 0 ? "ntopng does not keep up (ZeroMQ high-water mark)" : strerror(errno));
    t->warned_down = true;
}

/* Until ntopng subscribes, messages wait in the queue (bounded by
 * --queue-size, as for TCP): a PUB socket would send them to no one. */
static void drain_zmq(struct transport *t)
{
    while (t->queue.head && zmq_link_subscribed(t->zmq)) {
        send_zmq_message(t, t->queue.head);
        msgqueue_pop(&t->queue);
    }
}

/* zmq:// binds, zmq+connect:// connects, to the resolved address: libzmq
 * would resolve a name only later, where a typo could not be reported. */
static int open_zmq(struct transport *t, const char *spec, const struct addrinfo *ai, char *err,
                    size_t errlen)
{
    const char *hp = strstr(spec, "://") + 3;
    if (hp[0] == '[' ? !strstr(hp, "]:") : !strchr(hp, ':')) {
        snprintf(err, errlen, "collector '%s': give the port (ntopng's -i tcp://HOST:PORT)", spec);
        return -1;
    }
    char host[INET6_ADDRSTRLEN], port[8], endpoint[INET6_ADDRSTRLEN + 20];
    if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        snprintf(err, errlen, "collector '%s': cannot use its address", spec);
        return -1;
    }
    bool v6 = ai->ai_family == AF_INET6;
    snprintf(endpoint, sizeof endpoint, "tcp://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
    char why[256];
    bool connect = strncmp(spec, "zmq+connect://", 14) == 0;
    t->zmq = zmq_link_open(endpoint, connect, 0, why, sizeof why);
    if (!t->zmq) {
        snprintf(err, errlen, "collector '%s': %s", spec, why);
        return -1;
    }
    return 0;
}

void transport_poll(struct transport *t)
{
    if (t->kind == TRANSPORT_UDP && t->batch_count)
        flush_batch(t);
    if (t->kind == TRANSPORT_UDP && t->fd >= 0)
        collect_refusals(t);
    /* On the clock, not per message: what was exported reaches the file
     * within a tick, for readers that follow it. */
    if (t->file && fflush(t->file) != 0 && !t->warned_down) {
        log_error("cannot write %s: %s", file_path(t), strerror(errno));
        t->warned_down = true;
    }
    if (t->kind == TRANSPORT_ZMQ)
        drain_zmq(t);
    if (!is_stream(t))
        return;
    try_connect(t);
    drain(t);
}

/* A templates message starts what a new connection is sent first; the
 * setup messages after it (application names, element types) join it. */
static void remember_templates(struct transport *t, const uint8_t *msg, size_t len,
                               enum msg_kind kind)
{
    size_t keep = kind == MSG_TEMPLATES ? 0 : t->templates_len;
    uint8_t *copy = realloc(t->templates, keep + len);
    if (!copy)
        return;
    memcpy(copy + keep, msg, len);
    t->templates = copy;
    t->templates_len = keep + len;
}

static int send_tcp(struct transport *t, const uint8_t *msg, size_t len, uint32_t nrecords,
                    enum msg_kind kind)
{
    if (kind == MSG_TEMPLATES || kind == MSG_SETUP) {
        remember_templates(t, msg, len, kind);
        if (t->fd < 0)
            return 0;   /* sent first once connected */
    }
    msgqueue_push(&t->queue, msg, len, nrecords);
    transport_poll(t);
    return 0;
}

/* A file that could not be created (a rotation or reopen failed) loses its
 * records, counted; the templates and setup messages are written again at
 * the start of the next file, so they are not losses. A write error is said
 * once until a write succeeds again (a full disk would say it per message). */
static void send_file(struct transport *t, const uint8_t *msg, size_t len, uint32_t nrecords,
                      enum msg_kind kind)
{
    if (!t->file) {
        if (kind == MSG_DATA)
            t->stats.records_dropped += nrecords;
        return;
    }
    if (fwrite(msg, 1, len, t->file) != len) {
        if (!t->warned_down)
            log_error("cannot write %s: %s (records are counted as dropped)", file_path(t),
                      strerror(errno));
        t->warned_down = true;
        t->stats.records_dropped += nrecords;
        return;
    }
    count_sent(t, nrecords);
}

int transport_send(struct transport *t, const uint8_t *msg, size_t len, uint32_t nrecords,
                   enum msg_kind kind)
{
    switch (t->kind) {
    case TRANSPORT_TCP: case TRANSPORT_TLS: case TRANSPORT_SCTP:
        return send_tcp(t, msg, len, nrecords, kind);
    case TRANSPORT_UDP:
        /* RFC 7011: no template withdrawal over UDP; templates time out there. */
        if (kind != MSG_WITHDRAWAL)
            send_udp(t, msg, len, nrecords);
        return 0;
    case TRANSPORT_FILE:
        send_file(t, msg, len, nrecords, kind);
        return 0;
    case TRANSPORT_ZMQ:
        msgqueue_push(&t->queue, msg, len, nrecords);
        drain_zmq(t);
        return 0;
    }
    return 0;
}

/* ---- open / close --------------------------------------------------------- */

static struct transport *transport_alloc(enum transport_kind kind, const char *name)
{
    struct transport *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->kind = kind;
    t->fd = -1;
    snprintf(t->name, sizeof t->name, "%s", name);
    return t;
}

/* The kernel's SCTP socket API, where there is one (many kernels build SCTP
 * as a module that is not loaded, or leave it out). */
static int check_sctp(const char *spec, char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_SCTP);
    if (fd < 0) {
        snprintf(err, errlen, "collector '%s': this system has no SCTP (%s)%s", spec, strerror(errno),
                 errno == EPROTONOSUPPORT ? ": load the sctp kernel module or use tcp://" : "");
        return -1;
    }
    close(fd);
    return 0;
}

struct transport *transport_open_collector(const char *spec, const struct transport_options *to,
                                           char *err, size_t errlen)
{
    enum transport_kind kind;
    const char *rest;
    char host[256], port[8];
    if (parse_scheme(spec, &kind, &rest, err, errlen) < 0 ||
        transport_split_host_port(rest, host, sizeof host, port, sizeof port, err, errlen) < 0)
        return NULL;
    if (kind == TRANSPORT_SCTP && check_sctp(spec, err, errlen) < 0)
        return NULL;
    SSL_CTX *tls_ctx = NULL;
    if (kind == TRANSPORT_TLS && !(tls_ctx = tls_context(spec, to, err, errlen)))
        return NULL;
    struct addrinfo *res = NULL;
    int rc = lookup(host, port, kind, 0, &res);
    if (rc != 0) {
        snprintf(err, errlen, "collector '%s': cannot resolve '%s': %s", spec, host, gai_strerror(rc));
        SSL_CTX_free(tls_ctx);
        return NULL;
    }
    struct transport *t = transport_alloc(kind, spec);
    if (!t) {
        freeaddrinfo(res);
        SSL_CTX_free(tls_ctx);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->addrs = res;
    t->tls_ctx = tls_ctx;
    snprintf(t->host, sizeof t->host, "%s", host);
    snprintf(t->port, sizeof t->port, "%s", port);
    struct addrinfo *numeric = NULL;
    t->resolve_again = lookup(host, port, kind, AI_NUMERICHOST, &numeric) != 0;
    if (numeric)
        freeaddrinfo(numeric);
    msgqueue_init(&t->queue, to->queue_bytes, &t->stats.records_dropped);
    msgqueue_init(&t->unacked, SIZE_MAX, &t->stats.records_dropped);
    if (kind == TRANSPORT_ZMQ && open_zmq(t, spec, res, err, errlen) < 0) {
        transport_free(t);
        return NULL;
    }
    if (is_stream(t) || kind == TRANSPORT_ZMQ) {
        transport_poll(t);
        return t;
    }
    if (connect_any(t) != 0) {
        snprintf(err, errlen, "collector '%s': cannot open a UDP socket: %s", spec, strerror(errno));
        transport_free(t);
        return NULL;
    }
    return t;
}

struct transport *transport_open_file(const char *path, char *err, size_t errlen)
{
    struct transport *t = transport_new_file(path);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->file = fopen(path, "wbe");
    if (!t->file) {
        snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
        free(t);
        return NULL;
    }
    return t;
}

struct transport *transport_new_file(const char *name)
{
    return transport_alloc(TRANSPORT_FILE, name);
}

static void close_file(struct transport *t)
{
    if (t->file && fclose(t->file) != 0)
        log_error("cannot finish writing %s: %s", file_path(t), strerror(errno));
    t->file = NULL;
}

int transport_reopen_file(struct transport *t, const char *path, char *err, size_t errlen)
{
    close_file(t);
    free(t->file_path);
    t->file_path = strdup(path);
    t->file = fopen(path, "abe");
    if (!t->file) {
        snprintf(err, errlen, "cannot create '%s': %s", path, strerror(errno));
        return -1;
    }
    t->warned_down = false;
    return 0;
}

bool transport_file_is_open(const struct transport *t)
{
    return t->file != NULL;
}

void transport_close(struct transport *t, unsigned wait_ms)
{
    if (t->kind == TRANSPORT_UDP && t->batch_count)
        flush_batch(t);
    if (t->kind == TRANSPORT_UDP && t->fd >= 0)
        collect_refusals(t);
    uint64_t deadline = now_mono_us() + (uint64_t)wait_ms * 1000;
    if (is_stream(t) || t->kind == TRANSPORT_ZMQ) {
        while ((t->queue.head || t->unacked.head) && now_mono_us() < deadline) {
            transport_poll(t);
            if (t->queue.head || t->unacked.head) {
                struct timespec ts = {0, 20000000};
                nanosleep(&ts, NULL);
            }
        }
        msgqueue_drop_all(&t->queue);
        drop_unacked(t);    /* not acknowledged in time: counted lost */
    }
    if (t->zmq) {
        uint64_t now = now_mono_us();
        zmq_link_close(t->zmq, now < deadline ? (unsigned)((deadline - now) / 1000) : 0);
        t->zmq = NULL;
    }
    if (is_stream(t)) {
        if (t->tls)
            SSL_shutdown(t->tls);   /* close_notify: a clean end, not a truncation */
        if (t->fd >= 0)
            shutdown(t->fd, SHUT_WR);
    }
    close_file(t);
    close_fd(t);
}

void transport_free(struct transport *t)
{
    if (!t)
        return;
    if (t->file)
        fclose(t->file);
    close_fd(t);
    zmq_link_close(t->zmq, 0);
    msgqueue_drop_all(&t->queue);
    drop_unacked(t);
    if (t->addrs)
        freeaddrinfo(t->addrs);
    free(t->templates);
    free(t->file_path);
    free(t->batch);
    SSL_CTX_free(t->tls_ctx);
    free(t);
}

size_t transport_path_payload(const struct transport *t)
{
    if (t->kind != TRANSPORT_UDP || t->fd < 0)
        return 0;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(t->fd, (struct sockaddr *)&ss, &sl) < 0)
        return 0;
    bool v6 = ss.ss_family == AF_INET6;
    int mtu = 0;
    sl = sizeof mtu;
    if (getsockopt(t->fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &sl) < 0)
        return 0;
    size_t headers = (v6 ? 40 : 20) + 8;
    return mtu > (int)headers ? (size_t)mtu - headers : 0;
}

enum transport_kind transport_kind(const struct transport *t) { return t->kind; }
const char *transport_name(const struct transport *t) { return t->name; }
const struct transport_stats *transport_stats(const struct transport *t) { return &t->stats; }
