/* fuzz_config.c — the --config file parser and the command line
 * (options_parse(), probe/options.c) on any input.
 *
 * Input: the config file's text up to the first NUL byte; after it, more
 * command-line words, NUL-separated (the command line is
 * "nfprobe --config FILE WORDS..."). Checked: a result of -1, 0 or 1, and
 * when the options are accepted, their lists within their bounds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "options.h"

#define MAX_WORDS 32

static void check_options(const struct options *o)
{
    if (o->ncollectors < 0 || o->ncollectors > MAX_COLLECTORS)
        fuzz_fail("%d collectors", o->ncollectors);
    if (o->nplugins < 0 || o->nplugins > MAX_PLUGIN_OPTIONS)
        fuzz_fail("%d plugins", o->nplugins);
    if (o->workers < 1 || o->workers > MAX_WORKERS)
        fuzz_fail("%d workers", o->workers);
    if (o->ncpus < 0 || o->ncpus > MAX_WORKERS)
        fuzz_fail("%d cpus", o->ncpus);
    for (int i = 0; i < o->ncollectors; i++)
        if (!o->collectors[i])
            fuzz_fail("collector %d is NULL", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, '\0', size);
    size_t file_len = nul ? (size_t)(nul - data) : size;
    const char *path = fuzz_as_file(data, file_len);
    /* The words after the file, each a string of its own (the parser may
     * keep pointers to them: they live until the next input). */
    char *rest = fuzz_as_string(nul ? nul + 1 : data + size, nul ? size - file_len - 1 : 0);
    char *argv[3 + MAX_WORDS + 1] = {"nfprobe", "--config", (char *)path};
    int argc = 3;
    size_t rest_len = nul ? size - file_len - 1 : 0;
    for (char *w = rest; w <= rest + rest_len && argc < 3 + MAX_WORDS; w += strlen(w) + 1)
        if (w < rest + rest_len)
            argv[argc++] = w;
    argv[argc] = NULL;

    struct options o;
    int rc = options_parse(argc, argv, &o);
    if (rc < -1 || rc > 1)
        fuzz_fail("options_parse() returned %d", rc);
    if (rc == 0)
        check_options(&o);
    free(rest);
    return 0;
}
