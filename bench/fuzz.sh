#!/usr/bin/env bash
# Long fuzzing runs (issue 16): each target in turn for SECONDS (default
# 3600), under nice -n 19, its corpus kept in BUILD/fuzz/corpus/TARGET so
# that a later run goes on from there.
#   bench/fuzz.sh [-b BUILD] [-t SECONDS] [TARGET...]
# BUILD: a configured build tree (default build/ beside this script's tree);
# TARGETs: decode pipeline export template model config flow_filter (default: all).
# Prints, and appends to BUILD/fuzz/runs.tsv, each run's executions, new
# inputs, corpus size and findings (BUILD/fuzz/findings/TARGET-crash-*).
# Two at a time on two cores: run two of these with different targets.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build seconds=3600
while getopts b:t: o; do
    case $o in
        b) build=$(cd "$OPTARG" && pwd) ;;
        t) seconds=$OPTARG ;;
        *) echo "usage: bench/fuzz.sh [-b BUILD] [-t SECONDS] [TARGET...]" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode pipeline export template model config flow_filter)
data=${DATA:-$top/../shared/testdata/pcap}

make -s -C "$build" fuzz
fuzzdir=$build/fuzz
bash "$top/fuzz/seeds.sh" "$top" "$fuzzdir" "$data"
mkdir -p "$fuzzdir/logs"
stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }
for t in "${targets[@]}"; do
    log=$fuzzdir/logs/$t-$(date -u +%Y%m%dT%H%M%S).log
    echo "=== $t: $seconds s, log $log"
    status=0
    nice -n 19 bash "$top/fuzz/run.sh" "$top" "$fuzzdir" "$t" "$fuzzdir/corpus/$t" \
        -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 > "$log" 2>&1 || status=$?
    execs=$(stat_of number_of_executed_units "$log")
    findings=$(find "$fuzzdir/findings" -name "$t-*" 2>/dev/null | wc -l)
    corpus=$(find "$fuzzdir/corpus/$t" -type f | wc -l)
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
    printf '%s\t%s\t%s\texecutions %s\tcorpus %s\tcov-edges %s\tfindings %s\texit %s\n' \
        "$(date -u +%FT%TZ)" "$t" "$seconds" "${execs:-?}" "$corpus" "${cov:-?}" "$findings" "$status" |
        tee -a "$fuzzdir/runs.tsv"
done
