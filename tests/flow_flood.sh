#!/usr/bin/env bash
# A flow flood into a small cache (--max-flows 1000): 200,000 conversations
# (random addresses and ports, TCP and UDP, IPv4 and IPv6: bench/gen_pcap.c)
# in 600,000 packets, first read from the file at full speed, then sent live
# at tcpreplay's top speed through a veth pair into a network namespace made
# for the test.
# Checks, each run:
#   - resident memory stays under the bound the options give (README,
#     "Flow floods": 32 MiB, + 1 KiB per --max-flows flow, + 64 MiB per
#     live capture socket (its ring); release build only: AddressSanitizer
#     keeps freed memory in quarantine);
#   - the cache overflowed and said so: emergency expiry counted, and every
#     flow created was exported;
#   - every packet is accounted for: the records' packets (JSON, summed) plus
#     the packets not metered plus those the kernel dropped (live) equal the
#     packets sent (the capture's own total; tcpreplay's count live).
# The live part needs root, `ip netns` and tcpreplay (skipped otherwise).
set -u
. "$(dirname "$0")/lib.sh"

max_flows=1000
bound_kib() {   # live capture sockets
    echo $((32 * 1024 + max_flows + $1 * 64 * 1024))
}
sanitized=
"$top_builddir/config.status" --config 2> /dev/null | grep -q -- '--enable-sanitizers' && sanitized=1

synthetic_pcap "$work/flood.pcap" 600000 200000 7 20 || fail_setup "cannot write the flood capture"
sent=$(meta_value "$work/flood.pcap.meta" packets)
flows=$(meta_value "$work/flood.pcap.meta" flows)

# The records' packets, both directions, from nfprobe's JSON.
record_packets() {
    awk '{ if (match($0, /"src2dst_packets":[0-9]+/)) p += substr($0, RSTART + 18, RLENGTH - 18)
           if (match($0, /"dst2src_packets":[0-9]+/)) p += substr($0, RSTART + 18, RLENGTH - 18) }
         END { print p + 0 }' "$1"
}
stat_field() {   # err-file regex-with-one-group
    sed -nE "s/$2/\1/p" "$1" | tail -1
}

# checks_for NAME JSON ERR MAXRSS-KIB DROPPED SOCKETS: the checks common to both runs.
checks_for() {
    local name=$1 json=$2 err=$3 rss=$4 dropped=$5 bound
    bound=$(bound_kib "$6")
    local created exported emergency not_metered packets
    created=$(stat_field "$err" '^nfprobe: flows: ([0-9]+) created.*')
    exported=$(stat_field "$err" '^nfprobe: flows: .* ([0-9]+) records exported.*')
    emergency=$(stat_field "$err" '.*emergency ([0-9]+)\)$')
    not_metered=$(stat_field "$err" '^nfprobe: packets: .* ([0-9]+) not metered.*')
    packets=$(record_packets "$json")
    check "$name: emergency expiry counted ($emergency of $created flows)" test "${emergency:-0}" -gt 0
    check "$name: every flow created exported ($exported records, $created flows)" test "$exported" = "$created"
    check "$name: $packets packets in records + ${not_metered:-?} not metered + $dropped dropped = $sent sent" \
        test $((packets + ${not_metered:-0} + dropped)) -eq "$sent"
    if [ -n "$sanitized" ]; then
        echo "# $name: resident memory $rss KiB (sanitizer build: not held to the bound)"
    else
        check "$name: resident memory $rss KiB <= bound $bound KiB (--max-flows $max_flows, $6 capture sockets)" \
            test "$rss" -le "$bound"
    fi
}

# 1. The file, at full speed.
/usr/bin/time -f 'maxrss %M' "$NFPROBE" -r "$work/flood.pcap" --max-flows "$max_flows" --json \
    > "$work/file.json" 2> "$work/file.err"
check "file: nfprobe exits 0" test $? -eq 0
rss=$(stat_field "$work/file.err" '^maxrss ([0-9]+)$')
checks_for "file" "$work/file.json" "$work/file.err" "${rss:-0}" 0 0
check "file: $flows conversations gave at least as many records" test "$(grep -c '' "$work/file.json")" -ge "$flows"

# 2. Live, as fast as tcpreplay sends.
[ "$(id -u)" = 0 ] || { echo "# not root: live flood skipped"; finish; exit; }
command -v tcpreplay > /dev/null || { echo "# tcpreplay not installed: live flood skipped"; finish; exit; }
netns_start
# Only the flood: the host's own neighbour discovery on the link is not sent.
filter='(tcp or udp) and (net 198.18.0.0/15 or net 2001:db8::/32) and not net 2001:db8:4e46::/48 and not net 2001:db8:4e47::/48'
ip netns exec "$ns" /usr/bin/time -f 'maxrss %M' "$NFPROBE" -i "$vn" -f "$filter" --max-flows "$max_flows" --no-dissect \
    --json --stats 0.2 > "$work/live.json" 2> "$work/live.err" &
pids+=($!)
wait_for_line "$work/live.err" "capturing on $vn" 20 || fail_setup "nfprobe did not start: $(head -3 "$work/live.err")"
tcpreplay -i "$vh" --topspeed "$work/flood.pcap" > "$work/tcpreplay.out" 2>&1 ||
    fail_setup "tcpreplay failed: $(tail -3 "$work/tcpreplay.out")"
replayed=$(sed -nE 's/^Actual: ([0-9]+) packets.*/\1/p' "$work/tcpreplay.out")
rate=$(sed -nE 's/.*Rated: [0-9.]+ Bps, [0-9.]+ Mbps, ([0-9.]+) pps.*/\1/p' "$work/tcpreplay.out")
echo "# tcpreplay: $replayed packets at $rate packets/s"
check "tcpreplay sent the whole capture" test "${replayed:-0}" = "$sent"
# Everything sent has been received or dropped by the kernel: the socket's
# counters (printed with each --stats line) reach the count sent.
kernel_counts() {   # received + dropped of the last kernel line
    grep '^nfprobe: kernel: ' "$work/live.err" | tail -1 | awk '{ print $3, $5 + $7 }'
}
# libpcap counts a packet the ring had no room for as received and dropped,
# or as dropped only, by kernel version: either way the sum reaches "sent".
seen_all() {
    local r d
    read -r r d < <(kernel_counts) || return 1
    [ "$r" = "$sent" ] || [ $((r + d)) = "$sent" ]
}
deadline=$(deadline_in 60)
until seen_all || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
kill -TERM "$(pgrep -P "${pids[0]}")"     # nfprobe, the child of time
wait "${pids[0]}"
check "live: nfprobe exits 0 after SIGTERM" test $? -eq 0
kernel=$(grep '^nfprobe: kernel: ' "$work/live.err" | tail -1)
echo "# $kernel"
read -r received dropped < <(kernel_counts)
[ "$received" = "$sent" ] || dropped=0    # drops not in "received": metered + not metered = received
rss=$(stat_field "$work/live.err" '^maxrss ([0-9]+)$')
checks_for "live" "$work/live.json" "$work/live.err" "${rss:-0}" "$dropped" 1
finish
