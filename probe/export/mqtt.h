/* mqtt.h — -c mqtt://HOST[:PORT]/TOPIC[?qos=N] (mqtts:// over TLS): every
 * flow record as one message, its JSON line (--json-format), through
 * libmosquitto. libmosquitto's own thread talks to the broker; the exporter
 * hands it messages and never waits: while the broker is away they wait in
 * a queue bounded as TCP's is (--queue-size, oldest dropped first, counted). */
#ifndef NFPROBE_MQTT_H
#define NFPROBE_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "transport.h"

struct mqtt_out;

/* Does spec name an MQTT broker (mqtt:// or mqtts://)? */
bool mqtt_is_spec(const char *spec);
/* Parse the spec, resolve the host and start connecting (a broker that is
 * down is not an error: records queue and the connection is retried). NULL
 * with a one-line message in err on a bad spec, topic or QoS, an
 * unresolvable host, or TLS files that cannot be loaded. */
struct mqtt_out *mqtt_open(const char *spec, const struct transport_options *to, char *err,
                           size_t errlen);
/* Reading a capture file: a full queue waits (while the broker is
 * connected) instead of dropping its oldest message. */
void mqtt_wait_when_full(struct mqtt_out *m, bool on);
/* One record's message (its JSON line, the newline left out). */
void mqtt_send(struct mqtt_out *m, const char *msg, size_t len);
/* Hand queued messages to libmosquitto, note connections lost and made. */
void mqtt_poll(struct mqtt_out *m);
/* Wait at most wait_ms for the broker to take everything (QoS 1, 2: its
 * acknowledgement; QoS 0: written to the socket), then disconnect; what
 * is left is counted as dropped. */
void mqtt_close(struct mqtt_out *m, unsigned wait_ms);
const char *mqtt_name(const struct mqtt_out *m);
/* messages_sent = records_sent: the broker took them (see mqtt_close). */
const struct transport_stats *mqtt_stats(struct mqtt_out *m);
void mqtt_free(struct mqtt_out *m);

#endif
