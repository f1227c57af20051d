/* seeds.c — seed inputs for the packet fuzz targets, from real captures:
 *   seeds OUTDIR CAPTURE...
 * writes OUTDIR/decode/NAME-K (one frame each, the first MAX_FRAMES of each
 * capture) and OUTDIR/pipeline/NAME (the capture's first packets as one
 * sequence, up to MAX_SEQUENCE bytes), in the input formats of
 * fuzz_decode.c and fuzz_pipeline.c. Captures of link types the decoder
 * does not know are left out. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

enum { MAX_FRAMES = 24, MAX_SEQUENCE = 16384, MAX_FRAME = 4096 };

static int link_index(int dlt)
{
    for (int i = 0; i < 256; i++)
        if (fuzz_link_type((uint8_t)i) == dlt)
            return i;
    return -1;
}

static int write_file(const char *path, const uint8_t *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        return -1;
    }
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int seed_capture(const char *outdir, const char *path)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) {
        fprintf(stderr, "seeds: %s\n", err);
        return -1;
    }
    int idx = link_index(pcap_datalink(p));
    if (idx < 0) {
        pcap_close(p);
        return 0;
    }
    static uint8_t seq[MAX_SEQUENCE];
    size_t used = 2;
    seq[0] = (uint8_t)idx;
    seq[1] = 0x4f;      /* 16 flows, 2 s idle, 6 s active */
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t last_ms = 0;
    int k = 0, rc = 0;
    while (rc == 0 && pcap_next_ex(p, &h, &data) == 1) {
        uint32_t len = h->caplen < MAX_FRAME ? h->caplen : MAX_FRAME;
        char name[4096];
        if (k < MAX_FRAMES) {
            uint8_t one[2 + MAX_FRAME] = {(uint8_t)idx, (uint8_t)(h->len - h->caplen > 255 ? 255 : h->len - h->caplen)};
            memcpy(one + 2, data, len);
            snprintf(name, sizeof name, "%s/decode/%s-%d", outdir, base_name(path), k);
            rc = write_file(name, one, 2 + len);
        }
        k++;
        uint64_t ms = (uint64_t)h->ts.tv_sec * 1000 + (uint64_t)h->ts.tv_usec / 1000;
        int64_t step = last_ms ? (int64_t)(ms - last_ms) : 0;
        step = step > 32767 ? 32767 : step < -32768 ? -32768 : step;
        last_ms = ms;
        if (used + 4 + len <= sizeof seq) {
            uint8_t *s = seq + used;
            s[0] = (uint8_t)(len >> 8), s[1] = (uint8_t)len;
            s[2] = (uint8_t)((uint16_t)step >> 8), s[3] = (uint8_t)step;
            memcpy(s + 4, data, len);
            used += 4 + len;
        }
    }
    pcap_close(p);
    if (rc == 0) {
        char name[4096];
        snprintf(name, sizeof name, "%s/pipeline/%s", outdir, base_name(path));
        rc = write_file(name, seq, used);
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: seeds OUTDIR CAPTURE...\n");
        return 2;
    }
    int status = 0;
    for (int i = 2; i < argc; i++)
        if (seed_capture(argv[1], argv[i]) < 0)
            status = 1;
    return status;
}
