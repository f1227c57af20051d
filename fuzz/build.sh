#!/usr/bin/env bash
# Build the libFuzzer targets (fuzz/fuzz_*.c) with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer, whatever compiler the build tree uses: the
# probe's sources are compiled again here with -fsanitize=fuzzer-no-link so
# that libFuzzer sees their coverage. Called by `make fuzz` with:
#   build.sh SRCDIR BUILDDIR OUTDIR CFLAGS-FOR-THE-LIBRARIES -- SOURCES...
#   build.sh --check     exit 0 when clang can build them, else 77
# FUZZ_EXTRA_CFLAGS: more flags for every file (fuzz/coverage.sh: clang's
# source-based coverage).
# Exit 77 (skip) when clang cannot link a libFuzzer program.
set -euo pipefail
CLANG=${CLANG:-clang}

fuzzer_available() {
    local t
    t=$(mktemp -d)
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > "$t/t.c"
    "$CLANG" -fsanitize=fuzzer "$t/t.c" -o "$t/t" > /dev/null 2>&1
    local rc=$?
    rm -rf "$t"
    return $rc
}
if ! command -v "$CLANG" > /dev/null || ! fuzzer_available; then
    echo "fuzz/build.sh: $CLANG with libFuzzer (-fsanitize=fuzzer) is not available: apt-get install clang libclang-rt-dev" >&2
    exit 77
fi
[ "${1:-}" = --check ] && exit 0
srcdir=$1 builddir=$2 out=$3 libflags=$4
shift 4
[ "${1:-}" = -- ] && shift
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# -O1 -g: what libFuzzer's documentation recommends, with usable traces.
cflags="-std=c11 -O1 -g $san ${FUZZ_EXTRA_CFLAGS:-} -D_GNU_SOURCE \
    -I$builddir -I$srcdir/include -I$srcdir/probe -I$srcdir/probe/input -I$srcdir/probe/meter \
    -I$srcdir/probe/export -I$builddir/probe $libflags"

mkdir -p "$out/obj"
# One object per source, rebuilt when the source or a header is newer.
compile_one() {
    local src=$1 obj
    obj="$out/obj/$(echo "$src" | sed 's|^\./||; s|/|_|g; s|\.c$|.o|')"
    if [ ! -e "$obj" ] || [ -n "$(find "$src" "$srcdir/probe" "$srcdir/include" "$srcdir/fuzz" -newer "$obj" -name '*.[ch]' -print -quit)" ]; then
        # shellcheck disable=SC2086
        "$CLANG" $cflags -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
    fi
    echo "$obj"
}
export -f compile_one
export out srcdir cflags CLANG
objs=()
for s in "$@"; do
    case "$s" in /*) ;; *) [ -e "$s" ] || s="$srcdir/$s" ;; esac
    objs+=("$s")
done
mapfile -t lib < <(printf '%s\n' "${objs[@]}" | grep '\.c$' | xargs -P "${JOBS:-2}" -I{} bash -c 'compile_one "$@"' _ {})
[ ${#lib[@]} -gt 0 ] || { echo "fuzz/build.sh: no library sources given" >&2; exit 1; }
common="$out/obj/fuzz_common.o"
"$CLANG" $cflags -fsanitize=fuzzer-no-link -c "$srcdir/fuzz/common.c" -o "$common"
# The seed builder (fuzz/seeds.c): an ordinary program.
# shellcheck disable=SC2086
"$CLANG" $cflags "$srcdir/fuzz/seeds.c" "$srcdir/fuzz/common.c" -o "$out/seeds" $LIBS
for t in "$srcdir"/fuzz/fuzz_*.c; do
    name=$(basename "$t" .c)
    # shellcheck disable=SC2086
    "$CLANG" $cflags -fsanitize=fuzzer "$t" "$common" "${lib[@]}" -o "$out/$name" $LIBS ${FUZZ_EXTRA_CFLAGS:-}
    echo "built $out/$name"
done
