#include "mqtt.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <mosquitto.h>

#include "msgqueue.h"
#include "util.h"

#define MQTT_PORT "1883"
#define MQTTS_PORT "8883"
#define KEEPALIVE_S 30
#define RECONNECT_MIN_S 1       /* a reconnect waits 1 s doubling to 30 s */
#define RECONNECT_MAX_S 30
#define LOOP_TIMEOUT_MS 100     /* how long the MQTT thread waits for the socket */
/* Messages handed to libmosquitto and not yet taken by the broker. Its own
 * queue has no bound: ours does, so it is given only this many at a time.
 * Of those, libmosquitto has at most 20 QoS 1 or 2 PUBLISHes unacknowledged
 * on the wire (its default): mosquitto takes no more at once from an MQTT
 * 3.1.1 client (max_inflight_messages) and drops a QoS 2 message beyond
 * that with a PUBREC the client cannot read as a refusal (seen: 54 of 145
 * arrived with 100 in flight). */
#define WINDOW 1000
#define CONNECT_GRACE_US 2000000ull     /* a first connection slower than this is said */

struct mqtt_out {
    char name[300];
    char topic[256];
    int qos;
    struct mosquitto *mosq;
    pthread_t thread;           /* ours, running libmosquitto's loop */
    bool loop_running;
    atomic_bool stop_loop;
    /* Until a first connect is under way (one refused or failed at once:
     * a broker down on this host, a TLS handshake that failed at once), it
     * is retried here and the MQTT thread is not started: the client
     * is not thread-safe, and that thread also reconnects by itself, so
     * both at once corrupted it (a crash, under load, nothing said). */
    bool connect_started;
    uint64_t next_connect_us, connect_backoff_us;
    struct msgqueue queue;      /* messages not yet handed to libmosquitto */
    uint64_t handed;            /* to libmosquitto, in all */
    uint64_t written_off;       /* handed, QoS 0, and lost with a connection */
    uint64_t seen_connects, seen_disconnects;
    bool warned_down;
    bool wait_when_full;        /* reading a file: a full queue waits for the broker */
    bool closing;               /* our own disconnect is no news */
    uint64_t opened_us;
    struct transport_stats stats;
    /* set by the MQTT thread (its callbacks hold its locks: atomics only) */
    atomic_uint_fast64_t completed;     /* on_publish: the broker has it */
    atomic_uint_fast64_t connects, disconnects;
    atomic_bool connected;
    atomic_int refused;                 /* CONNACK's code when the broker said no */
    /* libmosquitto's last error message (a TLS failure says why only there);
     * the lock is never held while calling libmosquitto */
    pthread_mutex_t error_lock;
    char last_error[200];
};

static unsigned mqtt_users;     /* mosquitto_lib_init once for all brokers */

bool mqtt_is_spec(const char *spec)
{
    return strncmp(spec, "mqtt://", 7) == 0 || strncmp(spec, "mqtts://", 8) == 0;
}

/* ---- libmosquitto's callbacks, in the MQTT thread ---------------------------- */

static void on_connect(struct mosquitto *mosq, void *ctx, int rc)
{
    (void)mosq;
    struct mqtt_out *m = ctx;
    if (rc != 0) {
        atomic_store(&m->refused, rc);
        return;
    }
    atomic_store(&m->refused, 0);
    atomic_store(&m->connected, true);
    atomic_fetch_add(&m->connects, 1);
}

static void on_disconnect(struct mosquitto *mosq, void *ctx, int rc)
{
    (void)mosq;
    (void)rc;
    struct mqtt_out *m = ctx;
    atomic_store(&m->connected, false);
    atomic_fetch_add(&m->disconnects, 1);
}

static void on_log(struct mosquitto *mosq, void *ctx, int level, const char *text)
{
    (void)mosq;
    struct mqtt_out *m = ctx;
    if (!(level & MOSQ_LOG_ERR))
        return;
    pthread_mutex_lock(&m->error_lock);
    snprintf(m->last_error, sizeof m->last_error, "%s", text);
    pthread_mutex_unlock(&m->error_lock);
}

static void on_publish(struct mosquitto *mosq, void *ctx, int mid)
{
    (void)mosq;
    (void)mid;
    struct mqtt_out *m = ctx;
    atomic_fetch_add(&m->completed, 1);
}

/* ---- the spec ---------------------------------------------------------------- */

/* "[?qos=N]" after the topic. */
static int parse_query(const char *spec, const char *q, int *qos, char *err, size_t errlen)
{
    *qos = 1;
    if (!q)
        return 0;
    uint64_t n;
    if (strncmp(q, "?qos=", 5) != 0 || !parse_u64(q + 5, 0, 2, &n)) {
        snprintf(err, errlen, "collector '%s': expected '?qos=0', '?qos=1' or '?qos=2' after the topic",
                 spec);
        return -1;
    }
    *qos = (int)n;
    return 0;
}

static int parse_topic(struct mqtt_out *m, const char *spec, const char *slash, char *err,
                       size_t errlen)
{
    const char *q = strchr(slash, '?');
    size_t n = q ? (size_t)(q - slash - 1) : strlen(slash + 1);
    if (n == 0 || n >= sizeof m->topic) {
        snprintf(err, errlen, "collector '%s': %s (write mqtt://HOST[:PORT]/TOPIC)", spec,
                 n ? "topic longer than 255 bytes" : "no topic");
        return -1;
    }
    memcpy(m->topic, slash + 1, n);
    m->topic[n] = '\0';
    if (mosquitto_pub_topic_check2(m->topic, n) != MOSQ_ERR_SUCCESS ||
        mosquitto_validate_utf8(m->topic, (int)n) != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "collector '%s': topic '%s' cannot be published to "
                 "(no '+' or '#' wildcards, valid UTF-8)", spec, m->topic);
        return -1;
    }
    return parse_query(spec, q, &m->qos, err, errlen);
}

/* "mqtt[s]://HOST[:PORT]/TOPIC[?qos=N]" into host, port, topic and QoS. */
static int parse_spec(struct mqtt_out *m, const char *spec, bool *tls, char *host, size_t hostlen,
                      char *port, size_t portlen, char *err, size_t errlen)
{
    *tls = strncmp(spec, "mqtts://", 8) == 0;
    const char *rest = spec + (*tls ? 8 : 7);
    const char *slash = strchr(rest, '/');
    if (!slash) {
        snprintf(err, errlen, "collector '%s': no topic (write mqtt://HOST[:PORT]/TOPIC)", spec);
        return -1;
    }
    char hp[300];
    size_t n = (size_t)(slash - rest);
    if (n >= sizeof hp) {
        snprintf(err, errlen, "collector '%s': host name too long", spec);
        return -1;
    }
    memcpy(hp, rest, n);
    hp[n] = '\0';
    /* No port: MQTT's, not IPFIX's. */
    const char *bracket = strrchr(hp, ']');
    const char *colon = strrchr(hp, ':');
    if (n && (!colon || (bracket && colon < bracket)) && n + 6 < sizeof hp)
        snprintf(hp + n, sizeof hp - n, ":%s", *tls ? MQTTS_PORT : MQTT_PORT);
    if (transport_split_host_port(hp, host, hostlen, port, portlen, err, errlen) < 0)
        return -1;
    return parse_topic(m, spec, slash, err, errlen);
}

static int resolve(const char *spec, const char *host, const char *port, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "collector '%s': cannot resolve '%s': %s", spec, host, gai_strerror(rc));
        return -1;
    }
    freeaddrinfo(res);
    return 0;
}

/* ---- setting up the client ----------------------------------------------- */

/* mqtts://: the broker's certificate checked against --tls-ca (else the
 * system's CAs) and the host name; --tls-cert/--tls-key when the broker
 * asks for a client certificate. */
static int setup_tls(struct mqtt_out *m, const char *spec, const struct transport_options *to,
                     char *err, size_t errlen)
{
    int rc = mosquitto_tls_set(m->mosq, to->tls_ca, to->tls_ca ? NULL : "/etc/ssl/certs",
                               to->tls_cert, to->tls_key, NULL);
    if (rc != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "collector '%s': cannot load the TLS files (%s%s%s%s%s): %s", spec,
                 to->tls_ca ? to->tls_ca : "/etc/ssl/certs", to->tls_cert ? ", " : "",
                 to->tls_cert ? to->tls_cert : "", to->tls_key ? ", " : "",
                 to->tls_key ? to->tls_key : "", mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}

static int setup_client(struct mqtt_out *m, const char *spec, bool tls,
                        const struct transport_options *to, char *err, size_t errlen)
{
    m->mosq = mosquitto_new(NULL, true, m);
    if (!m->mosq) {
        snprintf(err, errlen, "collector '%s': cannot create an MQTT client: %s", spec, strerror(errno));
        return -1;
    }
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_log_callback_set(m->mosq, on_log);
    if (tls && setup_tls(m, spec, to, err, errlen) < 0)
        return -1;
    return 0;
}

/* ---- the MQTT thread ---------------------------------------------------------
 * Ours, not mosquitto_loop_start()'s: that one reconnects after a lost
 * connection but ends for good after a failed TLS handshake (a certificate
 * unknown or expired) or a protocol error, and the records then wait for a
 * broker nobody tries again (seen: two attempts, then none in 30 s). This
 * one keeps trying whatever the cause, 1 s doubling to 30 s, until
 * mqtt_close. Started once a connect is under way. */

/* false when mqtt_close stopped the wait */
static bool wait_unless_stopped(struct mqtt_out *m, unsigned seconds)
{
    for (unsigned i = 0; i < seconds * 1000 / LOOP_TIMEOUT_MS; i++) {
        if (atomic_load(&m->stop_loop))
            return false;
        struct timespec ts = {0, LOOP_TIMEOUT_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return !atomic_load(&m->stop_loop);
}

static void *run_loop(void *arg)
{
    struct mqtt_out *m = arg;
    unsigned wait_s = RECONNECT_MIN_S;
    while (!atomic_load(&m->stop_loop)) {
        if (mosquitto_loop(m->mosq, LOOP_TIMEOUT_MS, 1) == MOSQ_ERR_SUCCESS) {
            if (atomic_load(&m->connected))
                wait_s = RECONNECT_MIN_S;
            continue;
        }
        if (!wait_unless_stopped(m, wait_s))
            break;
        wait_s = wait_s * 2 > RECONNECT_MAX_S ? RECONNECT_MAX_S : wait_s * 2;
        mosquitto_reconnect_async(m->mosq);     /* a failure shows in the next loop */
    }
    return NULL;
}

static int start_loop(struct mqtt_out *m)
{
    int rc = mosquitto_threaded_set(m->mosq, true);
    if (rc != MOSQ_ERR_SUCCESS)
        return rc;
    if (pthread_create(&m->thread, NULL, run_loop, m) != 0)
        return MOSQ_ERR_ERRNO;
    m->loop_running = true;
    return MOSQ_ERR_SUCCESS;
}

/* A connected client says DISCONNECT first (the thread sends it). */
static void stop_loop(struct mqtt_out *m)
{
    if (!m->loop_running)
        return;
    if (mosquitto_disconnect(m->mosq) == MOSQ_ERR_SUCCESS)
        for (int i = 0; i < 20 && atomic_load(&m->connected); i++) {
            struct timespec ts = {0, 50000000L};
            nanosleep(&ts, NULL);
        }
    atomic_store(&m->stop_loop, true);
    pthread_join(m->thread, NULL);
    m->loop_running = false;
}

/* The first connection; a broker that is down now is said once by
 * mqtt_poll, which retries until a connect gets under way. */
static int start_client(struct mqtt_out *m, const char *spec, const char *host, int port,
                        char *err, size_t errlen)
{
    /* A broker that refuses at once, or a TLS handshake done at once that
     * fails, is the broker being unavailable, as when it happens later. */
    int rc = mosquitto_connect_async(m->mosq, host, port, KEEPALIVE_S);
    if (rc == MOSQ_ERR_INVAL || rc == MOSQ_ERR_NOMEM) {
        snprintf(err, errlen, "collector '%s': %s", spec, mosquitto_strerror(rc));
        return -1;
    }
    m->connect_started = rc == MOSQ_ERR_SUCCESS;
    m->connect_backoff_us = RECONNECT_MIN_S * 1000000ull;
    m->next_connect_us = now_mono_us() + m->connect_backoff_us;
    if (m->connect_started && (rc = start_loop(m)) != MOSQ_ERR_SUCCESS) {
        snprintf(err, errlen, "collector '%s': cannot start the MQTT thread: %s", spec,
                 mosquitto_strerror(rc));
        return -1;
    }
    return 0;
}

struct mqtt_out *mqtt_open(const char *spec, const struct transport_options *to, char *err,
                           size_t errlen)
{
    struct mqtt_out *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&m->error_lock, NULL);
    if (mqtt_users++ == 0)
        mosquitto_lib_init();
    snprintf(m->name, sizeof m->name, "%s", spec);
    msgqueue_init(&m->queue, to->queue_bytes, &m->stats.records_dropped);
    m->opened_us = now_mono_us();
    char host[256], port[8];
    bool tls;
    if (parse_spec(m, spec, &tls, host, sizeof host, port, sizeof port, err, errlen) < 0 ||
        resolve(spec, host, port, err, errlen) < 0 ||
        setup_client(m, spec, tls, to, err, errlen) < 0 ||
        start_client(m, spec, host, atoi(port), err, errlen) < 0) {
        mqtt_free(m);
        return NULL;
    }
    return m;
}

static uint64_t outstanding(const struct mqtt_out *m)
{
    return m->handed - atomic_load(&m->completed) - m->written_off;
}

/* The messages libmosquitto has and will not deliver: dropped. */
static void write_off(struct mqtt_out *m)
{
    uint64_t n = outstanding(m);
    m->written_off += n;
    m->stats.records_dropped += n;
}

/* Connections made and lost since the last look. QoS 0 messages that
 * libmosquitto had not written when the connection went are gone with it
 * (it discards them on reconnecting); QoS 1 and 2 ones it sends again. */
static void note_connection_changes(struct mqtt_out *m)
{
    uint64_t lost = atomic_load(&m->disconnects);
    if (lost != m->seen_disconnects) {
        m->seen_disconnects = lost;
        if (m->qos == 0)
            write_off(m);
    }
    uint64_t made = atomic_load(&m->connects);
    if (made != m->seen_connects) {
        m->stats.reconnects += made - m->seen_connects;
        m->seen_connects = made;
        if (m->warned_down)
            log_info("collector %s: connected", m->name);
        m->warned_down = false;
    }
    int refused = atomic_load(&m->refused);
    bool late = now_mono_us() - m->opened_us >= CONNECT_GRACE_US;
    if (!atomic_load(&m->connected) && !m->warned_down && !m->closing && (lost || refused || late)) {
        char why[sizeof m->last_error];
        pthread_mutex_lock(&m->error_lock);
        snprintf(why, sizeof why, "%s", m->last_error);
        pthread_mutex_unlock(&m->error_lock);
        log_warning("collector %s: %s%s%s; queueing records and retrying", m->name,
                    refused ? mosquitto_connack_string(refused) : "broker not connected",
                    why[0] ? ": " : "", why);
        m->warned_down = true;
    }
}

/* Whether libmosquitto took the message: QoS 0 only while connected; QoS
 * 1 and 2 it keeps in its own queue whatever the connection (and sends
 * again after a reconnect), so a failed send of those is still taken. */
static int hand_over(struct mqtt_out *m, const struct queued_msg *msg)
{
    int rc = mosquitto_publish(m->mosq, NULL, m->topic, (int)msg->len, msg->bytes, m->qos, false);
    switch (rc) {
    case MOSQ_ERR_SUCCESS:
        return 1;
    case MOSQ_ERR_NO_CONN: case MOSQ_ERR_CONN_LOST: case MOSQ_ERR_ERRNO:
        return m->qos ? 1 : 0;
    default:                /* too large, out of memory: this one cannot go */
        return -1;
    }
}

/* Until a first connect is under way, try again here, 1 s doubling to 30
 * s (the MQTT thread is not running yet: see connect_started). */
static void start_first_connect(struct mqtt_out *m)
{
    uint64_t now = now_mono_us();
    if (m->connect_started || m->closing || now < m->next_connect_us)
        return;
    if (mosquitto_reconnect_async(m->mosq) == MOSQ_ERR_SUCCESS) {
        m->connect_started = true;
        int rc = start_loop(m);
        if (rc != MOSQ_ERR_SUCCESS)
            log_error("collector %s: cannot start the MQTT thread: %s; its records will be dropped",
                      m->name, mosquitto_strerror(rc));
        return;
    }
    if (m->connect_backoff_us < RECONNECT_MAX_S * 1000000ull)
        m->connect_backoff_us *= 2;
    m->next_connect_us = now + m->connect_backoff_us;
}

void mqtt_poll(struct mqtt_out *m)
{
    start_first_connect(m);
    note_connection_changes(m);
    while (m->queue.head && atomic_load(&m->connected) && outstanding(m) < WINDOW) {
        int taken = hand_over(m, m->queue.head);
        if (taken == 0)
            break;
        if (taken > 0) {
            m->handed++;
            msgqueue_pop(&m->queue);
        } else {
            msgqueue_drop_oldest(&m->queue);
        }
    }
}

void mqtt_wait_when_full(struct mqtt_out *m, bool on)
{
    m->wait_when_full = on;
}

/* A full queue waits while the broker takes messages: reading a file, the
 * input can wait; a broker that is away drops the oldest instead, as live. */
static void wait_for_room(struct mqtt_out *m, size_t len)
{
    while (m->wait_when_full && m->queue.head && m->queue.bytes + len > m->queue.limit &&
           atomic_load(&m->connected)) {
        mqtt_poll(m);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
}

void mqtt_send(struct mqtt_out *m, const char *msg, size_t len)
{
    wait_for_room(m, len);
    msgqueue_push(&m->queue, msg, len, 1);
    mqtt_poll(m);
}

void mqtt_close(struct mqtt_out *m, unsigned wait_ms)
{
    uint64_t deadline = now_mono_us() + (uint64_t)wait_ms * 1000;
    for (;;) {
        mqtt_poll(m);
        if ((!m->queue.head && outstanding(m) == 0) || now_mono_us() >= deadline)
            break;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    m->closing = true;
    stop_loop(m);
    note_connection_changes(m);
    write_off(m);
    msgqueue_drop_all(&m->queue);
}

const char *mqtt_name(const struct mqtt_out *m)
{
    return m->name;
}

const struct transport_stats *mqtt_stats(struct mqtt_out *m)
{
    m->stats.records_sent = atomic_load(&m->completed);
    m->stats.messages_sent = m->stats.records_sent;
    return &m->stats;
}

void mqtt_free(struct mqtt_out *m)
{
    if (!m)
        return;
    stop_loop(m);
    msgqueue_drop_all(&m->queue);
    mosquitto_destroy(m->mosq);
    pthread_mutex_destroy(&m->error_lock);
    free(m);
    if (--mqtt_users == 0)
        mosquitto_lib_cleanup();
}
