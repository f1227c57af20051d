/* elements.h — one description of every element nfprobe can export.
 *
 * Each row says what an element is called (IPFIX name, JSON names), how the
 * wire formats number it (IANA id or PEN/id, NetFlow v9 id), its type and
 * length, and how to read it from a record. IPFIX, NetFlow, JSON and
 * --list-fields all walk this table; templates are lists of names. Extensions
 * (DPI, plugins) add rows at start-up with elements_register(). */
#ifndef NFPROBE_ELEMENTS_H
#define NFPROBE_ELEMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "record.h"

#define PEN_REVERSE 29305u      /* RFC 5103 reverse information elements */
#define ELEM_VARLEN 0xFFFFu

enum elem_type {
    ET_UNSIGNED,        /* 1, 2, 4 or 8 bytes, network order on the wire */
    ET_IPV4,
    ET_IPV6,
    ET_DATETIME_MS,     /* dateTimeMilliseconds: 8 bytes */
    ET_STRING,          /* UTF-8, variable length unless len says otherwise */
    ET_OCTETS,
    ET_FLOAT64,         /* IEEE 754 double, 8 bytes */
    ET_DATETIME_US,     /* dateTimeMicroseconds: 8 bytes NTP on the wire; value: µs since 1970 */
    ET_DATETIME_NS,     /* dateTimeNanoseconds: 8 bytes NTP on the wire; value: ns since 1970 */
};

/* A value read from a record. Strings and octets point into the record.
 * A list element's value is nitems items of the element's type and length,
 * in host order, at bytes. */
struct elem_value {
    uint64_t u;
    double f;
    uint8_t addr[16];
    const uint8_t *bytes;
    size_t nbytes;
    size_t nitems;
};

/* How a record is being read. One-way records (the default export) read
 * every element for one direction: VIEW_FWD as seen from the initiator,
 * VIEW_REV from the responder. A biflow record (JSON, RFC 5103) reads the
 * forward values with VIEW_BIFLOW, where flow-level elements such as the
 * start time cover both directions, and reverse twins with VIEW_REV. */
enum { VIEW_FWD = 0, VIEW_REV = 1, VIEW_BIFLOW = 2 };
static inline int view_dir(int view) { return view & 1; }

/* Read an element from a record in a view. Returns false when the record has
 * no such value (an IPv6 address of an IPv4 flow, say). */
typedef bool (*elem_get_fn)(const struct flow_record *r, int view, struct elem_value *v);
struct element;
/* The same for rows that share one reader and tell it apart by the row
 * (plugin fields: el->user says where the value sits). */
typedef bool (*elem_get_row_fn)(const struct element *el, const struct flow_record *r, int view,
                                struct elem_value *v);

/* Where a row's value lies in a flow's extension block (struct flow_record
 * ext) when it is a number, or a list of numbers, stored there in host order
 * (plugin fields). An encoder that knows the place converts the bytes
 * directly instead of reading every record through get_row. */
struct ext_place {
    size_t at;              /* the value, or a list's first item */
    size_t count_at;        /* a list's item count (uint32_t) */
    size_t max_items;       /* a list's capacity: the count is capped to it */
};
typedef bool (*elem_locate_fn)(const struct element *el, struct ext_place *out);

struct element {
    const char *name;       /* IPFIX name (IANA's where there is one) */
    uint32_t pen;           /* 0 for IANA */
    uint16_t id;
    uint16_t v9_id;         /* 0 when NetFlow v9 has none; times: FIRST/LAST_SWITCHED
                               (22/21), which v9 carries relative to sysUptime */
    enum elem_type type;
    uint16_t len;           /* bytes, or ELEM_VARLEN */
    bool reversible;        /* differs per direction: --biflow adds a reverse twin */
    const char *json;       /* JSON name of the src→dst value, NULL: not in JSON */
    const char *json_rev;   /* JSON name of the dst→src value, NULL: only one */
    elem_get_fn get;
    uint8_t family;         /* 4 or 6: only in that address family's template; 0: both */
    bool list;              /* an RFC 6313 basicList of this element (IPFIX), an array (JSON) */
    bool per_flow;          /* the same value in every view (DPI, plugin fields): the
                               two one-way records of a flow share its encoding */
    elem_get_row_fn get_row;/* used when get is NULL */
    const void *user;       /* for get_row */
    elem_locate_fn locate;  /* optional; valid once extensions are attached to the meter */
};

/* Read el's value from r (see elem_get_fn). */
static inline bool element_get(const struct element *el, const struct flow_record *r, int view,
                               struct elem_value *v)
{
    return el->get ? el->get(r, view, v) : el->get_row(el, r, view, v);
}

/* One element as a template uses it: the element, and whether the template
 * wants its RFC 5103 reverse twin (PEN 29305, read with the opposite dir). */
struct template_field {
    const struct element *elem;
    bool reverse;
};

struct template_def {
    char *name;
    struct template_field *fields;
    size_t nfields;
};

/* Register extra rows (their storage must outlive the run). 0 or -1. */
int elements_register(const struct element *rows, size_t n);
/* Undo the last registration of n rows (a failed extension). */
void elements_unregister_last(size_t n);

size_t elements_count(void);
/* The built-in rows come first; extensions' rows follow from this index. */
size_t elements_builtin_count(void);
const struct element *elements_at(size_t i);
const struct element *elements_find(const char *name);

/* Parse a template: one element name per line, '#' comments, blank lines
 * ignored, "reverseXxx" names the RFC 5103 twin of "xxx". On error returns -1
 * and writes a message naming the bad line to err. */
int template_parse(const char *name, const char *text, struct template_def *t,
                   char *err, size_t errlen);
void template_free(struct template_def *t);

/* The fields of t that an address family's records carry (elements of the
 * other family left out), named "<t>-ipv4" or "<t>-ipv6". 0 or -1. */
int template_for_family(const struct template_def *t, int family, struct template_def *out);

/* Append the fields of more to t (DPI adds its elements to the chosen
 * template); fields t already has are not repeated. 0 or -1. */
int template_append(struct template_def *t, const struct template_def *more);

/* A built-in template shipped in templates/ (compiled in), or NULL. */
const char *template_builtin(const char *name);
/* The i-th built-in template's name, NULL past the last (for --list-fields). */
const char *template_builtin_name(size_t i);

/* The reverse twin's IPFIX name: "octetDeltaCount" -> "reverseOctetDeltaCount". */
void element_reverse_name(const char *name, char *out, size_t outlen);

#endif
