#include "record.h"

#include <string.h>

void record_from_flow(const struct flow *f, enum end_reason reason, struct flow_record *r)
{
    memset(r, 0, sizeof *r);
    int s = f->key_dir, d = !f->key_dir;
    for (int dir = 0; dir < 2; dir++) {
        r->first_ms[dir] = f->c.first_us[dir] / 1000;
        r->last_ms[dir] = f->c.packets[dir] ? f->c.last_us[dir] / 1000 : 0;
        if (f->c.packets[dir]) {
            r->first_ns[dir] = f->c.first_us[dir] * 1000 + f->first_sub_ns[dir];
            r->last_ns[dir] = f->c.last_us[dir] * 1000 + f->last_sub_ns[dir];
        }
        r->packets[dir] = f->c.packets[dir];
        r->ip_octets[dir] = f->c.ip_octets[dir];
        r->l2_octets[dir] = f->c.l2_octets[dir];
        r->tcp_flags[dir] = f->tcp_flags[dir];
        r->icmp_type_code[dir] = f->icmp_type_code[dir];
    }
    memcpy(r->src, f->key.addr[s], 16);
    memcpy(r->dst, f->key.addr[d], 16);
    r->sport = f->key.port[s];
    r->dport = f->key.port[d];
    r->vlan = f->key.vlan;
    r->proto = f->key.proto;
    r->ip_version = f->key.ip_version;
    r->end_reason = (uint8_t)reason;
    r->ext = f->ext;
}

static uint64_t min_nonzero(uint64_t a, uint64_t b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return a < b ? a : b;
}

uint64_t record_first_ms(const struct flow_record *r)
{
    return min_nonzero(r->packets[0] ? r->first_ms[0] : 0, r->packets[1] ? r->first_ms[1] : 0);
}

uint64_t record_last_ms(const struct flow_record *r)
{
    return r->last_ms[0] > r->last_ms[1] ? r->last_ms[0] : r->last_ms[1];
}

uint64_t record_first_ns(const struct flow_record *r)
{
    return min_nonzero(r->first_ns[0], r->first_ns[1]);
}

uint64_t record_last_ns(const struct flow_record *r)
{
    return r->last_ns[0] > r->last_ns[1] ? r->last_ns[0] : r->last_ns[1];
}
