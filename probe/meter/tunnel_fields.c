/* tunnel_fields.c — the tunnel extension and its elements.
 *
 * Element choice: IANA's layer2SegmentId (351) for the VXLAN VNI and the
 * NVGRE virtual subnet id (RFC 7133 encoding: the top byte names the overlay,
 * 1 VXLAN, 2 NVGRE); nProbe's UPSTREAM_TUNNEL_ID (106) and
 * DOWNSTREAM_TUNNEL_ID (120) under PEN 35632 for the id the packets of each
 * direction carried (TEID, VNI, GRE key, session or call id); the tunnel type
 * and the outer addresses, for which neither IANA nor nProbe has an element,
 * under nfprobe's PEN (NFP_DEFAULT_PEN, ids 300-304). */
#include "tunnel_fields.h"

#include <string.h>

#include "extend.h"
#include "nfprobe/plugin.h"
#include "tunnel.h"

struct tunnel_state {
    uint8_t type;               /* enum tunnel_type; 0: the flow is not in a tunnel */
    uint8_t ip_version;         /* of the outer addresses */
    uint8_t has_id[2];          /* per direction (DIR_FWD: from the initiator) */
    uint32_t id[2];
    uint8_t src[16];            /* outermost source of the initiator's packets */
    uint8_t dst[16];
};

static size_t state_offset;

static void note_id(struct tunnel_state *st, const struct packet_view *pv, int dir)
{
    st->id[dir] = pv->tun.wire_id;
    st->has_id[dir] = 1;
}

/* A direction's id is the one its first packet carried. */
static enum ext_verdict ids_verdict(const struct tunnel_state *st)
{
    return st->has_id[0] && st->has_id[1] ? EXT_DONE : EXT_MORE;
}

static enum ext_verdict tunnel_init(void *ctx, void *state, const struct flow *f,
                                    const struct packet_view *pv, int dir)
{
    (void)ctx, (void)f;
    struct tunnel_state *st = state;
    if (!pv->tun.depth)
        return EXT_DONE;
    st->type = pv->tun.type;
    st->ip_version = pv->tun.ip_version;
    memcpy(st->src, pv->tun.outer_src, 16);
    memcpy(st->dst, pv->tun.outer_dst, 16);
    if (!pv->tun.has_wire_id)
        return EXT_DONE;
    note_id(st, pv, dir);
    return ids_verdict(st);
}

static enum ext_verdict tunnel_packet(void *ctx, void *state, const struct flow *f,
                                      const struct packet_view *pv, int dir)
{
    (void)ctx, (void)f;
    struct tunnel_state *st = state;
    if (!st->has_id[dir])
        note_id(st, pv, dir);
    return ids_verdict(st);
}

static const struct extension tunnel_extension = {
    .name = "tunnel",
    .state_size = sizeof(struct tunnel_state),
    .flow_init = tunnel_init,
    .flow_packet = tunnel_packet,
    .zero_state_is_none = true,
};

static const struct tunnel_state *state_of(const struct flow_record *r)
{
    const struct tunnel_state *st = ext_state(r, state_offset);
    return st && st->type ? st : NULL;
}

/* In the responder's one-way record (VIEW_REV) its side is the source. */
static int from_responder(int view)
{
    return view == VIEW_REV;
}

static bool get_type(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    const struct tunnel_state *st = state_of(r);
    if (!st)
        return false;
    v->u = st->type;
    return true;
}

static bool get_type_name(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    const struct tunnel_state *st = state_of(r);
    if (!st)
        return false;
    const char *name = tunnel_type_name(st->type);
    v->bytes = (const uint8_t *)name;
    v->nbytes = strlen(name);
    return true;
}

static bool get_outer(const struct flow_record *r, int version, int source, struct elem_value *v)
{
    const struct tunnel_state *st = state_of(r);
    if (!st || st->ip_version != version)
        return false;
    memcpy(v->addr, source ? st->src : st->dst, 16);
    return true;
}

static bool get_src4(const struct flow_record *r, int view, struct elem_value *v)
{
    return get_outer(r, 4, !from_responder(view), v);
}
static bool get_dst4(const struct flow_record *r, int view, struct elem_value *v)
{
    return get_outer(r, 4, from_responder(view), v);
}
static bool get_src6(const struct flow_record *r, int view, struct elem_value *v)
{
    return get_outer(r, 6, !from_responder(view), v);
}
static bool get_dst6(const struct flow_record *r, int view, struct elem_value *v)
{
    return get_outer(r, 6, from_responder(view), v);
}

static bool get_id(const struct flow_record *r, int dir, struct elem_value *v)
{
    const struct tunnel_state *st = state_of(r);
    if (!st || !st->has_id[dir])
        return false;
    v->u = st->id[dir];
    return true;
}

/* Upstream: the id of the packets this record's source sent. */
static bool get_upstream(const struct flow_record *r, int view, struct elem_value *v)
{
    return get_id(r, from_responder(view), v);
}
static bool get_downstream(const struct flow_record *r, int view, struct elem_value *v)
{
    return get_id(r, !from_responder(view), v);
}

/* RFC 7133: overlay type in the top byte, the segment id in the low 24 bits. */
static bool get_segment(const struct flow_record *r, int view, struct elem_value *v)
{
    (void)view;
    const struct tunnel_state *st = state_of(r);
    if (!st || !st->has_id[0])
        return false;
    if (st->type == TUNNEL_VXLAN)
        v->u = 1ull << 56 | st->id[0];
    else if (st->type == TUNNEL_NVGRE)
        v->u = 2ull << 56 | st->id[0];
    else
        return false;
    return true;
}

#define NTOP 35632u
#define V9_NTOP(id) ((uint16_t)(57472u + (id)))
#define OWN NFP_DEFAULT_PEN
static const struct element rows[] = {
    /* name                      pen   id   v9           type/len             rev    json                 json_rev get */
    {"tunnelType",               OWN,  300, 0,           ET_UNSIGNED, 1,      false, NULL,                NULL, get_type, 0},
    {"tunnelTypeName",           0,    0,   0,           ET_STRING, ELEM_VARLEN, false, "tunnel_type",    NULL, get_type_name, 0},
    {"tunnelSourceIPv4Address",  OWN,  301, 0,           ET_IPV4, 4,          false, "tunnel_src_ip",     NULL, get_src4, 0},
    {"tunnelDestinationIPv4Address", OWN, 302, 0,        ET_IPV4, 4,          false, "tunnel_dst_ip",     NULL, get_dst4, 0},
    {"tunnelSourceIPv6Address",  OWN,  303, 0,           ET_IPV6, 16,         false, "tunnel_src_ip",     NULL, get_src6, 0},
    {"tunnelDestinationIPv6Address", OWN, 304, 0,        ET_IPV6, 16,         false, "tunnel_dst_ip",     NULL, get_dst6, 0},
    {"UPSTREAM_TUNNEL_ID",       NTOP, 106, V9_NTOP(106), ET_UNSIGNED, 4,     false, "tunnel_id",         NULL, get_upstream, 0},
    {"DOWNSTREAM_TUNNEL_ID",     NTOP, 120, V9_NTOP(120), ET_UNSIGNED, 4,     false, "reverse_tunnel_id", NULL, get_downstream, 0},
    {"layer2SegmentId",          0,    351, 0,           ET_UNSIGNED, 8,      false, "layer2_segment_id", NULL, get_segment, 0},
};
#undef OWN

int tunnel_fields_register(char *err, size_t errlen)
{
    return extend_register(&tunnel_extension, rows, sizeof rows / sizeof rows[0],
                           template_builtin("tunnel"), &state_offset, err, errlen);
}
