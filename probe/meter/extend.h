/* extend.h — the one way to extend a flow record.
 *
 * An extension (extension.h: per-flow state and callbacks) registers here
 * with the element rows it exports and the names of those the built-in
 * templates should carry. DPI and every plugin go through it: the rows are
 * known at once (JSON, -T, --list-fields), the fields join the default and
 * biflow templates, and each meter attaches the extensions in order. */
#ifndef NFPROBE_EXTEND_H
#define NFPROBE_EXTEND_H

#include <stddef.h>
#include "elements.h"
#include "extension.h"
#include "meter.h"

/* Register ext with its rows (storage must outlive the run) and the element
 * names, one per line as in a .tmpl file, that the built-in templates gain
 * (NULL: every row with an IPFIX id). *offset receives where ext's state
 * sits once extend_attach() ran. 0, or -1 with a message in err. */
int extend_register(const struct extension *ext, const struct element *rows, size_t nrows,
                    const char *template_text, size_t *offset, char *err, size_t errlen);

/* Register more rows of an extension already registered (name: for
 * messages), as extend_register() does with its rows. 0, or -1 with a
 * message in err. */
int extend_register_rows(const char *name, const struct element *rows, size_t nrows,
                         const char *template_text, char *err, size_t errlen);

/* An extension whose callbacks need a context of each worker's own (DPI:
 * its nDPI module): ctx[w] for worker w (the array must outlive the run).
 * 0, or -1 when ext is not registered. */
int extend_set_worker_contexts(const struct extension *ext, void *const *ctx);

/* Attach every registered extension to worker's meter m (before its first
 * packet). 0 or -1. */
int extend_attach(struct meter *m, int worker);

/* Append the registered template fields to t (the built-in templates). 0 or -1. */
int extend_template_append(struct template_def *t);

/* Forget every registration (tests). */
void extend_reset(void);

#endif
