#!/usr/bin/env bash
# Run one fuzz target on its corpus, with its dictionary and seeds:
#   fuzz/run.sh SRCDIR FUZZDIR TARGET CORPUS [libFuzzer options...]
# TARGET is the name without "fuzz_" (decode, pipeline, export, template,
# model, config, flow_filter). New inputs go to CORPUS (created), the seeds are read from
# FUZZDIR/seed-corpus/TARGET (fuzz/seeds.sh), a crash is written to
# FUZZDIR/findings/TARGET-crash-* and makes the exit status non-zero. The
# target's own output (nfprobe's messages) is closed; libFuzzer's report is
# not.
set -euo pipefail
srcdir=$1 fuzzdir=$2 target=$3 corpus=$4
shift 4
case $target in
    decode|pipeline) dict=packet ;;
    template|model|config) dict=$target ;;
    *) dict= ;;
esac
args=(-close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$fuzzdir/findings/$target-")
[ -n "$dict" ] && args+=(-dict="$srcdir/fuzz/dict/$dict.dict")
mkdir -p "$corpus" "$fuzzdir/findings"
exec "$fuzzdir/fuzz_$target" "${args[@]}" "$@" "$corpus" "$fuzzdir/seed-corpus/$target"
