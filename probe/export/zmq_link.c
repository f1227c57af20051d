#include "zmq_link.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#define TOPIC "flow"
#define HEADER_VERSION_JSON 2

struct zmq_link {
    void *ctx;
    void *sock;
    uint8_t source_id;
    uint32_t msg_id;            /* the last one sent */
    int subscriptions;          /* live subscriptions that match TOPIC */
};

void zmq_link_header(uint8_t out[ZMQ_HEADER_LEN], uint8_t source_id, uint32_t msg_id, size_t len)
{
    memset(out, 0, ZMQ_HEADER_LEN);
    memcpy(out, TOPIC, sizeof TOPIC - 1);       /* char url[16], NUL-padded */
    out[16] = HEADER_VERSION_JSON;
    out[17] = source_id;
    uint16_t size = htons((uint16_t)(len > UINT16_MAX ? UINT16_MAX : len));
    uint32_t id = htonl(msg_id);
    memcpy(out + 18, &size, 2);
    memcpy(out + 20, &id, 4);
}

static int set_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof value);
}

/* XPUB rather than PUB: it tells us when ntopng subscribes, and with
 * XPUB_NODROP a full queue (a slow ntopng) is an EAGAIN we can count, not a
 * silent loss. */
static void *make_socket(void *ctx, const char *endpoint)
{
    void *sock = zmq_socket(ctx, ZMQ_XPUB);
    if (!sock)
        return NULL;
    if (set_int(sock, ZMQ_XPUB_NODROP, 1) < 0 || set_int(sock, ZMQ_LINGER, 0) < 0 ||
        (strchr(endpoint, '[') && set_int(sock, ZMQ_IPV6, 1) < 0)) {
        int e = errno;
        zmq_close(sock);
        errno = e;
        return NULL;
    }
    return sock;
}

struct zmq_link *zmq_link_open(const char *endpoint, bool connect, uint8_t source_id, char *err,
                               size_t errlen)
{
    struct zmq_link *z = calloc(1, sizeof *z);
    if (!z || !(z->ctx = zmq_ctx_new())) {
        snprintf(err, errlen, "out of memory");
        free(z);
        return NULL;
    }
    z->source_id = source_id;
    z->sock = make_socket(z->ctx, endpoint);
    int rc = !z->sock ? -1 : connect ? zmq_connect(z->sock, endpoint) : zmq_bind(z->sock, endpoint);
    if (rc < 0) {
        snprintf(err, errlen, "cannot %s ZeroMQ socket %s: %s", connect ? "connect" : "bind",
                 endpoint, zmq_strerror(errno));
        zmq_link_close(z, 0);
        return NULL;
    }
    return z;
}

/* A subscription message: 1 (subscribe) or 0, then the topic. Ours is the
 * topic a prefix of "flow" selects (the empty one included). */
static void note_subscription(struct zmq_link *z, const uint8_t *m, int n)
{
    size_t tlen = (size_t)n - 1;
    if (n < 1 || m[0] > 1 || tlen > sizeof TOPIC - 1 || memcmp(m + 1, TOPIC, tlen) != 0)
        return;
    z->subscriptions += m[0] ? 1 : -1;
}

bool zmq_link_subscribed(struct zmq_link *z)
{
    uint8_t m[256];
    int n;
    while ((n = zmq_recv(z->sock, m, sizeof m, ZMQ_DONTWAIT)) >= 0)
        note_subscription(z, m, n < (int)sizeof m ? n : (int)sizeof m);
    return z->subscriptions > 0;
}

int zmq_link_send(struct zmq_link *z, const uint8_t *payload, size_t len)
{
    uint8_t header[ZMQ_HEADER_LEN];
    zmq_link_header(header, z->source_id, z->msg_id + 1, len);
    if (zmq_send(z->sock, header, sizeof header, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        if (errno != EAGAIN)
            return -1;
        z->msg_id++;
        return 1;
    }
    /* libzmq takes a message's frames together: the high-water mark counts
     * whole messages, so the second frame goes where the first went. */
    z->msg_id++;
    return zmq_send(z->sock, payload, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

void zmq_link_close(struct zmq_link *z, unsigned linger_ms)
{
    if (!z)
        return;
    if (z->sock) {
        set_int(z->sock, ZMQ_LINGER, (int)linger_ms);
        zmq_close(z->sock);
    }
    zmq_ctx_term(z->ctx);
    free(z);
}
