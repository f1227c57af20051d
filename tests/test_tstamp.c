/* test_tstamp.c — nanosecond times end to end: the NTP timestamps of IPFIX
 * dateTimeMicroseconds/Nanoseconds at their edges, a nanosecond pcap file's
 * stamps through the capture, and a flow's first and last times at
 * sub-microsecond precision (packets out of order within one microsecond)
 * into its record and the flowStart/End Micro/Nanoseconds elements. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "elements.h"
#include "meter.h"
#include "ntptime.h"
#include "unit.h"

#define NTP_1970 ((uint64_t)NTP_UNIX_OFFSET << 32)

/* What a decoder that truncates reads back (tshark, collector-test). */
static uint64_t ns_back(uint64_t ntp)
{
    return ((ntp & 0xffffffffu) * 1000000000u) >> 32;
}

static uint64_t us_back(uint64_t ntp)
{
    return ((ntp & 0xffffffffu) * 1000000u) >> 32;
}

/* What a decoder computing in doubles reads (tshark 4.0: nanoseconds). */
static uint64_t ns_back_double(uint64_t ntp)
{
    return (uint64_t)((double)(ntp & 0xffffffffu) * (1e9 / 4294967296.0));
}

/* A whole second: the fraction is one unit (2^-32 s; 2^-21 s for
 * microseconds), which reads back as 0. */
START_TEST(ntp_whole_seconds)
{
    ck_assert_uint_eq(ntp_from_unix_ns(0), NTP_1970 | 1);
    ck_assert_uint_eq(ntp_from_unix_us(0), NTP_1970 | 1u << 11);
    ck_assert_uint_eq(ns_back(ntp_from_unix_ns(0)), 0);
    ck_assert_uint_eq(us_back(ntp_from_unix_us(0)), 0);
    uint64_t s = (uint64_t)(1700000000u + NTP_UNIX_OFFSET) << 32;
    ck_assert_uint_eq(ntp_from_unix_ns(1700000000ull * 1000000000u), s | 1);
    ck_assert_uint_eq(ntp_from_unix_us(1700000000ull * 1000000u), s | 1u << 11);
    /* era 1 starts 2036-02-07 06:28:16 UTC: the seconds wrap to 0 */
    ck_assert_uint_eq(ntp_from_unix_ns(2085978496ull * 1000000000u) >> 32, 0);
}
END_TEST

START_TEST(ntp_fraction_edges)
{
    uint64_t s = 1700000000ull;
    /* half a second, exact in binary: one unit above, so that a decoder
     * multiplying by 10^9 / 2^32 in floating point does not read .499999999 */
    ck_assert_uint_eq(ntp_from_unix_ns(s * 1000000000u + 500000000u) & 0xffffffffu, 0x80000001u);
    ck_assert_uint_eq(ntp_from_unix_us(s * 1000000u + 500000u) & 0xffffffffu, 0x80000800u);
    ck_assert_uint_eq((uint64_t)((double)0x80000001u * (1e9 / 4294967296.0)), 500000000u);
    /* the last nanosecond and microsecond of a second stay in it */
    uint64_t last_ns = ntp_from_unix_ns(s * 1000000000u + 999999999u);
    ck_assert_uint_eq(last_ns >> 32, s + NTP_UNIX_OFFSET);
    ck_assert_uint_eq(last_ns & 0xffffffffu, 0xfffffffcu);
    ck_assert_uint_eq(ns_back(last_ns), 999999999u);
    uint64_t last_us = ntp_from_unix_us(s * 1000000u + 999999u);
    ck_assert_uint_eq(last_us >> 32, s + NTP_UNIX_OFFSET);
    ck_assert_uint_eq(last_us & 0xffffffffu, 2097150u << 11);
    ck_assert_uint_eq(us_back(last_us), 999999u);
    ck_assert_uint_eq(ns_back(ntp_from_unix_ns(s * 1000000000u + 1)), 1);
}
END_TEST

/* Every microsecond of a second: the low 11 bits zero (RFC 7011 §6.1.9),
 * and the microsecond reads back, exactly or through doubles; nanoseconds
 * at both ends of the second and spread over it read back too. */
START_TEST(ntp_reads_back)
{
    uint64_t base_us = 1700000000ull * 1000000u, base_ns = base_us * 1000u;
    for (uint64_t us = 0; us < 1000000u; us++) {
        uint64_t ntp = ntp_from_unix_us(base_us + us);
        if ((ntp & 0x7ffu) != 0 || us_back(ntp) != us || ns_back_double(ntp) / 1000 != us)
            ck_abort_msg("microsecond %llu: ntp %016llx", (unsigned long long)us, (unsigned long long)ntp);
    }
    for (uint64_t i = 0; i < 1000000u; i++) {
        uint64_t ns[3] = {i, 999999999u - i, i * 999u + 7};
        for (int k = 0; k < 3; k++)
            if (ns_back(ntp_from_unix_ns(base_ns + ns[k])) != ns[k] ||
                ns_back_double(ntp_from_unix_ns(base_ns + ns[k])) != ns[k])
                ck_abort_msg("nanosecond %llu", (unsigned long long)ns[k]);
    }
}
END_TEST

/* ---- a nanosecond file through the capture ---------------------------------- */

static void put32(FILE *f, uint32_t v) { ck_assert_int_eq(fwrite(&v, 4, 1, f), 1); }
static void put16(FILE *f, uint16_t v) { ck_assert_int_eq(fwrite(&v, 2, 1, f), 1); }

static void write_pcap(const char *path, int nano, const uint32_t (*stamps)[2], int n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    put32(f, nano ? 0xa1b23c4du : 0xa1b2c3d4u);
    put16(f, 2), put16(f, 4), put32(f, 0), put32(f, 0), put32(f, 65535), put32(f, 1);
    uint8_t frame[60] = {0};
    for (int i = 0; i < n; i++) {
        put32(f, stamps[i][0]), put32(f, stamps[i][1]), put32(f, sizeof frame), put32(f, sizeof frame);
        ck_assert_int_eq(fwrite(frame, sizeof frame, 1, f), 1);
    }
    ck_assert_int_eq(fclose(f), 0);
}

/* The file's records (seconds, fraction in its unit) come out as ts_us and
 * the nanoseconds past it. */
static void read_stamps(int nano, const uint32_t (*stamps)[2], int n)
{
    char path[] = "/tmp/nfprobe-tstamp-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_pcap(path, nano, stamps, n);
    char err[512];
    struct capture *c = capture_open_file(path, NULL, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    struct capture_packet pkts[8];
    enum capture_result rc;
    ck_assert_uint_eq(capture_next_batch(c, pkts, 8, &rc), (unsigned)n);
    for (int i = 0; i < n; i++) {
        uint64_t want_ns = (uint64_t)stamps[i][0] * 1000000000u + (uint64_t)stamps[i][1] * (nano ? 1 : 1000);
        ck_assert_uint_eq(pkts[i].ts_us * 1000 + pkts[i].ts_sub_ns, want_ns);
        ck_assert_uint_lt(pkts[i].ts_sub_ns, 1000);
    }
    capture_close(c);
    unlink(path);
}

START_TEST(nanosecond_file)
{
    static const uint32_t ns[][2] = {{1700000000u, 0}, {1700000000u, 999999999u}, {1700000001u, 123456789u},
                                     {1700000001u, 999999u}};
    read_stamps(1, ns, 4);
}
END_TEST

START_TEST(microsecond_file)
{
    static const uint32_t us[][2] = {{1700000000u, 999999u}, {1700000001u, 1u}};
    read_stamps(0, us, 2);
}
END_TEST

/* ---- a flow's times ------------------------------------------------------------ */

static struct flow_record rec;
static int nrec;

static void keep(void *ctx, const struct flow_record *r)
{
    (void)ctx;
    rec = *r;
    nrec++;
}

static void send_at(struct meter *m, uint64_t ns, int reply)
{
    struct packet_view pv;
    memset(&pv, 0, sizeof pv);
    pv.ts_us = ns / 1000;
    pv.ts_sub_ns = (uint16_t)(ns % 1000);
    pv.ip_version = 4;
    pv.proto = 17;
    pv.src[0] = pv.dst[0] = 10;
    pv.src[3] = reply ? 2 : 1;
    pv.dst[3] = reply ? 1 : 2;
    pv.sport = reply ? 53 : 40000;
    pv.dport = reply ? 40000 : 53;
    pv.ip_len = 40;
    pv.caplen = pv.wirelen = 54;
    meter_packet(m, DECODE_OK, &pv);
}

static uint64_t read_element(const char *name, int view)
{
    const struct element *el = elements_find(name);
    ck_assert_msg(el != NULL, "%s", name);
    struct elem_value v;
    memset(&v, 0, sizeof v);
    ck_assert(element_get(el, &rec, view, &v));
    return v.u;
}

START_TEST(flow_times_in_nanoseconds)
{
    struct meter m;
    struct meter_config cfg = {30000000u, 300000000u, 2000000u, 16};
    ck_assert_int_eq(meter_init(&m, &cfg, keep, NULL), 0);
    uint64_t t = 1700000000ull * 1000000000u;
    /* out of order within one microsecond: the earliest and the latest win */
    send_at(&m, t + 500, 0);
    send_at(&m, t + 499, 0);
    send_at(&m, t + 2000001, 0);
    send_at(&m, t + 2000000, 0);
    send_at(&m, t + 1999, 1);
    meter_flush(&m);
    meter_free(&m);
    ck_assert_int_eq(nrec, 1);
    ck_assert_uint_eq(rec.first_ns[0], t + 499);
    ck_assert_uint_eq(rec.last_ns[0], t + 2000001);
    ck_assert_uint_eq(rec.first_ns[1], t + 1999);
    ck_assert_uint_eq(rec.last_ns[1], t + 1999);
    ck_assert_uint_eq(rec.first_ms[0], t / 1000000);        /* milliseconds as before */
    ck_assert_uint_eq(read_element("flowStartNanoseconds", VIEW_FWD), t + 499);
    ck_assert_uint_eq(read_element("flowEndNanoseconds", VIEW_FWD), t + 2000001);
    ck_assert_uint_eq(read_element("flowStartMicroseconds", VIEW_FWD), (t + 499) / 1000);
    ck_assert_uint_eq(read_element("flowEndMicroseconds", VIEW_FWD), (t + 2000001) / 1000);
    ck_assert_uint_eq(read_element("flowStartNanoseconds", VIEW_REV), t + 1999);
    ck_assert_uint_eq(read_element("flowEndMicroseconds", VIEW_REV), (t + 1999) / 1000);
    ck_assert_uint_eq(read_element("flowStartNanoseconds", VIEW_BIFLOW), t + 499);
    ck_assert_uint_eq(read_element("flowEndNanoseconds", VIEW_BIFLOW), t + 2000001);
}
END_TEST

Suite *tstamp_suite(void)
{
    Suite *s = suite_create("tstamp");
    TCase *tc = tcase_create("tstamp");
    tcase_add_test(tc, ntp_whole_seconds);
    tcase_add_test(tc, ntp_fraction_edges);
    tcase_add_test(tc, ntp_reads_back);
    tcase_add_test(tc, nanosecond_file);
    tcase_add_test(tc, microsecond_file);
    tcase_add_test(tc, flow_times_in_nanoseconds);
    suite_add_tcase(s, tc);
    return s;
}
