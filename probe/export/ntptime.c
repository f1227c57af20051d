#include "ntptime.h"

/* floor(part x 2^bits / per_second) + 1, part < per_second: at most 2^bits - 1
 * (per_second < 2^bits). One unit above the time's floor, less than one unit
 * above the time, so that a decoder that truncates reads the time back even
 * where it computes in floating point: tshark 4.0 reads the exact half second
 * (fraction 2^31) as .499999999. */
static uint64_t fraction_up(uint64_t part, uint64_t per_second, unsigned bits)
{
    return (part << bits) / per_second + 1;
}

/* Seconds wrap at 2^32 (NTP era 1 begins in 2036), as the format does. */
static uint64_t ntp_seconds(uint64_t unix_seconds)
{
    return (uint64_t)(uint32_t)(unix_seconds + NTP_UNIX_OFFSET) << 32;
}

uint64_t ntp_from_unix_ns(uint64_t ns)
{
    return ntp_seconds(ns / 1000000000u) | fraction_up(ns % 1000000000u, 1000000000u, 32);
}

uint64_t ntp_from_unix_us(uint64_t us)
{
    return ntp_seconds(us / 1000000u) | fraction_up(us % 1000000u, 1000000u, 21) << 11;
}
