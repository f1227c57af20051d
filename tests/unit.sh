#!/usr/bin/env bash
# The unit tests (tests/unit, built with Check) as one test of the suite.
# Run through this script rather than listed as a program in TESTS: make
# then starts them in their place in the list, first, instead of after
# every other test (a program's log depends on the program, which depends
# on config.h, which automake's rules always see as out of date), where
# under the sanitizers their two minutes ran alone at the end.
exec "${top_builddir:?set top_builddir to the build tree (make check does)}/tests/unit" "$@"
