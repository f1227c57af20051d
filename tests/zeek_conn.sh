#!/usr/bin/env bash
# nfprobe against Zeek's conn.log baselines: the tunnel captures of
# ../shared/testdata/zeek-expected (ERSPAN, Geneve, GRE, GTP-U with outer
# fragments, VXLAN) and the 802.11 captures of ../shared/testdata/wlan
# (radiotap, raw 802.11): the same inner connections with the same packets and
# IP bytes per direction; every difference is listed with its reason in
# tests/zeek-differences.txt (a new one, or a listed one that went away,
# fails). Timeouts beyond the captures' length: one record per connection.
set -u
. "$(dirname "$0")/lib.sh"

ZEEK=$DATA/../zeek-expected
WLAN=$DATA/../wlan
[ -d "$ZEEK" ] && [ -d "$WLAN" ] || fail_setup "no Zeek baselines in $ZEEK and $WLAN"
NEVER=100000000

for pcap in "$ZEEK"/erspanII.pcap "$ZEEK"/geneve.pcap "$ZEEK"/gre-sample.pcap \
            "$ZEEK"/gtp1_gn_normal_incl_fragmentation.pcap "$ZEEK"/zeek_vxlan.pcap \
            "$WLAN"/radiotap.pcap "$WLAN"/wlanmon.pcap; do
    name=$(basename "$pcap")
    conn=$pcap.conn.log
    [ -f "$pcap" ] || pcap=$DATA/$name     # the tunnel captures live in pcap/
    if ! "$NFPROBE" -r "$pcap" -q --json --idle-timeout $NEVER --active-timeout $NEVER \
            --tcp-close-timeout $NEVER > "$work/$name.json" 2> "$work/$name.err"; then
        not_ok "$name: nfprobe failed: $(head -2 "$work/$name.err")"
        continue
    fi
    check "$name: flows = Zeek's conn.log, differences as explained" \
        python3 "$TOOLS/zeek_compare.py" "$name" "$conn" "$work/$name.json" \
        "$top_srcdir/tests/zeek-differences.txt"
done

# The 802.11 frames themselves: metered data frames, not the radio header.
out=$("$NFPROBE" -r "$WLAN/radiotap.pcap" --json 2>&1 > /dev/null)
check "radiotap.pcap: 3 frames seen, 3 metered" grep -q "packets: 3 seen, 3 metered, 0 not metered" <<< "$out"

finish
