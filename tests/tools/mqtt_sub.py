#!/usr/bin/env python3
"""Subscribe to an MQTT topic on 127.0.0.1 and append each message's payload
to a file as one line (flows' JSON has no newline).

usage: mqtt_sub.py PORT TOPIC OUT CLIENT_ID

Prints "subscribed" (flushed) each time the broker acknowledged the
subscription, the readiness tests wait for. A persistent session
(clean_session False, QoS 1) under a fixed client id: a broker restarted with
persistence keeps what arrives for us while we reconnect."""
import sys

import paho.mqtt.client as mqtt

port, topic, out, client_id = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
sink = open(out, "ab", buffering=0)     # one write per message


def on_connect(client, userdata, flags, rc):
    if rc == 0:
        client.subscribe(topic, qos=1)


def on_subscribe(client, userdata, mid, granted_qos):
    print("subscribed", flush=True)


def on_message(client, userdata, msg):
    sink.write(msg.payload + b"\n")


client = mqtt.Client(client_id=client_id, clean_session=False)
client.reconnect_delay_set(min_delay=1, max_delay=2)
client.on_connect = on_connect
client.on_subscribe = on_subscribe
client.on_message = on_message
client.connect("127.0.0.1", port, keepalive=30)
client.loop_forever(retry_first_connection=True)
