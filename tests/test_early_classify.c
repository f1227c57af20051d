/* test_early_classify.c — the early-classify plugin through its descriptor:
 * the model parser (the shipped format, and every kind of bad file with its
 * line number), exact predictions of a hand-written tree for hand-made
 * packet sequences, the verdicts (NFP_DONE, or NFP_EXPORT with early expire),
 * and records of fewer than 3 packets (predicted at expiry). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "plugins/builtin.h"

/* A small tree over every feature: the expected predictions below follow
 * from it by hand. Comments, blank lines, tabs, CRLF, negative thresholds
 * and nodes out of order are all part of the format. */
static const char small_tree[] =
    "# a hand-written tree\n"
    "\n"
    "early-classify-tree 1   # header\n"
    "0 split ps1 100 1 2\n"
    "1 split ps3 -1 3 4      # ps3 <= -1: fewer than 3 packets\n"
    "3 leaf Short 0.5\n"
    "4\tsplit\tdir2\t0\t5\t6\r\n"
    "6 leaf B 1\n"
    "5 leaf A 0.75\n"
    "2 split ps2 1000 7 8\n"
    "   7 leaf C 0.25\n"
    "8 leaf D 0\n";

struct run {
    struct nfp_plugin p;
    char path[64];
    char err[512];
    int rc;
};

static void write_file(char *path, size_t len, const char *text)
{
    snprintf(path, len, "/tmp/early-classify-test.XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

/* init with model=<a file holding text>[,extra]; flags: run_flags. */
static void load(struct run *r, const char *text, const char *extra, unsigned flags)
{
    char args[256];
    memset(r, 0, sizeof *r);
    r->p = nfp_builtin_early_classify;
    r->p.run_flags = flags;
    write_file(r->path, sizeof r->path, text);
    snprintf(args, sizeof args, "model=%s%s%s", r->path, extra ? "," : "", extra ? extra : "");
    r->rc = r->p.init(&r->p, args, r->err, sizeof r->err);
    unlink(r->path);
}

static void unload(struct run *r)
{
    if (r->rc == 0)
        r->p.cleanup(r->p.ctx);
}

static const struct nfp_field *field(const struct nfp_plugin *p, const char *name)
{
    for (size_t i = 0; i < p->nfields; i++)
        if (strcmp(p->fields[i].name, name) == 0)
            return &p->fields[i];
    ck_abort_msg("no field %s", name);
    return NULL;
}

struct outcome {
    int verdict[8];
    char label[64];
    double probability;
    unsigned packets;
};

/* Feed n packets (ip_len, direction) to a fresh record, then expire it. */
static struct outcome feed(const struct run *r, const uint32_t *sizes, const uint8_t *dirs, int n)
{
    struct outcome o;
    memset(&o, 0, sizeof o);
    unsigned char *state = calloc(1, r->p.state_size);
    struct nfp_flow flow;
    memset(&flow, 0, sizeof flow);
    for (int i = 0; i < n; i++) {
        struct nfp_packet pkt;
        memset(&pkt, 0, sizeof pkt);
        pkt.ip_len = sizes[i];
        pkt.direction = dirs[i];
        pkt.time_us = 1000000u * (uint64_t)(i + 1);
        flow.packets[dirs[i]]++;
        flow.ip_octets[dirs[i]] += sizes[i];
        o.verdict[i] = i == 0 ? r->p.on_init(r->p.ctx, state, &pkt, &flow)
                              : r->p.on_update(r->p.ctx, state, &pkt, &flow);
        if (o.verdict[i] != NFP_CONTINUE)
            break;          /* as nfprobe: no more packets for this record */
    }
    r->p.on_expire(r->p.ctx, state, &flow, NFP_END_IDLE);
    const struct nfp_field *fl = field(&r->p, "earlyClassLabel");
    ck_assert_int_eq(fl->type, NFP_STRING);
    ck_assert_uint_le(fl->size, sizeof o.label - 1);
    memcpy(o.label, state + fl->offset, fl->size);
    const struct nfp_field *fp = field(&r->p, "earlyClassProbability");
    ck_assert_int_eq(fp->type, NFP_F64);
    memcpy(&o.probability, state + fp->offset, sizeof o.probability);
    const struct nfp_field *fn = field(&r->p, "earlyClassPackets");
    ck_assert_int_eq(fn->type, NFP_U8);
    o.packets = state[fn->offset];
    free(state);
    return o;
}

START_TEST(descriptor)
{
    const struct nfp_plugin *p = &nfp_builtin_early_classify;
    ck_assert_uint_eq(p->api_version, NFP_API_VERSION);
    ck_assert_str_eq(p->name, "early-classify");
    ck_assert_uint_eq(p->pen, 0);
    for (size_t i = 0; i < p->nfields; i++) {
        ck_assert_uint_ge(p->fields[i].id, 200);
        ck_assert_uint_le(p->fields[i].id, 209);
        ck_assert_uint_le(p->fields[i].offset + (p->fields[i].type == NFP_STRING ? p->fields[i].size : 1),
                          p->state_size);
    }
    ck_assert_str_eq(field(p, "earlyClassLabel")->json, "early_label");
    ck_assert_str_eq(field(p, "earlyClassProbability")->json, "early_probability");
    ck_assert_str_eq(field(p, "earlyClassPackets")->json, "early_packets");
}
END_TEST

/* The compiled-in model (models/early-classify.tree) loads, with no
 * arguments and with an empty argument string, and predicts something. */
START_TEST(builtin_model)
{
    const char *argv[] = {NULL, "", "early-expire"};
    for (size_t i = 0; i < sizeof argv / sizeof argv[0]; i++) {
        struct run r;
        memset(&r, 0, sizeof r);
        r.p = nfp_builtin_early_classify;
        r.rc = r.p.init(&r.p, argv[i], r.err, sizeof r.err);
        ck_assert_msg(r.rc == 0, "built-in model: %s", r.err);
        static const uint32_t sizes[] = {60, 60, 52};
        static const uint8_t dirs[] = {0, 1, 0};
        struct outcome o = feed(&r, sizes, dirs, 3);
        ck_assert_int_eq(o.verdict[2], i == 2 ? NFP_EXPORT : NFP_DONE);
        ck_assert_uint_eq(o.packets, 3);
        ck_assert_uint_gt(strlen(o.label), 0);
        ck_assert(o.probability > 0.0 && o.probability <= 1.0);
        unload(&r);
    }
}
END_TEST

START_TEST(parses_small_tree)
{
    struct run r;
    load(&r, small_tree, NULL, 0);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    ck_assert_ptr_nonnull(r.p.ctx);
    unload(&r);
}
END_TEST

struct bad {
    const char *text;
    unsigned line;          /* 0: no line number in the message */
    const char *reason;
};

static const struct bad bad_files[] = {
    /* header */
    {"", 1, "expected the header 'early-classify-tree 1'"},
    {"# only a comment\n\n", 2, "expected the header"},
    {"\n0 leaf A 1\n", 2, "expected the header"},
    {"early-classify-tree\n0 leaf A 1\n", 1, "expected the header"},
    {"early-classify-tree 2\n0 leaf A 1\n", 1, "format version '2' not supported"},
    /* empty tree */
    {"early-classify-tree 1\n", 1, "empty tree"},
    {"early-classify-tree 1\n# nothing\n\n", 3, "empty tree"},
    /* bad lines */
    {"early-classify-tree 1\n0 leaf A 1\n1 leef B 1\n", 3, "expected 'ID split"},
    {"early-classify-tree 1\n0\n", 2, "expected 'ID split"},
    {"early-classify-tree 1\n0 split ps1 10 1\n1 leaf A 1\n", 2, "expected 'ID split FEATURE"},
    {"early-classify-tree 1\n0 split ps1 10 1 2 3\n", 2, "expected 'ID split FEATURE"},
    {"early-classify-tree 1\n0 leaf A\n", 2, "expected 'ID leaf LABEL PROBABILITY'"},
    {"early-classify-tree 1\n0 leaf A 1 2\n", 2, "expected 'ID leaf LABEL PROBABILITY'"},
    {"early-classify-tree 1\n0 split ps4 10 1 2\n1 leaf A 1\n2 leaf B 1\n", 2, "unknown feature 'ps4'"},
    {"early-classify-tree 1\n0 split ps1 1.5 1 2\n1 leaf A 1\n2 leaf B 1\n", 2, "bad threshold '1.5'"},
    {"early-classify-tree 1\n0 split ps1 99999999999 1 2\n", 2, "bad threshold"},
    {"early-classify-tree 1\n-1 leaf A 1\n", 2, "bad node id '-1'"},
    {"early-classify-tree 1\n65536 leaf A 1\n", 2, "bad node id '65536'"},
    {"early-classify-tree 1\nx leaf A 1\n", 2, "bad node id 'x'"},
    {"early-classify-tree 1\n0 split ps1 10 1 two\n", 2, "bad node id 'two'"},
    {"early-classify-tree 1\n0 leaf ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456 1\n", 2, "longer than 31"},
    {"early-classify-tree 1\n0 leaf A x\n", 2, "bad probability 'x'"},
    {"early-classify-tree 1\n0 leaf A 0.5x\n", 2, "bad probability"},
    {"early-classify-tree 1\n0 leaf A 1.5\n", 2, "probability 1.5 out of range"},
    {"early-classify-tree 1\n0 leaf A -0.01\n", 2, "out of range"},
    {"early-classify-tree 1\n0 leaf A nan\n", 2, "out of range"},
    {"early-classify-tree 1\n0 leaf A 1 # ok\n1 2 3 4 5 6 7 8 9\n", 3, "too many words"},
    {"early-classify-tree 1\n0 split ps1 10 1 2\n1 leaf A 1\n2 leaf B 1\n1 leaf C 1\n", 5,
     "node 1 defined twice (first on line 3)"},
    /* references */
    {"early-classify-tree 1\n0 split ps1 10 1 7\n1 leaf A 1\n", 2, "node 0 refers to unknown node 7"},
    {"early-classify-tree 1\n0 split ps1 10 1 2\n1 leaf A 1\n2 split dir1 0 3 9\n3 leaf B 1\n", 4,
     "node 2 refers to unknown node 9"},
    {"early-classify-tree 1\n1 leaf A 1\n", 2, "no node 0 (the root)"},
    /* cycles */
    {"early-classify-tree 1\n0 split ps1 10 1 2\n1 leaf A 1\n2 split ps2 5 3 2\n3 leaf B 1\n", 4,
     "cycle: node 2 leads back to node 2"},
    {"early-classify-tree 1\n0 split ps1 10 1 2\n1 leaf A 1\n2 split ps2 5 3 4\n3 leaf B 1\n"
     "4 split ps3 7 5 0\n5 leaf C 1\n", 6, "cycle: node 4 leads back to node 0"},
    {"early-classify-tree 1\n0 leaf A 1\n5 split ps1 1 6 7\n7 leaf B 1\n6 split ps2 1 5 8\n8 leaf C 1\n", 5,
     "cycle: node 6 leads back to node 5"},
    /* not a tree */
    {"early-classify-tree 1\n0 split ps1 1 1 1\n1 leaf A 1\n", 2, "node 1 has two parents"},
    {"early-classify-tree 1\n0 split ps1 1 1 2\n1 leaf A 1\n2 split ps2 1 3 1\n3 leaf B 1\n", 4,
     "node 1 has two parents (node 0 on line 2, and node 2)"},
    {"early-classify-tree 1\n0 leaf A 1\n1 leaf B 1\n", 3, "node 1 is not reachable"},
    {"early-classify-tree 1\n0 split ps1 1 1 2\n1 leaf A 1\n2 leaf A 1\n\n3 split ps1 1 4 5\n4 leaf A 1\n5 leaf A 1\n",
     6, "node 3 is not reachable"},
};

START_TEST(rejects_bad_file)
{
    const struct bad *b = &bad_files[_i];
    struct run r;
    load(&r, b->text, NULL, 0);
    ck_assert_msg(r.rc == -1, "case %d accepted: %s", _i, b->text);
    ck_assert_ptr_null(r.p.ctx);
    char want[128];
    if (b->line)
        snprintf(want, sizeof want, "early-classify: %s:%u: ", r.path, b->line);
    else
        snprintf(want, sizeof want, "early-classify: %s: ", r.path);
    ck_assert_msg(strncmp(r.err, want, strlen(want)) == 0, "case %d: '%s', wanted '%s...'", _i, r.err, want);
    ck_assert_msg(strstr(r.err + strlen(want), b->reason), "case %d: '%s', wanted '%s'", _i, r.err, b->reason);
}
END_TEST

START_TEST(rejects_missing_file_and_arguments)
{
    struct nfp_plugin p = nfp_builtin_early_classify;
    char err[512];
    ck_assert_int_eq(p.init(&p, "model=/nonexistent/early.tree", err, sizeof err), -1);
    ck_assert_str_eq(err, "early-classify: /nonexistent/early.tree: cannot open: No such file or directory");
    ck_assert_ptr_null(p.ctx);
    p = nfp_builtin_early_classify;
    ck_assert_int_eq(p.init(&p, "early-expire,depth=3", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "early-classify: unknown argument 'depth=3'"));
    p = nfp_builtin_early_classify;
    ck_assert_int_eq(p.init(&p, "model=", err, sizeof err), -1);
    ck_assert_ptr_nonnull(strstr(err, "unknown argument 'model='"));
}
END_TEST

struct seq {
    int n;
    uint32_t sizes[5];
    uint8_t dirs[5];
    const char *label;
    double probability;
    unsigned packets;
};

static const struct seq small_tree_cases[] = {
    /* ps1 <= 100, 3 packets: dir2 decides */
    {3, {50, 60, 70}, {0, 0, 1}, "A", 0.75, 3},
    {3, {50, 60, 70}, {0, 1, 0}, "B", 1.0, 3},
    {5, {100, 1500, 1500, 9, 9}, {0, 0, 0, 1, 1}, "A", 0.75, 3},   /* the 4th and 5th never seen */
    {4, {100, 1500, 1500, 9}, {1, 1, 1, 0}, "B", 1.0, 3},
    /* ps1 > 100: ps2 decides, thresholds inclusive */
    {3, {101, 1000, 40}, {0, 1, 1}, "C", 0.25, 3},
    {3, {101, 1001, 40}, {0, 1, 1}, "D", 0.0, 3},
    {3, {65535, 20, 20}, {0, 0, 0}, "C", 0.25, 3},
    /* fewer than 3 packets: missing sizes and directions are -1 */
    {2, {50, 60}, {0, 1}, "Short", 0.5, 2},
    {1, {50}, {0}, "Short", 0.5, 1},
    {1, {500}, {0}, "C", 0.25, 1},          /* ps2 = -1 <= 1000 */
    {2, {500, 1001}, {0, 1}, "D", 0.0, 2},
};

START_TEST(predicts_small_tree)
{
    const struct seq *s = &small_tree_cases[_i];
    for (int mode = 0; mode < 3; mode++) {
        struct run r;
        /* 0: plain; 1: --early-expire (run flag); 2: the early-expire argument */
        load(&r, small_tree, mode == 2 ? "early-expire" : NULL, mode == 1 ? NFP_RUN_EARLY_EXPIRE : 0);
        ck_assert_msg(r.rc == 0, "%s", r.err);
        struct outcome o = feed(&r, s->sizes, s->dirs, s->n);
        ck_assert_str_eq(o.label, s->label);
        ck_assert(o.probability == s->probability);
        ck_assert_uint_eq(o.packets, s->packets);
        /* verdicts: continue until the 3rd packet, then done or export */
        for (int i = 0; i < s->n && i < 3; i++) {
            int want = i < 2 ? NFP_CONTINUE : mode ? NFP_EXPORT : NFP_DONE;
            ck_assert_msg(o.verdict[i] == want, "case %d mode %d packet %d: verdict %d, wanted %d",
                          _i, mode, i + 1, o.verdict[i], want);
        }
        unload(&r);
    }
}
END_TEST

/* A record's state is fresh (zeroed) each time: one record's packets do not
 * leak into the next, and a record of fewer than 3 packets is only
 * predicted at expiry. */
START_TEST(short_record_predicted_at_expiry)
{
    struct run r;
    load(&r, small_tree, NULL, 0);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    unsigned char *state = calloc(1, r.p.state_size);
    struct nfp_flow flow;
    memset(&flow, 0, sizeof flow);
    struct nfp_packet pkt;
    memset(&pkt, 0, sizeof pkt);
    pkt.ip_len = 60;
    flow.packets[0] = 1;
    ck_assert_int_eq(r.p.on_init(r.p.ctx, state, &pkt, &flow), NFP_CONTINUE);
    pkt.ip_len = 1400;
    pkt.direction = 1;
    flow.packets[1] = 1;
    ck_assert_int_eq(r.p.on_update(r.p.ctx, state, &pkt, &flow), NFP_CONTINUE);
    const struct nfp_field *fl = field(&r.p, "earlyClassLabel");
    const struct nfp_field *fn = field(&r.p, "earlyClassPackets");
    ck_assert_uint_eq(state[fn->offset], 0);        /* nothing predicted yet */
    ck_assert_str_eq((char *)state + fl->offset, "");
    r.p.on_expire(r.p.ctx, state, &flow, NFP_END_FORCED);
    ck_assert_str_eq((char *)state + fl->offset, "Short");
    ck_assert_uint_eq(state[fn->offset], 2);
    /* expiring again (it is not, but harmless) keeps the prediction */
    r.p.on_expire(r.p.ctx, state, &flow, NFP_END_FORCED);
    ck_assert_str_eq((char *)state + fl->offset, "Short");
    free(state);
    unload(&r);
}
END_TEST

/* Deep trees walk fine and a 31-character label fills the field. */
START_TEST(deep_tree_and_long_label)
{
    char *text = malloc(1 << 20);
    size_t len = (size_t)sprintf(text, "early-classify-tree 1\n");
    const int depth = 2000;
    /* a chain: node 2k splits ps1 <= k: leaf 2k+1 ("L<k>"), else node 2k+2 */
    for (int k = 0; k < depth; k++) {
        len += (size_t)sprintf(text + len, "%d split ps1 %d %d %d\n", 2 * k, k, 2 * k + 1, 2 * k + 2);
        len += (size_t)sprintf(text + len, "%d leaf L%d 0.%d\n", 2 * k + 1, k, k % 10);
    }
    sprintf(text + len, "%d leaf ABCDEFGHIJKLMNOPQRSTUVWXYZ01234 1\n", 2 * depth);
    struct run r;
    load(&r, text, NULL, 0);
    free(text);
    ck_assert_msg(r.rc == 0, "%s", r.err);
    static const uint8_t dirs[3] = {0, 0, 0};
    uint32_t sizes[3] = {1234, 1, 1};
    struct outcome o = feed(&r, sizes, dirs, 3);
    ck_assert_str_eq(o.label, "L1234");
    ck_assert(o.probability == 0.4);
    sizes[0] = 5000;
    o = feed(&r, sizes, dirs, 3);
    ck_assert_str_eq(o.label, "ABCDEFGHIJKLMNOPQRSTUVWXYZ01234");
    ck_assert(o.probability == 1.0);
    unload(&r);
}
END_TEST

Suite *early_classify_suite(void)
{
    Suite *s = suite_create("early_classify");
    TCase *tc = tcase_create("early_classify");
    tcase_add_test(tc, descriptor);
    tcase_add_test(tc, builtin_model);
    tcase_add_test(tc, parses_small_tree);
    tcase_add_loop_test(tc, rejects_bad_file, 0, (int)(sizeof bad_files / sizeof bad_files[0]));
    tcase_add_test(tc, rejects_missing_file_and_arguments);
    tcase_add_loop_test(tc, predicts_small_tree, 0, (int)(sizeof small_tree_cases / sizeof small_tree_cases[0]));
    tcase_add_test(tc, short_record_predicted_at_expiry);
    tcase_add_test(tc, deep_tree_and_long_label);
    suite_add_tcase(s, tc);
    return s;
}
