#!/usr/bin/env bash
# --dynamic-timeouts (issue 14). A synthetic capture (tests/tools/selection.py
# flood-pcap): 100 long-lived UDP flows, a packet each second for 60 s, and
# from the 3rd second a flood of one-packet flows, with --max-flows 500:
#   - 1,000 new flows a second overrun the cache: with dynamic timeouts the
#     100 long flows come out whole (one record each, packets and bytes equal
#     the run without the flood), with 1 and 2 workers; without them, they
#     are cut up (checked, so the scenario proves something; bench/
#     dynamic_timeouts.sh reports by how much);
#   - 300 new flows a second: the shortened idle timeout ages the flood out
#     before the cache is full; those records carry flowEndReason 5 and
#     --stats counts them and shows the current timeout;
#   - without pressure the option changes no record (1kxun.pcap).
set -u
. "$(dirname "$0")/lib.sh"
SEL=$TOOLS/selection.py

python3 "$SEL" flood-pcap "$work/calm.pcap" 0 && python3 "$SEL" flood-pcap "$work/flood.pcap" 1000 &&
    python3 "$SEL" flood-pcap "$work/light.pcap" 300 || fail_setup "cannot build the captures"
"$NFPROBE" -r "$work/calm.pcap" -q --no-dissect > "$work/calm.json"
whole=$(python3 "$SEL" long-flows "$work/calm.json")
[ "$whole" = "100 100 6000 1200000" ] || fail_setup "the calm capture's long flows: $whole"

for w in 1 2; do
    "$NFPROBE" -r "$work/flood.pcap" --no-dissect --max-flows 500 --dynamic-timeouts --workers $w \
        > "$work/dyn.$w.json" 2> "$work/dyn.$w.err"
    got=$(python3 "$SEL" long-flows "$work/dyn.$w.json")
    if [ "$got" = "$whole" ]; then ok "flood, dynamic timeouts, $w worker(s): the 100 long flows come out whole ($got)"
    else not_ok "flood, dynamic timeouts, $w worker(s): long flows, records, packets, bytes = $got, wanted $whole"; fi
done
"$NFPROBE" -r "$work/flood.pcap" -q --no-dissect --max-flows 500 > "$work/static.json"
read -r flows records _ <<< "$(python3 "$SEL" long-flows "$work/static.json")"
if [ "$records" -gt 100 ]; then ok "flood without dynamic timeouts: the 100 long flows are cut into $records records"
else not_ok "flood without dynamic timeouts: $records records for $flows long flows: the scenario does not overrun the cache"; fi

"$NFPROBE" -r "$work/light.pcap" --no-dissect --max-flows 500 --dynamic-timeouts > "$work/light.json" 2> "$work/light.err"
check "light flood: the 100 long flows come out whole" test "$(python3 "$SEL" long-flows "$work/light.json")" = "$whole"
early=$(sed -n 's/.*dynamic timeouts: idle timeout now .* s (configured 30 s), \([0-9]*\) records ended early (reason 5)/\1/p' "$work/light.err")
emergency=$(sed -n 's/.*emergency \([0-9]*\))$/\1/p' "$work/light.err")
reason5=$(grep -c '"end_reason":5' "$work/light.json")
echo "# light flood: $early records ended early, $emergency with reason 5 in all, $reason5 in the JSON"
if [ "${early:-0}" -gt 1000 ] && [ "$reason5" = "$emergency" ]; then
    ok "light flood: the shortened timeout ended $early records early, flowEndReason 5 on each ($reason5 = --stats)"
else
    not_ok "light flood: $early ended early, --stats reason 5: $emergency, JSON: $reason5"
fi
check "--stats shows the current idle timeout" grep -q "dynamic timeouts: idle timeout now [0-9.]* s (configured 30 s)" "$work/light.err"

pcap=$DATA/1kxun.pcap
if [ -f "$pcap" ]; then
    "$NFPROBE" -r "$pcap" -q > "$work/a.json"
    "$NFPROBE" -r "$pcap" -q --dynamic-timeouts > "$work/b.json"
    check "no pressure: the same records with and without the option" python3 "$TOOLS/records_equal.py" "$work/a.json" "$work/b.json"
fi
finish
