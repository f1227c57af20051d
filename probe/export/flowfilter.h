/* flowfilter.h — --flow-filter EXPR: which flow records are exported, by
 * their fields' JSON names (README: "Flow filter" has the grammar).
 *
 * The parser is a pure function of the expression and the element table
 * (the built-in rows and those DPI and plugins registered): a string in,
 * a compiled filter or an error naming the position out. Nothing else is
 * touched, so it can be fuzzed on its own. */
#ifndef NFPROBE_FLOWFILTER_H
#define NFPROBE_FLOWFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include "record.h"

struct flow_filter;

/* Compile expr. NULL on a bad expression: err says what is wrong and
 * *err_pos where (1-based character position in expr). */
struct flow_filter *flow_filter_compile(const char *expr, char *err, size_t errlen, size_t *err_pos);
bool flow_filter_match(const struct flow_filter *f, const struct flow_record *r);
void flow_filter_free(struct flow_filter *f);

#endif
