#!/usr/bin/env bash
# The man page nfprobe.8 renders without a groff warning and documents what
# nfprobe really has: every option of --help has an item in OPTIONS, every
# JSON member nfprobe prints is named under JSON OUTPUT, and the default and
# dpi templates' elements are those of templates/*.tmpl.
set -u
. "$(dirname "$0")/lib.sh"

page="$top_srcdir/nfprobe.8"
command -v groff > /dev/null || { echo "# groff not installed (Debian: groff-base): skipped"; exit 77; }

# -ww: every warning; -z: no output, so stderr holds the warnings alone.
rc=0
groff -ww -man -z "$page" > "$work/groff.err" 2>&1 || rc=$?
check "groff -ww -man -z nfprobe.8: exit 0 ($rc), no warning" test "$rc" -eq 0 -a ! -s "$work/groff.err"
head -10 "$work/groff.err" | sed "s/^/#   /"
if command -v man > /dev/null; then
    MANWIDTH=80 man --warnings=w -l "$page" > "$work/man.txt" 2> "$work/man.err"
    check "man -l ./nfprobe.8 renders without warnings" test ! -s "$work/man.err" -a -s "$work/man.txt"
fi

# The page as text: no bold, underline or overstrike, hyphens as '-'.
groff -man -Tascii -P-cbou "$page" > "$work/page.txt" 2> /dev/null
section() {   # NAME: the rendered section's lines
    awk -v s="$1" '/^[A-Z]/ { on = ($0 == s) } on' "$work/page.txt"
}

# --help: every token that starts with - or -- after a blank or comma.
"$NFPROBE" --help > "$work/help.txt" || fail_setup "nfprobe --help failed"
grep -oE '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' "$work/help.txt" | tr -d ' ,' | sort -u > "$work/help.opts"
[ "$(wc -l < "$work/help.opts")" -ge 40 ] || fail_setup "only $(wc -l < "$work/help.opts") options found in --help"
# Items of OPTIONS: the tag lines, indented 7 columns and starting with '-'.
section OPTIONS | grep -E '^ {7}-' | grep -oE '(^|[ ,])--?[A-Za-z][A-Za-z0-9-]*' | tr -d ' ,' | sort -u > "$work/man.opts"
missing=$(comm -23 "$work/help.opts" "$work/man.opts" | tr '\n' ' ')
check "each of the $(wc -l < "$work/help.opts") options of --help has an item in the man page's OPTIONS${missing:+ (missing: $missing)}" test -z "$missing"

# JSON members: those printed with every built-in plugin over captures with
# DNS, TLS, SSH, ICMP and ICMPv6 flows, against the words of JSON OUTPUT
# (brace lists such as {a,b}_x expanded as the shell would).
: > "$work/json"
for f in "$top_srcdir/samples/sample.pcap" "$DATA/ssh.pcap" "$DATA/icmp-destunreach-udp.pcap" "$DATA/icmp6-ping.pcap"; do
    "$NFPROBE" -q -r "$f" -P splt -P flowstats -P early-classify >> "$work/json" || fail_setup "nfprobe -r $f failed"
done
section "JSON OUTPUT" > "$work/json-section.txt"
missing=$(python3 - "$work/json" "$work/json-section.txt" <<'PY'
import itertools, json, re, sys
printed = set()
for line in open(sys.argv[1]):
    printed.update(json.loads(line))
def expand(word):
    parts = re.split(r"\{([^}]*)\}", word)
    choices = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    return {"".join(c) for c in itertools.product(*choices)}
documented = set()
for word in re.findall(r"[\w{},]+", open(sys.argv[2]).read()):
    for w in word.split(",") if "{" not in word else [word]:
        documented |= expand(w)
if len(printed) < 90:
    sys.exit("only %d JSON members printed" % len(printed))
print(" ".join(sorted(printed - documented)))
PY
) || fail_setup "JSON member check failed: $missing"
check "every JSON member nfprobe prints is named in the man page's JSON OUTPUT${missing:+ (missing: $missing)}" test -z "$missing"

# The default template as the page lists it, in order, and the dpi elements.
section "EXPORTED ELEMENTS" > "$work/elements.txt"
grep -E '^ {14}[A-Za-z0-9]+$' "$work/elements.txt" | tr -d ' ' > "$work/man-default.tmpl"
grep -vE '^(#|$)' "$top_srcdir/templates/default.tmpl" > "$work/default.tmpl"
check "the man page lists the default template's $(wc -l < "$work/default.tmpl") elements in order" \
    diff "$work/default.tmpl" "$work/man-default.tmpl"
missing=$(grep -vE '^(#|$)' "$top_srcdir/templates/dpi.tmpl" | while read -r e; do
    grep -qw -- "$e" "$work/elements.txt" || printf '%s ' "$e"; done)
check "the man page names every element of the dpi template${missing:+ (missing: $missing)}" test -z "$missing"

# The version in the page's title is the program's.
th_version=$(sed -n 's/^\.TH NFPROBE 8 "[^"]*" "nfprobe \([^"]*\)".*/\1/p' "$page")
check "the page's title names nfprobe $("$NFPROBE" --version | cut -d' ' -f2) (got: $th_version)" \
    test "nfprobe $th_version" = "$("$NFPROBE" --version)"

# The exit codes main.c returns are the ones the page explains.
section "EXIT STATUS" | grep -oE '^ {7}[0-9]+' | tr -d ' ' | tr '\n' ' ' > "$work/exit-codes"
check "EXIT STATUS explains 0, 1 and 2 (got: $(cat "$work/exit-codes"))" test "$(cat "$work/exit-codes")" = "0 1 2 "

finish
