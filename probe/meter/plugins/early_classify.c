/* early_classify.c — the `early-classify` built-in plugin: nfstream's
 * early-classification example. A decision tree read from a text file
 * predicts a label from the first 3 packets of a flow record (their IP
 * lengths and directions) as soon as the 3rd packet arrives; a record with
 * fewer packets is predicted at expiry from what it has.
 *
 *   -P early-classify[:ARG[,ARG]...]
 *     model=FILE     the tree (default: models/early-classify.tree, compiled in)
 *     early-expire   export the record right after predicting (also set by
 *                    nfprobe's --early-expire)
 *
 * Exported (default PEN, ids 200-202):
 *   earlyClassLabel        (200, string)  JSON early_label
 *   earlyClassProbability  (201, float64) JSON early_probability: the share
 *                          of the leaf's training records that had the label
 *   earlyClassPackets      (202, unsigned8) JSON early_packets: how many
 *                          packets (1-3) the prediction saw
 *
 * ---- The model file (format version 1; also in models/README) ----------
 *
 * Text, one item per line. '#' starts a comment (to the end of the line);
 * blank lines are ignored; tokens are separated by spaces or tabs. The first
 * line that is not blank is the header
 *
 *     early-classify-tree 1
 *
 * and every further line is one node of the tree:
 *
 *     ID split FEATURE THRESHOLD LEFT RIGHT
 *     ID leaf LABEL PROBABILITY
 *
 * ID: a decimal number 0..65535, unique in the file; node 0 is the root.
 * A split node goes to node LEFT when FEATURE <= THRESHOLD (a decimal
 * integer, may be negative), else to node RIGHT. FEATURE is one of
 *
 *     ps1 ps2 ps3     IP length (IP header + payload, as the octet counters
 *                     and splt_ps count it) of the record's 1st/2nd/3rd packet
 *     dir1 dir2 dir3  its direction: 0 from the flow's initiator, 1 towards it
 *
 * A packet the record does not have (a record of 1 or 2 packets) has size -1
 * and direction -1, as nfstream pads its splt arrays; the training script
 * treats missing packets the same way. A leaf gives LABEL (1-31 printable
 * characters, no spaces, no '#') and PROBABILITY, a decimal number in [0, 1].
 *
 * Nodes may come in any order. The nodes must form one tree: every LEFT and
 * RIGHT names a node of the file, no path leads back to a node on it (a
 * cycle), no node has two parents, every node is reachable from node 0, and
 * there is at least one node. Any error is reported as
 * "early-classify: FILE:LINE: reason" and makes nfprobe refuse to start.
 *
 * The tree is kept in one array of nodes in the plugin's context; the walk
 * per record is a loop over that array (no allocation on the packet path). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/builtin.h"

/* The shipped model, generated from models/early-classify.tree by the rule in
 * Makefile.am. */
extern const char nfp_early_classify_model[];
#define BUILTIN_MODEL_NAME "built-in models/early-classify.tree"

#define EC_PACKETS 3
#define EC_LABEL_SIZE 32            /* the exported string field, NUL included */
#define EC_MAX_ID 65535u
#define EC_MAX_LINE 4096

enum ec_feature { F_PS1, F_PS2, F_PS3, F_DIR1, F_DIR2, F_DIR3, F_COUNT, F_LEAF = 0xff };
static const char *const feature_names[F_COUNT] = {"ps1", "ps2", "ps3", "dir1", "dir2", "dir3"};

struct ec_node {
    int32_t threshold;              /* split: feature <= threshold goes left */
    uint32_t left, right;           /* split: indices into nodes[] */
    uint8_t feature;                /* enum ec_feature; F_LEAF for a leaf */
    uint32_t label;                 /* leaf: index into labels[] */
    double probability;             /* leaf */
    /* Loading only. */
    uint32_t id, left_id, right_id, line;
};

struct ec_ctx {
    struct ec_node *nodes;
    uint32_t nnodes;
    uint32_t root;
    char (*labels)[EC_LABEL_SIZE];
    uint32_t nlabels;
    int early_expire;
};

/* Per-record state, zeroed by nfprobe for every record. */
struct ec_state {
    char label[EC_LABEL_SIZE];      /* exported */
    double probability;             /* exported */
    uint8_t predicted_packets;      /* exported; 0 until predicted */
    uint8_t seen;                   /* packets seen so far (at most 3 kept) */
    int8_t dir[EC_PACKETS];
    int32_t ps[EC_PACKETS];
};

static const struct nfp_field ec_fields[] = {
    {.name = "earlyClassLabel", .id = 200, .type = NFP_STRING,
     .offset = offsetof(struct ec_state, label), .json = "early_label", .size = EC_LABEL_SIZE},
    {.name = "earlyClassProbability", .id = 201, .type = NFP_F64,
     .offset = offsetof(struct ec_state, probability), .json = "early_probability"},
    {.name = "earlyClassPackets", .id = 202, .type = NFP_U8,
     .offset = offsetof(struct ec_state, predicted_packets), .json = "early_packets"},
};

/* ---- loading ------------------------------------------------------------ */

struct loader {
    const char *file;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 3, 4)))
static int load_error(const struct loader *ld, unsigned line, const char *fmt, ...)
{
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(ld->err, ld->errlen, "early-classify: %s:%u: %s", ld->file, line, reason);
    else
        snprintf(ld->err, ld->errlen, "early-classify: %s: %s", ld->file, reason);
    return -1;
}

static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static uint32_t find_label(struct ec_ctx *c, const char *label)
{
    for (uint32_t i = 0; i < c->nlabels; i++)
        if (strcmp(c->labels[i], label) == 0)
            return i;
    return UINT32_MAX;
}

/* Parse one node line (already split into tokens) into *n. */
static int parse_node(const struct loader *ld, struct ec_ctx *c, char **tok, int ntok,
                      unsigned line, struct ec_node *n)
{
    long v;
    memset(n, 0, sizeof *n);
    n->line = line;
    if (ntok < 2 || (strcmp(tok[1], "split") != 0 && strcmp(tok[1], "leaf") != 0))
        return load_error(ld, line, "expected 'ID split FEATURE THRESHOLD LEFT RIGHT' or 'ID leaf LABEL PROBABILITY'");
    if (parse_long(tok[0], 0, EC_MAX_ID, &v) < 0)
        return load_error(ld, line, "bad node id '%s' (0-%u)", tok[0], EC_MAX_ID);
    n->id = (uint32_t)v;
    if (strcmp(tok[1], "split") == 0) {
        if (ntok != 6)
            return load_error(ld, line, "expected 'ID split FEATURE THRESHOLD LEFT RIGHT'");
        n->feature = F_COUNT;
        for (int f = 0; f < F_COUNT; f++)
            if (strcmp(tok[2], feature_names[f]) == 0)
                n->feature = (uint8_t)f;
        if (n->feature == F_COUNT)
            return load_error(ld, line, "unknown feature '%s' (ps1 ps2 ps3 dir1 dir2 dir3)", tok[2]);
        if (parse_long(tok[3], INT32_MIN, INT32_MAX, &v) < 0)
            return load_error(ld, line, "bad threshold '%s' (an integer)", tok[3]);
        n->threshold = (int32_t)v;
        if (parse_long(tok[4], 0, EC_MAX_ID, &v) < 0)
            return load_error(ld, line, "bad node id '%s' (0-%u)", tok[4], EC_MAX_ID);
        n->left_id = (uint32_t)v;
        if (parse_long(tok[5], 0, EC_MAX_ID, &v) < 0)
            return load_error(ld, line, "bad node id '%s' (0-%u)", tok[5], EC_MAX_ID);
        n->right_id = (uint32_t)v;
        return 0;
    }
    if (ntok != 4)
        return load_error(ld, line, "expected 'ID leaf LABEL PROBABILITY'");
    n->feature = F_LEAF;
    size_t len = strlen(tok[2]);
    if (len >= EC_LABEL_SIZE)
        return load_error(ld, line, "label '%s' longer than %d characters", tok[2], EC_LABEL_SIZE - 1);
    for (size_t i = 0; i < len; i++)
        if (!isgraph((unsigned char)tok[2][i]))
            return load_error(ld, line, "label with a character that is not printable");
    char *end;
    errno = 0;
    double p = strtod(tok[3], &end);
    if (end == tok[3] || *end || errno)
        return load_error(ld, line, "bad probability '%s'", tok[3]);
    if (!(p >= 0.0 && p <= 1.0))
        return load_error(ld, line, "probability %s out of range [0, 1]", tok[3]);
    n->probability = p;
    uint32_t l = find_label(c, tok[2]);
    if (l == UINT32_MAX) {
        void *grown = realloc(c->labels, (c->nlabels + 1) * sizeof *c->labels);
        if (!grown)
            return load_error(ld, line, "out of memory");
        c->labels = grown;
        l = c->nlabels++;
        memcpy(c->labels[l], tok[2], len + 1);
    }
    n->label = l;
    return 0;
}

/* Resolve child ids to indices and check the nodes form one tree rooted at
 * node 0. */
static int link_tree(const struct loader *ld, struct ec_ctx *c, unsigned last_line)
{
    int rc = -1;
    uint32_t *index = NULL, *parent = NULL, *stack = NULL;
    uint8_t *color = NULL;

    if (c->nnodes == 0)
        return load_error(ld, last_line, "empty tree: no nodes");
    /* index[] spans the ids used, not all EC_MAX_ID + 1 of them: a small
     * model costs a small table. (A leaf's child ids are 0: parse_node().) */
    uint32_t max_id = 0;
    for (uint32_t i = 0; i < c->nnodes; i++) {
        const uint32_t ids[3] = {c->nodes[i].id, c->nodes[i].left_id, c->nodes[i].right_id};
        for (int k = 0; k < 3; k++)
            if (ids[k] > max_id)
                max_id = ids[k];
    }
    index = malloc(((size_t)max_id + 1) * sizeof *index);
    parent = malloc(c->nnodes * sizeof *parent);
    color = calloc(c->nnodes, 1);
    stack = malloc(c->nnodes * sizeof *stack);
    if (!index || !parent || !color || !stack) {
        load_error(ld, 0, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i <= max_id; i++)
        index[i] = UINT32_MAX;
    for (uint32_t i = 0; i < c->nnodes; i++) {
        struct ec_node *n = &c->nodes[i];
        if (index[n->id] != UINT32_MAX) {
            load_error(ld, n->line, "node %u defined twice (first on line %u)", n->id,
                       c->nodes[index[n->id]].line);
            goto out;
        }
        index[n->id] = i;
    }
    if (index[0] == UINT32_MAX) {
        load_error(ld, last_line, "no node 0 (the root)");
        goto out;
    }
    c->root = index[0];
    for (uint32_t i = 0; i < c->nnodes; i++) {
        struct ec_node *n = &c->nodes[i];
        parent[i] = UINT32_MAX;
        if (n->feature == F_LEAF)
            continue;
        if (index[n->left_id] == UINT32_MAX) {
            load_error(ld, n->line, "node %u refers to unknown node %u", n->id, n->left_id);
            goto out;
        }
        if (index[n->right_id] == UINT32_MAX) {
            load_error(ld, n->line, "node %u refers to unknown node %u", n->id, n->right_id);
            goto out;
        }
        n->left = index[n->left_id];
        n->right = index[n->right_id];
    }
    /* Cycles: depth-first from every node (the root first), colouring nodes
     * 1 while on the path, 2 when done. stack[] holds the path; a node's
     * children are visited left, then right (next[] is the parent array,
     * reused as "which child next": 0 left, 1 right, 2 done). */
    uint32_t *next = parent;
    for (uint32_t s = 0; s <= c->nnodes; s++) {
        uint32_t start = s == 0 ? c->root : s - 1;
        if (color[start])
            continue;
        uint32_t depth = 0;
        stack[depth++] = start;
        color[start] = 1;
        next[start] = 0;
        while (depth) {
            uint32_t i = stack[depth - 1];
            struct ec_node *n = &c->nodes[i];
            if (n->feature == F_LEAF || next[i] == 2) {
                color[i] = 2;
                depth--;
                continue;
            }
            uint32_t child = next[i]++ == 0 ? n->left : n->right;
            if (color[child] == 1) {
                load_error(ld, n->line, "cycle: node %u leads back to node %u", n->id, c->nodes[child].id);
                goto out;
            }
            if (color[child] == 0) {
                color[child] = 1;
                next[child] = 0;
                stack[depth++] = child;
            }
        }
    }
    /* One parent each, none for the root; then every node reachable. */
    for (uint32_t i = 0; i < c->nnodes; i++)
        parent[i] = UINT32_MAX;
    for (uint32_t i = 0; i < c->nnodes; i++) {
        struct ec_node *n = &c->nodes[i];
        if (n->feature == F_LEAF)
            continue;
        uint32_t kids[2] = {n->left, n->right};
        for (int k = 0; k < 2; k++) {
            uint32_t ch = kids[k];
            if (ch == c->root) {
                load_error(ld, n->line, "node %u refers to the root, node 0", n->id);
                goto out;
            }
            if (parent[ch] != UINT32_MAX) {
                load_error(ld, n->line, "node %u has two parents (node %u on line %u, and node %u)",
                           c->nodes[ch].id, c->nodes[parent[ch]].id, c->nodes[parent[ch]].line, n->id);
                goto out;
            }
            parent[ch] = i;
        }
    }
    memset(color, 0, c->nnodes);
    uint32_t depth = 0;
    stack[depth++] = c->root;
    color[c->root] = 1;
    while (depth) {
        struct ec_node *n = &c->nodes[stack[--depth]];
        if (n->feature == F_LEAF)
            continue;
        /* One parent each: a node is pushed once. */
        stack[depth++] = n->left;
        color[n->left] = 1;
        stack[depth++] = n->right;
        color[n->right] = 1;
    }
    for (uint32_t i = 0; i < c->nnodes; i++)
        if (!color[i]) {
            load_error(ld, c->nodes[i].line, "node %u is not reachable from the root, node 0", c->nodes[i].id);
            goto out;
        }
    rc = 0;
out:
    free(index);
    free(parent);
    free(color);
    free(stack);
    return rc;
}

/* Parse the model text into c (nodes and labels allocated; the caller frees
 * them on failure too). */
static int load_model(const struct loader *ld, struct ec_ctx *c, const char *text)
{
    char buf[EC_MAX_LINE + 2];
    unsigned line = 0;
    int header = 0;
    uint32_t cap = 0;
    const char *p = text;

    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        line++;
        if (len > EC_MAX_LINE)
            return load_error(ld, line, "line longer than %d characters", EC_MAX_LINE);
        memcpy(buf, p, len);
        buf[len] = '\0';
        p = eol ? eol + 1 : p + len;

        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *tok[8];
        int ntok = 0;
        char *save = NULL;
        for (char *s = strtok_r(buf, " \t\r\v\f", &save); s; s = strtok_r(NULL, " \t\r\v\f", &save)) {
            if (ntok == 8)
                return load_error(ld, line, "too many words");
            tok[ntok++] = s;
        }
        if (ntok == 0)
            continue;
        if (!header) {
            if (ntok != 2 || strcmp(tok[0], "early-classify-tree") != 0)
                return load_error(ld, line, "expected the header 'early-classify-tree 1'");
            if (strcmp(tok[1], "1") != 0)
                return load_error(ld, line, "format version '%s' not supported (1)", tok[1]);
            header = 1;
            continue;
        }
        if (c->nnodes == EC_MAX_ID + 1)
            return load_error(ld, line, "more than %u nodes", EC_MAX_ID + 1);
        if (c->nnodes == cap) {
            uint32_t ncap = cap ? cap * 2 : 64;
            void *grown = realloc(c->nodes, ncap * sizeof *c->nodes);
            if (!grown)
                return load_error(ld, line, "out of memory");
            c->nodes = grown;
            cap = ncap;
        }
        if (parse_node(ld, c, tok, ntok, line, &c->nodes[c->nnodes]) < 0)
            return -1;
        c->nnodes++;
    }
    if (!header)
        return load_error(ld, line ? line : 1, "expected the header 'early-classify-tree 1'");
    return link_tree(ld, c, line);
}

static char *read_file(const struct loader *ld, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        load_error(ld, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *text = malloc(cap);
    while (text) {
        if (len + 1 >= cap) {
            char *grown = realloc(text, cap * 2);
            if (!grown) {
                free(text);
                text = NULL;
                break;
            }
            text = grown;
            cap *= 2;
        }
        size_t n = fread(text + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    if (!text) {
        load_error(ld, 0, "out of memory");
    } else if (ferror(f)) {
        load_error(ld, 0, "cannot read: %s", strerror(errno));
        free(text);
        text = NULL;
    } else if (memchr(text, '\0', len)) {
        load_error(ld, 0, "not a text file (a NUL byte)");
        free(text);
        text = NULL;
    } else {
        text[len] = '\0';
    }
    fclose(f);
    return text;
}

static void ec_free(struct ec_ctx *c)
{
    if (!c)
        return;
    free(c->nodes);
    free(c->labels);
    free(c);
}

static int ec_init(struct nfp_plugin *self, const char *args, char *err, size_t errlen)
{
    char argbuf[1024], path[1024];
    const char *model = NULL;
    int early_expire = (self->run_flags & NFP_RUN_EARLY_EXPIRE) != 0;

    self->ctx = NULL;
    if (args && *args) {
        if (strlen(args) >= sizeof argbuf) {
            snprintf(err, errlen, "early-classify: arguments too long");
            return -1;
        }
        strcpy(argbuf, args);
        char *save = NULL;
        for (char *a = strtok_r(argbuf, ",", &save); a; a = strtok_r(NULL, ",", &save)) {
            if (strncmp(a, "model=", 6) == 0 && a[6]) {
                strcpy(path, a + 6);    /* shorter than argbuf */
                model = path;
            } else if (strcmp(a, "early-expire") == 0) {
                early_expire = 1;
            } else {
                snprintf(err, errlen, "early-classify: unknown argument '%s' (model=FILE, early-expire)", a);
                return -1;
            }
        }
    }

    struct ec_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "early-classify: out of memory");
        return -1;
    }
    c->early_expire = early_expire;
    struct loader ld = {.file = model ? model : BUILTIN_MODEL_NAME, .err = err, .errlen = errlen};
    int rc;
    if (model) {
        char *text = read_file(&ld, model);
        rc = text ? load_model(&ld, c, text) : -1;
        free(text);
    } else {
        rc = load_model(&ld, c, nfp_early_classify_model);
    }
    if (rc < 0) {
        ec_free(c);
        return -1;
    }
    self->ctx = c;
    return 0;
}

/* ---- the packet path ----------------------------------------------------- */

static void predict(const struct ec_ctx *c, struct ec_state *st)
{
    int32_t x[F_COUNT];
    for (int k = 0; k < EC_PACKETS; k++) {
        int have = k < st->seen;
        x[F_PS1 + k] = have ? st->ps[k] : -1;
        x[F_DIR1 + k] = have ? st->dir[k] : -1;
    }
    const struct ec_node *n = &c->nodes[c->root];
    while (n->feature != F_LEAF)
        n = &c->nodes[x[n->feature] <= n->threshold ? n->left : n->right];
    memcpy(st->label, c->labels[n->label], EC_LABEL_SIZE);
    st->probability = n->probability;
    st->predicted_packets = st->seen < EC_PACKETS ? st->seen : EC_PACKETS;
}

static int ec_packet(void *ctx, void *state, const struct nfp_packet *pkt, const struct nfp_flow *flow)
{
    const struct ec_ctx *c = ctx;
    struct ec_state *st = state;
    (void)flow;
    if (st->predicted_packets)
        return NFP_DONE;
    if (st->seen < EC_PACKETS) {
        st->ps[st->seen] = pkt->ip_len > INT32_MAX ? INT32_MAX : (int32_t)pkt->ip_len;
        st->dir[st->seen] = pkt->direction ? 1 : 0;
        st->seen++;
    }
    if (st->seen < EC_PACKETS)
        return NFP_CONTINUE;
    predict(c, st);
    return c->early_expire ? NFP_EXPORT : NFP_DONE;
}

static void ec_expire(void *ctx, void *state, const struct nfp_flow *flow, enum nfp_end_reason reason)
{
    struct ec_state *st = state;
    (void)flow;
    (void)reason;
    if (!st->predicted_packets && st->seen)
        predict(ctx, st);
}

static void ec_cleanup(void *ctx)
{
    ec_free(ctx);
}

const struct nfp_plugin nfp_builtin_early_classify = {
    .api_version = NFP_API_VERSION,
    .name = "early-classify",
    .state_size = sizeof(struct ec_state),
    .fields = ec_fields,
    .nfields = sizeof ec_fields / sizeof ec_fields[0],
    .init = ec_init,
    .on_init = ec_packet,
    .on_update = ec_packet,
    .on_expire = ec_expire,
    .cleanup = ec_cleanup,
};
