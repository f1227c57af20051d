/* fuzz_model.c — the early-classify model parser (-P
 * early-classify:model=FILE, probe/meter/plugins/early_classify.c) on any
 * file, and, when a model loads, the tree walked with packet sizes and
 * directions from the same input: a model that passes the loader's checks
 * must classify every flow without leaving the tree or looping.
 *
 * Input: the model file; its last 12 bytes are also read as three packets
 * (2-byte IP length, 1-byte direction, 1 byte unused), so mutations of the
 * tail move the walk. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "plugins/builtin.h"

static void classify(const struct nfp_plugin *p, const uint8_t *tail, size_t n)
{
    void *state = calloc(1, p->state_size ? p->state_size : 1);
    if (!state)
        abort();
    struct fuzz_input in = {tail, n};
    static const uint8_t addr[16];
    struct nfp_flow flow = {{0}};
    for (int k = 0; k < 3; k++) {
        struct nfp_packet pkt = {.time_us = 1 + (uint64_t)k, .ip_len = fuzz_u16(&in), .src = addr,
                                 .dst = addr, .ip_version = 4, .proto = 17};
        pkt.direction = fuzz_u8(&in) & 1;
        fuzz_u8(&in);
        flow.packets[pkt.direction]++;
        int v = (k == 0 ? p->on_init : p->on_update)(p->ctx, state, &pkt, &flow);
        if (v == NFP_DONE)
            break;
    }
    if (p->on_expire)
        p->on_expire(p->ctx, state, &flow, NFP_END_FORCED);
    free(state);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_as_file(data, size);
    char args[128], err[1024] = "";
    snprintf(args, sizeof args, "model=%s", path);
    struct nfp_plugin p = nfp_builtin_early_classify;
    if (p.init(&p, args, err, sizeof err) < 0) {
        if (!err[0])
            fuzz_fail("the model was refused without a message");
        return 0;
    }
    size_t tail = size < 12 ? size : 12;
    classify(&p, data + size - tail, tail);
    if (p.cleanup)
        p.cleanup(p.ctx);
    return 0;
}
