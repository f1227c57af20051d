#!/usr/bin/env bash
# --json-format ecs: for every test capture, every name emitted outside the
# custom namespace "nfprobe" is an ECS 9.4.0 field with a value of its type,
# README's mapping table names only ECS fields and every one emitted, and no
# JSON field is lost (mapped, or under nfprobe.* with the same value).
set -u
. "$(dirname "$0")/lib.sh"

fields="$top_srcdir/../shared/testdata/ecs/fields.csv"
[ -f "$fields" ] || fields="$DATA/../ecs/fields.csv"
[ -f "$fields" ] || { echo "1..0 # SKIP no ECS field list (../shared/testdata/ecs/fields.csv)"; exit 77; }

python3 "$TOOLS/make_text_pcap.py" "$work/text.pcap" || fail_setup "cannot write the text capture"
pairs=()
for pcap in "$DATA"/*.pcap "$DATA"/*.pcapng "$work/text.pcap"; do
    name=$(basename "$pcap")
    "$NFPROBE" -q -r "$pcap" --json-format ecs > "$work/$name.ecs" 2> /dev/null
    "$NFPROBE" -q -r "$pcap" > "$work/$name.json" 2> /dev/null
    [ -s "$work/$name.json" ] && pairs+=("$work/$name.ecs" "$work/$name.json")
done
# Plugin fields go under nfprobe.* too.
"$NFPROBE" -q -r "$DATA/1kxun.pcap" -P splt -P flowstats --json-format ecs > "$work/plugins.ecs"
"$NFPROBE" -q -r "$DATA/1kxun.pcap" -P splt -P flowstats > "$work/plugins.json"
grep -q '"nfprobe":{.*"splt_ps":\[' "$work/plugins.ecs" || not_ok "no nfprobe.splt_ps in the ECS of -P splt"
pairs+=("$work/plugins.ecs" "$work/plugins.json")
out=$(python3 "$TOOLS/ecs_check.py" "$fields" "$top_srcdir/README" "${pairs[@]}" 2>&1)
rc=$?
echo "$out" | head -21 | sed 's/^/# /'
check "ECS: $((${#pairs[@]} / 2)) captures: names, types, mapping table, values ($(echo "$out" | tail -1))" \
    test "$rc" -eq 0 -a "${#pairs[@]}" -gt 200

expect_error "--json-format other" 2 "expected 'nfstream' or 'ecs'" -- -r "$DATA/1kxun.pcap" --json-format xml

finish
