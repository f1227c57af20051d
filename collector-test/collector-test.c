/*
 * collector-test.c - a small, independent IPFIX collector for nfprobe's
 * test suite.
 *
 * It prints every received data record as one JSON object per line on
 * stdout, so tests can check what an exporter really put on the wire.
 * Decoding is done by libfixbuf (not by nfprobe's own code), which is the
 * point: an independent implementation judges nfprobe's output.
 *
 * Transport is handled here rather than by fbListener/fbCollector: libfixbuf
 * 2.4 does not expose the message header (sequence number, domain) to the
 * application, and fbListenerWait() has no timeout.  We therefore read whole
 * IPFIX messages ourselves (UDP datagrams, TCP/file streams framed by the
 * header's length field), check sequence numbers, and hand each message to
 * libfixbuf's connection-less mode (fBufAllocForCollection(session, NULL) +
 * fBufSetBuffer()).  Every transport session (UDP peer, TCP connection,
 * file) gets its own fbSession_t, so templates are scoped as RFC 7011 says.
 *
 * Generic decoding: a new-template callback installs each external template
 * as the internal template with the same ID, so fBufNext() transcodes the
 * record with its exact external layout (varlen fields become fbVarfield_t,
 * lists become fbBasicList_t etc.).  We then walk the template's elements and
 * format each field from the transcoded record bytes.
 *
 * Output: one JSON object per data record, "_tid", "_domain" (and
 * "_options": true for options records), then one member per field, keyed
 * by the element's name (IANA's, or an enterprise element's as announced by
 * the exporter, else "_PEN_ID"; repeated elements get "#2", "#3"...).
 * Values: integers and times (milliseconds since the epoch; micro- and
 * nanosecond times in their own unit) as numbers,
 * float32/float64 as the shortest JSON number that reads back as the same
 * value (null for NaN and infinities), addresses and strings as strings,
 * octet arrays as hex strings.  A basicList (RFC 6313) is keyed by the name
 * of the element it is a list of, not "basicList", and its value is the
 * array of the items ("packetSizes":[60,1514]); subTemplateLists are arrays
 * of objects, subTemplateMultiLists one array of objects with "_tid".
 *
 * Enterprise elements are named from RFC 5610 information element type
 * records (fBufSetAutomaticInsert()): libfixbuf consumes those records
 * itself, so they are counted (as options records, and in the sequence
 * check) but not printed.
 */

#include <fixbuf/public.h>
/* only for fBufRewind(): see process_message() */
#include <fixbuf/private.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define PROG "collector-test"

/* Largest IPFIX message (16-bit length field) plus one byte, so an
 * oversized UDP datagram can be detected as truncated. */
#define MSG_BUF_SIZE 65536
/* fBufNext() output buffer: internal records are at most 65535 bytes. */
#define REC_BUF_SIZE 65536
#define IPFIX_HDR_LEN 16
#define IPFIX_VERSION 10
/* Seconds between 1900-01-01 (NTP epoch) and 1970-01-01. */
#define NTP_EPOCH_OFFSET 2208988800ULL
/* IANA paddingOctets carries no information; it is not printed. */
#define IE_PADDING_OCTETS 210
/* Guard against pathological nesting of structured data. */
#define MAX_LIST_DEPTH 8

enum mode { MODE_NONE, MODE_UDP, MODE_TCP, MODE_FILE, MODE_TLS };

struct options {
    enum mode mode;
    char *host;             /* listen host (malloc'd) */
    char *port;             /* listen port (malloc'd) */
    const char *path;       /* -r FILE */
    long long max_records;  /* -n, < 0 = unlimited */
    double idle_timeout;    /* -t seconds, < 0 = none */
    bool seq_check;
    /* tls:// (RFC 7011 §10.4): our certificate and key; with a CA, the
     * exporter must show a certificate it signed */
    const char *tls_cert, *tls_key, *tls_ca;
};

/* Next expected sequence number of one observation domain. */
struct domain_seq {
    uint32_t domain;
    uint32_t next;
};

/* One IPFIX transport session: a UDP peer, a TCP connection or a file. */
struct tsession {
    struct tsession *next;
    char label[96];
    fbSession_t *session;
    fBuf_t *fbuf;
    struct domain_seq *seqs;
    size_t nseqs;
    /* UDP: peer address identifying the session */
    struct sockaddr_storage peer;
    socklen_t peerlen;
    /* TCP: connection and partial-message reassembly buffer */
    int fd;
    SSL *ssl;               /* TLS: the connection's session */
    uint8_t *rbuf;
    size_t rlen;
};

struct collector {
    struct options opt;
    fbInfoModel_t *model;
    uint8_t *rec;           /* fBufNext() output buffer */
    uint8_t *msg;           /* one raw message (UDP / file) */
    struct tsession *sessions;
    GString *line;          /* JSON line being built */
    SSL_CTX *tls;           /* tls:// listener */
    unsigned long long records;
    unsigned long long options_records;
    unsigned long long messages;
    unsigned long long gaps;
    double last_record;     /* monotonic time of last data record */
    bool done;              /* -n reached */
    bool started;           /* input opened: a summary is meaningful */
};

static volatile sig_atomic_t g_stop;
static int g_sigpipe[2] = { -1, -1 };

/* ------------------------------------------------------------------ */
/* small helpers                                                       */
/* ------------------------------------------------------------------ */

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/*
 * Read an unsigned integer of 1..8 bytes from a transcoded record.
 * libfixbuf converts elements flagged FB_IE_F_ENDIAN to host byte order
 * (keeping their wire length); everything else stays in network order.
 */
static uint64_t read_uint(const uint8_t *p, size_t len, bool host_order)
{
    uint64_t v = 0;
    if (len > 8) {
        len = 8;
    }
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
    if (host_order) {
        for (size_t i = len; i > 0; i--) {
            v = (v << 8) | p[i - 1];
        }
        return v;
    }
#else
    (void)host_order;
#endif
    for (size_t i = 0; i < len; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

static int64_t sign_extend(uint64_t v, size_t len)
{
    if (len == 0 || len >= 8) {
        return (int64_t)v;
    }
    unsigned shift = (unsigned)(64 - 8 * len);
    return (int64_t)(v << shift) >> shift;
}

static void format_sockaddr(const struct sockaddr *sa, char *buf, size_t n)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
        port = ntohs(sin->sin_port);
        snprintf(buf, n, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
        port = ntohs(sin6->sin6_port);
        snprintf(buf, n, "[%s]:%u", host, port);
    } else {
        snprintf(buf, n, "?");
    }
}

/* ------------------------------------------------------------------ */
/* JSON formatting                                                     */
/* ------------------------------------------------------------------ */

static void json_hex(GString *out, const uint8_t *p, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    g_string_append_c(out, '"');
    for (size_t i = 0; i < len; i++) {
        g_string_append_c(out, digits[p[i] >> 4]);
        g_string_append_c(out, digits[p[i] & 0xf]);
    }
    g_string_append_c(out, '"');
}

/*
 * Append a JSON string.  Valid UTF-8 is copied; control characters and
 * bytes that are not valid UTF-8 become \u00XX, so the line is always
 * valid JSON whatever the exporter sent.
 */
static void json_string(GString *out, const uint8_t *p, size_t len)
{
    g_string_append_c(out, '"');
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c == '"' || c == '\\') {
            g_string_append_c(out, '\\');
            g_string_append_c(out, (char)c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            g_string_append_printf(out, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            g_string_append_c(out, (char)c);
            i++;
        } else {
            gunichar u = g_utf8_get_char_validated((const gchar *)p + i,
                                                   (gssize)(len - i));
            if (u == (gunichar)-1 || u == (gunichar)-2) {
                g_string_append_printf(out, "\\u%04x", c);
                i++;
            } else {
                size_t n = (size_t)g_unichar_to_utf8(u, NULL);
                g_string_append_len(out, (const gchar *)p + i, (gssize)n);
                i += n;
            }
        }
    }
    g_string_append_c(out, '"');
}

/* True if the bytes are valid UTF-8 without control characters. */
static bool is_printable_utf8(const uint8_t *p, size_t len)
{
    if (!g_utf8_validate((const gchar *)p, (gssize)len, NULL)) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] < 0x20 || p[i] == 0x7f) {
            return false;
        }
    }
    return true;
}

static void json_double(GString *out, double d, bool single)
{
    if (!isfinite(d)) {
        /* JSON has no NaN/Infinity */
        g_string_append(out, "null");
        return;
    }
    /* the shortest form that reads back as the same value */
    char buf[32];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, d);
        double back = strtod(buf, NULL);
        if (single ? (float)back == (float)d : back == d) {
            break;
        }
    }
    g_string_append(out, buf);
}

/* ------------------------------------------------------------------ */
/* field decoding                                                      */
/* ------------------------------------------------------------------ */

/*
 * Canonical (information model) element of a template element.  Template
 * IEs reference the model entry, which holds name, type and flags; the
 * template copy holds the length actually used on the wire.
 */
static const fbInfoElement_t *canon_of(const fbInfoElement_t *tmpl_ie)
{
    return tmpl_ie->ref.canon;
}

static bool is_alien(const fbInfoElement_t *canon)
{
    return (canon->flags & FB_IE_F_ALIEN) || canon->ref.name == NULL ||
           strcmp(canon->ref.name, "_alienInformationElement") == 0;
}

static bool is_list_type(uint8_t type)
{
    return type == FB_BASIC_LIST || type == FB_SUB_TMPL_LIST ||
           type == FB_SUB_TMPL_MULTI_LIST;
}

/* Size a field occupies in an internal (transcoded) record. */
static size_t internal_size(uint8_t type, uint16_t len)
{
    switch (type) {
    case FB_BASIC_LIST:
        return sizeof(fbBasicList_t);
    case FB_SUB_TMPL_LIST:
        return sizeof(fbSubTemplateList_t);
    case FB_SUB_TMPL_MULTI_LIST:
        return sizeof(fbSubTemplateMultiList_t);
    default:
        return len == FB_IE_VARLEN ? sizeof(fbVarfield_t) : len;
    }
}

/* JSON key: model name, or _PEN_ID for elements the model doesn't know. */
static void json_key(GString *out, const fbInfoElement_t *canon,
                     const fbInfoElement_t *tmpl_ie)
{
    if (is_alien(canon)) {
        g_string_append_printf(out, "\"_%u_%u", tmpl_ie->ent, tmpl_ie->num);
    } else {
        g_string_append_c(out, '"');
        g_string_append(out, canon->ref.name);
    }
    /* repeated elements in one template: keep JSON keys unique */
    if (tmpl_ie->midx > 0) {
        g_string_append_printf(out, "#%u", tmpl_ie->midx + 1);
    }
    g_string_append(out, "\":");
}

/*
 * JSON key of a basicList field: the name of the element the list is made of
 * (_PEN_ID when the model does not know it), "#2", "#3"... for later lists
 * of the same element in one record.  seen[] holds the item elements of the
 * earlier lists of the record.
 */
#define MAX_LISTS_SEEN 32
static void json_list_key(GString *out, const fbInfoElement_t *tmpl_ie,
                          const uint8_t *p, const fbInfoElement_t **seen,
                          size_t *nseen)
{
    fbBasicList_t bl;
    memcpy(&bl, p, sizeof(bl));
    const fbInfoElement_t *item = bl.infoElement;
    if (!item) {
        /* not decoded: fall back to the list element itself */
        json_key(out, canon_of(tmpl_ie), tmpl_ie);
        return;
    }
    unsigned dup = 0;
    for (size_t i = 0; i < *nseen; i++) {
        dup += seen[i] == item;
    }
    if (*nseen < MAX_LISTS_SEEN) {
        seen[(*nseen)++] = item;
    }
    if (is_alien(item)) {
        g_string_append_printf(out, "\"_%u_%u", item->ent, item->num);
    } else {
        g_string_append_c(out, '"');
        g_string_append(out, item->ref.name);
    }
    if (dup > 0) {
        g_string_append_printf(out, "#%u", dup + 1);
    }
    g_string_append(out, "\":");
}

static void json_value(GString *out, const fbInfoElement_t *canon,
                       uint16_t len, uint32_t flags, const uint8_t *p,
                       int depth);
static bool json_fields(GString *out, fbTemplate_t *tmpl,
                        const uint8_t *rec, size_t reclen, int depth);

/* dateTimeMicroseconds/Nanoseconds are NTP timestamps: 32.32 fixed point,
 * printed at their own precision (units per second: 10^6 or 10^9), the
 * fraction truncated (RFC 7011 §6.1.9: a microsecond time's low 11 bits
 * carry nothing). */
static int64_t ntp_to_epoch_units(uint64_t ntp, uint64_t per_second)
{
    uint64_t sec = ntp >> 32;
    uint64_t frac = ((ntp & 0xffffffffULL) * per_second) >> 32;
    return ((int64_t)sec - (int64_t)NTP_EPOCH_OFFSET) * (int64_t)per_second +
           (int64_t)frac;
}

static void json_varlen_value(GString *out, const fbInfoElement_t *canon,
                              const uint8_t *p)
{
    fbVarfield_t vf;
    memcpy(&vf, p, sizeof(vf));
    /* libfixbuf can leave buf NULL with a stale length on bad input */
    const uint8_t *buf = vf.buf ? vf.buf : (const uint8_t *)"";
    size_t len = vf.buf ? vf.len : 0;
    if (canon->type == FB_STRING ||
        (is_alien(canon) && is_printable_utf8(buf, len))) {
        json_string(out, buf, len);
    } else {
        json_hex(out, buf, len);
    }
}

static void json_basic_list(GString *out, const uint8_t *p, int depth)
{
    fbBasicList_t bl;
    memcpy(&bl, p, sizeof(bl));
    g_string_append_c(out, '[');
    /* unlike template IEs, this is the model entry itself (ref.name) */
    const fbInfoElement_t *canon = bl.infoElement;
    uint16_t n = fbBasicListCountElements(&bl);
    if (canon && n > 0 && depth < MAX_LIST_DEPTH) {
        /* The list's IE is the model entry, whose length may differ from
         * the encoded one; derive the item size from the decoded buffer. */
        uint16_t len = FB_IE_VARLEN;
        if (!is_list_type(canon->type) && canon->len != FB_IE_VARLEN) {
            len = (uint16_t)(bl.dataLength / n);
        }
        for (uint16_t i = 0; i < n; i++) {
            const uint8_t *item = fbBasicListGetIndexedDataPtr(&bl, i);
            if (!item) {
                break;
            }
            if (i > 0) {
                g_string_append_c(out, ',');
            }
            /* items were decoded with the list element's own flags */
            json_value(out, canon, len, canon->flags, item, depth + 1);
        }
    }
    g_string_append_c(out, ']');
}

static void json_sub_template_list(GString *out, const uint8_t *p, int depth)
{
    fbSubTemplateList_t stl;
    memcpy(&stl, p, sizeof(stl));
    g_string_append_c(out, '[');
    fbTemplate_t *tmpl = (fbTemplate_t *)stl.tmpl;
    if (tmpl && stl.numElements > 0 && depth < MAX_LIST_DEPTH) {
        size_t reclen = stl.dataLength.length / stl.numElements;
        uint8_t *item = NULL;
        bool first = true;
        while ((item = fbSubTemplateListGetNextPtr(&stl, item)) != NULL) {
            if (!first) {
                g_string_append_c(out, ',');
            }
            first = false;
            g_string_append_c(out, '{');
            json_fields(out, tmpl, item, reclen, depth + 1);
            g_string_append_c(out, '}');
        }
    }
    g_string_append_c(out, ']');
}

/* STML entries are flattened into one array; "_tid" tells them apart. */
static void json_sub_template_multi_list(GString *out, const uint8_t *p,
                                         int depth)
{
    fbSubTemplateMultiList_t stml;
    memcpy(&stml, p, sizeof(stml));
    g_string_append_c(out, '[');
    bool first = true;
    fbSubTemplateMultiListEntry_t *entry = NULL;
    while (depth < MAX_LIST_DEPTH &&
           (entry = fbSubTemplateMultiListGetNextEntry(&stml, entry))) {
        if (!entry->tmpl || entry->numElements == 0) {
            continue;
        }
        size_t reclen = entry->dataLength / entry->numElements;
        uint8_t *item = NULL;
        while ((item = fbSubTemplateMultiListEntryNextDataPtr(entry, item))) {
            if (!first) {
                g_string_append_c(out, ',');
            }
            first = false;
            g_string_append_printf(out, "{\"_tid\":%u", entry->tmplID);
            if (fbTemplateCountElements(entry->tmpl) > 0) {
                g_string_append_c(out, ',');
            }
            json_fields(out, entry->tmpl, item, reclen, depth + 1);
            g_string_append_c(out, '}');
        }
    }
    g_string_append_c(out, ']');
}

/* Value of a fixed-length field, formatted according to its data type. */
static void json_fixed_value(GString *out, const fbInfoElement_t *canon,
                             uint16_t len, uint32_t flags, const uint8_t *p)
{
    bool host = (flags & FB_IE_F_ENDIAN) != 0;
    uint8_t type = is_alien(canon) ? FB_OCTET_ARRAY : canon->type;
    char addr[INET6_ADDRSTRLEN];

    switch (type) {
    case FB_UINT_8: case FB_UINT_16: case FB_UINT_32: case FB_UINT_64:
        if (len <= 8) {
            g_string_append_printf(out, "%" PRIu64, read_uint(p, len, host));
            return;
        }
        break;
    case FB_INT_8: case FB_INT_16: case FB_INT_32: case FB_INT_64:
        if (len <= 8) {
            g_string_append_printf(out, "%" PRId64,
                                   sign_extend(read_uint(p, len, host), len));
            return;
        }
        break;
    case FB_FLOAT_32: case FB_FLOAT_64:
        if (len == 4) {
            uint32_t bits = (uint32_t)read_uint(p, 4, host);
            float f;
            memcpy(&f, &bits, sizeof(f));
            json_double(out, f, true);
            return;
        } else if (len == 8) {
            uint64_t bits = read_uint(p, 8, host);
            double d;
            memcpy(&d, &bits, sizeof(d));
            json_double(out, d, false);
            return;
        }
        break;
    case FB_BOOL:
        if (len == 1) {
            /* RFC 7011: 1 = true, 2 = false */
            g_string_append(out, p[0] == 1 ? "true" : "false");
            return;
        }
        break;
    case FB_DT_SEC:
        if (len <= 8) {
            g_string_append_printf(out, "%" PRIu64,
                                   read_uint(p, len, host) * UINT64_C(1000));
            return;
        }
        break;
    case FB_DT_MILSEC:
        if (len <= 8) {
            g_string_append_printf(out, "%" PRIu64, read_uint(p, len, host));
            return;
        }
        break;
    case FB_DT_MICROSEC: case FB_DT_NANOSEC:
        if (len == 8) {
            g_string_append_printf(out, "%" PRId64,
                ntp_to_epoch_units(read_uint(p, 8, host),
                                   canon->type == FB_DT_MICROSEC ? UINT64_C(1000000)
                                                                 : UINT64_C(1000000000)));
            return;
        }
        break;
    case FB_IP4_ADDR:
        if (len == 4) {
            uint32_t a = htonl((uint32_t)read_uint(p, 4, host));
            inet_ntop(AF_INET, &a, addr, sizeof(addr));
            g_string_append_printf(out, "\"%s\"", addr);
            return;
        }
        break;
    case FB_IP6_ADDR:
        if (len == 16) {
            inet_ntop(AF_INET6, p, addr, sizeof(addr));
            g_string_append_printf(out, "\"%s\"", addr);
            return;
        }
        break;
    case FB_MAC_ADDR:
        if (len == 6) {
            g_string_append_printf(out, "\"%02x:%02x:%02x:%02x:%02x:%02x\"",
                                   p[0], p[1], p[2], p[3], p[4], p[5]);
            return;
        }
        break;
    case FB_STRING: {
        /* fixed-length strings are NUL padded */
        size_t n = len;
        while (n > 0 && p[n - 1] == 0) {
            n--;
        }
        json_string(out, p, n);
        return;
    }
    default:
        break;
    }
    /* octetArray, unknown types and unexpected lengths: raw hex */
    json_hex(out, p, len);
}

/* Value of one field located at p in a transcoded record. */
static void json_value(GString *out, const fbInfoElement_t *canon,
                       uint16_t len, uint32_t flags, const uint8_t *p,
                       int depth)
{
    switch (canon->type) {
    case FB_BASIC_LIST:
        json_basic_list(out, p, depth);
        return;
    case FB_SUB_TMPL_LIST:
        json_sub_template_list(out, p, depth);
        return;
    case FB_SUB_TMPL_MULTI_LIST:
        json_sub_template_multi_list(out, p, depth);
        return;
    default:
        break;
    }
    if (len == FB_IE_VARLEN) {
        json_varlen_value(out, canon, p);
    } else {
        json_fixed_value(out, canon, len, flags, p);
    }
}

/*
 * Append "key":value pairs (comma separated, no braces) for a record laid
 * out by tmpl.  Returns false if the record is shorter than the template
 * says, which would mean our idea of the internal layout is wrong.
 */
static bool json_fields(GString *out, fbTemplate_t *tmpl,
                        const uint8_t *rec, size_t reclen, int depth)
{
    uint32_t count = fbTemplateCountElements(tmpl);
    size_t off = 0;
    bool first = true;
    const fbInfoElement_t *seen[MAX_LISTS_SEEN];
    size_t nseen = 0;
    for (uint32_t i = 0; i < count; i++) {
        const fbInfoElement_t *ie = fbTemplateGetIndexedIE(tmpl, i);
        if (!ie) {
            return false;
        }
        const fbInfoElement_t *canon = canon_of(ie);
        /* The template's copy of the element says how libfixbuf decoded
         * the field (size, list or not, byte order): an enterprise element
         * described by RFC 5610 after the template arrived has a new name
         * and type in the model, but the template still holds what it was. */
        size_t size = internal_size(ie->type, ie->len);
        if (off + size > reclen) {
            return false;
        }
        if (!(ie->ent == 0 && ie->num == IE_PADDING_OCTETS)) {
            if (!first) {
                g_string_append_c(out, ',');
            }
            first = false;
            if (ie->type == FB_BASIC_LIST) {
                json_list_key(out, ie, rec + off, seen, &nseen);
                json_basic_list(out, rec + off, depth);
            } else if (is_list_type(ie->type)) {
                json_key(out, canon, ie);
                json_value(out, ie, ie->len, ie->flags, rec + off, depth);
            } else {
                json_key(out, canon, ie);
                json_value(out, canon, ie->len, ie->flags, rec + off, depth);
            }
        }
        off += size;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* transport sessions and libfixbuf glue                               */
/* ------------------------------------------------------------------ */

/*
 * New external template: make it the internal template with the same ID so
 * records are transcoded with their external layout, and pair it with
 * itself so nested (sub-template list) records are fully decoded too.
 */
static void on_new_template(fbSession_t *session, uint16_t tid,
                            fbTemplate_t *tmpl, void *app_ctx,
                            void **tmpl_ctx,
                            fbTemplateCtxFree_fn *tmpl_ctx_free)
{
    GError *err = NULL;
    (void)app_ctx;
    (void)tmpl_ctx;
    (void)tmpl_ctx_free;
    if (!fbSessionAddTemplate(session, TRUE, tid, tmpl, &err)) {
        fprintf(stderr, PROG ": cannot add template %u: %s\n", tid,
                err ? err->message : "?");
        g_clear_error(&err);
        return;
    }
    fbSessionAddTemplatePair(session, tid, tid);
}

static struct tsession *tsession_new(struct collector *c, const char *label)
{
    struct tsession *ts = g_new0(struct tsession, 1);
    snprintf(ts->label, sizeof(ts->label), "%s", label);
    ts->fd = -1;
    ts->session = fbSessionAlloc(c->model);
    fbSessionAddNewTemplateCallback(ts->session, on_new_template, c);
    ts->fbuf = fBufAllocForCollection(ts->session, NULL);
    /* RFC 5610 records teach the (shared) model the exporter's enterprise
     * elements: names and types instead of _PEN_ID and hex */
    GError *err = NULL;
    if (!fBufSetAutomaticInsert(ts->fbuf, &err)) {
        fprintf(stderr, PROG ": %s: cannot read RFC 5610 element types: %s\n",
                ts->label, err ? err->message : "?");
        g_clear_error(&err);
    }
    /* manual mode: stop at end of each message we hand over */
    fBufSetAutomaticMode(ts->fbuf, FALSE);
    ts->next = c->sessions;
    c->sessions = ts;
    return ts;
}

static void tsession_free(struct collector *c, struct tsession *ts)
{
    for (struct tsession **pp = &c->sessions; *pp; pp = &(*pp)->next) {
        if (*pp == ts) {
            *pp = ts->next;
            break;
        }
    }
    if (ts->ssl) {
        SSL_free(ts->ssl);
    }
    if (ts->fd >= 0) {
        close(ts->fd);
    }
    /* fBufFree() also frees the session it owns (despite what the
     * fbSessionAlloc() documentation says) */
    fBufFree(ts->fbuf);
    g_free(ts->seqs);
    g_free(ts->rbuf);
    g_free(ts);
}

/*
 * RFC 7011: the header's sequence number is the count of data records sent
 * before this message in this domain (mod 2^32), per transport session.
 * Count a gap whenever it differs from what the previous message implies.
 */
static void seq_check(struct collector *c, struct tsession *ts,
                      uint32_t domain, uint32_t seq, uint32_t nrec)
{
    struct domain_seq *ds = NULL;
    for (size_t i = 0; i < ts->nseqs; i++) {
        if (ts->seqs[i].domain == domain) {
            ds = &ts->seqs[i];
            break;
        }
    }
    if (!ds) {
        ts->seqs = g_renew(struct domain_seq, ts->seqs, ts->nseqs + 1);
        ds = &ts->seqs[ts->nseqs++];
        ds->domain = domain;
    } else if (ds->next != seq) {
        c->gaps++;
        if (c->opt.seq_check) {
            fprintf(stderr, PROG ": sequence gap in %s domain %u: "
                    "expected %u, got %u\n", ts->label, domain, ds->next, seq);
        }
    }
    ds->next = seq + nrec;
}

/*
 * The internal template for tid must be the external template of the
 * message's domain.  Two domains may use the same tid for different
 * templates, and internal templates are per session, so re-point it when
 * needed (cheap pointer compare in the common case).
 */
static bool ensure_internal(fbSession_t *session, uint16_t tid,
                            fbTemplate_t *ext, GError **err)
{
    if (fbSessionGetTemplate(session, TRUE, tid, NULL) == ext) {
        return true;
    }
    return fbSessionAddTemplate(session, TRUE, tid, ext, err) != 0;
}

/*
 * Smallest number of bytes a record of this template takes on the wire
 * (a variable-length field needs at least its 1-byte length).  libfixbuf
 * accepts templates whose records are 0 bytes long and would then return
 * the same empty record forever, so such templates must be refused.
 */
static size_t min_wire_length(fbTemplate_t *tmpl)
{
    size_t n = 0;
    uint32_t count = fbTemplateCountElements(tmpl);
    for (uint32_t i = 0; i < count; i++) {
        const fbInfoElement_t *ie = fbTemplateGetIndexedIE(tmpl, i);
        n += (ie->len == FB_IE_VARLEN) ? 1 : ie->len;
    }
    return n;
}

/* Print one record; returns false if its layout could not be walked. */
static bool print_record(struct collector *c, fbTemplate_t *tmpl,
                         uint16_t tid, uint32_t domain, bool options,
                         size_t reclen)
{
    GString *line = c->line;
    g_string_truncate(line, 0);
    g_string_append_printf(line, "{\"_tid\":%u,\"_domain\":%u", tid, domain);
    if (options) {
        g_string_append(line, ",\"_options\":true");
    }
    if (fbTemplateCountElements(tmpl) > 0) {
        g_string_append_c(line, ',');
    }
    if (!json_fields(line, tmpl, c->rec, reclen, 0)) {
        return false;
    }
    g_string_append(line, "}\n");
    fwrite(line->str, 1, line->len, stdout);
    fflush(stdout);
    return true;
}

/*
 * Check that the message body is a clean sequence of sets.  libfixbuf
 * treats a set running past the end of the message like a normal end of
 * message, so without this a corrupt message would go unnoticed.
 */
static bool check_sets(const char *label, const uint8_t *msg, size_t len)
{
    size_t off = IPFIX_HDR_LEN;
    while (off < len) {
        if (len - off < 4) {
            fprintf(stderr, PROG ": %s: malformed message: %zu stray bytes "
                    "after the last set\n", label, len - off);
            return false;
        }
        uint16_t id = get_be16(msg + off);
        uint16_t slen = get_be16(msg + off + 2);
        if (slen < 4 || slen > len - off) {
            fprintf(stderr, PROG ": %s: malformed message: set %u at offset "
                    "%zu has length %u (message length %zu)\n", label, id,
                    off, slen, len);
            return false;
        }
        if (id != FB_TID_TS && id != FB_TID_OTS && id < FB_TID_MIN_DATA) {
            fprintf(stderr, PROG ": %s: malformed message: reserved set id "
                    "%u\n", label, id);
            return false;
        }
        off += slen;
    }
    return true;
}

/*
 * Decode all records of one complete IPFIX message (already framed and
 * header-checked).  Returns false if the message is malformed.
 */
static bool process_message(struct collector *c, struct tsession *ts,
                            uint8_t *msg, size_t len)
{
    uint32_t seq = get_be32(msg + 8);
    uint32_t domain = get_be32(msg + 12);
    uint32_t nrec = 0;
    bool ok = true;
    GError *err = NULL;

    c->messages++;
    if (!check_sets(ts->label, msg, len)) {
        return false;
    }
    fBufSetBuffer(ts->fbuf, msg, len);
    while (!c->done && !g_stop) {
        uint16_t tid = 0;
        fbTemplate_t *tmpl = fBufNextCollectionTemplate(ts->fbuf, &tid, &err);
        if (tmpl) {
            /* each record consumes >= 1 byte, so nrec <= len bounds the loop
             * even if libfixbuf stops advancing */
            if (min_wire_length(tmpl) == 0 || nrec >= len) {
                fprintf(stderr, PROG ": %s: template %u describes empty "
                        "records, skipping rest of message\n", ts->label, tid);
                ok = false;
                break;
            }
            if (!ensure_internal(ts->session, tid, tmpl, &err) ||
                !fBufSetInternalTemplate(ts->fbuf, tid, &err)) {
                break;
            }
            /* list structures in the output buffer must start zeroed, or
             * the transcoder treats stale pointers as buffers to reuse */
            memset(c->rec, 0, fbTemplateGetIELenOfMemBuffer(tmpl));
            size_t reclen = REC_BUF_SIZE;
            if (!fBufNext(ts->fbuf, c->rec, &reclen, &err)) {
                /* a failed transcode may leave list buffers allocated */
                fBufListFree(tmpl, c->rec);
                break;
            }
            nrec++;
            c->last_record = now_mono();
            bool options = fbTemplateGetOptionsScope(tmpl) > 0;
            bool printed = print_record(c, tmpl, tid, domain, options, reclen);
            fBufListFree(tmpl, c->rec);
            if (!printed) {
                fprintf(stderr, PROG ": %s: cannot walk record of template "
                        "%u (%zu bytes)\n", ts->label, tid, reclen);
            } else if (options) {
                c->options_records++;
            } else if (++c->records ==
                       (unsigned long long)c->opt.max_records) {
                c->done = true;
            }
        } else {
            break;
        }
    }
    /* EOM / BUFSZ simply mean "message consumed" */
    if (err && !g_error_matches(err, FB_ERROR_DOMAIN, FB_ERROR_EOM) &&
        !g_error_matches(err, FB_ERROR_DOMAIN, FB_ERROR_BUFSZ)) {
        fprintf(stderr, PROG ": %s: libfixbuf: %s\n", ts->label,
                err->message);
        ok = false;
    }
    if (!err || !ok) {
        /*
         * The message was abandoned part-way (error, -n reached, signal).
         * fBufSetBuffer() does not reset the buffer's set/message state,
         * so the next message would be parsed from a stale position (or
         * crash libfixbuf 2.4.1).  fBufRewind() is only declared in
         * private.h, but it is the one call that resets that state.
         */
        fBufRewind(ts->fbuf);
    }
    /* Records libfixbuf consumed itself (RFC 5610 element types) count in
     * the sequence too: at the end of a message it has advanced the
     * session's sequence number past every record of the message. */
    if (err && g_error_matches(err, FB_ERROR_DOMAIN, FB_ERROR_EOM) &&
        fbSessionGetDomain(ts->session) == domain) {
        uint32_t all = fbSessionGetSequence(ts->session) - seq;
        if (all > nrec && all - nrec <= len) {
            c->options_records += all - nrec;
            nrec = all;
        }
    }
    g_clear_error(&err);
    seq_check(c, ts, domain, seq, nrec);
    return ok;
}

/* Validate the 16-byte message header against the framed length. */
static bool check_header(const char *label, const uint8_t *msg, size_t len)
{
    if (len < IPFIX_HDR_LEN) {
        fprintf(stderr, PROG ": %s: short message (%zu bytes)\n", label, len);
        return false;
    }
    if (get_be16(msg) != IPFIX_VERSION) {
        fprintf(stderr, PROG ": %s: not IPFIX (version %u)\n", label,
                get_be16(msg));
        return false;
    }
    if (get_be16(msg + 2) != len) {
        fprintf(stderr, PROG ": %s: message length %u != %zu received\n",
                label, get_be16(msg + 2), len);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* file input                                                          */
/* ------------------------------------------------------------------ */

/* Read exactly n bytes; returns bytes read (short only at EOF/error). */
static size_t read_full(FILE *fp, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t r = fread(buf + got, 1, n - got, fp);
        if (r == 0) {
            break;
        }
        got += r;
    }
    return got;
}

static int run_file(struct collector *c)
{
    const char *path = c->opt.path;
    FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, PROG ": cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    char label[96];
    snprintf(label, sizeof(label), "file %s", path);
    struct tsession *ts = tsession_new(c, label);
    c->started = true;
    int rc = 0;
    while (!c->done && !g_stop) {
        size_t got = read_full(fp, c->msg, 4);
        if (got == 0 && !ferror(fp)) {
            break;  /* clean EOF at a message boundary */
        }
        if (got < 4) {
            if (!g_stop) {
                fprintf(stderr, PROG ": %s: truncated message header\n",
                        path);
                rc = 1;
            }
            break;
        }
        size_t len = get_be16(c->msg + 2);
        if (get_be16(c->msg) != IPFIX_VERSION || len < IPFIX_HDR_LEN) {
            fprintf(stderr, PROG ": %s: corrupt file: bad message header "
                    "(version %u, length %zu)\n", path, get_be16(c->msg), len);
            rc = 1;
            break;
        }
        if (read_full(fp, c->msg + 4, len - 4) != len - 4) {
            if (!g_stop) {
                fprintf(stderr, PROG ": %s: truncated message\n", path);
                rc = 1;
            }
            break;
        }
        if (!process_message(c, ts, c->msg, len)) {
            fprintf(stderr, PROG ": %s: corrupt file\n", path);
            rc = 1;
            break;
        }
    }
    if (fp != stdin) {
        fclose(fp);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* network input                                                       */
/* ------------------------------------------------------------------ */

static const char *mode_scheme(enum mode m)
{
    return m == MODE_UDP ? "udp" : m == MODE_TLS ? "tls" : "tcp";
}

/* Bind the listening (TCP) or receiving (UDP) socket; -1 on failure. */
static int open_socket(const struct options *o)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = o->mode == MODE_UDP ? SOCK_DGRAM : SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(o->host, o->port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, PROG ": cannot resolve %s port %s: %s\n", o->host,
                o->port, gai_strerror(gai));
        return -1;
    }
    int fd = -1, saved_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            saved_errno = errno;
            continue;
        }
        int one = 1;
        if (o->mode == MODE_TCP || o->mode == MODE_TLS) {
            /* allow quick restarts despite TIME_WAIT; a live listener on
             * the port still makes bind() fail */
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        } else {
            /* tests send bursts: a large buffer avoids spurious drops */
            int sz = 8 << 20;
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        }
        if (ai->ai_family == AF_INET6) {
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            (o->mode == MODE_UDP || listen(fd, 16) == 0)) {
            break;
        }
        saved_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        fprintf(stderr, PROG ": cannot listen on %s://%s:%s: %s\n",
                mode_scheme(o->mode), o->host, o->port,
                strerror(saved_errno));
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/*
 * Announce readiness.  The host is echoed as given on the command line so
 * tests can wait for the exact string; the port is the bound one, which
 * differs when port 0 (ephemeral) was requested.
 */
static void announce(const struct options *o, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    unsigned port = 0;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
        if (ss.ss_family == AF_INET) {
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
    }
    bool v6 = strchr(o->host, ':') != NULL;
    fprintf(stderr, "listening on %s://%s%s%s:%u\n",
            mode_scheme(o->mode), v6 ? "[" : "", o->host,
            v6 ? "]" : "", port);
    fflush(stderr);
}

static struct tsession *udp_session_for(struct collector *c,
                                        const struct sockaddr_storage *peer,
                                        socklen_t peerlen)
{
    for (struct tsession *ts = c->sessions; ts; ts = ts->next) {
        if (ts->peerlen == peerlen && memcmp(&ts->peer, peer, peerlen) == 0) {
            return ts;
        }
    }
    char addr[INET6_ADDRSTRLEN + 16], label[96];
    format_sockaddr((const struct sockaddr *)peer, addr, sizeof(addr));
    snprintf(label, sizeof(label), "udp %s", addr);
    struct tsession *ts = tsession_new(c, label);
    memcpy(&ts->peer, peer, peerlen);
    ts->peerlen = peerlen;
    return ts;
}

/* Drain all queued datagrams; each one is exactly one IPFIX message. */
static void udp_readable(struct collector *c, int fd)
{
    while (!c->done && !g_stop) {
        struct sockaddr_storage peer;
        socklen_t peerlen = sizeof(peer);
        memset(&peer, 0, sizeof(peer));
        ssize_t n = recvfrom(fd, c->msg, MSG_BUF_SIZE, MSG_TRUNC,
                             (struct sockaddr *)&peer, &peerlen);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fprintf(stderr, PROG ": recvfrom: %s\n", strerror(errno));
            }
            return;
        }
        struct tsession *ts = udp_session_for(c, &peer, peerlen);
        if (n > MSG_BUF_SIZE - 1) {
            fprintf(stderr, PROG ": %s: oversized datagram (%zd bytes)\n",
                    ts->label, n);
            continue;
        }
        if (check_header(ts->label, c->msg, (size_t)n)) {
            process_message(c, ts, c->msg, (size_t)n);
        }
    }
}

static void print_tls_error(const char *what, const char *peer)
{
    char detail[256] = "unknown error";
    unsigned long e = ERR_get_error();
    if (e) {
        ERR_error_string_n(e, detail, sizeof(detail));
    }
    ERR_clear_error();
    fprintf(stderr, PROG ": %s %s: %s\n", what, peer, detail);
}

/* Handshake on the accepted socket, blocking with a timeout, then back to
 * non-blocking reads. NULL (after saying why) when it fails. The timeout
 * only frees the collector from a peer that never speaks TLS: generous, so
 * a slow exporter on a loaded machine is never cut off. */
static SSL *tls_accept(struct collector *c, int fd, const char *peer)
{
    struct timeval tv = { 120, 0 };
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    SSL *ssl = SSL_new(c->tls);
    if (!ssl || SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
        print_tls_error("TLS handshake failed with", peer);
        SSL_free(ssl);
        return NULL;
    }
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    return ssl;
}

/* The listener's TLS context: our certificate, and the exporter's checked
 * against --tls-ca when one is given (RFC 7011 §10.4.2: both sides). */
static bool setup_tls(struct collector *c)
{
    const struct options *o = &c->opt;
    c->tls = SSL_CTX_new(TLS_server_method());
    if (!c->tls) {
        print_tls_error("cannot create a TLS context", "");
        return false;
    }
    SSL_CTX_set_min_proto_version(c->tls, TLS1_2_VERSION);
    /* no session tickets: nothing unasked-for travels to the exporter */
    SSL_CTX_set_num_tickets(c->tls, 0);
    if (SSL_CTX_use_certificate_chain_file(c->tls, o->tls_cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(c->tls, o->tls_key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(c->tls) != 1) {
        print_tls_error("cannot load certificate/key", o->tls_cert);
        return false;
    }
    if (o->tls_ca) {
        if (SSL_CTX_load_verify_locations(c->tls, o->tls_ca, NULL) != 1) {
            print_tls_error("cannot load CA", o->tls_ca);
            return false;
        }
        SSL_CTX_set_verify(c->tls, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    return true;
}

static void tcp_accept(struct collector *c, int lfd)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t peerlen = sizeof(peer);
        int fd = accept4(lfd, (struct sockaddr *)&peer, &peerlen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fprintf(stderr, PROG ": accept: %s\n", strerror(errno));
            }
            return;
        }
        char addr[INET6_ADDRSTRLEN + 16], label[96];
        format_sockaddr((struct sockaddr *)&peer, addr, sizeof(addr));
        snprintf(label, sizeof(label), "tcp %s", addr);
        SSL *ssl = NULL;
        if (c->tls && !(ssl = tls_accept(c, fd, addr))) {
            close(fd);
            continue;
        }
        struct tsession *ts = tsession_new(c, label);
        ts->fd = fd;
        ts->ssl = ssl;
        ts->rbuf = g_malloc(MSG_BUF_SIZE);
        fprintf(stderr, PROG ": %s connected\n", ts->label);
    }
}

/*
 * Read from a TCP connection and process every complete message in the
 * stream.  Returns false when the connection is finished (closed by the
 * peer, or unusable because the framing is broken).
 */
static bool stream_readable(struct collector *c, struct tsession *ts);

/* TLS may hold decrypted bytes the socket no longer signals: read until
 * OpenSSL has nothing left. */
static bool tcp_readable(struct collector *c, struct tsession *ts)
{
    do {
        if (!stream_readable(c, ts)) {
            return false;
        }
    } while (ts->ssl && SSL_pending(ts->ssl) > 0 && !c->done && !g_stop);
    return true;
}

/* recv() or SSL_read(): bytes read, 0 at a clean end, -1 with errno set
 * (EAGAIN when there is nothing yet). */
static ssize_t stream_recv(struct tsession *ts, uint8_t *buf, size_t len)
{
    if (!ts->ssl) {
        return recv(ts->fd, buf, len, 0);
    }
    size_t got = 0;
    if (SSL_read_ex(ts->ssl, buf, len, &got) == 1) {
        return (ssize_t)got;
    }
    int e = SSL_get_error(ts->ssl, 0);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN) {
        return 0;
    }
    errno = ECONNRESET;
    return -1;
}

static bool stream_readable(struct collector *c, struct tsession *ts)
{
    ssize_t n = stream_recv(ts, ts->rbuf + ts->rlen, MSG_BUF_SIZE - ts->rlen);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            return true;
        }
        fprintf(stderr, PROG ": %s: recv: %s\n", ts->label, strerror(errno));
        return false;
    }
    if (n == 0) {
        if (ts->rlen > 0) {
            fprintf(stderr, PROG ": %s: closed inside a message (%zu bytes "
                    "left)\n", ts->label, ts->rlen);
        }
        fprintf(stderr, PROG ": %s closed\n", ts->label);
        return false;
    }
    ts->rlen += (size_t)n;
    size_t off = 0;
    while (!c->done && !g_stop && ts->rlen - off >= 4) {
        const uint8_t *m = ts->rbuf + off;
        size_t len = get_be16(m + 2);
        if (get_be16(m) != IPFIX_VERSION || len < IPFIX_HDR_LEN) {
            /* a stream cannot be resynchronised: drop the connection */
            fprintf(stderr, PROG ": %s: bad message header (version %u, "
                    "length %zu), closing\n", ts->label, get_be16(m), len);
            return false;
        }
        if (ts->rlen - off < len) {
            break;
        }
        process_message(c, ts, ts->rbuf + off, len);
        off += len;
    }
    memmove(ts->rbuf, ts->rbuf + off, ts->rlen - off);
    ts->rlen -= off;
    return true;
}

/* poll() timeout honouring the idle timeout; -1 = wait forever. */
static int poll_timeout_ms(const struct collector *c)
{
    if (c->opt.idle_timeout < 0) {
        return -1;
    }
    double left = c->last_record + c->opt.idle_timeout - now_mono();
    if (left <= 0) {
        return 0;
    }
    /* round up so we never wake just before the deadline */
    return (int)(left * 1000.0) + 1;
}

static int run_listener(struct collector *c)
{
    int sfd = open_socket(&c->opt);
    if (sfd < 0) {
        return 1;
    }
    announce(&c->opt, sfd);
    c->started = true;
    c->last_record = now_mono();

    GArray *pfds = g_array_new(FALSE, FALSE, sizeof(struct pollfd));
    while (!c->done && !g_stop) {
        /* [0] signal pipe, [1] socket, [2..] TCP connections */
        g_array_set_size(pfds, 0);
        struct pollfd p = { .fd = g_sigpipe[0], .events = POLLIN };
        g_array_append_val(pfds, p);
        p.fd = sfd;
        g_array_append_val(pfds, p);
        for (struct tsession *ts = c->sessions; ts; ts = ts->next) {
            if (ts->fd >= 0) {
                p.fd = ts->fd;
                g_array_append_val(pfds, p);
            }
        }
        int n = poll((struct pollfd *)(void *)pfds->data, pfds->len,
                     poll_timeout_ms(c));
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, PROG ": poll: %s\n", strerror(errno));
            break;
        }
        if (g_stop) {
            break;
        }
        if (c->opt.idle_timeout >= 0 &&
            now_mono() - c->last_record >= c->opt.idle_timeout) {
            break;
        }
        if (n <= 0) {
            continue;
        }
        struct pollfd *pf = (struct pollfd *)(void *)pfds->data;
        if (pf[1].revents) {
            if (c->opt.mode == MODE_UDP) {
                udp_readable(c, sfd);
            } else {
                tcp_accept(c, sfd);
            }
        }
        for (guint i = 2; i < pfds->len && !c->done && !g_stop; i++) {
            if (!pf[i].revents) {
                continue;
            }
            struct tsession *ts = c->sessions;
            while (ts && ts->fd != pf[i].fd) {
                ts = ts->next;
            }
            if (ts && !tcp_readable(c, ts)) {
                tsession_free(c, ts);
            }
        }
    }
    g_array_free(pfds, TRUE);
    close(sfd);
    return 0;
}

/* ------------------------------------------------------------------ */
/* setup                                                               */
/* ------------------------------------------------------------------ */

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    g_stop = 1;
    if (g_sigpipe[1] >= 0) {
        ssize_t r = write(g_sigpipe[1], "x", 1);
        (void)r;
    }
    errno = saved;
}

/* Self-pipe so a signal reliably wakes poll(); no SA_RESTART so a blocking
 * fread() on "-r -" is interrupted as well. */
static bool setup_signals(void)
{
    if (pipe2(g_sigpipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        fprintf(stderr, PROG ": pipe: %s\n", strerror(errno));
        return false;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return true;
}

/* libfixbuf reports some problems (e.g. a data set with an unknown
 * template) only through GLib logging: route them to stderr, one line. */
static void on_glib_log(const gchar *domain, GLogLevelFlags level,
                        const gchar *message, gpointer data)
{
    (void)data;
    if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) {
        return;
    }
    /* seq_check() does this better (libfixbuf stays silent when it
     * expected 0), so avoid reporting gaps twice */
    if (strstr(message, "out of sequence")) {
        return;
    }
    fprintf(stderr, PROG ": %s: %s\n", domain ? domain : "libfixbuf",
            message);
}

#define USAGE "usage: " PROG " -l udp://HOST:PORT|tcp://HOST:PORT|" \
              "tcp://[V6ADDR]:PORT|tls://HOST:PORT | -r FILE [-n COUNT] " \
              "[-t SECONDS] [--seq-check] [--tls-cert PEM --tls-key PEM " \
              "[--tls-ca PEM]]"

/* Bad usage: exactly one line on stderr, exit status 2. */
static void usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, PROG ": ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (" USAGE ")\n");
    exit(2);
}

/* Parse udp://HOST:PORT, tcp://HOST:PORT or tcp://[V6]:PORT. */
static void parse_listen_url(struct options *o, const char *url)
{
    const char *rest;
    if (strncmp(url, "udp://", 6) == 0) {
        o->mode = MODE_UDP;
    } else if (strncmp(url, "tcp://", 6) == 0) {
        o->mode = MODE_TCP;
    } else if (strncmp(url, "tls://", 6) == 0) {
        o->mode = MODE_TLS;
    } else {
        usage_error("bad listen address '%s' (want udp://, tcp:// or tls://)", url);
    }
    rest = url + 6;
    const char *colon;
    if (rest[0] == '[') {
        const char *close = strchr(rest, ']');
        if (!close || close[1] != ':') {
            usage_error("bad listen address '%s'", url);
        }
        o->host = g_strndup(rest + 1, (gsize)(close - rest - 1));
        colon = close + 1;
    } else {
        colon = strrchr(rest, ':');
        if (!colon) {
            usage_error("bad listen address '%s' (missing :PORT)", url);
        }
        if (strchr(rest, ':') != colon) {
            usage_error("bad listen address '%s' (write IPv6 as [ADDR])",
                        url);
        }
        o->host = g_strndup(rest, (gsize)(colon - rest));
    }
    const char *port = colon + 1;
    char *end;
    errno = 0;
    long pv = strtol(port, &end, 10);
    if (*o->host == '\0' || *port == '\0' || *end != '\0' || errno ||
        pv < 0 || pv > 65535) {
        usage_error("bad listen address '%s'", url);
    }
    o->port = g_strdup(port);
}

static void parse_args(struct options *o, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "seq-check", no_argument, NULL, 'S' },
        { "tls-cert", required_argument, NULL, 'C' },
        { "tls-key", required_argument, NULL, 'K' },
        { "tls-ca", required_argument, NULL, 'A' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    o->mode = MODE_NONE;
    o->max_records = -1;
    o->idle_timeout = -1;
    opterr = 0;  /* we print our own single-line error */
    int ch;
    while ((ch = getopt_long(argc, argv, ":l:r:n:t:h", longopts, NULL)) !=
           -1) {
        char *end;
        switch (ch) {
        case 'l':
            if (o->mode != MODE_NONE) {
                usage_error("%s", "only one of -l / -r may be given");
            }
            parse_listen_url(o, optarg);
            break;
        case 'r':
            if (o->mode != MODE_NONE) {
                usage_error("%s", "only one of -l / -r may be given");
            }
            o->mode = MODE_FILE;
            o->path = optarg;
            break;
        case 'n':
            errno = 0;
            o->max_records = strtoll(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || errno ||
                o->max_records <= 0) {
                usage_error("bad record count '%s'", optarg);
            }
            break;
        case 't':
            errno = 0;
            o->idle_timeout = strtod(optarg, &end);
            if (*optarg == '\0' || *end != '\0' || errno ||
                !(o->idle_timeout > 0) || o->idle_timeout > 1e6) {
                usage_error("bad idle timeout '%s'", optarg);
            }
            break;
        case 'S':
            o->seq_check = true;
            break;
        case 'C':
            o->tls_cert = optarg;
            break;
        case 'K':
            o->tls_key = optarg;
            break;
        case 'A':
            o->tls_ca = optarg;
            break;
        case 'h':
            printf("%s\n", USAGE);
            exit(0);
        case ':':
            usage_error("option '%s' needs an argument", argv[optind - 1]);
            break;
        default:
            usage_error("unknown option '%s'", argv[optind - 1]);
            break;
        }
    }
    if (optind < argc) {
        usage_error("unexpected argument '%s'", argv[optind]);
    }
    if (o->mode == MODE_NONE) {
        usage_error("%s", "one of -l or -r is required");
    }
    if (o->mode == MODE_TLS && (!o->tls_cert || !o->tls_key)) {
        usage_error("%s", "tls:// needs --tls-cert and --tls-key");
    }
}

static void print_summary(const struct collector *c)
{
    fflush(stdout);
    fprintf(stderr, PROG ": %llu records, %llu options records, "
            "%llu messages\n", c->records, c->options_records, c->messages);
    if (c->opt.seq_check) {
        fprintf(stderr, "sequence gaps: %llu\n", c->gaps);
    }
    fflush(stderr);
}

int main(int argc, char **argv)
{
    struct collector c;
    memset(&c, 0, sizeof(c));
    parse_args(&c.opt, argc, argv);
    if (!setup_signals()) {
        return 1;
    }
    g_log_set_default_handler(on_glib_log, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    c.model = fbInfoModelAlloc();
    c.rec = g_malloc0(REC_BUF_SIZE);
    c.msg = g_malloc(MSG_BUF_SIZE);
    c.line = g_string_sized_new(1024);

    int rc;
    if (c.opt.mode == MODE_TLS && !setup_tls(&c)) {
        rc = 1;
    } else {
        rc = c.opt.mode == MODE_FILE ? run_file(&c) : run_listener(&c);
    }
    if (c.started) {
        print_summary(&c);
    }

    while (c.sessions) {
        tsession_free(&c, c.sessions);
    }
    SSL_CTX_free(c.tls);
    g_string_free(c.line, TRUE);
    g_free(c.msg);
    g_free(c.rec);
    fbInfoModelFree(c.model);
    g_free(c.opt.host);
    g_free(c.opt.port);
    close(g_sigpipe[0]);
    close(g_sigpipe[1]);
    return rc;
}
