#include "plugin.h"

#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "dpi.h"
#include "elements.h"
#include "extend.h"
#include "extension.h"
#include "plugins/builtin.h"
#include "util.h"

enum { MAX_PLUGINS = EXT_MAX, MAX_FIELD_ID = 16383 };

/* One loaded plugin: its own copy of the descriptor (init may change it),
 * the extension that drives it, and the element rows made of its fields. */
struct plugin {
    struct nfp_plugin p;
    char *label;                /* the name or path given to -P, for messages */
    void *dl;                   /* shared object, NULL for a built-in */
    size_t sub;                 /* where its state sits in the plugins' state */
    struct element *rows;
    struct field_ref *refs;
    bool initialised;
};

/* What a row's reader needs: the plugin (state offset) and the field. */
struct field_ref {
    const struct plugin *pl;
    const struct nfp_field *field;
};

static struct plugin *plugins[MAX_PLUGINS];
static size_t nplugins;
static const struct dpi *dpi_for_plugins;

static const struct {
    const char *name;
    const struct nfp_plugin *plugin;
} builtins[] = {
    {"splt", &nfp_builtin_splt},
    {"flowstats", &nfp_builtin_flowstats},
    {"early-classify", &nfp_builtin_early_classify},
    {"events", &nfp_builtin_events},
};

const char *plugin_builtin_name(size_t i)
{
    return i < sizeof builtins / sizeof builtins[0] ? builtins[i].name : NULL;
}

void plugins_set_dpi(const struct dpi *d)
{
    dpi_for_plugins = d;
}

/* ---- the packet path: one extension runs every plugin ----------------------
 * The meter sees all plugins as one extension, so it walks one slot per
 * packet and the view plugins read is built once per packet. That
 * extension's state, zeroed for every record, is a header saying which
 * plugins are done with the record, then each plugin's state at its sub
 * offset (16-byte aligned). */

struct host_header {
    uint32_t done;              /* bit i: plugins[i] said NFP_DONE or NFP_EXPORT */
    uint32_t unused[3];         /* keeps the plugins' states 16-byte aligned */
};
_Static_assert(sizeof(struct host_header) == 16, "plugin host header is 16 bytes");
_Static_assert(MAX_PLUGINS <= 32, "plugin done bits fit the header");

static struct extension host;   /* registered with the first plugin */
static size_t host_offset;      /* where its state sits in a flow's block (after attach) */
static bool host_registered;

static size_t state_offset(const struct plugin *pl)
{
    return host_offset + pl->sub;
}

static void packet_for_plugin(const struct packet_view *pv, int dir, struct nfp_packet *p)
{
    *p = (struct nfp_packet){
        .time_us = pv->ts_us, .caplen = pv->caplen, .wirelen = pv->wirelen,
        .ip_len = pv->ip_len, .ip = pv->l3, .ip_caplen = pv->l3_caplen,
        .l4 = pv->l4, .l4_caplen = pv->l4 ? pv->l4_caplen : 0,
        .src = pv->src, .dst = pv->dst, .sport = pv->sport, .dport = pv->dport,
        .vlan = pv->vlan, .ip_version = pv->ip_version, .proto = pv->proto,
        .tcp_flags = pv->tcp_flags, .direction = (uint8_t)dir,
    };
}

typedef int (*packet_fn)(void *ctx, void *state, const struct nfp_packet *pkt,
                         const struct nfp_flow *flow);

/* What the packet path calls, packed: plugins[i]'s on_update, ctx, sub. */
static struct {
    packet_fn on_update;
    void *ctx;
    size_t sub;
} updates[MAX_PLUGINS];
static uint32_t all_done;       /* the done bits of every plugin */

/* A plugin's answer into the header; true when it asks for export. */
static bool note_verdict(struct host_header *h, size_t i, int rc)
{
    if (rc == NFP_DONE || rc == NFP_EXPORT)
        h->done |= 1u << i;
    return rc == NFP_EXPORT;
}

static enum ext_verdict verdict(const struct host_header *h, bool export)
{
    return export ? EXT_EXPORT : h->done == all_done ? EXT_DONE : EXT_MORE;
}

/* The record's first packet: every plugin's on_init. A plugin without
 * on_update is done after it. */
static enum ext_verdict on_record_start(void *ctx, void *state, const struct flow *f,
                                        const struct packet_view *pv, int dir)
{
    (void)ctx;
    struct host_header *h = state;
    struct nfp_packet p;
    packet_for_plugin(pv, dir, &p);
    bool export = false;
    for (size_t i = 0; i < nplugins; i++) {
        const struct plugin *pl = plugins[i];
        int rc = pl->p.on_init ? pl->p.on_init(pl->p.ctx, (uint8_t *)state + pl->sub, &p, &f->c)
                               : NFP_CONTINUE;
        export |= note_verdict(h, i, rc);
        if (!pl->p.on_update)
            h->done |= 1u << i;
    }
    return verdict(h, export);
}

/* Every later packet: on_update of the plugins not done with the record. */
static enum ext_verdict on_packet(void *ctx, void *state, const struct flow *f,
                                  const struct packet_view *pv, int dir)
{
    (void)ctx;
    struct host_header *h = state;
    struct nfp_packet p;
    packet_for_plugin(pv, dir, &p);
    bool export = false;
    uint32_t done = h->done;
    size_t n = nplugins;        /* a local: the calls below could change a global */
    for (size_t i = 0; i < n; i++) {
        if (done & (1u << i))
            continue;
        int rc = updates[i].on_update(updates[i].ctx, (uint8_t *)state + updates[i].sub, &p, &f->c);
        if (rc != NFP_CONTINUE)
            export |= note_verdict(h, i, rc);
    }
    return verdict(h, export);
}

static void on_export(void *ctx, void *state, const struct flow *f, enum end_reason reason)
{
    (void)ctx;
    for (size_t i = 0; i < nplugins; i++) {
        const struct plugin *pl = plugins[i];
        if (pl->p.on_expire)
            pl->p.on_expire(pl->p.ctx, (uint8_t *)state + pl->sub, &f->c,
                            (enum nfp_end_reason)reason);
    }
}

static int register_host(char *err, size_t errlen)
{
    if (host_registered)
        return 0;
    host = (struct extension){
        .name = "plugins", .state_size = sizeof(struct host_header), .per_record = true,
        .flow_init = on_record_start, .flow_packet = on_packet, .flow_export = on_export,
    };
    if (extend_register(&host, NULL, 0, NULL, &host_offset, err, errlen) < 0)
        return -1;
    host_registered = true;
    return 0;
}

/* ---- fields → element rows ----------------------------------------------- */

/* Fields describe the whole conversation: every view reads the same value. */
static bool get_field(const struct element *el, const struct flow_record *r, int view,
                      struct elem_value *v)
{
    (void)view;
    const struct field_ref *ref = el->user;
    const uint8_t *state = ext_state(r, state_offset(ref->pl));
    if (!state)
        return false;
    const struct nfp_field *fd = ref->field;
    const uint8_t *at = state + fd->offset;
    if (fd->list) {
        uint32_t n;
        memcpy(&n, state + fd->count_offset, sizeof n);
        v->bytes = at;
        v->nitems = n < fd->size ? n : fd->size;
        return true;
    }
    switch (fd->type) {
    case NFP_STRING:
        v->bytes = at;
        v->nbytes = strnlen((const char *)at, fd->size);
        return true;
    case NFP_F64:
        memcpy(&v->f, at, sizeof v->f);
        return true;
    default:
        v->u = host_uint_at(at, nfp_type_size(fd->type));
        return true;
    }
}

static bool locate_field(const struct element *el, struct ext_place *out)
{
    const struct field_ref *ref = el->user;
    const struct nfp_field *fd = ref->field;
    if (fd->type == NFP_STRING)
        return false;
    size_t at = state_offset(ref->pl);
    *out = (struct ext_place){at + fd->offset, at + fd->count_offset, fd->list ? fd->size : 1};
    return true;
}

static const char *json_name(const struct nfp_field *fd)
{
    return fd->json ? fd->json : fd->name;
}

/* A row that already uses this field's IPFIX name, JSON name or PEN/id. */
static const struct element *row_in_conflict(const struct nfp_field *fd, uint32_t pen)
{
    for (size_t i = 0; i < elements_count(); i++) {
        const struct element *el = elements_at(i);
        if (strcmp(el->name, fd->name) == 0 || (el->pen == pen && el->id == fd->id) ||
            (el->json && strcmp(el->json, json_name(fd)) == 0) ||
            (el->json_rev && strcmp(el->json_rev, json_name(fd)) == 0))
            return el;
    }
    return NULL;
}

static bool fits(size_t offset, size_t len, size_t state_size)
{
    return offset <= state_size && len <= state_size - offset;
}

static int check_field(const struct plugin *pl, const struct nfp_field *fd, uint32_t pen,
                       char *err, size_t errlen)
{
    const char *why = NULL;
    size_t item = nfp_type_size(fd->type);
    size_t n = fd->list ? fd->size : fd->type == NFP_STRING ? fd->size : 1;
    if (!fd->name || !fd->name[0])
        why = "has no name";
    else if (fd->id < 1 || fd->id > MAX_FIELD_ID)
        why = "has an element id outside 1..16383";
    else if (!item)
        why = "has an unknown type";
    else if (fd->list && fd->type == NFP_STRING)
        why = "is a list of strings (lists hold numbers)";
    else if ((fd->list || fd->type == NFP_STRING) && fd->size == 0)
        why = "has size 0";
    else if (!fits(fd->offset, item * n, pl->p.state_size))
        why = "lies outside the per-flow state (offset/size beyond state_size)";
    else if (fd->list && !fits(fd->count_offset, sizeof(uint32_t), pl->p.state_size))
        why = "has its item count outside the per-flow state";
    if (why) {
        snprintf(err, errlen, "plugin %s: field %s %s", pl->label, fd->name ? fd->name : "?", why);
        return -1;
    }
    const struct element *clash = row_in_conflict(fd, pen);
    if (clash) {
        snprintf(err, errlen, "plugin %s: field %s (%u/%u, JSON %s) clashes with element %s",
                 pl->label, fd->name, pen, fd->id, json_name(fd), clash->name);
        return -1;
    }
    return 0;
}

static void row_of_field(struct element *row, const struct field_ref *ref, uint32_t pen)
{
    const struct nfp_field *fd = ref->field;
    bool string = fd->type == NFP_STRING && !fd->list;
    *row = (struct element){
        .name = fd->name, .pen = pen, .id = fd->id,
        .type = fd->type == NFP_STRING ? ET_STRING : fd->type == NFP_F64 ? ET_FLOAT64 : ET_UNSIGNED,
        .len = string ? ELEM_VARLEN : (uint16_t)nfp_type_size(fd->type),
        .json = json_name(fd), .list = fd->list != 0, .per_flow = true, .get_row = get_field,
        .user = ref, .locate = locate_field,
    };
}

/* Check the plugin's fields and turn them into element rows; the rows are
 * registered one plugin at a time, so later plugins see earlier ones. */
static int make_rows(struct plugin *pl, uint32_t default_pen, char *err, size_t errlen)
{
    size_t n = pl->p.nfields;
    uint32_t pen = pl->p.pen ? pl->p.pen : default_pen;
    if (pen == PEN_REVERSE) {
        snprintf(err, errlen, "plugin %s: enterprise number %u marks RFC 5103 reverse elements; "
                 "use another (--plugin-pen)", pl->label, PEN_REVERSE);
        return -1;
    }
    if (n && !pl->p.fields) {
        snprintf(err, errlen, "plugin %s: nfields is %zu but fields is NULL", pl->label, n);
        return -1;
    }
    pl->rows = calloc(n ? n : 1, sizeof *pl->rows);
    pl->refs = calloc(n ? n : 1, sizeof *pl->refs);
    if (!pl->rows || !pl->refs) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (check_field(pl, &pl->p.fields[i], pen, err, errlen) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            const struct nfp_field *a = &pl->p.fields[i], *b = &pl->p.fields[j];
            if (strcmp(a->name, b->name) == 0 || a->id == b->id ||
                strcmp(json_name(a), json_name(b)) == 0) {
                snprintf(err, errlen, "plugin %s: fields %s and %s share a name or an id",
                         pl->label, b->name, a->name);
                return -1;
            }
        }
        pl->refs[i] = (struct field_ref){pl, &pl->p.fields[i]};
        row_of_field(&pl->rows[i], &pl->refs[i], pen);
    }
    return 0;
}

/* ---- loading --------------------------------------------------------------- */

static bool is_path(const char *name)
{
    size_t n = strlen(name);
    return strchr(name, '/') || (n > 3 && strcmp(name + n - 3, ".so") == 0);
}

static const struct nfp_plugin *find_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return builtins[i].plugin;
    return NULL;
}

static const struct nfp_plugin *open_shared(struct plugin *pl, char *err, size_t errlen)
{
    char path[4096];
    /* "my.so" means the file here, not a search of the library path. */
    snprintf(path, sizeof path, "%s%s", strchr(pl->label, '/') ? "" : "./", pl->label);
    pl->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!pl->dl) {
        snprintf(err, errlen, "plugin %s: cannot load it: %s", pl->label, dlerror());
        return NULL;
    }
    const struct nfp_plugin *d = dlsym(pl->dl, "nfp_plugin");
    if (!d)
        snprintf(err, errlen, "plugin %s: no symbol nfp_plugin in it (is it an nfprobe plugin?)",
                 pl->label);
    return d;
}

static const struct nfp_plugin *find_descriptor(struct plugin *pl, char *err, size_t errlen)
{
    if (is_path(pl->label))
        return open_shared(pl, err, errlen);
    const struct nfp_plugin *d = find_builtin(pl->label);
    if (!d) {
        size_t used = (size_t)snprintf(err, errlen, "plugin %s: no such built-in plugin (built in:",
                                       pl->label);
        for (size_t i = 0; used < errlen && plugin_builtin_name(i); i++)
            used += (size_t)snprintf(err + used, errlen - used, " %s", plugin_builtin_name(i));
        if (used < errlen)
            snprintf(err + used, errlen - used, "; a shared object needs a path: ./%s.so)", pl->label);
    }
    return d;
}

/* Plugins tend to start their messages with their name; say it once. */
static const char *why_without_name(const char *why, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(why, name, n) == 0 && why[n] == ':' && why[n + 1] == ' ')
        why += n + 2;
    return why[0] ? why : "init failed";
}

static int start_plugin(struct plugin *pl, const char *args, unsigned run_flags, char *err,
                        size_t errlen)
{
    if (pl->p.api_version != NFP_API_VERSION) {
        snprintf(err, errlen, "plugin %s: built for plugin API version %u, this nfprobe has "
                 "version %d (rebuild it against this nfprobe's nfprobe/plugin.h)",
                 pl->label, pl->p.api_version, NFP_API_VERSION);
        return -1;
    }
    if (!pl->p.name || !pl->p.name[0]) {
        snprintf(err, errlen, "plugin %s: its descriptor has no name", pl->label);
        return -1;
    }
    if (args && !pl->p.init) {
        snprintf(err, errlen, "plugin %s: takes no arguments (got '%s')", pl->label, args);
        return -1;
    }
    pl->p.run_flags = run_flags;
    pl->p.ctx = NULL;
    char why[512] = "";
    if (pl->p.init && pl->p.init(&pl->p, args, why, sizeof why) < 0) {
        snprintf(err, errlen, "plugin %s: %s", pl->label, why_without_name(why, pl->p.name));
        return -1;
    }
    pl->initialised = true;
    return 0;
}

static void plugin_free(struct plugin *pl)
{
    if (pl->initialised && pl->p.cleanup)
        pl->p.cleanup(pl->p.ctx);
    /* Only a plugin that failed to register is freed: registered rows
     * stay until exit (and a shared object stays mapped: they name its
     * strings). */
    free(pl->rows);
    free(pl->refs);
    free(pl->label);
    free(pl);
}

/* Its rows join the element table and the templates, its state the host's. */
static int register_plugin(struct plugin *pl, uint32_t pen, char *err, size_t errlen)
{
    if (make_rows(pl, pen, err, errlen) < 0 || register_host(err, errlen) < 0 ||
        extend_register_rows(pl->p.name, pl->rows, pl->p.nfields, NULL, err, errlen) < 0)
        return -1;
    pl->sub = align_up(host.state_size, 16);
    host.state_size = pl->sub + pl->p.state_size;
    return 0;
}

/* pl is plugins[i] from now on. */
static void add_to_packet_path(const struct plugin *pl, size_t i)
{
    all_done |= 1u << i;
    updates[i].on_update = pl->p.on_update;
    updates[i].ctx = pl->p.ctx;
    updates[i].sub = pl->sub;
}

static struct plugin *plugin_new(const char *label, char *err, size_t errlen)
{
    if (nplugins == MAX_PLUGINS) {
        snprintf(err, errlen, "plugin %s: at most %d plugins", label, MAX_PLUGINS);
        return NULL;
    }
    struct plugin *pl = calloc(1, sizeof *pl);
    if (pl)
        pl->label = strdup(label);
    if (!pl || !pl->label) {
        free(pl);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return pl;
}

/* Start and register pl, whose descriptor d is (NULL: err says why). */
static int plugin_start(struct plugin *pl, const struct nfp_plugin *d, const char *args,
                        uint32_t pen, unsigned run_flags, char *err, size_t errlen)
{
    if (d)
        pl->p = *d;
    if (!d || start_plugin(pl, args, run_flags, err, errlen) < 0 ||
        register_plugin(pl, pen, err, errlen) < 0) {
        plugin_free(pl);
        return -1;
    }
    add_to_packet_path(pl, nplugins);
    plugins[nplugins++] = pl;
    return 0;
}

int plugin_load_descriptor(const struct nfp_plugin *d, const char *label, const char *args,
                           uint32_t pen, unsigned run_flags, char *err, size_t errlen)
{
    struct plugin *pl = plugin_new(label, err, errlen);
    return pl ? plugin_start(pl, d, args, pen, run_flags, err, errlen) : -1;
}

int plugin_load(const char *spec, uint32_t pen, unsigned run_flags, char *err, size_t errlen)
{
    const char *colon = strchr(spec, ':');
    size_t namelen = colon ? (size_t)(colon - spec) : strlen(spec);
    if (namelen == 0) {
        snprintf(err, errlen, "plugin '%s': no name or path before ':'", spec);
        return -1;
    }
    char name[4096];
    if (namelen >= sizeof name) {
        snprintf(err, errlen, "plugin path too long");
        return -1;
    }
    memcpy(name, spec, namelen);
    name[namelen] = '\0';
    struct plugin *pl = plugin_new(name, err, errlen);
    if (!pl)
        return -1;
    const struct nfp_plugin *d = find_descriptor(pl, err, errlen);
    /* "name:" passes no arguments, like "name" */
    const char *args = colon && colon[1] ? colon + 1 : NULL;
    return plugin_start(pl, d, args, pen, run_flags, err, errlen);
}

void plugins_unload(void)
{
    for (size_t i = 0; i < nplugins; i++) {
        struct plugin *pl = plugins[i];
        if (pl->initialised && pl->p.cleanup)
            pl->p.cleanup(pl->p.ctx);
        pl->initialised = false;
    }
}

/* ---- what plugins call ------------------------------------------------------ */

int nfp_flow_dpi(const struct nfp_flow *flow, struct nfp_dpi *out)
{
    if (!dpi_for_plugins || !flow || !out)
        return -1;
    const struct flow *f = (const struct flow *)((const char *)flow - offsetof(struct flow, c));
    struct flow_record r = {.ext = f->ext};
    struct dpi_result res;
    if (!dpi_result_of(dpi_state_of_record(&r), &res))
        return -1;
    *out = (struct nfp_dpi){
        .master_protocol = res.master, .app_protocol = res.app,
        .concluded = res.concluded, .guessed = res.guessed,
        .application_name = res.application_name, .category_name = res.category_name,
        .requested_server_name = res.server_name, .ja3_client = res.ja3c, .ja3_server = res.ja3s,
    };
    return 0;
}
