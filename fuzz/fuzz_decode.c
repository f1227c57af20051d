/* fuzz_decode.c — the link-layer and IP decoder (probe/input/decode.c) on
 * any frame.
 *
 * Input: a byte choosing the link type (fuzz_link_type()), a byte of extra
 * wire length (wirelen = caplen + it), then the frame. The frame ends where
 * the input does, so AddressSanitizer reports any read past caplen. Checked
 * besides: what decode_packet() says points inside the frame and agrees
 * with itself, and decode_address_pair() (the workers' quick look) finds the
 * same addresses as decode_packet() (the outermost ones of a tunnel). */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "decode.h"

static void check_inside(const uint8_t *frame, uint32_t caplen, const uint8_t *p, uint32_t n,
                         const char *what)
{
    if (p < frame || p > frame + caplen || n > (uint32_t)(frame + caplen - p))
        fuzz_fail("%s (%u bytes at offset %td) is outside the %u-byte frame", what, n,
                  p - frame, caplen);
}

static void check_view(const uint8_t *frame, uint32_t caplen, const struct packet_view *pv)
{
    check_inside(frame, caplen, pv->l3, pv->l3_caplen, "l3");
    if (pv->l4) {
        check_inside(frame, caplen, pv->l4, pv->l4_caplen, "l4");
        if (pv->l4 < pv->l3)
            fuzz_fail("l4 before l3");
    }
    if (pv->ip_version != 4 && pv->ip_version != 6)
        fuzz_fail("ip_version %u", pv->ip_version);
    if (pv->caplen != caplen)
        fuzz_fail("caplen %u, frame %u", pv->caplen, caplen);
    if (pv->frag.is_fragment && pv->frag.offset != 0 && pv->l4)
        fuzz_fail("a non-first fragment has a transport header");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_input in = {data, size};
    int dlt = fuzz_link_type(fuzz_u8(&in));
    uint32_t extra = fuzz_u8(&in);
    size_t caplen;
    const uint8_t *frame = fuzz_bytes(&in, SIZE_MAX, &caplen);
    uint32_t wirelen = (uint32_t)caplen + extra;

    struct packet_view pv;
    memset(&pv, 0xA5, sizeof pv);   /* nothing left over is mistaken for a result */
    enum decode_status st = decode_packet(dlt, frame, (uint32_t)caplen, wirelen, 1, &pv);
    if ((unsigned)st >= DECODE_STATUS_COUNT)
        fuzz_fail("status %d", st);
    if (!decode_status_name(st))
        fuzz_fail("status %d has no name", st);

    uint8_t src[16], dst[16];
    int version = decode_address_pair(dlt, frame, (uint32_t)caplen, wirelen, src, dst);
    if (st != DECODE_OK)
        return 0;
    check_view(frame, (uint32_t)caplen, &pv);
    /* a decapsulated packet's worker is chosen by its outermost addresses */
    unsigned want_version = pv.tun.depth ? pv.tun.ip_version : pv.ip_version;
    const uint8_t *want_src = pv.tun.depth ? pv.tun.outer_src : pv.src;
    const uint8_t *want_dst = pv.tun.depth ? pv.tun.outer_dst : pv.dst;
    if ((unsigned)version != want_version || memcmp(src, want_src, 16) || memcmp(dst, want_dst, 16))
        fuzz_fail("decode_address_pair() says version %d, decode_packet() %u (or other addresses)",
                  version, want_version);
    return 0;
}
