/* pcap_read.c — the floor for reading a capture: a bare libpcap loop
 * (pcap_next_ex, nanosecond timestamps as nfprobe asks for them) that only
 * sums what it reads, so the compiler keeps the reads. bench/fastpath.sh
 * compares nfprobe's time on a capture against this program's.
 *
 *   cc -O2 -o pcap_read bench/pcap_read.c -lpcap && ./pcap_read FILE
 */
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
    pcap_t *p = pcap_open_offline_with_tstamp_precision(argv[1], PCAP_TSTAMP_PRECISION_NANO, err);
    if (!p) {
        fprintf(stderr, "pcap_read: %s\n", err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t packets = 0, bytes = 0, sum = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        packets++;
        bytes += h->caplen;
        sum += data[h->caplen ? h->caplen - 1 : 0];
    }
    if (rc != PCAP_ERROR_BREAK) {
        fprintf(stderr, "pcap_read: %s\n", pcap_geterr(p));
        return 1;
    }
    printf("%llu packets, %llu bytes, sum %llu\n", (unsigned long long)packets,
           (unsigned long long)bytes, (unsigned long long)sum);
    pcap_close(p);
    return 0;
}
