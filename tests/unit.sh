#!/usr/bin/env bash
# The unit tests (tests/unit, built with Check) as one test of the suite,
# one process per suite (tests/unit_main.c says why). Run through this
# script rather than listed as a program in TESTS: make then starts them in
# their place in the list, first, instead of after every other test (a
# program's log depends on the program, which depends on config.h, which
# automake's rules always see as out of date).
set -u
unit="${top_builddir:?set top_builddir to the build tree (make check does)}/tests/unit"
suites=$("$unit" --list) || { echo "$unit --list failed"; exit 99; }
[ -n "$suites" ] || { echo "$unit lists no suite"; exit 99; }
status=0
for suite in $suites; do
    "$unit" "$suite" || status=1
done
exit $status
