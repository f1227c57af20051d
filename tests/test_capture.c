/* test_capture.c — the capture reader against libpcap itself: classic pcap
 * files are read from a mapping by nfprobe (probe/input/capture.c), so every
 * packet (time, lengths, bytes), every error message and the end must be
 * what pcap_next_ex() gives for the same file. The files are written here:
 * both byte orders, µs and ns, extreme time fields, records longer than the
 * snapshot, absurd lengths, files cut inside a record header or its data, a
 * BPF filter; a pcapng file goes through libpcap (copied per batch). Batches
 * of any size give the packets one at a time does. */
#include <check.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"
#include "unit.h"

/* ---- writing test files ------------------------------------------------------ */

struct writer {
    FILE *fp;
    int swapped;
};

static void put32(struct writer *w, uint32_t v)
{
    if (w->swapped)
        v = __builtin_bswap32(v);
    ck_assert_int_eq(fwrite(&v, 4, 1, w->fp), 1);
}

static void put16(struct writer *w, uint16_t v)
{
    if (w->swapped)
        v = __builtin_bswap16(v);
    ck_assert_int_eq(fwrite(&v, 2, 1, w->fp), 1);
}

static struct writer open_pcap(const char *path, int swapped, int nano, uint32_t snaplen, uint32_t link)
{
    struct writer w = {fopen(path, "wb"), swapped};
    ck_assert_ptr_nonnull(w.fp);
    put32(&w, nano ? 0xa1b23c4du : 0xa1b2c3d4u);
    put16(&w, 2);
    put16(&w, 4);
    put32(&w, 0);
    put32(&w, 0);
    put32(&w, snaplen);
    put32(&w, link);
    return w;
}

/* An Ethernet/IPv4/UDP-looking frame of caplen bytes (content is irrelevant
 * here except to the filter test: byte i is i * seed). */
static void put_record(struct writer *w, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t wirelen,
                       uint32_t data_bytes, uint8_t seed)
{
    put32(w, sec);
    put32(w, frac);
    put32(w, caplen);
    put32(w, wirelen);
    for (uint32_t i = 0; i < data_bytes; i++)
        ck_assert_int_ne(fputc((uint8_t)(i * seed), w->fp), EOF);
}

static const char *tmp_path(const char *name)
{
    static char path[4][512];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/nfprobe-test-capture-%d-%s", P_tmpdir, (int)getpid(), name);
    return p;
}

/* ---- compare with libpcap ---------------------------------------------------- */

/* Reads path with nfprobe's capture in batches of `batch` and with
 * pcap_next_ex(); asserts the same packets, then the same end (and error
 * message). Returns the packets read. */
static unsigned compare_with_libpcap(const char *path, const char *bpf, unsigned batch)
{
    char err[512], ebuf[PCAP_ERRBUF_SIZE];
    struct capture *c = capture_open_file(path, bpf, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    ck_assert_msg(p != NULL, "%s", ebuf);
    if (bpf) {
        struct bpf_program prog;
        ck_assert_int_eq(pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN), 0);
        ck_assert_int_eq(pcap_setfilter(p, &prog), 0);
        pcap_freecode(&prog);
    }
    unsigned seen = 0;
    enum capture_result rc = CAPTURE_PACKET;
    while (rc == CAPTURE_PACKET) {
        struct capture_packet pkts[CAPTURE_BATCH_MAX];
        unsigned n = capture_next_batch(c, pkts, batch, &rc);
        ck_assert_uint_le(n, batch);
        for (unsigned i = 0; i < n; i++, seen++) {
            struct pcap_pkthdr *h;
            const u_char *data;
            ck_assert_int_eq(pcap_next_ex(p, &h, &data), 1);
            uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec / 1000u;
            ck_assert_msg(pkts[i].ts_us == ts, "packet %u: time %llu, libpcap %llu", seen,
                          (unsigned long long)pkts[i].ts_us, (unsigned long long)ts);
            ck_assert_uint_eq(pkts[i].clock_us, 0);
            ck_assert_uint_eq(pkts[i].caplen, h->caplen);
            ck_assert_uint_eq(pkts[i].wirelen, h->len);
            ck_assert_int_eq(memcmp(pkts[i].data, data, h->caplen), 0);
        }
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    int prc = pcap_next_ex(p, &h, &data);
    if (rc == CAPTURE_END) {
        ck_assert_int_eq(prc, PCAP_ERROR_BREAK);
    } else {
        ck_assert_int_eq(rc, CAPTURE_ERROR);
        ck_assert_int_eq(prc, PCAP_ERROR);
        char want[PCAP_ERRBUF_SIZE + 600];
        snprintf(want, sizeof want, "%s: %s", path, pcap_geterr(p));
        ck_assert_str_eq(capture_error(c), want);
    }
    pcap_close(p);
    capture_close(c);
    return seen;
}

static unsigned compare_all_batch_sizes(const char *path, const char *bpf)
{
    unsigned n = compare_with_libpcap(path, bpf, 1);
    ck_assert_uint_eq(compare_with_libpcap(path, bpf, 3), n);
    ck_assert_uint_eq(compare_with_libpcap(path, bpf, CAPTURE_BATCH_MAX), n);
    return n;
}

/* Times at the edges of libpcap's 32-bit signed fields. */
static void write_time_edges(const char *path, int swapped, int nano)
{
    static const uint32_t secs[] = {0, 1700000000u, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    static const uint32_t fracs[] = {0, 999999, 1000000, 999999999, 0x7fffffffu, 0x80000000u, 0xffffffffu};
    struct writer w = open_pcap(path, swapped, nano, 65535, 1);
    uint8_t seed = 1;
    for (size_t i = 0; i < sizeof secs / sizeof secs[0]; i++)
        for (size_t j = 0; j < sizeof fracs / sizeof fracs[0]; j++, seed++)
            put_record(&w, secs[i], fracs[j], 60, 60 + (uint32_t)j, 60, seed);
    fclose(w.fp);
}

START_TEST(times_and_bytes_as_libpcap_in_every_byte_order_and_precision)
{
    for (int swapped = 0; swapped < 2; swapped++) {
        for (int nano = 0; nano < 2; nano++) {
            const char *path = tmp_path("times.pcap");
            write_time_edges(path, swapped, nano);
            ck_assert_uint_eq(compare_all_batch_sizes(path, NULL), 35);
            unlink(path);
        }
    }
}
END_TEST

START_TEST(record_longer_than_snapshot_is_cut_as_libpcap_cuts_it)
{
    for (int swapped = 0; swapped < 2; swapped++) {
        const char *path = tmp_path("long.pcap");
        struct writer w = open_pcap(path, swapped, 0, 64, 1);
        put_record(&w, 1, 0, 100, 100, 100, 3);     /* 36 bytes beyond the snapshot, skipped */
        put_record(&w, 2, 0, 64, 1500, 64, 5);
        fclose(w.fp);
        ck_assert_uint_eq(compare_all_batch_sizes(path, NULL), 2);
        unlink(path);
    }
}
END_TEST

/* Each damaged file: its good records first, then libpcap's error. */
START_TEST(damaged_files_end_with_libpcaps_error)
{
    struct {
        const char *what;
        uint32_t snaplen, caplen, data_bytes, cut;   /* cut: bytes of the last record kept, 0 all */
    } cases[] = {
        {"absurd caplen", 65535, 262145, 0, 0},
        {"huge caplen", 65535, 0xffffffffu, 0, 0},
        {"header cut", 65535, 60, 60, 5},
        {"data cut", 65535, 100, 100, 16 + 50},
        {"cut before the snapshot", 64, 100, 100, 16 + 30},
        {"cut after the snapshot", 64, 100, 100, 16 + 80},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = tmp_path("damaged.pcap");
        struct writer w = open_pcap(path, 0, 0, cases[i].snaplen, 1);
        put_record(&w, 1, 0, 60, 60, 60, 1);
        put_record(&w, 2, 0, 60, 60, 60, 2);
        long good = ftell(w.fp);
        put_record(&w, 3, 0, cases[i].caplen, 60, cases[i].data_bytes, 3);
        fclose(w.fp);
        if (cases[i].cut)
            ck_assert_int_eq(truncate(path, good + (long)cases[i].cut), 0);
        ck_assert_msg(compare_all_batch_sizes(path, NULL) == 2, "%s", cases[i].what);
        unlink(path);
    }
}
END_TEST

START_TEST(filter_keeps_what_libpcap_keeps)
{
    const char *path = tmp_path("filter.pcap");
    struct writer w = open_pcap(path, 1, 1, 65535, 1);
    for (uint32_t i = 0; i < 200; i++)
        put_record(&w, 10 + i, i, 40 + i % 50, 40 + i % 50, 40 + i % 50, (uint8_t)i);
    fclose(w.fp);
    unsigned kept = compare_all_batch_sizes(path, "len > 70");
    ck_assert_uint_eq(kept, 4 * 19);    /* lengths 71..89 in each run of 50 */
    unlink(path);
}
END_TEST

/* Real captures: a classic one (mapped) and pcapng ones (libpcap, staged). */
START_TEST(real_captures_as_libpcap)
{
    ck_assert_uint_gt(compare_all_batch_sizes(shared_capture("1kxun.pcap"), NULL), 1000);
    ck_assert_uint_gt(compare_all_batch_sizes(shared_capture("dhcp_big_endian.pcapng"), NULL), 0);
    ck_assert_uint_gt(compare_all_batch_sizes(shared_capture("esp.pcapng"), "ip"), 0);
}
END_TEST

START_TEST(break_ends_the_input)
{
    struct capture *c;
    char err[512];
    c = capture_open_file(shared_capture("1kxun.pcap"), NULL, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    struct capture_packet pkts[4];
    enum capture_result rc;
    ck_assert_uint_eq(capture_next_batch(c, pkts, 4, &rc), 4);
    ck_assert_int_eq(rc, CAPTURE_PACKET);
    capture_break(c);
    ck_assert_uint_eq(capture_next_batch(c, pkts, 4, &rc), 0);
    ck_assert_int_eq(rc, CAPTURE_END);
    capture_close(c);
}
END_TEST

Suite *capture_suite(void)
{
    Suite *s = suite_create("capture");
    TCase *tc = tcase_create("capture");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, times_and_bytes_as_libpcap_in_every_byte_order_and_precision);
    tcase_add_test(tc, record_longer_than_snapshot_is_cut_as_libpcap_cuts_it);
    tcase_add_test(tc, damaged_files_end_with_libpcaps_error);
    tcase_add_test(tc, filter_keeps_what_libpcap_keeps);
    suite_add_tcase(s, tc);
    /* These read ../shared captures: a build without them (a Debian package
     * build, debian/rules) leaves them out with CK_EXCLUDE_TAGS. */
    tc = tcase_create("shared captures");
    tcase_set_tags(tc, "shared-captures");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, real_captures_as_libpcap);
    tcase_add_test(tc, break_ends_the_input);
    suite_add_tcase(s, tc);
    return s;
}
