#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>

static bool quiet_info;
static const char *log_context;
static bool status_shown;

void log_set_quiet(bool quiet) { quiet_info = quiet; }
void log_set_context(const char *context) { log_context = context; }

/* systemd connects a service's stderr to the journal and says so in
 * JOURNAL_STREAM ("device:inode" of that stream); a child that inherited the
 * variable but writes elsewhere must not get the prefixes. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char end;
    struct stat st;
    if (!js || sscanf(js, "%llu:%llu%c", &dev, &ino, &end) != 2 || fstat(2, &st) < 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* sd-daemon(3) priority prefixes: the journal files each line at its level. */
static const char *level_prefix(int level)
{
    static int journal = -1;
    if (journal < 0)
        journal = stderr_is_journal();
    if (!journal)
        return "";
    return level == LOG_LEVEL_ERROR ? "<3>" : level == LOG_LEVEL_WARNING ? "<4>" : "<6>";
}

/* "\r" back to the line's start, ESC [ K (erase to the end of the line). */
#define ERASE_LINE "\r\033[K"

void log_status_clear(void)
{
    if (!status_shown)
        return;
    fputs(ERASE_LINE, stderr);
    fflush(stderr);
    status_shown = false;
}

void log_status(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, ERASE_LINE "nfprobe: %s", line);
    fflush(stderr);
    status_shown = true;
}

static void vlog(int level, const char *fmt, va_list ap)
{
    char line[1024];
    vsnprintf(line, sizeof line, fmt, ap);
    log_status_clear();
    fprintf(stderr, "%snfprobe: %s%s%s\n", level_prefix(level), log_context ? log_context : "",
            log_context ? ": " : "", line);
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LEVEL_ERROR, fmt, ap);
    va_end(ap);
}

void log_warning(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LEVEL_WARNING, fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    if (quiet_info)
        return;
    va_list ap;
    va_start(ap, fmt);
    vlog(LOG_LEVEL_INFO, fmt, ap);
    va_end(ap);
}

bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool parse_seconds_us(const char *s, uint64_t max_s, uint64_t *out_us)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || *end || !isfinite(v) || v < 0 || v > (double)max_s)
        return false;
    *out_us = (uint64_t)(v * 1e6 + 0.5);
    return true;
}

uint64_t now_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t now_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void addr_to_string(int ip_version, const uint8_t addr[16], char *out, size_t outlen)
{
    if (!inet_ntop(ip_version == 6 ? AF_INET6 : AF_INET, addr, out, (socklen_t)outlen))
        snprintf(out, outlen, "?");
}

size_t utf8_sequence_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c < 0x80)
        return 1;
    /* The first byte gives the length and the range of the second byte
     * (RFC 3629 section 4); later bytes are 0x80-0xBF. */
    size_t len;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;          /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F;          /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;          /* nothing above U+10FFFF */
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

void utf8_scrub(uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = utf8_sequence_len(s + i, n - i);
        if (k == 0) {
            s[i] = '?';
            k = 1;
        }
        i += k;
    }
}

char *read_stream_text(FILE *f, size_t max, size_t *len)
{
    size_t cap = max < 4096 ? max + 1 : 4096, n = 0;
    char *text = malloc(cap);
    if (!text) {
        errno = ENOMEM;
        return NULL;
    }
    for (;;) {
        n += fread(text + n, 1, cap - 1 - n, f);
        if (n < cap - 1)                /* the end, or an error */
            break;
        if (cap == max + 1) {           /* max bytes read: is there one more? */
            if (getc(f) != EOF) {
                free(text);
                errno = EFBIG;
                return NULL;
            }
            break;
        }
        size_t grown_cap = cap - 1 > max / 2 ? max + 1 : 2 * cap;
        char *grown = realloc(text, grown_cap);
        if (!grown) {
            free(text);
            errno = ENOMEM;
            return NULL;
        }
        text = grown;
        cap = grown_cap;
    }
    if (ferror(f)) {
        int e = errno ? errno : EIO;
        free(text);
        errno = e;
        return NULL;
    }
    text[n] = '\0';
    *len = n;
    return text;
}

/* With 4 KiB pages, tables read at random (flows, buckets) would miss the
 * TLB nearly every time, and a ring streamed through by two threads would
 * take a page fault every 4 KiB (costly in a virtual machine): large ones
 * are 2 MiB-aligned and asked to be backed by huge pages (a hint; without
 * it they work the same). */
enum { HUGE_PAGE = 2 << 20 };

/* Mapped by hand, not malloc'd: glibc would map a table this large anyway,
 * while a sanitizer's allocator writes shadow memory for all of it when it
 * is handed out and freed (0.15 s a run for the default 1M-flow cache under
 * AddressSanitizer, which the tests start thousands of times). */
static void *map_huge_aligned(size_t len)
{
    char *m = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    char *start = (char *)align_up((uintptr_t)m, HUGE_PAGE);
    size_t head = (size_t)(start - m);
    if (head)
        munmap(m, head);
    if (HUGE_PAGE - head)
        munmap(start + len, HUGE_PAGE - head);
    madvise(start, len, MADV_HUGEPAGE);
    return start;
}

void *alloc_large_table(size_t bytes)
{
    void *p;
    if (bytes < HUGE_PAGE)
        return posix_memalign(&p, 64, bytes) == 0 ? p : NULL;
    return map_huge_aligned(align_up(bytes, HUGE_PAGE));
}

void free_large_table(void *p, size_t bytes)
{
    if (!p)
        return;
    if (bytes < HUGE_PAGE)
        free(p);
    else
        munmap(p, align_up(bytes, HUGE_PAGE));
}
