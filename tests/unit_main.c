/* unit_main.c — run every unit suite; exit status says whether all passed.
 * Tests fork (CK_FORK, Check's default) so a crash or sanitizer abort in one
 * test is reported as an error of that test.
 *
 * No test has a time limit: Check's default of 4 s failed
 * flowstats_huge_gaps on a loaded CI machine, and any limit is a guess at
 * the machine's speed. A hang is caught by CI's job timeout; to have Check
 * catch one, run with CK_DEFAULT_TIMEOUT=SECONDS (it is left as given). */
#include <stdlib.h>

#include "unit.h"

int main(void)
{
    /* Read by tcase_create(), so before the suites are built. 0: no limit. */
    if (setenv("CK_DEFAULT_TIMEOUT", "0", 0) != 0)
        return EXIT_FAILURE;
    SRunner *sr = srunner_create(decode_suite());
    srunner_add_suite(sr, flowkey_suite());
    srunner_add_suite(sr, cache_suite());
    srunner_add_suite(sr, meter_suite());
    srunner_add_suite(sr, frag_suite());
    srunner_add_suite(sr, elements_suite());
    srunner_add_suite(sr, netflow_suite());
    srunner_add_suite(sr, dpi_suite());
    srunner_add_suite(sr, plugin_suite());
    srunner_add_suite(sr, splt_flowstats_suite());
    srunner_add_suite(sr, early_classify_suite());
    srunner_add_suite(sr, ring_suite());
    srunner_add_suite(sr, capture_suite());
    srunner_add_suite(sr, meter_batch_suite());
    srunner_add_suite(sr, options_suite());
    srunner_add_suite(sr, selection_suite());
    srunner_add_suite(sr, tunnel_suite());
    srunner_add_suite(sr, ntopng_suite());
    srunner_add_suite(sr, csv_suite());
    srunner_add_suite(sr, msgqueue_suite());
    srunner_add_suite(sr, tstamp_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
