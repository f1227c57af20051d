#!/usr/bin/env bash
# The libFuzzer targets (fuzz/, `make fuzz`): each runs a fixed number of
# inputs from its seeds (fuzz/seeds.sh: the shared captures, the shipped
# templates, model and config) with a fixed random seed, under ASan and
# UBSan, and must end without a finding; then every regression input kept
# in tests/fuzz-regressions/TARGET/ (inputs that once crashed a target) must
# run clean. Skipped when clang has no libFuzzer, and in the sanitizer suite
# (the targets are the same clang ASan/UBSan programs there; the release
# suite ran them). Long runs: bench/fuzz.sh.
set -u
. "$(dirname "$0")/lib.sh"

if ! bash "$top_srcdir/fuzz/build.sh" --check; then
    echo "# clang with libFuzzer is not installed: fuzz targets not run (skipped; apt-get install clang libclang-rt-dev)"
    exit 77
fi
if "$top_builddir/config.status" --config 2>/dev/null | grep -q -- '--enable-sanitizers'; then
    echo "# sanitizer build: the fuzz targets carry ASan/UBSan themselves and ran in the release suite (skipped)"
    exit 77
fi
make -s -C "$top_builddir" fuzz > "$work/build.log" 2>&1 || { cat "$work/build.log"; fail_setup "make fuzz failed"; }
fuzzdir=$top_builddir/fuzz
bash "$top_srcdir/fuzz/seeds.sh" "$top_srcdir" "$fuzzdir" "$DATA" || fail_setup "fuzz/seeds.sh failed"

# Inputs per target: the seeds (decode has ~1,500, pipeline ~110) plus
# mutations, a few seconds each on a quiet machine.
runs_of() {
    case $1 in
        decode) echo 40000 ;; pipeline) echo 600 ;; export) echo 1500 ;;
        template) echo 10000 ;; model) echo 20000 ;; config) echo 20000 ;;
        flow_filter) echo 20000 ;;
    esac
}
for t in decode pipeline export template model config flow_filter; do
    log=$work/$t.log
    rc=0
    bash "$top_srcdir/fuzz/run.sh" "$top_srcdir" "$fuzzdir" "$t" "$work/corpus-$t" \
        -runs="$(runs_of "$t")" -seed=1 -timeout=120 -artifact_prefix="$work/$t-" > "$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    if [ "$rc" -eq 0 ] && [ "${execs:-0}" -ge "$(runs_of "$t")" ]; then
        ok "fuzz_$t: $execs inputs, no finding"
    else
        not_ok "fuzz_$t: exit $rc after ${execs:-?} inputs"
        grep -E 'ERROR|SUMMARY|property failed|#[0-9]+ in ' "$log" | head -25 | sed 's/^/#   /'
    fi
done

# Regression inputs: each file is run once by its target.
for dir in "$top_srcdir"/tests/fuzz-regressions/*/; do
    [ -d "$dir" ] || continue
    t=$(basename "$dir")
    inputs=("$dir"*)
    [ -e "${inputs[0]}" ] || continue
    rc=0
    "$fuzzdir/fuzz_$t" -close_fd_mask=3 "${inputs[@]}" > "$work/regress-$t.log" 2>&1 || rc=$?
    if [ "$rc" -eq 0 ]; then
        ok "fuzz_$t: ${#inputs[@]} regression inputs run clean"
    else
        not_ok "fuzz_$t: a regression input fails (exit $rc)"
        grep -E 'ERROR|SUMMARY|property failed|Running:' "$work/regress-$t.log" | head -20 | sed 's/^/#   /'
    fi
done
finish
