/* options.h — the command line. */
#ifndef NFPROBE_OPTIONS_H
#define NFPROBE_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include "select.h"

#define MAX_COLLECTORS 8
#define MAX_PLUGIN_OPTIONS 15
#define MAX_WORKERS 64     /* the meter takes 16 extensions; DPI is one */

struct options {
    const char *interface;      /* -i */
    const char *read_file;      /* -r */
    const char *bpf;            /* -f */
    uint32_t snaplen;           /* -s */
    uint32_t capture_buffer_mib;    /* --capture-buffer: each socket's kernel ring */
    const char *collectors[MAX_COLLECTORS];   /* -c */
    int ncollectors;
    const char *ipfix_file;     /* -o (with --rotate: a strftime pattern) */
    uint64_t rotate_us;         /* --rotate: a new -o file every S seconds, 0: one file */
    bool json;                  /* --json (or neither -c nor -o) */
    bool biflow;
    uint32_t domain;            /* -O */
    uint64_t idle_us, active_us, tcp_close_us;
    uint32_t max_flows;
    uint64_t template_refresh_us;
    uint16_t mtu;                   /* largest message; 0: auto (export.c) */
    uint64_t export_rate;       /* records per second, 0: unlimited */
    uint64_t stats_interval_us; /* 0: only at exit */
    uint64_t queue_bytes;
    uint64_t drain_us;          /* at exit, how long to wait for a TCP collector */
    bool dissect;
    bool decode_tunnels;        /* meter the packets inside tunnels (--no-decode-tunnels) */
    uint32_t max_tcp_dissections, max_udp_dissections;
    uint32_t dpi_hot_flows;     /* --dpi-hot-flows: nDPI flow structs kept expanded, 0: default */
    bool app_id_pen;            /* --app-id-pen: RFC 6759 PANA-L7-PEN form */
    bool quiet;
    /* export format and template (issue 4) */
    int export_version;         /* -V: 10 IPFIX, 9 NetFlow v9, 5 NetFlow v5 */
    uint32_t template_refresh_packets;  /* v9: templates every N messages, 0: never */
    const char *template_name;  /* -T NAME|FILE, NULL: default or biflow */
    bool list_fields;           /* --list-fields: print the element table, exit */
    bool balance;               /* --collector-mode balance */
    const char *tls_ca, *tls_cert, *tls_key;
    /* plugins (issue 5) */
    const char *plugins[MAX_PLUGIN_OPTIONS];    /* -P NAME|PATH[:ARGS] */
    int nplugins;
    uint32_t plugin_pen;        /* --plugin-pen */
    bool early_expire;          /* --early-expire */
    /* workers (issue 11) */
    int workers;                /* --workers */
    int cpus[MAX_WORKERS];      /* --cpus, in the order workers take them */
    int ncpus;
    /* running as a service (issue 12) */
    const char *user;           /* -u: run as this user once the input and outputs are open */
    /* selection and dynamic timeouts (issue 14) */
    struct select_config select;    /* --sample, --sample-mode, --sample-seed, --hash-select */
    const char *flow_filter;        /* --flow-filter EXPR */
    uint32_t flow_sample;           /* --flow-sample N: 1 in N flows, 0: all */
    bool dynamic_timeouts;          /* --dynamic-timeouts */
    /* ntopng over ZeroMQ (issue 15) */
    bool zmq_now;               /* --zmq-now: zmq:// flows end at their export (replays) */
    bool zmq_compress;          /* --zmq-compress: zlib-compressed payloads */
    /* text outputs (issue 15) */
    bool csv;                   /* --csv */
    const char *csv_file;       /* --csv -o FILE (-o then writes no IPFIX) */
    int json_format;            /* --json-format: enum json_format */
    const char *timestamp_type; /* --timestamp-type TYPE ("list": print the interface's) */
};

enum json_format { JSON_FORMAT_NFSTREAM, JSON_FORMAT_ECS };

/* Reads --config FILE first (one long option a line: "name = value", a
 * flag's name alone or "name = yes|no", '#' comments), then the rest of the
 * command line, which overrides the file; -c and -P on the command line
 * replace the file's list. Returns 0 to run, 1 when help or version was
 * printed (exit 0), -1 on a bad command line or file (message printed, with
 * FILE:LINE for the file; exit 2). */
int options_parse(int argc, char **argv, struct options *o);

#endif
