/* test_elements.c — the element table, template parsing and the accessors
 * the encoders read records through. */
#include <check.h>
#include <fixbuf/public.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elements.h"
#include "ipfix.h"
#include "json.h"
#include "unit.h"
#include "util.h"

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
    r.first_ns[0] = 5000123456, r.last_ns[0] = 9000654321;
    r.first_ns[1] = 4000000001, r.last_ns[1] = 9500999999;
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
        ck_assert_msg(e->get || e->get_row, "%s has no reader", e->name);
        for (int view = VIEW_FWD; view <= VIEW_BIFLOW; view++) {
            struct elem_value v;
            memset(&v, 0, sizeof v);
            element_get(e, &r, view, &v);
        }
        /* Reversible elements are the per-direction ones: the two views differ here. */
        if (e->reversible) {
            struct elem_value f, b;
            memset(&f, 0, sizeof f);
            memset(&b, 0, sizeof b);
            bool has_f = element_get(e, &r, VIEW_FWD, &f),
                 has_b = element_get(e, &r, VIEW_REV, &b);
            ck_assert_msg(has_f == has_b, "%s is there in one direction only", e->name);
            /* (ICMP type/code is absent from this TCP record; its two
             * directions are checked with an ICMP record above.) */
            if (has_f)
                ck_assert_msg(f.u != b.u, "%s reads the same both ways", e->name);
        }
    }
}
END_TEST

/* ---- IPFIX: float64, RFC 6313 basicLists, RFC 5610 element types -------------- */

/* Rows as a plugin registers them: values read through get_row and user. */
static const double test_ratio = 1.0 / 3.0;
static const uint16_t test_sizes[3] = {1, 0x0203, 65535};
static const uint8_t test_flags[2] = {7, 250};
static const char test_label[] = "h\xc3\xa9llo";
static const char *label_now = test_label;     /* what testLabel reads */

static bool get_test_row(const struct element *el, const struct flow_record *r, int view,
                         struct elem_value *v)
{
    (void)r, (void)view;
    const char *what = el->user;
    if (strcmp(what, "ratio") == 0) {
        v->f = test_ratio;
    } else if (strcmp(what, "sizes") == 0) {
        v->bytes = (const uint8_t *)test_sizes, v->nitems = 3;
    } else if (strcmp(what, "flags") == 0) {
        v->bytes = test_flags, v->nitems = 2;
    } else if (strcmp(what, "label") == 0) {
        v->bytes = (const uint8_t *)label_now, v->nbytes = strlen(label_now);
    } else {
        return false;   /* "none": an empty list */
    }
    return true;
}

#define TEST_PEN 32473u
static const struct element test_rows[] = {
    {.name = "testRatio", .pen = TEST_PEN, .id = 901, .type = ET_FLOAT64, .len = 8,
     .json = "test_ratio", .get_row = get_test_row, .user = "ratio"},
    {.name = "testSizes", .pen = TEST_PEN, .id = 902, .type = ET_UNSIGNED, .len = 2,
     .json = "test_sizes", .list = true, .get_row = get_test_row, .user = "sizes"},
    {.name = "testFlags", .pen = TEST_PEN, .id = 903, .type = ET_UNSIGNED, .len = 1,
     .json = "test_flags", .list = true, .get_row = get_test_row, .user = "flags"},
    {.name = "testLabel", .pen = TEST_PEN, .id = 904, .type = ET_STRING, .len = ELEM_VARLEN,
     .json = "test_label", .get_row = get_test_row, .user = "label"},
    {.name = "testNothing", .pen = TEST_PEN, .id = 905, .type = ET_UNSIGNED, .len = 4,
     .json = "test_nothing", .list = true, .get_row = get_test_row, .user = "none"},
};
static const char test_template[] =
    "flowId\ntestRatio\ntestSizes\ntestFlags\ntestLabel\ntestNothing\noctetDeltaCount\n";

struct captured {
    uint8_t msg[16][2048];
    size_t len[16];
    enum msg_kind kind[16];
    uint32_t nrec[16];
    size_t n;
};

static int capture(void *ctx, const uint8_t *msg, size_t len, uint32_t nrecords,
                   enum msg_kind kind)
{
    struct captured *c = ctx;
    ck_assert_uint_lt(c->n, 16);
    ck_assert_uint_le(len, sizeof c->msg[0]);
    memcpy(c->msg[c->n], msg, len);
    c->len[c->n] = len;
    c->kind[c->n] = kind;
    c->nrec[c->n] = nrecords;
    c->n++;
    return 0;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return (uint32_t)be16(p) << 16 | be16(p + 2); }

/* The set with this id in a message, or NULL; *len: its length. */
static const uint8_t *find_set(const uint8_t *msg, size_t msglen, uint16_t id, size_t *len)
{
    for (size_t at = 16; at + 4 <= msglen; at += be16(msg + at + 2)) {
        ck_assert_uint_ge(be16(msg + at + 2), 4);
        if (be16(msg + at) == id) {
            *len = be16(msg + at + 2);
            return msg + at;
        }
    }
    return NULL;
}

/* The record of template tid in a template or options template set. */
static const uint8_t *find_template(const uint8_t *set, size_t setlen, uint16_t tid)
{
    bool options = be16(set) == 3;
    for (size_t at = 4; at + 4 <= setlen;) {
        uint16_t id = be16(set + at), count = be16(set + at + 2);
        if (id == tid)
            return set + at;
        at += options ? 6 : 4;
        for (uint16_t i = 0; i < count; i++)
            at += be16(set + at) & 0x8000 ? 8 : 4;
    }
    return NULL;
}

static struct ipfix_encoder *test_encoder(struct template_def *def, uint16_t mtu,
                                          struct captured *cap)
{
    char err[256] = "";
    ck_assert_int_eq(elements_register(test_rows, sizeof test_rows / sizeof test_rows[0]), 0);
    ck_assert_msg(template_parse("test", test_template, def, err, sizeof err) == 0, "%s", err);
    struct ipfix_config cfg = {.domain = 9, .mtu = mtu, .tmpl = def};
    struct ipfix_encoder *e = ipfix_new(&cfg, capture, cap, err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    return e;
}

/* The wire bytes of the record, field by field. */
START_TEST(ipfix_float64_and_basic_lists_on_the_wire)
{
    struct captured cap = {.n = 0};
    struct template_def def;
    struct ipfix_encoder *e = test_encoder(&def, 1400, &cap);
    ck_assert_int_eq(ipfix_send_templates(e), 0);
    ck_assert_uint_eq(cap.n, 1);
    ck_assert_int_eq(cap.kind[0], MSG_TEMPLATES);

    /* Template 256: flowId, testRatio (PEN), basicList x3, testLabel (PEN), octetDeltaCount. */
    size_t setlen;
    const uint8_t *set = find_set(cap.msg[0], cap.len[0], 2, &setlen);
    ck_assert_ptr_nonnull(set);
    const uint8_t *t = find_template(set, setlen, 256);
    ck_assert_ptr_nonnull(t);
    static const uint8_t want_tmpl[] = {
        0x01, 0x00, 0x00, 0x07,
        0x00, 0x94, 0x00, 0x08,                             /* flowId (148) */
        0x83, 0x85, 0x00, 0x08, 0x00, 0x00, 0x7e, 0xd9,     /* 32473/901, 8 */
        0x01, 0x23, 0xff, 0xff,                             /* basicList (291), varlen */
        0x01, 0x23, 0xff, 0xff,
        0x83, 0x88, 0xff, 0xff, 0x00, 0x00, 0x7e, 0xd9,     /* 32473/904, varlen */
        0x01, 0x23, 0xff, 0xff,
        0x00, 0x01, 0x00, 0x08,                             /* octetDeltaCount */
    };
    ck_assert_mem_eq(t, want_tmpl, sizeof want_tmpl);

    struct flow_record r = sample_v4();
    r.packets[1] = 0;                               /* one record: the forward one */
    ck_assert_int_eq(ipfix_add_flow(e, &r), 0);
    ck_assert_int_eq(ipfix_flush(e), 0);
    ck_assert_uint_eq(cap.n, 2);
    ck_assert_int_eq(cap.kind[1], MSG_DATA);
    ck_assert_uint_eq(cap.nrec[1], 1);

    uint64_t bits;
    memcpy(&bits, &test_ratio, 8);
    uint8_t want[] = {
        0x01, 0x00, 0x00, 0x00,                     /* set 256, length (below) */
        0, 0, 0, 0, 0, 0, 0, 77,                    /* flowId */
        (uint8_t)(bits >> 56), (uint8_t)(bits >> 48), (uint8_t)(bits >> 40), (uint8_t)(bits >> 32),
        (uint8_t)(bits >> 24), (uint8_t)(bits >> 16), (uint8_t)(bits >> 8), (uint8_t)bits,
        /* testSizes: RFC 6313 basicList, 3-byte length form as libfixbuf writes it */
        0xff, 0x00, 0x0f,
        0x04,                                       /* semantic: ordered */
        0x83, 0x86,                                 /* enterprise bit | 902 */
        0x00, 0x02,                                 /* item length */
        0x00, 0x00, 0x7e, 0xd9,                     /* PEN 32473 */
        0x00, 0x01, 0x02, 0x03, 0xff, 0xff,         /* items, network order */
        /* testFlags */
        0xff, 0x00, 0x0b, 0x04, 0x83, 0x87, 0x00, 0x01, 0x00, 0x00, 0x7e, 0xd9, 0x07, 0xfa,
        /* testLabel */
        0x06, 'h', 0xc3, 0xa9, 'l', 'l', 'o',
        /* testNothing: an empty list still says what it is a list of */
        0xff, 0x00, 0x09, 0x04, 0x83, 0x89, 0x00, 0x04, 0x00, 0x00, 0x7e, 0xd9,
        0, 0, 0, 0, 0, 0, 0x03, 0xe8,               /* octetDeltaCount 1000 */
    };
    want[3] = sizeof want;
    ck_assert_uint_eq(be16(cap.msg[1] + 2), cap.len[1]);
    ck_assert_uint_eq(cap.len[1], 16 + sizeof want);
    ck_assert_mem_eq(cap.msg[1] + 16, want, sizeof want);
    /* The items were read in place, not copied or freed. */
    ck_assert_uint_eq(test_sizes[1], 0x0203);

    ipfix_free(e);
    template_free(&def);
}
END_TEST

/* RFC 5610: template 260 (scope PEN and id) and one record per enterprise
 * element of the flow templates, in the templates message, withdrawn with the
 * others; libfixbuf's collector learns the names and types from them and
 * decodes the record. */
START_TEST(ipfix_element_types_teach_a_libfixbuf_collector)
{
    struct captured cap = {.n = 0};
    struct template_def def;
    struct ipfix_encoder *e = test_encoder(&def, 1400, &cap);
    ck_assert_int_eq(ipfix_send_templates(e), 0);
    ck_assert_uint_eq(cap.n, 1);

    size_t setlen;
    const uint8_t *set = find_set(cap.msg[0], cap.len[0], 3, &setlen);
    ck_assert_ptr_nonnull(set);
    const uint8_t *t = find_template(set, setlen, 260);
    ck_assert_ptr_nonnull(t);
    static const uint8_t want_tmpl[] = {
        0x01, 0x04, 0x00, 0x09, 0x00, 0x02,         /* 260: 9 fields, 2 of them scope */
        0x01, 0x5a, 0x00, 0x04,                     /* privateEnterpriseNumber (346) */
        0x01, 0x2f, 0x00, 0x02,                     /* informationElementId (303) */
        0x01, 0x53, 0x00, 0x01,                     /* informationElementDataType (339) */
        0x01, 0x58, 0x00, 0x01,                     /* informationElementSemantics (344) */
        0x01, 0x59, 0x00, 0x02,                     /* informationElementUnits (345) */
        0x01, 0x56, 0x00, 0x08,                     /* informationElementRangeBegin (342) */
        0x01, 0x57, 0x00, 0x08,                     /* informationElementRangeEnd (343) */
        0x01, 0x55, 0xff, 0xff,                     /* informationElementName (341) */
        0x01, 0x54, 0xff, 0xff,                     /* informationElementDescription (340) */
    };
    ck_assert_mem_eq(t, want_tmpl, sizeof want_tmpl);

    /* One record per enterprise element, after the templates. */
    set = find_set(cap.msg[0], cap.len[0], 260, &setlen);
    ck_assert_ptr_nonnull(set);
    static const struct { uint16_t id; uint8_t type; const char *name; } want[] = {
        {901, 10, "testRatio"}, {902, 2, "testSizes"}, {903, 1, "testFlags"},
        {904, 13, "testLabel"}, {905, 3, "testNothing"},
    };
    size_t at = 4;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const uint8_t *p = set + at;
        ck_assert_uint_eq(be32(p), TEST_PEN);
        ck_assert_uint_eq(be16(p + 4), want[i].id);
        ck_assert_uint_eq(p[6], want[i].type);
        ck_assert_uint_eq(p[7], 0);                 /* semantics: default */
        ck_assert_uint_eq(p[26], strlen(want[i].name));
        ck_assert_mem_eq(p + 27, want[i].name, strlen(want[i].name));
        size_t desc = p[27 + p[26]];
        /* every record at least 46 bytes: see ietype_desc() in ipfix.c */
        ck_assert_uint_ge(26 + 2 + p[26] + desc, 46);
        at += 26 + 2 + p[26] + desc;
    }
    ck_assert_uint_eq(at, setlen);                  /* ntop's and IANA's are not described */

    struct flow_record r = sample_v4();
    r.packets[1] = 0;
    ck_assert_int_eq(ipfix_add_flow(e, &r), 0);
    ck_assert_int_eq(ipfix_flush(e), 0);
    ck_assert_uint_eq(cap.n, 2);
    /* The element type records count in the sequence numbers. */
    ck_assert_uint_eq(be32(cap.msg[0] + 8), 0);
    ck_assert_uint_eq(be32(cap.msg[1] + 8), 5);

    /* A libfixbuf collector, as collector-test reads. */
    fbInfoModel_t *model = fbInfoModelAlloc();
    fbSession_t *session = fbSessionAlloc(model);
    fBuf_t *fbuf = fBufAllocForCollection(session, NULL);
    fBufSetAutomaticMode(fbuf, FALSE);
    GError *gerr = NULL;
    ck_assert(fBufSetAutomaticInsert(fbuf, &gerr));
    fBufSetBuffer(fbuf, cap.msg[0], cap.len[0]);
    uint16_t tid = 0;
    ck_assert_ptr_null(fBufNextCollectionTemplate(fbuf, &tid, &gerr));   /* no flow record */
    ck_assert(g_error_matches(gerr, FB_ERROR_DOMAIN, FB_ERROR_EOM));
    g_clear_error(&gerr);
    const fbInfoElement_t *ie = fbInfoModelGetElementByID(model, 901, TEST_PEN);
    ck_assert_ptr_nonnull(ie);
    ck_assert_str_eq(ie->ref.name, "testRatio");
    ck_assert_uint_eq(ie->type, FB_FLOAT_64);
    ie = fbInfoModelGetElementByID(model, 902, TEST_PEN);
    ck_assert_str_eq(ie->ref.name, "testSizes");
    ck_assert_uint_eq(ie->type, FB_UINT_16);

    /* The data record through an internal template of our own. */
    static fbInfoElementSpec_t spec[] = {
        {"flowId", 8, 0}, {"testRatio", 8, 0}, {"basicList", 0, 0}, {"basicList", 0, 0},
        {"testLabel", 0, 0}, {"basicList", 0, 0}, {"octetDeltaCount", 8, 0}, FB_IESPEC_NULL,
    };
    struct {
        uint64_t flow_id;
        double ratio;
        fbBasicList_t sizes, flags;
        fbVarfield_t label;
        fbBasicList_t nothing;
        uint64_t octets;
    } rec;
    fbTemplate_t *it = fbTemplateAlloc(model);
    ck_assert(fbTemplateAppendSpecArray(it, spec, 0, &gerr));
    ck_assert_uint_ne(fbSessionAddTemplate(session, TRUE, 300, it, &gerr), 0);
    fBufSetBuffer(fbuf, cap.msg[1], cap.len[1]);
    ck_assert(fBufSetInternalTemplate(fbuf, 300, &gerr));
    memset(&rec, 0, sizeof rec);
    size_t reclen = sizeof rec;
    ck_assert_msg(fBufNext(fbuf, (uint8_t *)&rec, &reclen, &gerr), "%s", gerr ? gerr->message : "");
    ck_assert_uint_eq(rec.flow_id, 77);
    ck_assert(rec.ratio == test_ratio);
    ck_assert_str_eq(rec.sizes.infoElement->ref.name, "testSizes");
    ck_assert_uint_eq(rec.sizes.semantic, FB_LIST_SEM_ORDERED);
    ck_assert_uint_eq(rec.sizes.numElements, 3);
    ck_assert_mem_eq(rec.sizes.dataPtr, test_sizes, sizeof test_sizes);
    ck_assert_str_eq(rec.flags.infoElement->ref.name, "testFlags");
    ck_assert_uint_eq(rec.flags.numElements, 2);
    ck_assert_mem_eq(rec.flags.dataPtr, test_flags, 2);
    ck_assert_uint_eq(rec.label.len, strlen(test_label));
    ck_assert_mem_eq(rec.label.buf, test_label, rec.label.len);
    ck_assert_str_eq(rec.nothing.infoElement->ref.name, "testNothing");
    ck_assert_uint_eq(rec.nothing.numElements, 0);
    ck_assert_uint_eq(rec.octets, 1000);
    fBufListFree(it, (uint8_t *)&rec);
    fBufFree(fbuf);
    fbInfoModelFree(model);

    /* A clean end withdraws template 260 with the other options templates
     * (258: the totals, 263: each worker's). */
    ck_assert_int_eq(ipfix_withdraw_templates(e), 0);
    ck_assert_int_eq(cap.kind[cap.n - 1], MSG_WITHDRAWAL);
    set = find_set(cap.msg[cap.n - 1], cap.len[cap.n - 1], 3, &setlen);
    ck_assert_ptr_nonnull(set);
    static const uint8_t want_withdrawal[] = {0, 3, 0, 16, 0x01, 0x02, 0, 0, 0x01, 0x07, 0, 0,
                                              0x01, 0x04, 0, 0};
    ck_assert_uint_eq(setlen, sizeof want_withdrawal);
    ck_assert_mem_eq(set, want_withdrawal, sizeof want_withdrawal);
    ck_assert_uint_eq(be32(cap.msg[cap.n - 1] + 8), 6);

    /* tests/interop_tshark.sh hands these messages to tshark and collector-test. */
    const char *dump = getenv("NFPROBE_TEST_IPFIX_DUMP");
    if (dump) {
        FILE *f = fopen(dump, "wb");
        ck_assert_ptr_nonnull(f);
        for (size_t i = 0; i < cap.n; i++)
            ck_assert_uint_eq(fwrite(cap.msg[i], 1, cap.len[i], f), cap.len[i]);
        ck_assert_int_eq(fclose(f), 0);
    }
    ipfix_free(e);
    template_free(&def);
}
END_TEST

/* With a small --mtu the element type records that do not fit after the
 * templates go out in messages of their own, each within the MTU, numbered
 * on. */
START_TEST(ipfix_element_types_split_across_messages)
{
    static char names[6][120];
    static struct element rows[6];
    for (int i = 0; i < 6; i++) {
        snprintf(names[i], sizeof names[i], "testLongName%d%0100d", i, 0);
        rows[i] = (struct element){.name = names[i], .pen = TEST_PEN, .id = (uint16_t)(950 + i),
                                   .type = ET_UNSIGNED, .len = 4, .get_row = get_test_row,
                                   .user = "none"};
    }
    ck_assert_int_eq(elements_register(rows, 6), 0);
    char text[1024] = "flowId\n", err[256] = "";
    for (int i = 0; i < 6; i++) {
        strcat(text, names[i]);
        strcat(text, "\n");
    }
    struct template_def def;
    ck_assert_msg(template_parse("long", text, &def, err, sizeof err) == 0, "%s", err);
    struct captured cap = {.n = 0};
    struct ipfix_config cfg = {.domain = 1, .mtu = 512, .tmpl = &def};
    struct ipfix_encoder *e = ipfix_new(&cfg, capture, &cap, err, sizeof err);
    ck_assert_msg(e != NULL, "%s", err);
    ck_assert_int_eq(ipfix_send_templates(e), 0);
    ck_assert_uint_ge(cap.n, 3);
    ck_assert_int_eq(cap.kind[0], MSG_TEMPLATES);
    uint32_t seq = 0, described = 0;
    for (size_t m = 0; m < cap.n; m++) {
        ck_assert_uint_le(cap.len[m], 512);
        ck_assert_uint_eq(be16(cap.msg[m] + 2), cap.len[m]);
        ck_assert_uint_eq(be32(cap.msg[m] + 8), seq);
        ck_assert_uint_eq(be32(cap.msg[m] + 12), 1);
        if (m > 0)      /* kept with the templates for a new stream connection */
            ck_assert_int_eq(cap.kind[m], MSG_SETUP);
        size_t setlen;
        const uint8_t *set = find_set(cap.msg[m], cap.len[m], 260, &setlen);
        ck_assert_ptr_nonnull(set);
        for (size_t at = 4; at < setlen; seq++, described++) {
            const uint8_t *p = set + at;
            ck_assert_uint_eq(be16(p + 4), 950 + described);
            at += 26 + 1 + p[26];
            at += 1 + set[at];
        }
    }
    ck_assert_uint_eq(described, 6);
    ipfix_free(e);
    template_free(&def);
}
END_TEST

/* ---- strings from the wire go out as UTF-8 ----------------------------------- */

START_TEST(utf8_sequences_follow_rfc_3629)
{
    static const struct {
        const char *s;
        size_t len;
    } cases[] = {
        {"\x7f", 1}, {"\xc2\x80", 2}, {"\xdf\xbf", 2},
        {"\xc0\xaf", 0}, {"\xc1\xbf", 0},                 /* overlong */
        {"\xe0\x9f\xbf", 0}, {"\xe0\xa0\x80", 3},         /* overlong / smallest */
        {"\xed\x9f\xbf", 3}, {"\xed\xa0\x80", 0},         /* surrogates */
        {"\xef\xbf\xbf", 3},
        {"\xf0\x8f\xbf\xbf", 0}, {"\xf0\x90\x80\x80", 4},
        {"\xf4\x8f\xbf\xbf", 4}, {"\xf4\x90\x80\x80", 0}, /* above U+10FFFF */
        {"\xf5\x80\x80\x80", 0}, {"\xff", 0}, {"\x80", 0},
        {"\xe2\x82\x41", 0},                              /* bad continuation */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint8_t *b = (const uint8_t *)cases[i].s;
        ck_assert_msg(utf8_sequence_len(b, strlen(cases[i].s)) == cases[i].len, "case %zu", i);
    }
    /* A sequence cut by the end of the string is not one. */
    ck_assert_uint_eq(utf8_sequence_len((const uint8_t *)"\xe2\x82\xac", 2), 0);

    char text[] = "a\xff" "b\x01\xe2\x82\xac\xed\xa0\x80\xc3";
    utf8_scrub((uint8_t *)text, strlen(text));
    ck_assert_str_eq(text, "a?b\x01\xe2\x82\xac????");
}
END_TEST

/* A server name or plugin string with bytes that are not UTF-8: '?' in their
 * place, the same in IPFIX and JSON, the length kept. */
static const char raw_label[] = "a\xff" "b\x01\xe2\x82\xac\xed\xa0\x80\xc3";

START_TEST(ipfix_strings_that_are_not_utf8_go_out_scrubbed)
{
    struct captured cap = {.n = 0};
    struct template_def def;
    struct ipfix_encoder *e = test_encoder(&def, 1400, &cap);
    ck_assert_int_eq(ipfix_send_templates(e), 0);
    struct flow_record r = sample_v4();
    r.packets[1] = 0;
    label_now = raw_label;
    ck_assert_int_eq(ipfix_add_flow(e, &r), 0);
    label_now = test_label;
    ck_assert_int_eq(ipfix_flush(e), 0);
    ck_assert_uint_eq(cap.n, 2);
    static const char want[] = "\x0b" "a?b\x01\xe2\x82\xac????";  /* length prefix 11 */
    ck_assert_ptr_nonnull(memmem(cap.msg[1], cap.len[1], want, sizeof want - 1));
    ck_assert_ptr_null(memmem(cap.msg[1], cap.len[1], "a\xff", 2));
    ipfix_free(e);
    template_free(&def);
}
END_TEST

START_TEST(json_strings_that_are_not_utf8_go_out_scrubbed)
{
    ck_assert_int_eq(elements_register(test_rows, sizeof test_rows / sizeof test_rows[0]), 0);
    struct flow_record r = sample_v4();
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    label_now = raw_label;
    ck_assert_int_eq(json_write_record(f, &r), 0);
    label_now = test_label;
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_ptr_nonnull(strstr(text, "\"test_label\":\"a?b\\u0001\xe2\x82\xac????\""));
    free(text);
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

    tc = tcase_create("ipfix");
    tcase_add_test(tc, ipfix_float64_and_basic_lists_on_the_wire);
    tcase_add_test(tc, ipfix_element_types_teach_a_libfixbuf_collector);
    tcase_add_test(tc, ipfix_element_types_split_across_messages);
    tcase_add_test(tc, ipfix_strings_that_are_not_utf8_go_out_scrubbed);
    suite_add_tcase(s, tc);

    tc = tcase_create("utf8");
    tcase_add_test(tc, utf8_sequences_follow_rfc_3629);
    tcase_add_test(tc, json_strings_that_are_not_utf8_go_out_scrubbed);
    suite_add_tcase(s, tc);
    return s;
}
