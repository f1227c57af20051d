/* udp_refused.c — see udp_refused.h. */
#include "udp_refused.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>             /* before linux/errqueue.h, which needs struct timespec */
#include <linux/errqueue.h>

int udp_refused_enable(int fd, int family)
{
    int on = 1;
    if (family == AF_INET6)
        return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on);
    return setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
}

void udp_refused_note(struct udp_refused *u, const uint8_t *msg, size_t len, uint32_t nrecords)
{
    struct udp_sent *s = &u->ring[u->next];
    u->next = (u->next + 1) % UDP_REFUSED_RING;
    s->keylen = (uint8_t)(len < UDP_REFUSED_KEY ? len : UDP_REFUSED_KEY);
    memcpy(s->key, msg, s->keylen);
    s->refused = false;
    s->nrecords = nrecords;
}

/* The records of the newest datagram sent that starts with key and was not
 * refused yet (0 when none is remembered). */
static uint32_t mark_refused(struct udp_refused *u, const uint8_t *key, size_t keylen)
{
    for (unsigned i = 1; i <= UDP_REFUSED_RING; i++) {
        struct udp_sent *s = &u->ring[(u->next + UDP_REFUSED_RING - i) % UDP_REFUSED_RING];
        size_t n = keylen < s->keylen ? keylen : s->keylen;
        if (!s->refused && s->keylen && n && memcmp(s->key, key, n) == 0) {
            s->refused = true;
            return s->nrecords;
        }
    }
    return 0;
}

/* The extended error of a message from the error queue is a refusal: an
 * ICMP or ICMPv6 error (unreachable, for a connected socket). */
static bool is_icmp_error(struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
        bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
        if (!v4 && !v6)
            continue;
        struct sock_extended_err ee;
        memcpy(&ee, CMSG_DATA(c), sizeof ee);
        return ee.ee_origin == SO_EE_ORIGIN_ICMP || ee.ee_origin == SO_EE_ORIGIN_ICMP6;
    }
    return false;
}

uint64_t udp_refused_collect(struct udp_refused *u, int fd, unsigned *messages)
{
    uint64_t records = 0;
    *messages = 0;
    for (;;) {
        uint8_t key[UDP_REFUSED_KEY];
        union {
            char buf[512];
            struct cmsghdr align;
        } ctrl;
        struct iovec iov = {key, sizeof key};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctrl.buf,
                            .msg_controllen = sizeof ctrl.buf};
        ssize_t n = recvmsg(fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
        if (n < 0)
            break;      /* EAGAIN: no more errors queued */
        if (!is_icmp_error(&mh))
            continue;
        ++*messages;
        records += mark_refused(u, key, (size_t)n);
    }
    return records;
}
