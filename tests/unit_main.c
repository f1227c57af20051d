/* unit_main.c — run every unit suite; exit status says whether all passed.
 * Tests fork (CK_FORK, Check's default) so a crash or sanitizer abort in one
 * test is reported as an error of that test. */
#include <stdlib.h>

#include "unit.h"

int main(void)
{
    /* Check's default of 4 s a test is a guess at the machine's speed: on a
     * loaded machine (a package build beside other builds) flowstats'
     * 1.5-million-packet test overran it. The bound is only there to stop a
     * hang; CK_DEFAULT_TIMEOUT in the environment still wins. */
    setenv("CK_DEFAULT_TIMEOUT", "300", 0);
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
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
