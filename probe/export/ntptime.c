#include "ntptime.h"

/* ceil(part x 2^bits / per_second), part < per_second: below 2^bits. */
static uint64_t fraction_up(uint64_t part, uint64_t per_second, unsigned bits)
{
    return ((part << bits) + per_second - 1) / per_second;
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
