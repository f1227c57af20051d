/* test_elements.c — the element table, template parsing and the accessors
 * the encoders read records through. */
#include <check.h>
#include <string.h>

#include "elements.h"
#include "unit.h"

/* ---- templates -------------------------------------------------------------- */

static void assert_field(const struct template_def *t, size_t i, const char *name, bool reverse)
{
    ck_assert_uint_lt(i, t->nfields);
    ck_assert_str_eq(t->fields[i].elem->name, name);
    ck_assert_msg(t->fields[i].reverse == reverse, "field %zu (%s): reverse %d", i, name,
                  t->fields[i].reverse);
}

/* The default template lists both families; each family's records use the
 * fields that apply to it. */
START_TEST(builtin_one_way_templates_parse)
{
    const char *text = template_builtin("default");
    ck_assert_ptr_nonnull(text);
    struct template_def all;
    char err[256] = "";
    ck_assert_msg(template_parse("default", text, &all, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(all.nfields, 20);
    static const char *const names[] = {"default-ipv4", "default-ipv6"};
    for (int i = 0; i < 2; i++) {
        struct template_def t;
        ck_assert_int_eq(template_for_family(&all, i == 0 ? 4 : 6, &t), 0);
        ck_assert_str_eq(t.name, names[i]);
        ck_assert_uint_eq(t.nfields, 17);
        assert_field(&t, 0, "flowId", false);
        assert_field(&t, 3, i == 0 ? "sourceIPv4Address" : "sourceIPv6Address", false);
        assert_field(&t, 11, i == 0 ? "icmpTypeCodeIPv4" : "icmpTypeCodeIPv6", false);
        assert_field(&t, 13, "octetDeltaCount", false);
        assert_field(&t, 16, "biflowDirection", false);
        for (size_t f = 0; f < t.nfields; f++)
            ck_assert(!t.fields[f].reverse);
        template_free(&t);
        ck_assert_ptr_null(t.fields);
        ck_assert_uint_eq(t.nfields, 0);
    }
    template_free(&all);
}
END_TEST

START_TEST(builtin_biflow_templates_parse_with_reverse_twins)
{
    const char *text = template_builtin("biflow");
    ck_assert_ptr_nonnull(text);
    struct template_def all;
    char err[256] = "";
    ck_assert_msg(template_parse("biflow", text, &all, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < 2; i++) {
        struct template_def t;
        ck_assert_int_eq(template_for_family(&all, i == 0 ? 4 : 6, &t), 0);
        ck_assert_uint_eq(t.nfields, 20);
        assert_field(&t, 11, "tcpControlBits", false);
        assert_field(&t, 12, "tcpControlBits", true);
        assert_field(&t, 13, "packetDeltaCount", false);
        assert_field(&t, 14, "packetDeltaCount", true);
        assert_field(&t, 16, "octetDeltaCount", true);
        assert_field(&t, 18, "layer2OctetDeltaCount", true);
        assert_field(&t, 19, "flowEndReason", false);
        size_t reverse = 0;
        for (size_t f = 0; f < t.nfields; f++)
            reverse += t.fields[f].reverse;
        ck_assert_uint_eq(reverse, 4);
        template_free(&t);
    }
    template_free(&all);
    ck_assert_ptr_null(template_builtin("ipv5"));
    ck_assert_ptr_null(template_builtin(""));
}
END_TEST

START_TEST(unknown_element_is_an_error_naming_its_line)
{
    struct template_def t;
    char err[256] = "";
    const char *text = "flowId\n# a comment\noctetDeltaCounts\npacketDeltaCount\n";
    ck_assert_int_eq(template_parse("mine", text, &t, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "line 3"));
    ck_assert_ptr_nonnull(strstr(err, "octetDeltaCounts"));
    ck_assert_ptr_nonnull(strstr(err, "mine"));
    ck_assert_ptr_null(t.fields);
    ck_assert_ptr_null(t.name);
    ck_assert_uint_eq(t.nfields, 0);
}
END_TEST

START_TEST(line_numbers_count_blank_lines)
{
    struct template_def t;
    char err[256] = "";
    ck_assert_int_eq(template_parse("x", "flowId\n\n\nbogus\n", &t, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "line 4") != NULL, "%s", err);
}
END_TEST

START_TEST(comments_blank_lines_and_spaces_are_ignored)
{
    struct template_def t;
    char err[256] = "";
    const char *text = "# header\n\n   flowId   # the id\n\t\r\n  octetDeltaCount\r\n#last";
    ck_assert_msg(template_parse("c", text, &t, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(t.nfields, 2);
    assert_field(&t, 0, "flowId", false);
    assert_field(&t, 1, "octetDeltaCount", false);
    template_free(&t);
}
END_TEST

START_TEST(template_without_elements_is_an_error)
{
    struct template_def t;
    char err[256] = "";
    ck_assert_int_eq(template_parse("empty", "# nothing\n\n  \n", &t, err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "empty"));
    ck_assert_ptr_null(t.fields);
    ck_assert_int_eq(template_parse("empty", "", &t, err, sizeof err), -1);
}
END_TEST

static int parse_one(const char *line, struct template_def *t)
{
    char err[256];
    return template_parse("r", line, t, err, sizeof err);
}

START_TEST(reverse_names_resolve_only_for_reversible_elements)
{
    struct template_def t;
    static const char *const ok[] = {"reverseOctetDeltaCount", "reversePacketDeltaCount",
                                     "reverseLayer2OctetDeltaCount", "reverseTcpControlBits",
                                     "reverseFlowStartMilliseconds",
                                     "reverseFlowEndMilliseconds"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        ck_assert_msg(parse_one(ok[i], &t) == 0, "%s", ok[i]);
        ck_assert(t.fields[0].reverse);
        ck_assert(t.fields[0].elem->reversible);
        char back[128];
        element_reverse_name(t.fields[0].elem->name, back, sizeof back);
        ck_assert_str_eq(back, ok[i]);
        template_free(&t);
    }
    static const char *const bad[] = {"reverseFlowId", "reverseSourceIPv4Address",
                                      "reverseSourceTransportPort", "reverseProtocolIdentifier",
                                      "reverseFlowEndReason", "reverseoctetDeltaCount",
                                      "reverse", "reverseReverseOctetDeltaCount",
                                      "ReverseOctetDeltaCount"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(parse_one(bad[i], &t) == -1, "%s accepted", bad[i]);
}
END_TEST

START_TEST(reverse_name_is_built_and_truncated_safely)
{
    char out[64];
    element_reverse_name("octetDeltaCount", out, sizeof out);
    ck_assert_str_eq(out, "reverseOctetDeltaCount");
    char small[10];
    element_reverse_name("octetDeltaCount", small, sizeof small);
    ck_assert_str_eq(small, "reverseOc");
    element_reverse_name("", out, sizeof out);
    ck_assert_str_eq(out, "reverse");
}
END_TEST

static bool get_app(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)r, (void)view;
    v->bytes = (const uint8_t *)"ssh";
    v->nbytes = 3;
    return true;
}

START_TEST(table_lookup_and_registration)
{
    const struct element *e = elements_find("octetDeltaCount");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->id, 1);
    ck_assert_uint_eq(e->pen, 0);
    ck_assert(e->reversible);
    e = elements_find("sourceIPv6Address");
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(e->id, 27);
    ck_assert_int_eq(e->type, ET_IPV6);
    ck_assert_uint_eq(e->len, 16);
    ck_assert_ptr_null(elements_find("OctetDeltaCount"));
    size_t n = elements_count();
    ck_assert_uint_ge(n, 20);
    ck_assert_ptr_null(elements_at(n));
    for (size_t i = 0; i < n; i++)
        ck_assert_ptr_eq(elements_find(elements_at(i)->name), elements_at(i));

    static const struct element extra[] = {
        {"dpiApplication", 12345, 1, 0, ET_STRING, ELEM_VARLEN, false, "app", NULL, get_app, 0},
    };
    ck_assert_int_eq(elements_register(extra, 1), 0);
    ck_assert_uint_eq(elements_count(), n + 1);
    ck_assert_ptr_eq(elements_at(n), &extra[0]);
    ck_assert_ptr_eq(elements_find("dpiApplication"), &extra[0]);
    struct template_def t;
    ck_assert_int_eq(parse_one("flowId\ndpiApplication\n", &t), 0);
    ck_assert_ptr_eq(t.fields[1].elem, &extra[0]);
    template_free(&t);
}
END_TEST

/* ---- accessors -------------------------------------------------------------- */

static struct flow_record sample_v4(void)
{
    struct flow_record r;
    memset(&r, 0, sizeof r);
    r.id = 77;
    r.ip_version = 4;
    r.proto = 6;
    memcpy(r.src, (uint8_t[]){10, 1, 1, 1}, 4);
    memcpy(r.dst, (uint8_t[]){10, 2, 2, 2}, 4);
    r.sport = 40000;
    r.dport = 443;
    r.vlan = 12;
    r.first_ms[0] = 5000, r.last_ms[0] = 9000;
    r.first_ms[1] = 4000, r.last_ms[1] = 9500;     /* after an active restart */
    r.packets[0] = 10, r.packets[1] = 8;
    r.ip_octets[0] = 1000, r.ip_octets[1] = 8000;
    r.l2_octets[0] = 1140, r.l2_octets[1] = 8112;
    r.tcp_flags[0] = 0x1B, r.tcp_flags[1] = 0x12;
    r.end_reason = END_IDLE;
    return r;
}

static uint64_t get_u(const char *name, const struct flow_record *r, int view)
{
    const struct element *e = elements_find(name);
    ck_assert_msg(e != NULL, "%s", name);
    struct elem_value v;
    memset(&v, 0, sizeof v);
    ck_assert_msg(e->get(r, view, &v), "%s has no value in view %d", name, view);
    return v.u;
}

static bool has(const char *name, const struct flow_record *r, int view)
{
    struct elem_value v;
    return elements_find(name)->get(r, view, &v);
}

static void assert_addr(const char *name, const struct flow_record *r, int view,
                        const uint8_t *want, size_t n)
{
    struct elem_value v;
    memset(&v, 0, sizeof v);
    ck_assert_msg(elements_find(name)->get(r, view, &v), "%s", name);
    ck_assert_mem_eq(v.addr, want, n);
}

START_TEST(forward_view_reads_the_initiator_side)
{
    struct flow_record r = sample_v4();
    assert_addr("sourceIPv4Address", &r, VIEW_FWD, r.src, 4);
    assert_addr("destinationIPv4Address", &r, VIEW_FWD, r.dst, 4);
    ck_assert_uint_eq(get_u("sourceTransportPort", &r, VIEW_FWD), 40000);
    ck_assert_uint_eq(get_u("destinationTransportPort", &r, VIEW_FWD), 443);
    ck_assert_uint_eq(get_u("packetDeltaCount", &r, VIEW_FWD), 10);
    ck_assert_uint_eq(get_u("octetDeltaCount", &r, VIEW_FWD), 1000);
    ck_assert_uint_eq(get_u("layer2OctetDeltaCount", &r, VIEW_FWD), 1140);
    ck_assert_uint_eq(get_u("tcpControlBits", &r, VIEW_FWD), 0x1B);
    ck_assert_uint_eq(get_u("flowStartMilliseconds", &r, VIEW_FWD), 5000);
    ck_assert_uint_eq(get_u("flowEndMilliseconds", &r, VIEW_FWD), 9000);
    ck_assert_uint_eq(get_u("biflowDirection", &r, VIEW_FWD), 1);
    ck_assert_uint_eq(get_u("flowId", &r, VIEW_FWD), 77);
    ck_assert_uint_eq(get_u("vlanId", &r, VIEW_FWD), 12);
    ck_assert_uint_eq(get_u("protocolIdentifier", &r, VIEW_FWD), 6);
    ck_assert_uint_eq(get_u("ipVersion", &r, VIEW_FWD), 4);
    ck_assert_uint_eq(get_u("flowEndReason", &r, VIEW_FWD), END_IDLE);
}
END_TEST

START_TEST(reverse_view_swaps_ends_and_reads_the_responder_side)
{
    struct flow_record r = sample_v4();
    assert_addr("sourceIPv4Address", &r, VIEW_REV, r.dst, 4);
    assert_addr("destinationIPv4Address", &r, VIEW_REV, r.src, 4);
    ck_assert_uint_eq(get_u("sourceTransportPort", &r, VIEW_REV), 443);
    ck_assert_uint_eq(get_u("destinationTransportPort", &r, VIEW_REV), 40000);
    ck_assert_uint_eq(get_u("packetDeltaCount", &r, VIEW_REV), 8);
    ck_assert_uint_eq(get_u("octetDeltaCount", &r, VIEW_REV), 8000);
    ck_assert_uint_eq(get_u("layer2OctetDeltaCount", &r, VIEW_REV), 8112);
    ck_assert_uint_eq(get_u("tcpControlBits", &r, VIEW_REV), 0x12);
    ck_assert_uint_eq(get_u("flowStartMilliseconds", &r, VIEW_REV), 4000);
    ck_assert_uint_eq(get_u("flowEndMilliseconds", &r, VIEW_REV), 9500);
    ck_assert_uint_eq(get_u("biflowDirection", &r, VIEW_REV), 2);
    ck_assert_uint_eq(get_u("flowId", &r, VIEW_REV), 77);
}
END_TEST

START_TEST(biflow_view_is_forward_with_flow_level_times)
{
    struct flow_record r = sample_v4();
    assert_addr("sourceIPv4Address", &r, VIEW_BIFLOW, r.src, 4);
    ck_assert_uint_eq(get_u("sourceTransportPort", &r, VIEW_BIFLOW), 40000);
    ck_assert_uint_eq(get_u("packetDeltaCount", &r, VIEW_BIFLOW), 10);
    ck_assert_uint_eq(get_u("tcpControlBits", &r, VIEW_BIFLOW), 0x1B);
    ck_assert_uint_eq(get_u("flowStartMilliseconds", &r, VIEW_BIFLOW), 4000);  /* min */
    ck_assert_uint_eq(get_u("flowEndMilliseconds", &r, VIEW_BIFLOW), 9500);    /* max */
    ck_assert_uint_eq(get_u("biflowDirection", &r, VIEW_BIFLOW), 1);
    /* A direction without packets does not pull the start to 0. */
    r.packets[1] = 0, r.first_ms[1] = 0, r.last_ms[1] = 0;
    ck_assert_uint_eq(get_u("flowStartMilliseconds", &r, VIEW_BIFLOW), 5000);
    ck_assert_uint_eq(get_u("flowEndMilliseconds", &r, VIEW_BIFLOW), 9000);
    /* Nor does the forward one after a restart where only the responder spoke. */
    r = sample_v4();
    r.packets[0] = 0, r.first_ms[0] = 0, r.last_ms[0] = 0;
    ck_assert_uint_eq(get_u("flowStartMilliseconds", &r, VIEW_BIFLOW), 4000);
}
END_TEST

START_TEST(values_a_record_does_not_have_are_absent)
{
    struct flow_record r = sample_v4();
    ck_assert(!has("sourceIPv6Address", &r, VIEW_FWD));
    ck_assert(!has("destinationIPv6Address", &r, VIEW_REV));
    ck_assert(!has("icmpTypeCodeIPv4", &r, VIEW_FWD));     /* TCP */
    ck_assert(!has("icmpTypeCodeIPv6", &r, VIEW_FWD));
    r.proto = 1;
    r.icmp_type_code[0] = 0x0303;
    r.icmp_type_code[1] = 0x0000;
    ck_assert(!has("tcpControlBits", &r, VIEW_FWD));
    ck_assert_uint_eq(get_u("icmpTypeCodeIPv4", &r, VIEW_FWD), 0x0303);
    ck_assert(!has("icmpTypeCodeIPv6", &r, VIEW_FWD));
    r.ip_version = 6;       /* protocol 1 is ICMP for IPv4 only */
    ck_assert(!has("icmpTypeCodeIPv4", &r, VIEW_FWD));
    /* IPv6, ICMPv6. */
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    r.ip_version = 6;
    r.proto = 58;
    r.icmp_type_code[0] = 0x8000;
    r.icmp_type_code[1] = 0x8100;
    memcpy(r.src, a6, 16);
    memcpy(r.dst, b6, 16);
    ck_assert(!has("sourceIPv4Address", &r, VIEW_FWD));
    ck_assert(!has("icmpTypeCodeIPv4", &r, VIEW_FWD));
    ck_assert_uint_eq(get_u("icmpTypeCodeIPv6", &r, VIEW_FWD), 0x8000);
    ck_assert_uint_eq(get_u("icmpTypeCodeIPv6", &r, VIEW_REV), 0x8100);     /* the reply's */
    assert_addr("sourceIPv6Address", &r, VIEW_FWD, a6, 16);
    assert_addr("sourceIPv6Address", &r, VIEW_REV, b6, 16);
    assert_addr("destinationIPv6Address", &r, VIEW_REV, a6, 16);
}
END_TEST

START_TEST(every_element_reads_without_crashing_in_every_view)
{
    struct flow_record r = sample_v4();
    for (size_t i = 0; i < elements_count(); i++) {
        const struct element *e = elements_at(i);
        ck_assert_ptr_nonnull(e->name);
        ck_assert_ptr_nonnull(e->get);
        for (int view = VIEW_FWD; view <= VIEW_BIFLOW; view++) {
            struct elem_value v;
            memset(&v, 0, sizeof v);
            e->get(&r, view, &v);
        }
        /* Reversible elements are the per-direction ones: the two views differ here. */
        if (e->reversible) {
            struct elem_value f, b;
            memset(&f, 0, sizeof f);
            memset(&b, 0, sizeof b);
            bool has_f = e->get(&r, VIEW_FWD, &f), has_b = e->get(&r, VIEW_REV, &b);
            ck_assert_msg(has_f == has_b, "%s is there in one direction only", e->name);
            /* (ICMP type/code is absent from this TCP record; its two
             * directions are checked with an ICMP record above.) */
            if (has_f)
                ck_assert_msg(f.u != b.u, "%s reads the same both ways", e->name);
        }
    }
}
END_TEST

Suite *elements_suite(void)
{
    Suite *s = suite_create("elements");
    TCase *tc = tcase_create("templates");
    tcase_add_test(tc, builtin_one_way_templates_parse);
    tcase_add_test(tc, builtin_biflow_templates_parse_with_reverse_twins);
    tcase_add_test(tc, unknown_element_is_an_error_naming_its_line);
    tcase_add_test(tc, line_numbers_count_blank_lines);
    tcase_add_test(tc, comments_blank_lines_and_spaces_are_ignored);
    tcase_add_test(tc, template_without_elements_is_an_error);
    tcase_add_test(tc, reverse_names_resolve_only_for_reversible_elements);
    tcase_add_test(tc, reverse_name_is_built_and_truncated_safely);
    tcase_add_test(tc, table_lookup_and_registration);
    suite_add_tcase(s, tc);

    tc = tcase_create("accessors");
    tcase_add_test(tc, forward_view_reads_the_initiator_side);
    tcase_add_test(tc, reverse_view_swaps_ends_and_reads_the_responder_side);
    tcase_add_test(tc, biflow_view_is_forward_with_flow_level_times);
    tcase_add_test(tc, values_a_record_does_not_have_are_absent);
    tcase_add_test(tc, every_element_reads_without_crashing_in_every_view);
    suite_add_tcase(s, tc);
    return s;
}
