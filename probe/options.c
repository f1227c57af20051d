#include "config.h"     /* PACKAGE_VERSION, for --version */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nfprobe/plugin.h"
#include "util.h"

enum {
    OPT_JSON = 256, OPT_BIFLOW, OPT_IDLE, OPT_ACTIVE, OPT_TCP_CLOSE, OPT_MAX_FLOWS,
    OPT_TMPL_REFRESH, OPT_MTU, OPT_EXPORT_RATE, OPT_STATS, OPT_NO_DISSECT, OPT_MAX_TCP,
    OPT_MAX_UDP, OPT_QUEUE, OPT_DRAIN, OPT_VERSION,
    OPT_TMPL_REFRESH_PKTS = 400, OPT_LIST_FIELDS, OPT_COLLECTOR_MODE, OPT_TLS_CA, OPT_TLS_CERT,
    OPT_TLS_KEY,
    OPT_APP_ID_PEN = 500,
    OPT_PLUGIN_PEN = 600, OPT_EARLY_EXPIRE,
    OPT_DPI_HOT_FLOWS = 700,
    OPT_WORKERS = 800, OPT_CPUS,
    OPT_CONFIG = 900,
    OPT_ROTATE = 1000,
    OPT_NO_DECODE_TUNNELS = 1300,
    OPT_SAMPLE = 1400, OPT_SAMPLE_MODE, OPT_SAMPLE_SEED, OPT_HASH_SELECT, OPT_FLOW_FILTER,
    OPT_FLOW_SAMPLE, OPT_DYNAMIC_TIMEOUTS,
    OPT_ZMQ_NOW = 1600, OPT_ZMQ_COMPRESS,
    OPT_CSV = 1500, OPT_JSON_FORMAT,
    OPT_CAPTURE_BUFFER = 1700,
    OPT_TIMESTAMP_TYPE = 1800,
};

static const struct option long_opts[] = {
    {"interface", required_argument, NULL, 'i'},
    {"read", required_argument, NULL, 'r'},
    {"filter", required_argument, NULL, 'f'},
    {"snaplen", required_argument, NULL, 's'},
    {"collector", required_argument, NULL, 'c'},
    {"output", required_argument, NULL, 'o'},
    {"rotate", required_argument, NULL, OPT_ROTATE},
    {"domain", required_argument, NULL, 'O'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"json", no_argument, NULL, OPT_JSON},
    {"biflow", no_argument, NULL, OPT_BIFLOW},
    {"idle-timeout", required_argument, NULL, OPT_IDLE},
    {"active-timeout", required_argument, NULL, OPT_ACTIVE},
    {"tcp-close-timeout", required_argument, NULL, OPT_TCP_CLOSE},
    {"max-flows", required_argument, NULL, OPT_MAX_FLOWS},
    {"template-refresh", required_argument, NULL, OPT_TMPL_REFRESH},
    {"mtu", required_argument, NULL, OPT_MTU},
    {"export-rate", required_argument, NULL, OPT_EXPORT_RATE},
    {"stats", required_argument, NULL, OPT_STATS},
    {"queue-size", required_argument, NULL, OPT_QUEUE},
    {"drain-timeout", required_argument, NULL, OPT_DRAIN},
    {"no-dissect", no_argument, NULL, OPT_NO_DISSECT},
    {"max-tcp-dissections", required_argument, NULL, OPT_MAX_TCP},
    {"max-udp-dissections", required_argument, NULL, OPT_MAX_UDP},
    {"dpi-hot-flows", required_argument, NULL, OPT_DPI_HOT_FLOWS},
    {"app-id-pen", no_argument, NULL, OPT_APP_ID_PEN},
    {"version", no_argument, NULL, OPT_VERSION},
    {"template-refresh-packets", required_argument, NULL, OPT_TMPL_REFRESH_PKTS},
    {"list-fields", no_argument, NULL, OPT_LIST_FIELDS},
    {"collector-mode", required_argument, NULL, OPT_COLLECTOR_MODE},
    {"tls-ca", required_argument, NULL, OPT_TLS_CA},
    {"tls-cert", required_argument, NULL, OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, OPT_TLS_KEY},
    {"template", required_argument, NULL, 'T'},
    {"plugin", required_argument, NULL, 'P'},
    {"plugin-pen", required_argument, NULL, OPT_PLUGIN_PEN},
    {"early-expire", no_argument, NULL, OPT_EARLY_EXPIRE},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"capture-buffer", required_argument, NULL, OPT_CAPTURE_BUFFER},
    {"export-version", required_argument, NULL, 'V'},
    {"user", required_argument, NULL, 'u'},
    {"no-decode-tunnels", no_argument, NULL, OPT_NO_DECODE_TUNNELS},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"sample", required_argument, NULL, OPT_SAMPLE},
    {"sample-mode", required_argument, NULL, OPT_SAMPLE_MODE},
    {"sample-seed", required_argument, NULL, OPT_SAMPLE_SEED},
    {"hash-select", required_argument, NULL, OPT_HASH_SELECT},
    {"flow-filter", required_argument, NULL, OPT_FLOW_FILTER},
    {"flow-sample", required_argument, NULL, OPT_FLOW_SAMPLE},
    {"dynamic-timeouts", no_argument, NULL, OPT_DYNAMIC_TIMEOUTS},
    {"zmq-now", no_argument, NULL, OPT_ZMQ_NOW},
    {"zmq-compress", no_argument, NULL, OPT_ZMQ_COMPRESS},
    {"csv", no_argument, NULL, OPT_CSV},
    {"json-format", required_argument, NULL, OPT_JSON_FORMAT},
    {"timestamp-type", required_argument, NULL, OPT_TIMESTAMP_TYPE},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
    fputs(
"usage: nfprobe (-i IFACE | -r FILE) [options]\n"
"Meter packets into bidirectional flows and export them as IPFIX or JSON.\n"
"\n"
"input:\n"
"  -i, --interface IFACE     capture live on IFACE (promiscuous)\n"
"  -r, --read FILE           read a capture file (pcap or pcapng)\n"
"  -f, --filter EXPR         BPF filter\n"
"  -s, --snaplen N           bytes captured per packet, live (default 65535)\n"
"      --capture-buffer MIB  the kernel's ring of each capture socket, live (default 64)\n"
"      --timestamp-type TYPE live: the clock that stamps packets, e.g. adapter (the\n"
"                            NIC's); 'list' prints what the interface offers\n"
"output (with neither -c nor -o, JSON lines go to stdout):\n"
"  -c, --collector [udp://|tcp://|tls://|sctp://]HOST[:PORT]   collector (port 4739;\n"
"                            up to 8: every record to each, or see --collector-mode)\n"
"  -c zmq://HOST:PORT        ntopng over ZeroMQ: bind there (zmq+connect:// connects\n"
"                            to ntopng's collector mode); README \"Feeding ntopng\"\n"
"      --zmq-now             zmq://: move each flow's times so it ends when exported,\n"
"                            for feeding a -r replay to ntopng\n"
"      --zmq-compress        zmq://: zlib-compress the messages (ntopng unpacks them)\n"
"  -c mqtt[s]://HOST[:PORT]/TOPIC[?qos=0|1|2]   MQTT broker (port 1883, mqtts 8883;\n"
"                            QoS 1 by default): each record's JSON line as a message\n"
"  -V, --export-version N    export format: 10 IPFIX (default), 9 NetFlow v9, 5 NetFlow v5\n"
"  -T, --template NAME|FILE  export template: built-in (default, biflow, ...) or a file\n"
"                            of element names (see --list-fields)\n"
"      --list-fields         print every element nfprobe can export, then exit\n"
"      --collector-mode all|balance   every record to every collector (default), or\n"
"                            flows spread over the collectors by a hash of their key\n"
"      --template-refresh-packets N   v9: templates again every N messages (default 20)\n"
"      --tls-ca FILE, --tls-cert FILE, --tls-key FILE   tls:// collectors (PEM)\n"
"  -o, --output FILE         write IPFIX to FILE (RFC 5655); SIGHUP reopens it\n"
"      --rotate S            a new -o file every S seconds (at multiples of S; packet\n"
"                            time with -r), named by FILE as a strftime pattern\n"
"                            (-o /var/lib/nfprobe/nfprobe-%Y%m%d%H%M.ipfix)\n"
"      --json                also print flows as JSON lines on stdout\n"
"      --json-format nfstream|ecs   JSON names: nfstream's (default) or Elastic Common\n"
"                            Schema's (stdout and MQTT)\n"
"      --csv                 flows as CSV rows, header first, on stdout (with -o FILE:\n"
"                            to FILE, instead of IPFIX)\n"
"      --biflow              RFC 5103 biflow records instead of one record per direction\n"
"  -O, --domain N            observation domain id (default 0)\n"
"      --template-refresh S  re-send templates over UDP every S seconds (default 60)\n"
"      --mtu N|auto          largest message in bytes (default auto: what the route to\n"
"                            the collector carries unfragmented, at most 8192)\n"
"      --export-rate N       at most N records per second (default unlimited)\n"
"      --queue-size BYTES    TCP: bytes kept while the collector is away (default 16 MiB)\n"
"      --drain-timeout S     TCP: at exit, wait S seconds for the collector (default 10)\n"

"metering:\n"
"      --idle-timeout S      export a flow idle for S seconds (default 30)\n"
"      --active-timeout S    export a flow every S seconds of activity (default 300)\n"
"      --tcp-close-timeout S export S seconds after FIN both ways or RST (default 2)\n"
"      --max-flows N         flow cache size (default 1000000), shared by the workers\n"
"      --workers N           metering threads, each with its own flows (default 1;\n"
"                            live, one capture socket each in a kernel fanout group)\n"
"      --cpus LIST           pin the workers to these CPUs, e.g. 2,3 or 2-5\n"
"      --no-decode-tunnels   meter tunnels (GTP-U, GRE, VXLAN, ...) as their outer\n"
"                            packets, not the packets inside (see README)\n"
"      --no-dissect          no layer-7 dissection\n"
"      --max-tcp-dissections N, --max-udp-dissections N   DPI packet budget (10, 16)\n"
"      --dpi-hot-flows N     nDPI flow states kept unpacked (default 256): fewer saves\n"
"                            memory, costs CPU\n"
"      --app-id-pen          applicationId as engine 20 + PEN 35632 + id (default: engine 13 + id)\n"
"selection (see README):\n"
"      --sample N            meter 1 in N packets (default: all)\n"
"      --sample-mode random|count   each packet with probability 1/N (default), or\n"
"                            every Nth packet\n"
"      --sample-seed S       seed of the random sampling and of the hash (default 0)\n"
"      --hash-select FROM-TO meter the packets whose BOB hash of fields that do not\n"
"                            change hop to hop lies in FROM-TO (0-4294967295)\n"
"      --flow-filter EXPR    export only the records EXPR matches, e.g.\n"
"                            'dst_port == 443 and bidirectional_packets > 10'\n"
"      --flow-sample N       export 1 in N flows, chosen by a hash of the flow key\n"
"      --dynamic-timeouts    shorten the idle timeout as the flow cache fills\n"
"plugins (per-flow features; see README):\n"
"  -P, --plugin NAME|PATH[:ARGS]   load a plugin: built-in splt, flowstats,\n"
"                            early-classify, or a shared object (./my.so); ARGS go to\n"
"                            its init; several -P allowed\n"
"      --plugin-pen N        enterprise number of plugin fields (default 32473)\n"
"      --early-expire        plugins that predict (early-classify) export the flow\n"
"                            right after their prediction\n"
"service:\n"
"      --config FILE         read options from FILE first: one long option a line,\n"
"                            'name = value' or a flag's name; the command line wins\n"
"  -u, --user USER           after opening the capture, sockets and files, run as USER\n"
"other:\n"
"      --stats S             print statistics every S seconds (and at exit)\n"
"  -q, --quiet               no informational messages\n"
"  -h, --help, --version\n", out);
}

static void set_defaults(struct options *o)
{
    memset(o, 0, sizeof *o);
    o->snaplen = 65535;
    o->capture_buffer_mib = 64;
    o->idle_us = 30ull * 1000000;
    o->active_us = 300ull * 1000000;
    o->tcp_close_us = 2ull * 1000000;
    o->max_flows = 1000000;
    o->template_refresh_us = 60ull * 1000000;
    o->mtu = 0;         /* from the route to the collector (export.c) */
    o->queue_bytes = 16ull << 20;
    o->drain_us = 10ull * 1000000;
    o->dissect = true;
    o->decode_tunnels = true;
    o->max_tcp_dissections = 10;
    o->max_udp_dissections = 16;
    o->export_version = 10;
    o->template_refresh_packets = 20;
    o->plugin_pen = NFP_DEFAULT_PEN;
    o->workers = 1;
}

static int bad(const char *opt, const char *val, const char *want)
{
    log_error("%s '%s': %s", opt, val, want);
    return -1;
}

static int parse_number(const char *opt, const char *val, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!parse_u64(val, min, max, out)) {
        char want[96];
        snprintf(want, sizeof want, "expected a whole number from %llu to %llu",
                 (unsigned long long)min, (unsigned long long)max);
        return bad(opt, val, want);
    }
    return 0;
}

static int parse_timeout(const char *opt, const char *val, uint64_t *out)
{
    if (!parse_seconds_us(val, 100000000ull, out))
        return bad(opt, val, "expected seconds (e.g. 30 or 0.5)");
    return 0;
}

static int check_export_options(const struct options *o)
{
    if (o->biflow && o->export_version != 10) {
        log_error("--biflow needs IPFIX (-V 10): NetFlow v%d exports one record per direction",
                  o->export_version);
        return -1;
    }
    if (!!o->tls_cert != !!o->tls_key) {
        log_error("--tls-cert and --tls-key go together (a certificate needs its key)");
        return -1;
    }
    return 0;
}

/* A conversion other than %%: without one, every interval would write the
 * same file. */
static bool has_time_conversion(const char *pattern)
{
    for (const char *p = strchr(pattern, '%'); p; p = strchr(p + 2, '%'))
        if (p[1] != '%')
            return p[1] != '\0';
    return false;
}

static int check_rotation(const struct options *o)
{
    if (!o->rotate_us)
        return 0;
    if (!o->ipfix_file) {
        log_error("--rotate needs -o FILE: it starts a new output file every interval");
        return -1;
    }
    if (!has_time_conversion(o->ipfix_file)) {
        log_error("--rotate: -o '%s' has no strftime conversion, so every file would have the "
                  "same name (e.g. -o flows-%%Y%%m%%d%%H%%M.ipfix)", o->ipfix_file);
        return -1;
    }
    return 0;
}

/* The v5 header has 14 bits for the sampling interval. */
static int check_selection(const struct options *o)
{
    if (o->export_version == 5 && o->select.sample_n > 0x3FFF) {
        log_error("--sample %u: NetFlow v5 carries sampling intervals up to 16383 (use -V 9 or 10)",
                  o->select.sample_n);
        return -1;
    }
    return 0;
}

/* ntopng forgets a flow not updated for 60 s: a long flow must be exported
 * more often than that (the default active timeout is 300 s). */
#define ZMQ_ACTIVE_MAX_US (30ull * 1000000)

static bool has_zmq_collector(const struct options *o)
{
    for (int i = 0; i < o->ncollectors; i++)
        if (strncmp(o->collectors[i], "zmq://", 6) == 0 || strncmp(o->collectors[i], "zmq+", 4) == 0)
            return true;
    return false;
}

/* (said here, before main applies -q) */
static void adjust_for_zmq(struct options *o)
{
    if (!has_zmq_collector(o))
        return;
    if (o->read_file && !o->zmq_now && !o->quiet)
        log_info("zmq://: ntopng shows only flows near its own clock; to feed it a capture, "
                 "add --zmq-now");
    if (o->active_us <= ZMQ_ACTIVE_MAX_US)
        return;
    if (!o->quiet)
        log_info("--active-timeout %llu s lowered to 30 s: ntopng drops flows not updated for 60 s",
                 (unsigned long long)(o->active_us / 1000000));
    o->active_us = ZMQ_ACTIVE_MAX_US;
}

/* --csv -o FILE writes CSV to FILE, not IPFIX; without -o, CSV takes
 * stdout, which then carries no JSON. */
static int check_csv(struct options *o)
{
    if (!o->csv)
        return 0;
    if (o->rotate_us) {
        log_error("--rotate rotates IPFIX files, not --csv output");
        return -1;
    }
    if (!o->ipfix_file && o->json) {
        log_error("--csv and --json both write to stdout: give --csv an -o FILE");
        return -1;
    }
    o->csv_file = o->ipfix_file;
    o->ipfix_file = NULL;
    return 0;
}

/* Live captures choose their clock; a file's stamps are already taken. */
static int check_timestamp_type(const struct options *o)
{
    if (o->timestamp_type && o->read_file) {
        log_error("--timestamp-type chooses the clock of a live capture (-i); the packets of "
                  "-r %s were stamped when captured", o->read_file);
        return -1;
    }
    return 0;
}

static int check_consistency(struct options *o)
{
    if (o->list_fields)
        return 0;
    if (check_csv(o) < 0)
        return -1;
    if (check_export_options(o) < 0 || check_rotation(o) < 0 || check_selection(o) < 0 ||
        check_timestamp_type(o) < 0)
        return -1;
    if (!!o->interface == !!o->read_file) {
        log_error("give exactly one input: -i IFACE or -r FILE (see --help)");
        return -1;
    }
    if (o->ncollectors == 0 && !o->ipfix_file && !o->csv)
        o->json = true;
    if (o->idle_us == 0 || o->active_us == 0) {
        log_error("--idle-timeout and --active-timeout must be more than 0");
        return -1;
    }
    adjust_for_zmq(o);
    return 0;
}

/* One CPU number of a --cpus list, from the CPUs this process may run on. */
static bool cpu_usable(uint64_t cpu, const cpu_set_t *allowed)
{
    return cpu < CPU_SETSIZE && CPU_ISSET((int)cpu, allowed);
}

static int add_cpu_range(struct options *o, uint64_t lo, uint64_t hi, const char *arg,
                         const cpu_set_t *allowed)
{
    for (uint64_t c = lo; c <= hi; c++) {
        if (!cpu_usable(c, allowed)) {
            char want[96];
            snprintf(want, sizeof want, "CPU %llu is not one this process may use (see nproc, taskset -p $$)",
                     (unsigned long long)c);
            return bad("--cpus", arg, want);
        }
        if (o->ncpus == MAX_WORKERS)
            return bad("--cpus", arg, "more CPUs than the most workers (64)");
        o->cpus[o->ncpus++] = (int)c;
    }
    return 0;
}

/* "2", "0,2", "2-5,7": CPUs in the order workers take them. */
static int parse_cpus(const char *arg, struct options *o)
{
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) < 0)
        CPU_ZERO(&allowed);
    char buf[256];
    if (snprintf(buf, sizeof buf, "%s", arg) >= (int)sizeof buf)
        return bad("--cpus", arg, "list too long");
    o->ncpus = 0;
    char *save = NULL;
    for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *dash = strchr(item, '-');
        if (dash)
            *dash = '\0';
        uint64_t lo, hi;
        if (!parse_u64(item, 0, CPU_SETSIZE - 1, &lo) || !parse_u64(dash ? dash + 1 : item, lo, CPU_SETSIZE - 1, &hi))
            return bad("--cpus", arg, "expected CPU numbers and ranges, e.g. 2,3 or 2-5");
        if (add_cpu_range(o, lo, hi, arg, &allowed) < 0)
            return -1;
    }
    if (o->ncpus == 0)
        return bad("--cpus", arg, "expected CPU numbers and ranges, e.g. 2,3 or 2-5");
    return 0;
}

/* "FROM-TO", two 32-bit numbers, FROM <= TO. */
static int parse_hash_range(const char *arg, struct select_config *sc)
{
    char buf[32];
    const char *dash = strchr(arg, '-');
    uint64_t from, to;
    if (!dash || (size_t)(dash - arg) >= sizeof buf)
        return bad("--hash-select", arg, "expected FROM-TO, e.g. 0-429496729 (a tenth)");
    memcpy(buf, arg, (size_t)(dash - arg));
    buf[dash - arg] = '\0';
    if (!parse_u64(buf, 0, UINT32_MAX, &from) || !parse_u64(dash + 1, from, UINT32_MAX, &to))
        return bad("--hash-select", arg, "expected FROM-TO, 0 <= FROM <= TO <= 4294967295");
    sc->hash = true;
    sc->hash_from = (uint32_t)from;
    sc->hash_to = (uint32_t)to;
    return 0;
}

static int parse_selection(int c, const char *arg, struct options *o)
{
    uint64_t n;
    switch (c) {
    case OPT_SAMPLE:
        if (parse_number("--sample", arg, 1, UINT32_MAX, &n) < 0) return -1;
        o->select.sample_n = (uint32_t)n;
        return 0;
    case OPT_SAMPLE_MODE:
        if (strcmp(arg, "random") != 0 && strcmp(arg, "count") != 0)
            return bad("--sample-mode", arg, "expected 'random' or 'count'");
        o->select.mode = strcmp(arg, "count") == 0 ? SAMPLE_COUNT : SAMPLE_RANDOM;
        return 0;
    case OPT_SAMPLE_SEED: return parse_number("--sample-seed", arg, 0, UINT32_MAX, &o->select.seed);
    case OPT_HASH_SELECT: return parse_hash_range(arg, &o->select);
    case OPT_FLOW_FILTER: o->flow_filter = arg; return 0;
    case OPT_FLOW_SAMPLE:
        if (parse_number("--flow-sample", arg, 1, UINT32_MAX, &n) < 0) return -1;
        o->flow_sample = (uint32_t)n;
        return 0;
    default: o->dynamic_timeouts = true; return 0;
    }
}

static int parse_one(int c, const char *arg, struct options *o)
{
    uint64_t n;
    switch (c) {
    case 'i': o->interface = arg; return 0;
    case 'r': o->read_file = arg; return 0;
    case 'f': o->bpf = arg; return 0;
    case 's':
        if (parse_number("-s", arg, 64, 262144, &n) < 0) return -1;
        o->snaplen = (uint32_t)n;
        return 0;
    case 'c':
        if (o->ncollectors == MAX_COLLECTORS) {
            log_error("-c: at most %d collectors", MAX_COLLECTORS);
            return -1;
        }
        o->collectors[o->ncollectors++] = arg;
        return 0;
    case 'o': o->ipfix_file = arg; return 0;
    case OPT_ROTATE:
        if (parse_number("--rotate", arg, 1, 31622400, &n) < 0) return -1;
        o->rotate_us = n * 1000000;
        return 0;
    case 'V':
        if (!parse_u64(arg, 5, 10, &n) || (n != 5 && n != 9 && n != 10))
            return bad("-V", arg, "export format must be 10 (IPFIX), 9 (NetFlow v9) or 5 (NetFlow v5)");
        o->export_version = (int)n;
        return 0;
    case 'T': o->template_name = arg; return 0;
    case 'P':
        if (o->nplugins == MAX_PLUGIN_OPTIONS) {
            log_error("-P: at most %d plugins", MAX_PLUGIN_OPTIONS);
            return -1;
        }
        o->plugins[o->nplugins++] = arg;
        return 0;
    case OPT_PLUGIN_PEN:
        if (parse_number("--plugin-pen", arg, 1, UINT32_MAX, &n) < 0) return -1;
        if (n == 29305)
            return bad("--plugin-pen", arg, "29305 marks RFC 5103 reverse elements; use another");
        o->plugin_pen = (uint32_t)n;
        return 0;
    case OPT_EARLY_EXPIRE: o->early_expire = true; return 0;
    case OPT_TMPL_REFRESH_PKTS:
        if (parse_number("--template-refresh-packets", arg, 0, 1000000, &n) < 0) return -1;
        o->template_refresh_packets = (uint32_t)n;
        return 0;
    case OPT_LIST_FIELDS: o->list_fields = true; return 0;
    case OPT_COLLECTOR_MODE:
        if (strcmp(arg, "all") != 0 && strcmp(arg, "balance") != 0)
            return bad("--collector-mode", arg, "expected 'all' or 'balance'");
        o->balance = strcmp(arg, "balance") == 0;
        return 0;
    case OPT_TLS_CA: o->tls_ca = arg; return 0;
    case OPT_TLS_CERT: o->tls_cert = arg; return 0;
    case OPT_TLS_KEY: o->tls_key = arg; return 0;
    case 'O':
        if (parse_number("-O", arg, 0, UINT32_MAX, &n) < 0) return -1;
        o->domain = (uint32_t)n;
        return 0;
    case 'q': o->quiet = true; return 0;
    case 'u': o->user = arg; return 0;
    case OPT_JSON: o->json = true; return 0;
    case OPT_BIFLOW: o->biflow = true; return 0;
    case OPT_IDLE: return parse_timeout("--idle-timeout", arg, &o->idle_us);
    case OPT_ACTIVE: return parse_timeout("--active-timeout", arg, &o->active_us);
    case OPT_TCP_CLOSE: return parse_timeout("--tcp-close-timeout", arg, &o->tcp_close_us);
    case OPT_TMPL_REFRESH: return parse_timeout("--template-refresh", arg, &o->template_refresh_us);
    case OPT_STATS: return parse_timeout("--stats", arg, &o->stats_interval_us);
    case OPT_DRAIN: return parse_timeout("--drain-timeout", arg, &o->drain_us);
    case OPT_MAX_FLOWS:
        if (parse_number("--max-flows", arg, 1, 100000000, &n) < 0) return -1;
        o->max_flows = (uint32_t)n;
        return 0;
    case OPT_MTU:
        if (strcmp(arg, "auto") == 0) {
            o->mtu = 0;
            return 0;
        }
        if (parse_number("--mtu", arg, 512, 65000, &n) < 0) return -1;
        o->mtu = (uint16_t)n;
        return 0;
    case OPT_EXPORT_RATE: return parse_number("--export-rate", arg, 1, 100000000, &o->export_rate);
    case OPT_QUEUE: return parse_number("--queue-size", arg, 65536, 1ull << 34, &o->queue_bytes);
    case OPT_NO_DISSECT: o->dissect = false; return 0;
    case OPT_NO_DECODE_TUNNELS: o->decode_tunnels = false; return 0;
    case OPT_APP_ID_PEN: o->app_id_pen = true; return 0;
    case OPT_MAX_TCP:
        if (parse_number("--max-tcp-dissections", arg, 1, 1000, &n) < 0) return -1;
        o->max_tcp_dissections = (uint32_t)n;
        return 0;
    case OPT_MAX_UDP:
        if (parse_number("--max-udp-dissections", arg, 1, 1000, &n) < 0) return -1;
        o->max_udp_dissections = (uint32_t)n;
        return 0;
    case OPT_WORKERS:
        if (parse_number("--workers", arg, 1, MAX_WORKERS, &n) < 0) return -1;
        o->workers = (int)n;
        return 0;
    case OPT_CPUS: return parse_cpus(arg, o);
    case OPT_CAPTURE_BUFFER:
        if (parse_number("--capture-buffer", arg, 1, 2047, &n) < 0) return -1;
        o->capture_buffer_mib = (uint32_t)n;
        return 0;
    case OPT_SAMPLE:
    case OPT_SAMPLE_MODE:
    case OPT_SAMPLE_SEED:
    case OPT_HASH_SELECT:
    case OPT_FLOW_FILTER:
    case OPT_FLOW_SAMPLE:
    case OPT_DYNAMIC_TIMEOUTS:
        return parse_selection(c, arg, o);
    case OPT_ZMQ_NOW: o->zmq_now = true; return 0;
    case OPT_ZMQ_COMPRESS: o->zmq_compress = true; return 0;
    case OPT_CSV: o->csv = true; return 0;
    case OPT_JSON_FORMAT:
        if (strcmp(arg, "nfstream") != 0 && strcmp(arg, "ecs") != 0)
            return bad("--json-format", arg, "expected 'nfstream' or 'ecs'");
        o->json_format = strcmp(arg, "ecs") == 0 ? JSON_FORMAT_ECS : JSON_FORMAT_NFSTREAM;
        return 0;
    case OPT_TIMESTAMP_TYPE: o->timestamp_type = arg; return 0;
    case OPT_DPI_HOT_FLOWS:
        if (parse_number("--dpi-hot-flows", arg, 1, 65535, &n) < 0) return -1;
        o->dpi_hot_flows = (uint32_t)n;
        return 0;
    default:
        return -1;
    }
}

/* ---- the config file (--config) -------------------------------------------- */

#define CONFIG_MAX_BYTES (1 << 20)

/* The text of the last config file read: the options point into it, so it
 * lives until the next --config is read (or exit). */
static char *config_text;

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        log_error("cannot read config file %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t n = 0;
    char *buf = read_stream_text(f, CONFIG_MAX_BYTES, &n);
    const char *read_error = !buf && errno != ENOMEM && errno != EFBIG ? strerror(errno) : NULL;
    bool too_large = !buf && errno == EFBIG;
    fclose(f);
    const char *why = read_error ? read_error : too_large ? "larger than 1 MiB"
                    : !buf ? "out of memory"
                    : memchr(buf, '\0', n) ? "not a text file (NUL byte)" : NULL;
    if (why) {
        log_error("cannot read config file %s: %s", path, why);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Keys are the long options' names, but for those that only make sense on
 * a command line. */
static bool command_line_only(const char *key)
{
    static const char *const only[] = {"help", "version", "config"};
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++)
        if (strcmp(key, only[i]) == 0)
            return true;
    return false;
}

static const struct option *config_key(const char *key)
{
    for (const struct option *lo = long_opts; lo->name; lo++)
        if (strcmp(key, lo->name) == 0)
            return lo;
    return NULL;
}

/* A flag is on by its name alone or "= yes"; "= no" leaves it off. */
static int apply_config_flag(const struct option *lo, const char *value, struct options *o)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    if (!value)
        return parse_one(lo->val, NULL, o);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcmp(value, yes[i]) == 0)
            return parse_one(lo->val, NULL, o);
        if (strcmp(value, no[i]) == 0)
            return 0;
    }
    log_error("'%s' is a flag: write '%s', '%s = yes' or '%s = no', not '%s'",
              lo->name, lo->name, lo->name, lo->name, value);
    return -1;
}

/* "name = value", "name" (a flag), a comment or a blank line. */
static int apply_config_line(char *line, struct options *o)
{
    line = trim(line);
    if (*line == '\0' || *line == '#')
        return 0;
    char *eq = strchr(line, '=');
    char *value = NULL;
    if (eq) {
        *eq = '\0';
        value = trim(eq + 1);
    }
    const char *key = trim(line);
    if (command_line_only(key)) {
        log_error("'%s' is for the command line only", key);
        return -1;
    }
    const struct option *lo = config_key(key);
    if (!lo) {
        log_error("unknown option '%s'", key);
        return -1;
    }
    if (lo->has_arg == no_argument)
        return apply_config_flag(lo, value, o);
    if (!value || !*value) {
        log_error("option '%s' needs a value ('%s = VALUE')", key, key);
        return -1;
    }
    return parse_one(lo->val, value, o);
}

/* Every line through the command line's own parser; an error names the file
 * and the line. */
static int load_config(const char *path, struct options *o)
{
    free(config_text);
    config_text = read_text_file(path);
    if (!config_text)
        return -1;
    char *line = config_text;
    for (unsigned lineno = 1; line; lineno++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char where[300];
        snprintf(where, sizeof where, "%s:%u", path, lineno);
        log_set_context(where);
        int rc = apply_config_line(line, o);
        log_set_context(NULL);
        if (rc < 0)
            return -1;
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* ---- the command line ------------------------------------------------------ */

static const char short_opts[] = ":i:r:f:s:c:o:O:qhV:T:P:u:";

/* --config is read before the other options, whatever its place: they
 * override the file. The last --config counts. */
static const char *config_path(int argc, char **argv)
{
    const char *path = NULL;
    opterr = 0;
    optind = 0;
    int c;
    while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1)
        if (c == OPT_CONFIG)
            path = optarg;
    return path;
}

/* A repeatable option on the command line replaces the file's values rather
 * than adding to them. */
struct cmdline_lists {
    bool collectors, plugins;
};

static void replace_file_list(int c, struct options *o, struct cmdline_lists *seen)
{
    if (c == 'c' && !seen->collectors) {
        o->ncollectors = 0;
        seen->collectors = true;
    } else if (c == 'P' && !seen->plugins) {
        o->nplugins = 0;
        seen->plugins = true;
    }
}

int options_parse(int argc, char **argv, struct options *o)
{
    set_defaults(o);
    const char *config = config_path(argc, argv);
    if (config && load_config(config, o) < 0)
        return -1;
    opterr = 0;
    optind = 0;
    struct cmdline_lists seen = {false, false};
    int c;
    while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return 1;
        case OPT_VERSION:
            printf("nfprobe %s\n", PACKAGE_VERSION);
            return 1;
        case OPT_CONFIG:
            break;
        case '?':
            if (optopt)
                log_error("unknown option '-%c' (see --help)", optopt);
            else
                log_error("unknown option '%s' (see --help)", argv[optind - 1]);
            return -1;
        case ':':
            log_error("option '%s' needs a value (see --help)", argv[optind - 1]);
            return -1;
        default:
            replace_file_list(c, o, &seen);
            if (parse_one(c, optarg, o) < 0)
                return -1;
        }
    }
    if (optind < argc) {
        log_error("unexpected argument '%s' (see --help)", argv[optind]);
        return -1;
    }
    return check_consistency(o);
}
