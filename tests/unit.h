/* unit.h — the Check suites tests/unit runs (one per probe module). */
#ifndef NFPROBE_TESTS_UNIT_H
#define NFPROBE_TESTS_UNIT_H

#include <check.h>

Suite *decode_suite(void);
Suite *flowkey_suite(void);
Suite *cache_suite(void);
Suite *meter_suite(void);
Suite *frag_suite(void);
Suite *elements_suite(void);
Suite *netflow_suite(void);
Suite *dpi_suite(void);
Suite *plugin_suite(void);
Suite *splt_flowstats_suite(void);
Suite *early_classify_suite(void);
Suite *options_suite(void);

#endif
