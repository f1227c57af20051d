#!/usr/bin/env bash
# Lines of probe/ the fuzz corpora reach (clang's source-based coverage):
#   fuzz/coverage.sh BUILD
# Builds the targets again with -fprofile-instr-generate -fcoverage-mapping
# into BUILD/fuzz/coverage/, runs each once over its corpus
# (BUILD/fuzz/corpus/TARGET, bench/fuzz.sh's) and seeds, and prints
# llvm-cov's per-file and total line coverage of probe/ for all targets
# together (BUILD/fuzz/coverage/report.txt).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
fuzzdir=$build/fuzz
cov=$fuzzdir/coverage
mkdir -p "$cov"
LLVM_PROFDATA=${LLVM_PROFDATA:-llvm-profdata-14}
LLVM_COV=${LLVM_COV:-llvm-cov-14}
command -v "$LLVM_PROFDATA" > /dev/null || LLVM_PROFDATA=llvm-profdata
command -v "$LLVM_COV" > /dev/null || LLVM_COV=llvm-cov

# The same build rule as make fuzz, with coverage, into its own directory.
make -s -C "$build" fuzz FUZZ_OUT="$cov" FUZZ_EXTRA_CFLAGS="-fprofile-instr-generate -fcoverage-mapping"
rm -f "$cov"/*.profraw
objects=()
for t in decode pipeline export template model config flow_filter; do
    dirs=("$fuzzdir/seed-corpus/$t")
    [ -d "$fuzzdir/corpus/$t" ] && dirs+=("$fuzzdir/corpus/$t")
    LLVM_PROFILE_FILE="$cov/$t-%p.profraw" nice -n 19 "$cov/fuzz_$t" -runs=0 -close_fd_mask=3 \
        -rss_limit_mb=4096 "${dirs[@]}" > "$cov/$t.log" 2>&1 || echo "fuzz/coverage.sh: fuzz_$t failed (see $cov/$t.log)" >&2
    objects+=(-object "$cov/fuzz_$t")
done
"$LLVM_PROFDATA" merge -sparse "$cov"/*.profraw -o "$cov/all.profdata"
"$LLVM_COV" report "${objects[@]:1}" -instr-profile="$cov/all.profdata" \
    "$top/probe" > "$cov/report.txt"
cat "$cov/report.txt"
