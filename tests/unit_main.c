/* unit_main.c — the unit suites; exit status says whether all passed.
 *
 *   tests/unit            every suite, each test in a process of its own
 *   tests/unit --list     the suites' names
 *   tests/unit SUITE      one suite (tests/unit.sh runs each so)
 *
 * Run alone, a suite's tests share one process (no fork per test) unless
 * they must not: under the sanitizers the fork per test cost two minutes of
 * LeakSanitizer scans (one at each of 421 exits) where one scan per suite
 * finds the same leaks (its report names the test that allocated). A crash
 * then ends its suite, with the sanitizer's report naming the test.
 * CK_FORK=yes (or no), when given, decides for every suite.
 *
 * No test has a time limit: Check's default of 4 s failed
 * flowstats_huge_gaps on a loaded CI machine, and any limit is a guess at
 * the machine's speed. A hang is caught by CI's job timeout; to have Check
 * catch one, run with CK_DEFAULT_TIMEOUT=SECONDS (it is left as given). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static const struct {
    const char *name;
    Suite *(*make)(void);
    bool forks;     /* each test loads the same plugins: their rows are process-wide */
} suites[] = {
    {"decode", decode_suite, false},
    {"flowkey", flowkey_suite, false},
    {"cache", cache_suite, false},
    {"meter", meter_suite, false},
    {"frag", frag_suite, false},
    {"elements", elements_suite, false},
    {"netflow", netflow_suite, false},
    {"dpi", dpi_suite, false},
    {"plugin", plugin_suite, true},
    {"splt_flowstats", splt_flowstats_suite, false},
    {"early_classify", early_classify_suite, false},
    {"ring", ring_suite, false},
    {"capture", capture_suite, false},
    {"meter_batch", meter_batch_suite, false},
    {"options", options_suite, false},
    {"selection", selection_suite, false},
    {"tunnel", tunnel_suite, false},
    {"ntopng", ntopng_suite, false},
    {"csv", csv_suite, false},
    {"msgqueue", msgqueue_suite, false},
    {"tstamp", tstamp_suite, false},
};
enum { NSUITES = sizeof suites / sizeof suites[0] };

static int run(SRunner *sr)
{
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int run_all(void)
{
    SRunner *sr = srunner_create(suites[0].make());
    for (size_t i = 1; i < NSUITES; i++)
        srunner_add_suite(sr, suites[i].make());
    return run(sr);
}

static int run_one(const char *name)
{
    for (size_t i = 0; i < NSUITES; i++)
        if (strcmp(suites[i].name, name) == 0) {
            SRunner *sr = srunner_create(suites[i].make());
            if (!suites[i].forks && !getenv("CK_FORK"))     /* as given, as Check reads it */
                srunner_set_fork_status(sr, CK_NOFORK);
            return run(sr);
        }
    fprintf(stderr, "unit: no suite '%s' (--list names them)\n", name);
    return 2;
}

int main(int argc, char **argv)
{
    /* Read by tcase_create(), so before the suites are built. 0: no limit. */
    if (setenv("CK_DEFAULT_TIMEOUT", "0", 0) != 0)
        return EXIT_FAILURE;
    if (argc == 1)
        return run_all();
    if (argc == 2 && strcmp(argv[1], "--list") == 0) {
        for (size_t i = 0; i < NSUITES; i++)
            puts(suites[i].name);
        return EXIT_SUCCESS;
    }
    if (argc == 2)
        return run_one(argv[1]);
    fprintf(stderr, "usage: unit [--list | SUITE]\n");
    return 2;
}
