/* textbuf.h — a line of text built in memory (a JSON object, a CSV row),
 * written out with one call: stdio's formatting per member cost more than
 * the rest of a JSON run. The buffer grows to the longest line once and is
 * reused. */
#ifndef NFPROBE_TEXTBUF_H
#define NFPROBE_TEXTBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct textbuf {
    char *p;
    size_t len, cap;
    bool failed;            /* out of memory: the line is not to be written */
};

/* Start a new line in the same buffer. */
static inline void tb_reset(struct textbuf *b)
{
    b->len = 0;
    b->failed = false;
}
void tb_free(struct textbuf *b);
void tb_put_bytes(struct textbuf *b, const void *s, size_t n);
void tb_put_char(struct textbuf *b, char c);
void tb_put_text(struct textbuf *b, const char *s);
void tb_put_u64(struct textbuf *b, uint64_t v);
/* Bytes that are not UTF-8 written as '?' (utf8_scrub(), as the IPFIX
 * encoders do), without quotes or escapes. */
void tb_put_utf8(struct textbuf *b, const uint8_t *s, size_t n);
/* The same as a JSON string: quoted and escaped. */
void tb_put_json_string(struct textbuf *b, const uint8_t *s, size_t n);
/* Bytes as lowercase hex digits, two a byte. */
void tb_put_hex(struct textbuf *b, const uint8_t *s, size_t n);
/* The shortest text that reads back as the same double; "null" when not
 * finite (JSON has no NaN). */
void tb_put_double(struct textbuf *b, double d);

#endif
