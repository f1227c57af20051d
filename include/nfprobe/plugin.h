/* nfprobe/plugin.h — add your own per-flow features to nfprobe's records.
 *
 * A plugin is one `struct nfp_plugin`: a name, how many bytes of per-flow
 * state it needs, the fields it exports (read straight from that state at
 * export) and nfstream's callbacks. For every flow record nfprobe hands the
 * plugin a zeroed state block and calls
 *
 *   on_init(pkt, flow)    with the record's first packet,
 *   on_update(pkt, flow)  with each later packet of the record,
 *   on_expire(flow)       just before the record is exported,
 *   cleanup()             once, when the run ends.
 *
 * A record ends when its flow expires (idle, TCP close, end of input, a full
 * cache) or when the active timeout splits a long flow: the next packet then
 * starts a new record with a fresh, zeroed state and on_init again. Packets
 * are counted into the flow before the callbacks see them.
 *
 * Only the fields listed in `fields` are exported (IPFIX elements under the
 * plugin's enterprise number, and JSON members); the rest of the state is
 * private. Fields describe the whole conversation (both directions), and a
 * one-way IPFIX record of either direction carries them.
 *
 * A shared object plugin defines the descriptor under the name `nfp_plugin`:
 *
 *     const struct nfp_plugin nfp_plugin = { .api_version = NFP_API_VERSION, ... };
 *
 * built with
 *
 *     cc -shared -fPIC $(pkg-config --cflags nfprobe-plugin) -o my.so my.c
 *
 * and run with `nfprobe -P ./my.so[:arguments] ...`. The callbacks run on the
 * packet path: no allocation, no system call, no lock per packet. With
 * --workers N they run on N threads at once, each on flows of its own: a
 * flow's state is only ever touched by one thread, but the plugin's ctx is
 * shared, so treat it as read-only after init. */
#ifndef NFPROBE_PLUGIN_H
#define NFPROBE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes; nfprobe refuses other versions. */
#define NFP_API_VERSION 1

/* The enterprise number plugin fields go out under unless the plugin or
 * --plugin-pen says otherwise: 32473 is reserved for documentation (RFC
 * 5612); a site with its own PEN should use it. */
#define NFP_DEFAULT_PEN 32473u

/* Directions: the flow's initiator (sender of its first packet) is src. */
enum nfp_direction { NFP_SRC_TO_DST = 0, NFP_DST_TO_SRC = 1 };

/* What a callback returns. */
enum nfp_verdict {
    NFP_CONTINUE = 0,   /* keep calling on_update for this record */
    NFP_DONE = 1,       /* no more packets for me in this record */
    NFP_EXPORT = 2,     /* export this flow now (nfstream's custom expiration) */
};

/* Why a record is exported (IANA flowEndReason). */
enum nfp_end_reason {
    NFP_END_IDLE = 1,
    NFP_END_ACTIVE = 2,         /* active timeout: the flow goes on in a new record */
    NFP_END_OF_FLOW = 3,        /* TCP close, or a plugin asked (NFP_EXPORT) */
    NFP_END_FORCED = 4,         /* end of input, signal */
    NFP_END_LACK_OF_RESOURCES = 5,
};

/* One packet, as decoded. Pointers are valid during the callback only. */
struct nfp_packet {
    uint64_t time_us;           /* capture time, microseconds since the epoch */
    uint32_t caplen;            /* bytes captured of the frame */
    uint32_t wirelen;           /* bytes of the frame on the wire */
    uint32_t ip_len;            /* IP header + payload (what octet counters add) */
    const uint8_t *ip;          /* the (outer) IP header */
    uint32_t ip_caplen;         /* captured bytes from ip on */
    const uint8_t *l4;          /* transport header; NULL for later fragments */
    uint32_t l4_caplen;         /* captured bytes from l4 on */
    const uint8_t *src, *dst;   /* 16 bytes each; IPv4 in the first 4 */
    uint16_t sport, dport;      /* 0 for protocols without ports */
    uint16_t vlan;              /* outer VLAN id, 0 if untagged */
    uint8_t ip_version;         /* 4 or 6 */
    uint8_t proto;              /* IP protocol (after IPv6 extension headers) */
    uint8_t tcp_flags;
    uint8_t direction;          /* enum nfp_direction */
};

/* The flow's counters for the current record, per direction (index
 * enum nfp_direction), this packet included. first_us and last_us are the
 * earliest and the latest packet time of the direction: a capture out of
 * time order does not make them the first and last packets processed. */
struct nfp_flow {
    uint64_t first_us[2];       /* 0 while a direction has seen nothing */
    uint64_t last_us[2];        /* meaningful where packets[d] > 0 */
    uint64_t packets[2];
    uint64_t ip_octets[2];
    uint64_t l2_octets[2];
};

/* What nDPI concluded about a flow (dissection on). Strings stay valid
 * until the callback returns; "" when unknown. */
struct nfp_dpi {
    uint16_t master_protocol, app_protocol;
    int concluded;              /* detection is over (strings below final) */
    int guessed;                /* concluded by nDPI's guess, not the payload */
    const char *application_name;   /* "TLS.YouTube" */
    const char *category_name;
    const char *requested_server_name;
    const char *ja3_client, *ja3_server;
};

/* Fill *out with the flow's DPI result so far: 0, or -1 when dissection is
 * off or the flow has no DPI state. Callable from on_update and on_expire. */
int nfp_flow_dpi(const struct nfp_flow *flow, struct nfp_dpi *out);

enum nfp_type {
    NFP_U8 = 1, NFP_U16, NFP_U32, NFP_U64,  /* unsigned integers */
    NFP_F64,                                /* double (IPFIX float64) */
    NFP_STRING,                             /* char[size], NUL-terminated unless full */
};

/* Bytes of one value of a type (a string: of one character); 0 if unknown. */
static inline size_t nfp_type_size(enum nfp_type t)
{
    switch (t) {
    case NFP_U8: case NFP_STRING: return 1;
    case NFP_U16: return 2;
    case NFP_U32: return 4;
    case NFP_U64: case NFP_F64: return 8;
    }
    return 0;
}

/* One exported field, read from the per-flow state at `offset`. With
 * `list` set, the field is an array of up to `size` items of `type` whose
 * count is the uint32_t at `count_offset`: an RFC 6313 basicList in IPFIX,
 * a JSON array. */
struct nfp_field {
    const char *name;           /* IPFIX element name, unique in the run: "packetsOver666" */
    uint16_t id;                /* element id under the plugin's PEN, 1..16383 */
    enum nfp_type type;
    size_t offset;              /* offsetof(struct my_state, member) */
    const char *json;           /* JSON member name; NULL: the IPFIX name */
    uint32_t size;              /* NFP_STRING: bytes of the array; list: its capacity */
    int list;
    size_t count_offset;        /* list: offsetof the uint32_t item count */
};

/* Flags nfprobe sets in a plugin's copy before init. */
enum { NFP_RUN_EARLY_EXPIRE = 1u << 0 };    /* --early-expire: export right after predicting */

struct nfp_plugin {
    unsigned api_version;       /* NFP_API_VERSION */
    const char *name;           /* short, no ':' ("splt") */
    size_t state_size;          /* per-flow bytes, zeroed for every record */
    uint32_t pen;               /* 0: --plugin-pen, by default NFP_DEFAULT_PEN */
    const struct nfp_field *fields;
    size_t nfields;
    /* Set by nfprobe in the plugin's own copy of this struct. */
    unsigned run_flags;         /* NFP_RUN_* */
    void *ctx;                  /* yours: set it in init, passed to every callback */

    /* At start, with the text after "name:" in -P (NULL without). It may
     * change state_size, fields and nfields of self (its own copy), e.g.
     * to size the state from the arguments. 0, or -1 with a message in err. */
    int (*init)(struct nfp_plugin *self, const char *args, char *err, size_t errlen);
    int (*on_init)(void *ctx, void *state, const struct nfp_packet *pkt,
                   const struct nfp_flow *flow);
    int (*on_update)(void *ctx, void *state, const struct nfp_packet *pkt,
                     const struct nfp_flow *flow);
    void (*on_expire)(void *ctx, void *state, const struct nfp_flow *flow,
                      enum nfp_end_reason reason);
    void (*cleanup)(void *ctx);
};

#ifdef __cplusplus
}
#endif

#endif
