#!/usr/bin/env bash
# The text outputs over every test capture (two nfprobe runs a capture:
# --json --csv -o, and --json-format ecs):
# --csv: pandas.read_csv with no options reads each file into the frame of
# the JSON records of the same run: the JSON names as header, one row per
# record, every value equal, absent fields empty; strings with commas and
# double quotes (TLS certificate names, ALPN lists, and a capture made for it
# with such a Host, User-Agent and SNI) survive RFC 4180 quoting. (CR and LF
# cannot come from nDPI, which writes them as '?': tests/test_csv.c checks
# their quoting.)
# --json-format ecs: every name emitted outside the custom namespace
# "nfprobe" is an ECS 9.4.0 field with a value of its type, README's mapping
# table names only ECS fields and every one emitted, and no JSON field is
# lost (mapped, or under nfprobe.* with the same value).
set -u
. "$(dirname "$0")/lib.sh"

python3 -c 'import pandas' 2> /dev/null || { echo "1..0 # SKIP python3-pandas not installed"; exit 77; }
fields="$top_srcdir/../shared/testdata/ecs/fields.csv"
[ -f "$fields" ] || fields="$DATA/../ecs/fields.csv"
[ -f "$fields" ] || { echo "1..0 # SKIP no ECS field list (../shared/testdata/ecs/fields.csv)"; exit 77; }

python3 "$TOOLS/make_text_pcap.py" "$work/text.pcap" || fail_setup "cannot write the text capture"
pairs=() ecs_pairs=() bad=0
for pcap in "$DATA"/*.pcap "$DATA"/*.pcapng "$work/text.pcap"; do
    name=$(basename "$pcap")
    rc=0
    "$NFPROBE" -q -r "$pcap" --json --csv -o "$work/$name.csv" > "$work/$name.jsonl" 2> "$work/$name.err" || rc=$?
    # A capture nfprobe refuses (a link type it does not read) has no
    # records to compare; it must still have written the header.
    if [ "$rc" -ne 0 ] && [ ! -s "$work/$name.jsonl" ]; then
        head -1 "$work/$name.csv" | grep -q '^id,first_seen_ms,' || { bad=$((bad + 1)); echo "# $name: exit $rc, no header"; }
        continue
    fi
    "$NFPROBE" -q -r "$pcap" --json-format ecs > "$work/$name.ecs" 2> /dev/null
    pairs+=("$work/$name.csv" "$work/$name.jsonl")
    ecs_pairs+=("$work/$name.ecs" "$work/$name.jsonl")
done
# Plugin fields: splt's lists (a cell "[1,2,3]", a JSON array under
# nfprobe.*), flowstats' numbers.
"$NFPROBE" -q -r "$DATA/1kxun.pcap" -P splt -P flowstats --json --csv -o "$work/plugins.csv" \
    > "$work/plugins.jsonl" || fail_setup "nfprobe -P splt -P flowstats failed"
"$NFPROBE" -q -r "$DATA/1kxun.pcap" -P splt -P flowstats --json-format ecs > "$work/plugins.ecs"
grep -q '"splt_ps":\[' "$work/plugins.jsonl" || fail_setup "no splt_ps in the JSON of -P splt"
grep -q '"nfprobe":{.*"splt_ps":\[' "$work/plugins.ecs" || not_ok "no nfprobe.splt_ps in the ECS of -P splt"
pairs+=("$work/plugins.csv" "$work/plugins.jsonl")
ecs_pairs+=("$work/plugins.ecs" "$work/plugins.jsonl")

# ---- CSV
python3 "$TOOLS/csv_vs_json.py" "${pairs[@]}" > "$work/compare.out" 2>&1
runs=$(grep -c ': ok, ' "$work/compare.out")
bad=$((bad + $(grep -c ': differs, ' "$work/compare.out")))
grep -v ': ok, ' "$work/compare.out" | head -20 | sed 's/^/# /'
quoted=$(grep -oE '[0-9]+ quoted' "$work/compare.out" | awk '{ n += $1 } END { print n + 0 }')
text_quoted=$(grep -F "text.pcap.csv: ok" "$work/compare.out" | grep -oE '[0-9]+ quoted' | cut -d' ' -f1)
check "every capture, and one with plugin fields: the CSV frame equals the JSON records ($runs runs, $bad differ)" \
    bash -c "[ $bad -eq 0 ] && [ $runs -gt 100 ] && grep -q 'plugins.csv: ok' '$work/compare.out'"
check "values with commas and quotes round-trip ($quoted such cells, $text_quoted in text.pcap)" \
    test "$quoted" -gt 0 -a "${text_quoted:-0}" -ge 3

# CSV on stdout (no -o): the same bytes; --csv with JSON on stdout too is a
# one-line error, as is --rotate.
pcap="$DATA/1kxun.pcap"
"$NFPROBE" -q -r "$pcap" --csv > "$work/stdout.csv"
check "--csv without -o: the same CSV on stdout" cmp "$work/stdout.csv" "$work/1kxun.pcap.csv"
check "--csv with -c: CSV on stdout, IPFIX to the collector" \
    bash -c "'$NFPROBE' -q -r '$pcap' --csv -c udp://127.0.0.1:$(free_port udp) | cmp - '$work/1kxun.pcap.csv'"
expect_error "--csv and --json on stdout" 2 "both write to stdout" -- -r "$pcap" --csv --json
expect_error "--csv --rotate" 2 "not --csv output" -- -r "$pcap" --csv -o "$work/x-%H.csv" --rotate 60
expect_error "--csv -o in a missing directory" 1 "cannot create" -- -q -r "$pcap" --csv -o "$work/no/such.csv"


# ---- ECS
out=$(python3 "$TOOLS/ecs_check.py" "$fields" "$top_srcdir/README" "${ecs_pairs[@]}" 2>&1)
rc=$?
echo "$out" | head -21 | sed 's/^/# /'
check "ECS: $((${#ecs_pairs[@]} / 2)) runs: names, types, mapping table, values ($(echo "$out" | tail -1))" \
    test "$rc" -eq 0 -a "${#ecs_pairs[@]}" -gt 200
expect_error "--json-format other" 2 "expected 'nfstream' or 'ecs'" -- -r "$DATA/1kxun.pcap" --json-format xml

finish
