/* ntptime.h — IPFIX dateTimeMicroseconds and dateTimeNanoseconds: NTP
 * timestamps (RFC 7011 §6.1.9, §6.1.10), 32 bits of seconds since 1900 and
 * 32 bits of binary fraction of a second. */
#ifndef NFPROBE_NTPTIME_H
#define NFPROBE_NTPTIME_H

#include <stdint.h>

/* Seconds from 1900-01-01 (NTP's era 0) to 1970-01-01. */
#define NTP_UNIX_OFFSET 2208988800u

/* A Unix time in nanoseconds as an NTP timestamp. The fraction is one unit
 * (2^-32 s) above the time's floor, so a decoder that truncates (fraction x
 * 10^9 / 2^32, exactly or in floating point) reads the same nanosecond back. */
uint64_t ntp_from_unix_ns(uint64_t ns);
/* A Unix time in microseconds as an NTP timestamp whose fraction's low 11
 * bits are zero, as RFC 7011 §6.1.9 wants: 21 bits of fraction, one unit
 * above the time's floor, so that truncating decoders read the same
 * microsecond back. */
uint64_t ntp_from_unix_us(uint64_t us);

#endif
