/* pcap_floor.c — the libpcap read floor for bench/workers.sh: read a capture
 * with a bare pcap_next_ex() loop and do nothing else, so a probe's time over
 * the same file can be set against the least any libpcap reader spends.
 *
 *   usage: pcap_floor FILE      prints "PACKETS CAPTURED_BYTES"
 *
 * The captured bytes are summed and one byte of each packet is read, so the
 * loop touches every record as a probe must (the compiler cannot drop it).
 */
#define _DEFAULT_SOURCE /* libpcap's headers use u_char and u_int */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "pcap_floor: %s\n", err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t packets = 0, bytes = 0, touch = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        packets++;
        bytes += h->caplen;
        if (h->caplen)
            touch += data[h->caplen - 1];
    }
    if (rc != PCAP_ERROR_BREAK) {
        fprintf(stderr, "pcap_floor: %s: %s\n", argv[1], pcap_geterr(p));
        pcap_close(p);
        return 1;
    }
    pcap_close(p);
    printf("%llu %llu\n", (unsigned long long)packets, (unsigned long long)bytes);
    return touch == UINT64_MAX; /* keeps the read of every packet */
}
