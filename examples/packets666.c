/* packets666.c — count each flow's packets of at least 666 bytes (IP length).
 * Build: cc -shared -fPIC $(pkg-config --cflags nfprobe-plugin) -o packets666.so packets666.c
 * Run:   nfprobe -r trace.pcap -P ./packets666.so */
#include <stddef.h>
#include <nfprobe/plugin.h>

struct state { uint64_t big; };

static int count(void *ctx, void *st, const struct nfp_packet *pkt, const struct nfp_flow *flow)
{
    (void)ctx, (void)flow;
    ((struct state *)st)->big += pkt->ip_len >= 666;
    return NFP_CONTINUE;
}

static const struct nfp_field fields[] = {
    {.name = "packetsOver666", .id = 1, .type = NFP_U64, .offset = offsetof(struct state, big),
     .json = "packets_over_666"},
};

const struct nfp_plugin nfp_plugin = {
    .api_version = NFP_API_VERSION, .name = "packets666", .state_size = sizeof(struct state),
    .fields = fields, .nfields = 1, .on_init = count, .on_update = count,
};
