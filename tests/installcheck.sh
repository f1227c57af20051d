#!/usr/bin/env bash
# make installcheck (and so make distcheck): what `make install` put in place
# works from there: the program, a plugin built against the installed header
# through the installed pkg-config file, the installed templates and model,
# and the man page. The Makefile passes the install directories (with
# DESTDIR, if any, in front) and destdir.
set -u
: "${bindir:?} ${pkgdatadir:?} ${pkgconfigdir:?} ${man8dir:?}"
. "$(dirname "$0")/lib.sh"

NFPROBE="$bindir/nfprobe"
pcap="$top_srcdir/samples/sample.pcap"

check "installed nfprobe runs: $("$NFPROBE" --version 2>&1)" "$NFPROBE" --version

# The example plugin, built as a user would: only the installed header.
# (Installed with DESTDIR, the include path is under it: pkg-config's sysroot.)
cflags=$(PKG_CONFIG_PATH="$pkgconfigdir" PKG_CONFIG_SYSROOT_DIR="${destdir:-}" pkg-config --cflags nfprobe-plugin) || fail_setup "pkg-config does not know nfprobe-plugin in $pkgconfigdir"
check "a plugin builds with pkg-config --cflags nfprobe-plugin ($cflags)" \
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -shared -fPIC $cflags -o "$work/p666.so" "$top_srcdir/examples/packets666.c"
"$NFPROBE" -q -r "$pcap" -P "$work/p666.so" > "$work/p666.json" 2> "$work/p666.err"
want=$("$NFPROBE" -q -r "$pcap" | wc -l)
got=$(grep -c '"packets_over_666":' "$work/p666.json")
check "the installed nfprobe loads it: packets_over_666 in all $want records (got $got)" test "$got" -eq "$want" -a "$want" -gt 0

# Templates and model as installed, by path: the same records as built in.
ipfix_records() {   # file: its data records, decoded
    "$COLLECTOR" -r "$1" 2> /dev/null | grep -v '"_options"'
}
same_as_builtin() {   # template-file [nfprobe options]
    # (without DPI and tunnels, whose elements the built-in templates gain)
    local file=$1; shift
    "$NFPROBE" -q -r "$pcap" --no-dissect --no-decode-tunnels "$@" -T "$file" -o "$work/file.ipfix" &&
        "$NFPROBE" -q -r "$pcap" --no-dissect --no-decode-tunnels "$@" -o "$work/builtin.ipfix" &&
        [ "$(ipfix_records "$work/file.ipfix" | wc -l)" -gt 0 ] &&
        cmp <(ipfix_records "$work/file.ipfix") <(ipfix_records "$work/builtin.ipfix")
}
check "-T $pkgdatadir/default.tmpl: the default template's records" same_as_builtin "$pkgdatadir/default.tmpl"
check "-T $pkgdatadir/biflow.tmpl: the biflow template's records" same_as_builtin "$pkgdatadir/biflow.tmpl" --biflow
check "-P early-classify:model=$pkgdatadir/early-classify.tree: the built-in model's labels" \
    cmp <("$NFPROBE" -q -r "$pcap" -P "early-classify:model=$pkgdatadir/early-classify.tree") \
        <("$NFPROBE" -q -r "$pcap" -P early-classify)
check "elastic-ntop-fields.yml installed" test -s "$pkgdatadir/elastic-ntop-fields.yml"
# The Python package as installed (issue 17): it finds the installed nfprobe
# through its _install.py (no NFPROBE, no PATH; with DESTDIR the recorded
# bindir lies outside the staging tree, so NFPROBE names it then).
if [ -f "${pythondir:-}/__init__.py" ]; then   # not with configure --with-pythondir=no
    pyenv=(env -u NFPROBE PATH=/nonexistent PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$(dirname "$pythondir")")
    [ -n "${destdir:-}" ] && pyenv+=(NFPROBE="$NFPROBE")
    check "the installed Python package: NFStreamer gives the $want flows of the installed nfprobe" \
        test "$(cd "$work" && "${pyenv[@]}" /usr/bin/python3 -c \
            'import sys; from nfprobe import NFStreamer; print(sum(1 for f in NFStreamer(source=sys.argv[1])))' "$pcap")" = "$want"
fi
if command -v groff > /dev/null; then
    check "the installed man page renders without a warning" \
        bash -c "groff -ww -man -z '$man8dir/nfprobe.8' 2>&1 | { ! grep -q .; }"
fi

finish
