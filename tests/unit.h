/* unit.h — the Check suites tests/unit runs (one per probe module). */
#ifndef NFPROBE_TESTS_UNIT_H
#define NFPROBE_TESTS_UNIT_H

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A shared test capture: in $DATA (make check sets it from configure's
 * TESTDATA, so make distcheck finds them too), else in ../shared/testdata/pcap
 * beside top_srcdir or the source tree this was built from. */
static inline const char *shared_capture(const char *name)
{
    static char path[1024];
    const char *data = getenv("DATA");
    if (data && *data) {
        snprintf(path, sizeof path, "%s/%s", data, name);
        return path;
    }
    const char *top = getenv("top_srcdir");
    snprintf(path, sizeof path, "%s/../shared/testdata/pcap/%s", top ? top : TOP_SRCDIR, name);
    return path;
}

Suite *decode_suite(void);
Suite *flowkey_suite(void);
Suite *cache_suite(void);
Suite *meter_suite(void);
Suite *frag_suite(void);
Suite *elements_suite(void);
Suite *netflow_suite(void);
Suite *dpi_suite(void);
Suite *plugin_suite(void);
Suite *splt_flowstats_suite(void);
Suite *early_classify_suite(void);
Suite *ring_suite(void);
Suite *capture_suite(void);
Suite *meter_batch_suite(void);
Suite *options_suite(void);
Suite *selection_suite(void);
Suite *tunnel_suite(void);
Suite *ntopng_suite(void);
Suite *csv_suite(void);
Suite *msgqueue_suite(void);
Suite *tstamp_suite(void);

/* An IPv4 TCP flow 192.0.2.HOST:40000 -> 198.51.100.1:443, 3 and 2 packets
 * (180 and 120 bytes), flags 0x1b and 0x12, from first_ms to last_ms
 * (test_netflow.c; test_ntopng.c uses it too). */
struct flow_record;
void ipv4_record(struct flow_record *r, uint64_t first_ms, uint64_t last_ms, uint8_t host);

#endif
