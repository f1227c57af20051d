/* test_selection.c — issue 14's pieces on their own: the flow filter parser
 * (errors and their positions, matching), packet sampling counts, BOB. */
#include <check.h>
#include <string.h>

#include "flowfilter.h"
#include "select.h"
#include "unit.h"

static struct flow_record tcp_record(void)
{
    struct flow_record r;
    memset(&r, 0, sizeof r);
    r.ip_version = 4;
    r.proto = 6;
    memcpy(r.src, (const uint8_t[]){192, 168, 1, 20}, 4);
    memcpy(r.dst, (const uint8_t[]){10, 1, 2, 3}, 4);
    r.sport = 51000;
    r.dport = 443;
    r.packets[0] = 7;
    r.packets[1] = 5;
    r.ip_octets[0] = 900;
    r.ip_octets[1] = 4100;
    r.first_ms[0] = r.first_ms[1] = 1000;
    r.last_ms[0] = r.last_ms[1] = 3000;
    r.end_reason = 1;
    return r;
}

static bool matches(const char *expr, const struct flow_record *r)
{
    char err[256] = "";
    size_t pos = 0;
    struct flow_filter *f = flow_filter_compile(expr, err, sizeof err, &pos);
    ck_assert_msg(f != NULL, "'%s': %s at %zu", expr, err, pos);
    bool m = flow_filter_match(f, r);
    flow_filter_free(f);
    return m;
}

START_TEST(filter_matches_by_json_names)
{
    struct flow_record r = tcp_record();
    ck_assert(matches("dst_port == 443", &r));
    ck_assert(matches("port == 51000 and not port == 80", &r));
    ck_assert(matches("src_ip in 192.168.0.0/16 && dst_ip == 10.1.2.3", &r));
    ck_assert(!matches("src_ip in 192.168.2.0/24", &r));
    ck_assert(matches("src_ip != 192.168.2.0/24", &r));
    ck_assert(!matches("src_ip == 2001:db8::/32", &r));     /* another family: false */
    ck_assert(matches("bidirectional_packets == 12 and bytes > 4999 and bytes <= 5000", &r));
    ck_assert(matches("bidirectional_duration_ms == 2000", &r));
    ck_assert(matches("(protocol == 17 or protocol == 6) and end_reason < 2", &r));
    ck_assert(matches("dst2src_packets >= 0x5", &r));
    ck_assert(!matches("src2dst_tcp_flags == 0 and protocol == 17", &r));
    ck_assert(matches("protocol == 006", &r));             /* decimal with zeros: 6 */
    ck_assert(!matches("protocol == 017", &r));            /* 17, not octal 15, not 6 */
}
END_TEST

static void assert_error(const char *expr, size_t want_pos, const char *want_text)
{
    char err[256] = "";
    size_t pos = 0;
    struct flow_filter *f = flow_filter_compile(expr, err, sizeof err, &pos);
    ck_assert_msg(f == NULL, "'%s' compiled", expr);
    ck_assert_msg(pos == want_pos, "'%s': position %zu, wanted %zu (%s)", expr, pos, want_pos, err);
    ck_assert_msg(strstr(err, want_text), "'%s': '%s' does not say '%s'", expr, err, want_text);
}

START_TEST(filter_errors_name_the_position)
{
    assert_error("", 1, "field name");
    assert_error("dst_port", 9, "comparison");
    assert_error("dst_port == ", 13, "value");
    assert_error("dst_port == 1 and", 18, "field name");
    assert_error("dst_port == 1 dst_port == 2", 15, "'and', 'or'");
    assert_error("nosuch == 1", 1, "unknown field");
    assert_error("src_ip < 1.2.3.4", 8, "only == and !=");
    assert_error("src_ip == 1.2.3.4/40", 11, "address");
    assert_error("dst_port == 99999999999999999999999", 13, "whole number");
    assert_error("(dst_port == 1", 1, "not closed");
    assert_error("dst_port == \"1", 13, "whole number");
}
END_TEST

/* Count mode keeps exactly the 1st, (N+1)th, ... packet; random mode keeps
 * about 1 in N, the same ones for the same seed. */
START_TEST(sampling_counts)
{
    static const uint8_t frame[60];
    struct capture_packet pkts[1000];
    for (unsigned i = 0; i < 1000; i++)
        pkts[i] = (struct capture_packet){i, 0, 60, 60, frame};
    struct select_config c = {10, SAMPLE_COUNT, 0, false, 0, 0};
    struct packet_select s;
    select_init(&s, &c, 0);
    unsigned n = select_packets(&s, 1, pkts, 1000);
    ck_assert_uint_eq(n, 100);
    for (unsigned i = 0; i < n; i++)
        ck_assert_uint_eq(pkts[i].ts_us, 10 * i);
    ck_assert_uint_eq(s.stats.sample_rejected, 900);

    unsigned kept[2];
    for (int run = 0; run < 2; run++) {
        for (unsigned i = 0; i < 1000; i++)
            pkts[i] = (struct capture_packet){i, 0, 60, 60, frame};
        c = (struct select_config){10, SAMPLE_RANDOM, 42, false, 0, 0};
        select_init(&s, &c, 0);
        kept[run] = select_packets(&s, 1, pkts, 1000);
    }
    ck_assert_uint_eq(kept[0], kept[1]);
    ck_assert_msg(kept[0] > 60 && kept[0] < 140, "random 1 in 10 of 1000 kept %u", kept[0]);
}
END_TEST

/* The values tests/tools/selection.py's bob(), written separately in Python
 * from RFC 5475 Appendix A, gives: whole 12-byte blocks and a tail, a tail
 * alone, nothing; initval matters. */
START_TEST(bob_known_values)
{
    const uint8_t *s = (const uint8_t *)"Four score and seven years ago";
    ck_assert_uint_eq(select_bob_hash(s, 30, 0), 0x50f2424bu);
    ck_assert_uint_eq(select_bob_hash(s, 30, 1), 0x89deae7eu);
    ck_assert_uint_eq(select_bob_hash(s, 0, 0), 0xbd49d10du);
    ck_assert_uint_eq(select_bob_hash(s, 11, 7), 0xa57c26efu);
}
END_TEST

Suite *selection_suite(void)
{
    Suite *s = suite_create("selection");
    TCase *tc = tcase_create("filter");
    tcase_add_test(tc, filter_matches_by_json_names);
    tcase_add_test(tc, filter_errors_name_the_position);
    suite_add_tcase(s, tc);
    tc = tcase_create("packets");
    tcase_add_test(tc, sampling_counts);
    tcase_add_test(tc, bob_known_values);
    suite_add_tcase(s, tc);
    return s;
}
