/* util.h — small helpers shared by every stage: messages, numbers, time. */
#ifndef NFPROBE_UTIL_H
#define NFPROBE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* One-line messages to stderr, prefixed "nfprobe: " (and by the context, if
 * set: "nfprobe: FILE:LINE: ..."). When stderr is the journal (JOURNAL_STREAM
 * names it, as systemd sets it), each line starts with its sd-daemon
 * priority: "<3>" error, "<4>" warning, "<6>" info (lines written without
 * these functions, like the statistics, are filed at the journal's default
 * level, info). */
enum { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO };
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_set_quiet(bool quiet);
/* Where the messages come from until reset with NULL; the string must stay. */
void log_set_context(const char *context);
/* One status line on stderr (a terminal), redrawn in place: "\r", the
 * line, no newline. Any message above clears it first, so nothing is
 * written over it; log_status_clear() takes it away (before other output
 * to stderr, and at the end). */
void log_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_status_clear(void);

/* Parse a whole decimal number in [min, max]; false on junk or range. */
bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Parse seconds, fractions allowed ("0.5"), into microseconds. */
bool parse_seconds_us(const char *s, uint64_t max_s, uint64_t *out_us);

uint64_t now_wall_us(void);
uint64_t now_mono_us(void);

/* Format an address of ip_version 4 or 6 (16-byte storage). */
void addr_to_string(int ip_version, const uint8_t addr[16], char *out, size_t outlen);

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint16_t rd16le(const uint8_t *p) { return (uint16_t)(p[1] << 8 | p[0]); }
static inline uint32_t rd32le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Bytes of the well-formed UTF-8 sequence starting at s (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), 0 if none does. */
size_t utf8_sequence_len(const uint8_t *s, size_t n);

/* Replace each byte of s[0..n) that is not part of a well-formed UTF-8
 * sequence with '?'. Strings from the wire (server names, user agents,
 * certificate fields, plugin strings) can hold any bytes, and both IPFIX
 * string elements (RFC 7011 section 6.1.6) and JSON text (RFC 8259 section
 * 8.1) must be UTF-8; '?' keeps the length, so every output says the same. */
void utf8_scrub(uint8_t *s, size_t n);

/* The rest of f (at most max bytes) in a buffer of malloc() with a NUL after
 * it (*len: the bytes read), grown as it fills: a small file costs a small
 * buffer. NULL with errno set: EFBIG when f holds more than max bytes,
 * ENOMEM, or the read's error. */
char *read_stream_text(FILE *f, size_t max, size_t *len);

/* bytes of memory, 64-byte aligned; from 2 MiB up, 2 MiB-aligned, zeroed,
 * resident only as its pages are first touched and backed by huge pages
 * where the kernel grants them. NULL: out of memory. Given back with
 * free_large_table() and the same size. */
void *alloc_large_table(size_t bytes);
void free_large_table(void *p, size_t bytes);

/* n rounded up to a multiple of align (a power of two). */
static inline size_t align_up(size_t n, size_t align)
{
    return (n + align - 1) & ~(align - 1);
}

/* An unsigned number of len bytes (1, 2, 4 or 8) stored in host order at p. */
static inline uint64_t host_uint_at(const void *p, size_t len)
{
    switch (len) {
    case 1: return *(const uint8_t *)p;
    case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
    case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
    default: { uint64_t x; memcpy(&x, p, 8); return x; }
    }
}

#endif
