#include "textbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static char *room(struct textbuf *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 4096;
        while (n > cap - b->len)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->failed = true;
            return NULL;
        }
        b->p = p;
        b->cap = cap;
    }
    return b->p + b->len;
}

void tb_free(struct textbuf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

void tb_put_bytes(struct textbuf *b, const void *s, size_t n)
{
    char *at = room(b, n);
    if (!at)
        return;
    memcpy(at, s, n);
    b->len += n;
}

void tb_put_char(struct textbuf *b, char c)
{
    tb_put_bytes(b, &c, 1);
}

void tb_put_text(struct textbuf *b, const char *s)
{
    tb_put_bytes(b, s, strlen(s));
}

void tb_put_u64(struct textbuf *b, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[sizeof digits - ++n] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    tb_put_bytes(b, digits + sizeof digits - n, n);
}

/* Runs of s, each either valid UTF-8 (and, for JSON, needing no escape)
 * or one byte that does: the caller's escape() writes that byte. */
static void put_scrubbed(struct textbuf *b, const uint8_t *s, size_t n, bool json)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;     /* characters that need nothing, written together */
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c >= 0x80) {
            size_t k = utf8_sequence_len(s + i, n - i);
            if (k) {
                i += k - 1;
                continue;
            }
        } else if (!json || (c != '"' && c != '\\' && c >= 0x20 && c != 0x7F)) {
            continue;
        }
        tb_put_bytes(b, s + run, i - run);
        run = i + 1;
        if (c >= 0x80) {
            tb_put_char(b, '?');
        } else if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            tb_put_bytes(b, esc, 2);
        } else {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            tb_put_bytes(b, esc, 6);
        }
    }
    tb_put_bytes(b, s + run, n - run);
}

void tb_put_utf8(struct textbuf *b, const uint8_t *s, size_t n)
{
    put_scrubbed(b, s, n, false);
}

void tb_put_json_string(struct textbuf *b, const uint8_t *s, size_t n)
{
    tb_put_char(b, '"');
    put_scrubbed(b, s, n, true);
    tb_put_char(b, '"');
}

void tb_put_double(struct textbuf *b, double d)
{
    if (!isfinite(d)) {
        tb_put_text(b, "null");
        return;
    }
    char buf[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    tb_put_text(b, buf);
}

void tb_put_hex(struct textbuf *b, const uint8_t *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char pair[2] = {hex[s[i] >> 4], hex[s[i] & 15]};
        tb_put_bytes(b, pair, 2);
    }
}
