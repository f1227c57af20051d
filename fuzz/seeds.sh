#!/usr/bin/env bash
# The seed corpora of the fuzz targets, built (not stored in git):
#   fuzz/seeds.sh SRCDIR FUZZDIR CAPTUREDIR
# FUZZDIR is where `make fuzz` put the targets and the seed builder; the
# seeds go to FUZZDIR/seed-corpus/TARGET: frames and packet sequences from the
# captures (the program FUZZDIR/seeds, fuzz/seeds.c), the shipped templates, model and
# example config, and records for fuzz_export. Nothing is rebuilt when
# FUZZDIR/seed-corpus exists.
set -euo pipefail
srcdir=$1 fuzzdir=$2 captures=$3
seeds=$fuzzdir/seed-corpus
[ -d "$seeds" ] && exit 0
tmp=$seeds.tmp
rm -rf "$tmp"
for t in decode pipeline export template model config flow_filter; do mkdir -p "$tmp/$t"; done
shopt -s nullglob
caps=("$captures"/*.pcap "$captures"/*.pcapng)
# The 802.11 captures (radiotap, monitor mode) sit beside, in testdata/wlan.
caps+=("$captures"/../wlan/*.pcap)
[ ${#caps[@]} -gt 0 ] || echo "fuzz/seeds.sh: no captures in $captures: the packet targets start from nothing" >&2
[ ${#caps[@]} -eq 0 ] || "$fuzzdir/seeds" "$tmp" "${caps[@]}"
cp "$srcdir"/templates/*.tmpl "$tmp/template/"
cp "$srcdir"/models/early-classify.tree "$tmp/model/"
cp "$srcdir"/systemd/nfprobe.conf.example "$tmp/config/"
printf 'read-file = x.pcap\nidle-timeout = 5\nbiflow\nexport-version = 9\n\0-c\0udp://127.0.0.1:2055\0-P\0splt' > "$tmp/config/with-arguments"
# fuzz_flow_filter: README's examples and every operator, records after the NUL.
i=0
for e in 'dst_port == 443 and bidirectional_packets > 10' 'ip in 192.168.0.0/16 and not protocol == 17' \
         '(protocol == 17 or protocol == 6) && src_ip != 2001:db8::/32' 'bytes >= 0x10 || !(end_reason < 2)' \
         'src2dst_tcp_flags == 0 and bidirectional_duration_ms <= 2000'; do
    printf '%s\0\001\300\250\001\024\012\001\002\003\001\273\307\070\006' "$e" > "$tmp/flow_filter/expr-$i"
    i=$((i + 1))
done
# fuzz_export: records are bytes, any bytes; a few lengths of a counting pattern.
for n in 64 200 700 3000; do
    head -c "$n" < <(yes "$(printf '\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f')" | tr -d '\n') > "$tmp/export/count-$n"
done
mv "$tmp" "$seeds"
