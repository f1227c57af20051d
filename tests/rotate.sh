#!/usr/bin/env bash
# -o files that rotate (--rotate S) and reopen (SIGHUP).
#   - A synthetic capture spanning 10 minutes (bench/gen_pcap.c) with
#     --rotate 60 (packet time): exactly the files of the minutes the capture
#     spans, named from the pattern (names computed from the capture's packet
#     times by tests/tools/rotation_check.py, in UTC);
#   - each file decoded whole, alone, by ipfixDump (libfixbuf-tools: no
#     complaint, templates in its first message, only withdrawals in its
#     last) and by collector-test -r (exit 0, no sequence gap);
#   - over all files, records, packets and bytes equal those of one file
#     written without --rotate, and the capture's own totals;
#   - each record is in the file of the interval in which it was exported;
#   - -V 9 and -V 5 (with DPI: v9 files carry the application names): the
#     same file names, each file read alone decodes whole
#     (v9: templates first, every data set with a template of its own file),
#     totals equal one unrotated file's;
#   - a capture without packets still leaves one whole file;
#   - a file that cannot be created (its directory missing) is said once,
#     its records counted as dropped (exit 1), the other files whole;
#   - bad command lines: --rotate without -o, a pattern without a strftime
#     conversion, a directory that does not exist.
# SIGHUP: tests/sighup.sh.
set -u
. "$(dirname "$0")/lib.sh"
command -v ipfixDump > /dev/null || { echo "# ipfixDump (libfixbuf-tools) not installed: skipped"; exit 77; }

CHECK="$TOOLS/rotation_check.py"
IDLE=30
syn=$work/syn.pcap
synthetic_pcap "$syn" 200000 5000 3 600 || fail_setup "cannot generate the synthetic capture"
export TZ=UTC

# rotated_run DIR [nfprobe options]: --rotate 60 into DIR/f-<interval>.<ext>;
# the expected names in DIR/want, the written ones in DIR/got.
rotated_run() {
    local dir=$1 ext=ipfix rc=0; shift
    case " $* " in *" -V 9 "*) ext=v9 ;; *" -V 5 "*) ext=v5 ;; esac
    mkdir -p "$dir"
    python3 "$CHECK" names "$syn" 60 "f-%Y%m%d%H%M%S.$ext" > "$dir/want" || return 1
    "$NFPROBE" -r "$syn" --idle-timeout $IDLE --active-timeout $NEVER --rotate 60 -o "$dir/f-%Y%m%d%H%M%S.$ext" "$@" \
        > /dev/null 2> "$dir/err" || rc=$?
    (cd "$dir" && ls -- *."$ext") > "$dir/got"
    return $rc
}

# ---- IPFIX -------------------------------------------------------------------
dir=$work/ipfix
rc=0
rotated_run "$dir" || rc=$?
[ "$rc" -eq 0 ] || not_ok "nfprobe --rotate 60 exit $rc: $(head -3 "$dir/err")"
check "--rotate 60: the $(grep -c '' "$dir/want") files of the capture's minutes ($(head -1 "$dir/want") ...)" \
    diff "$dir/want" "$dir/got"
check "--rotate 60: one 'writing' line per file" test "$(grep -c '^nfprobe: writing ' "$dir/err")" -eq "$(grep -c '' "$dir/want")"

bad_dump= bad_ct=
while read -r f; do
    base=${f%.ipfix}
    if ! ipfixDump --in "$dir/$f" > "$dir/$base.dump" 2> "$dir/$base.dump.err" || [ -s "$dir/$base.dump.err" ] ||
       ! n_dump=$(python3 "$CHECK" dump "$dir/$base.dump" 2> "$dir/$base.dump.check"); then
        bad_dump="$bad_dump $f: $(head -c 300 "$dir/$base.dump.err" "$dir/$base.dump.check" 2> /dev/null)"
        continue
    fi
    if ! "$COLLECTOR" -r "$dir/$f" --seq-check > "$dir/$base.json" 2> "$dir/$base.ct.err" ||
       ! grep -q '^sequence gaps: 0$' "$dir/$base.ct.err" || [ "$(grep -vc -e '^collector-test: [0-9]* records' -e '^sequence gaps' "$dir/$base.ct.err")" -ne 0 ]; then
        bad_ct="$bad_ct $f: $(head -c 300 "$dir/$base.ct.err")"
        continue
    fi
    # ipfixDump's data records: flow and options records, the element type
    # records libfixbuf consumes included; collector-test counts the same.
    n_ct=$(sed -n 's/^collector-test: \([0-9]*\) records, \([0-9]*\) options.*/\1 \2/p' "$dir/$base.ct.err" | awk '{print $1 + $2}')
    [ "$n_dump" = "$n_ct" ] || bad_ct="$bad_ct $f: ipfixDump $n_dump data records, collector-test $n_ct"
done < "$dir/got"
if [ -z "$bad_dump" ]; then ok "ipfixDump reads every file whole: templates first, withdrawals last"
else not_ok "ipfixDump:$bad_dump"; fi
if [ -z "$bad_ct" ]; then ok "collector-test -r reads every file whole, no sequence gap, as many records as ipfixDump"
else not_ok "collector-test:$bad_ct"; fi

"$NFPROBE" -r "$syn" --idle-timeout $IDLE --active-timeout $NEVER -o "$work/one.ipfix" -q > /dev/null 2>&1 || not_ok "the unrotated run failed"
"$COLLECTOR" -r "$work/one.ipfix" > "$work/one.json" 2> /dev/null || not_ok "collector-test cannot read the unrotated file"
one=$(python3 "$CHECK" totals "$work/one.json")
all=$(python3 "$CHECK" totals "$dir"/*.json)
meta="$(meta_value "$syn.meta" flow_directions) $(meta_value "$syn.meta" packets) $(meta_value "$syn.meta" ip_bytes)"
echo "# records packets bytes: rotated $all, one file $one, capture $meta"
check "totals over the rotated files = one unrotated file = the capture's ($one)" test "$all" = "$one" -a "$all" = "$meta"
check "each record is in the file of the interval it was exported in" \
    python3 "$CHECK" placed 60 $IDLE "$syn" "$dir"/*.json

# ---- NetFlow v9 and v5 ---------------------------------------------------------
for v in 9 5; do
    dir=$work/v$v rc=0
    rotated_run "$dir" -V "$v" || rc=$?
    [ "$rc" -eq 0 ] || not_ok "-V $v --rotate 60 exit $rc: $(head -3 "$dir/err")"
    check "-V $v --rotate 60: the capture's $(grep -c '' "$dir/want") files" diff "$dir/want" "$dir/got"
    "$NFPROBE" -r "$syn" --idle-timeout $IDLE --active-timeout $NEVER -V "$v" -o "$work/one.v$v" -q > /dev/null 2>&1
    one=$(python3 "$CHECK" netflow "$v" "$work/one.v$v" 2>&1)
    if all=$(cd "$dir" && python3 "$CHECK" netflow "$v" $(cat got) 2>&1); then
        ok "-V $v: every file decodes alone, whole"
        echo "# v$v records packets bytes: rotated $all, one file $one"
        check "-V $v: totals over the rotated files = one unrotated file ($one)" test "$all" = "$one"
        [ "$v" = 5 ] || check "-V 9: totals = the capture's ($meta)" test "$all" = "$meta"
    else
        not_ok "-V $v: $(echo "$all" | head -5)"
    fi
done

# ---- a file that cannot be created ---------------------------------------------
# Minute directories: only the even minutes exist.
dir=$work/holes rc=0
mkdir -p "$dir"
python3 "$CHECK" names "$syn" 60 "%M" > "$dir/minutes"
while read -r m; do [ $((10#$m % 2)) -eq 0 ] && mkdir "$dir/$m"; done < "$dir/minutes"
missing=$(awk '$1 % 2 == 1' "$dir/minutes" | grep -c '')
"$NFPROBE" -r "$syn" --idle-timeout $IDLE --active-timeout $NEVER --rotate 60 -o "$dir/%M/f-%Y%m%d%H%M%S.ipfix" > /dev/null 2> "$dir/err" || rc=$?
said=$(grep -c "cannot create '.*': No such file or directory: its records are counted as dropped" "$dir/err")
check "missing directories: exit 1, one message for each of the $missing files that cannot be created" \
    test "$rc" -eq 1 -a "$said" -eq "$missing"
holes_ok=1
for f in "$dir"/*/*.ipfix; do
    "$COLLECTOR" -r "$f" > "$f.json" 2> "$f.err" || { holes_ok=0; echo "# $f: $(head -2 "$f.err")"; }
done
sent=$(python3 "$CHECK" totals "$dir"/*/*.json | cut -d' ' -f1)
dropped=$(sed -n 's/^nfprobe: export .*: [0-9]* messages, [0-9]* records sent, \([0-9]*\) records dropped$/\1/p' "$dir/err")
all_records=$(meta_value "$syn.meta" flow_directions)
echo "# holes: $sent records in the files that exist, $dropped counted as dropped, of $all_records"
check "missing directories: the other files read whole; records written + counted dropped = all ($all_records)" \
    test "$holes_ok" -eq 1 -a "$((sent + dropped))" -eq "$all_records" -a "$dropped" -gt 0

# ---- a capture without packets -------------------------------------------------
# The clock never starts: the run still leaves its one file (named by the
# wall clock), whole, with the final statistics record.
dir=$work/empty rc=0
mkdir -p "$dir"
python3 -c 'import struct, sys; open(sys.argv[1], "wb").write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))' "$work/empty.pcap"
"$NFPROBE" -r "$work/empty.pcap" -q --rotate 60 -o "$dir/f-%Y%m%d%H%M%S.ipfix" > /dev/null 2> "$dir/err" || rc=$?
files=$(ls "$dir"/*.ipfix 2> /dev/null | grep -c '')
if [ "$rc" -eq 0 ] && [ "$files" -eq 1 ] && ipfixDump --in "$dir"/*.ipfix > "$dir/dump" 2> "$dir/dump.err" && [ ! -s "$dir/dump.err" ] &&
   python3 "$CHECK" dump "$dir/dump" > /dev/null && "$COLLECTOR" -r "$dir"/*.ipfix > "$dir/json" 2> "$dir/ct.err" &&
   grep -q '^collector-test: 0 records' "$dir/ct.err" && grep -q '"packetTotalCount":0' "$dir/json"; then
    ok "a capture without packets: exit 0, one whole file (templates, the statistics record, withdrawals)"
else
    not_ok "a capture without packets: exit $rc, $files files: $(head -2 "$dir/err" "$dir/dump.err" 2> /dev/null)"
fi

# ---- bad command lines -------------------------------------------------------
expect_error "--rotate without -o" 2 "--rotate needs -o FILE" -- -r "$syn" --rotate 60
expect_error "--rotate, no conversion in the name" 2 "has no strftime conversion" -- -r "$syn" --rotate 60 -o "$work/flows.ipfix"
expect_error "--rotate, only %% in the name" 2 "has no strftime conversion" -- -r "$syn" --rotate 60 -o "$work/flows%%.ipfix"
expect_error "--rotate 0" 2 "expected a whole number from 1" -- -r "$syn" --rotate 0 -o "$work/f-%s.ipfix"
expect_error "--rotate into a missing directory" 1 "cannot create files in '/nonexistent/dir'" -- -r "$syn" --rotate 60 -o "/nonexistent/dir/f-%s.ipfix"

finish
