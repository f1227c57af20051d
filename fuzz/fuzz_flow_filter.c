/* fuzz_flow_filter.c — the --flow-filter parser (probe/export/flowfilter.c)
 * on any expression, then the compiled filter run over records.
 *
 * Input: the expression up to the first NUL byte; after it, the fields of
 * the records it is matched against (each record's counters, times,
 * addresses, ports, protocol and flags, read a field at a time).
 * Checked: a refused expression says why and names a position inside it
 * (1 to its length + 1); an accepted one, negated as "not (EXPR)", is also
 * accepted and matches exactly the records EXPR does not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "flowfilter.h"

#define RECORDS 4

static void read_record(struct fuzz_input *in, struct flow_record *r)
{
    size_t got, n;
    memset(r, 0, sizeof *r);
    r->ip_version = fuzz_u8(in) & 1 ? 6 : 4;
    n = r->ip_version == 6 ? 16 : 4;     /* IPv4: the first 4 bytes, rest zero */
    const uint8_t *src = fuzz_bytes(in, n, &got);
    if (got)
        memcpy(r->src, src, got);
    const uint8_t *dst = fuzz_bytes(in, n, &got);
    if (got)
        memcpy(r->dst, dst, got);
    r->sport = fuzz_u16(in);
    r->dport = fuzz_u16(in);
    r->proto = fuzz_u8(in);
    r->vlan = fuzz_u16(in);
    r->end_reason = fuzz_u8(in);
    for (int d = 0; d < 2; d++) {
        r->packets[d] = fuzz_u64(in);
        r->ip_octets[d] = fuzz_u64(in);
        r->l2_octets[d] = fuzz_u64(in);
        r->first_ms[d] = fuzz_u64(in);
        r->last_ms[d] = fuzz_u64(in);
        r->tcp_flags[d] = fuzz_u8(in);
        r->icmp_type_code[d] = fuzz_u16(in);
    }
}

static struct flow_filter *compile(const char *expr)
{
    char err[512] = "";
    size_t pos = 0;
    struct flow_filter *f = flow_filter_compile(expr, err, sizeof err, &pos);
    if (!f && (!err[0] || pos < 1 || pos > strlen(expr) + 1))
        fuzz_fail("'%s' refused at position %zu with '%s'", expr, pos, err);
    return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t expr_len = nul ? (size_t)(nul - data) : size;
    char *expr = fuzz_as_string(data, expr_len);
    struct flow_filter *f = compile(expr);
    if (!f) {
        free(expr);
        return 0;
    }
    char *negated = malloc(expr_len + 16);
    if (!negated)
        fuzz_fail("out of memory");
    snprintf(negated, expr_len + 16, "not (%s)", expr);
    struct flow_filter *nf = compile(negated);
    if (!nf)
        fuzz_fail("'%s' accepted, '%s' refused", expr, negated);
    struct fuzz_input in = {nul ? nul + 1 : data + size, nul ? size - expr_len - 1 : 0};
    for (int i = 0; i < RECORDS; i++) {
        struct flow_record r;
        read_record(&in, &r);
        if (flow_filter_match(f, &r) == flow_filter_match(nf, &r))
            fuzz_fail("'%s' and its negation agree on record %d", expr, i);
    }
    flow_filter_free(nf);
    flow_filter_free(f);
    free(negated);
    free(expr);
    return 0;
}
