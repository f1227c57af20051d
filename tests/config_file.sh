#!/usr/bin/env bash
# --config FILE: the same run as the command line it stands for, the command
# line overriding it, and a bad line as a one-line error naming the file and
# the line, exit 2 (the parsing itself: tests/test_options.c).
set -u
. "$(dirname "$0")/lib.sh"

pcap="$top_srcdir/samples/sample.pcap"

# 1. The file gives what the command line would: same JSON.
"$NFPROBE" -r "$pcap" --no-dissect --idle-timeout 5 -P flowstats -q > "$work/cmdline.json" ||
    fail_setup "nfprobe -r failed"
cat > "$work/probe.conf" <<CONF
# what tests/config_file.sh runs
read = $pcap

no-dissect
idle-timeout = 5
  plugin = flowstats
quiet = yes
CONF
"$NFPROBE" --config "$work/probe.conf" > "$work/file.json" 2> "$work/file.err"
check "config file: same flows as the command line ($(grep -c . "$work/cmdline.json") lines)" \
    cmp "$work/cmdline.json" "$work/file.json"
check "config file: quiet = yes is quiet" test ! -s "$work/file.err"

# 2. The command line wins: a scalar is overridden, a list (-P) replaced.
"$NFPROBE" -r "$pcap" --no-dissect --idle-timeout 1 -P splt -q > "$work/cmdline2.json"
"$NFPROBE" --config "$work/probe.conf" --idle-timeout 1 -P splt > "$work/file2.json" 2> /dev/null
check "command line over the file: same flows as the command line alone" \
    cmp "$work/cmdline2.json" "$work/file2.json"
check "command line -P replaces the file's plugins (splt's fields, no flowstats')" \
    sh -c "grep -q splt_ '$work/file2.json' && ! grep -q bidirectional_stddev_piat_ms '$work/file2.json'"

# 3. Errors: one line, FILE:LINE, exit 2.
conf=$work/eth0.conf
printf 'read = %s\n# comment\n\nidle-timeout = 30\nquiet\ncollector = tcp://127.0.0.1:4739\ncolector = tcp://10.0.0.1:4739\n' "$pcap" > "$conf"
expect_error "unknown key" 2 "^nfprobe: $conf:7: unknown option 'colector'\$" -- --config "$conf"
printf 'read = %s\nidle-timeout = soon\n' "$pcap" > "$conf"
expect_error "bad value" 2 "^nfprobe: $conf:2: --idle-timeout 'soon': expected seconds" -- --config "$conf"
printf 'read = %s\nmax-flows\n' "$pcap" > "$conf"
expect_error "missing value" 2 "^nfprobe: $conf:2: option 'max-flows' needs a value" -- --config "$conf"
printf 'read = %s\nbiflow = perhaps\n' "$pcap" > "$conf"
expect_error "bad flag" 2 "^nfprobe: $conf:2: 'biflow' is a flag" -- --config "$conf"
printf 'config = /etc/nfprobe/other.conf\n' > "$conf"
expect_error "config in a config" 2 "^nfprobe: $conf:1: 'config' is for the command line only" -- --config "$conf"
expect_error "missing file" 2 "^nfprobe: cannot read config file $work/none.conf: No such file or directory" -- --config "$work/none.conf"
# The 1 MiB bound: a file of exactly 1 MiB (comments after the options of 1.)
# runs, one byte more is refused; a directory is a read error.
size=$(wc -c < "$work/probe.conf")
{ cat "$work/probe.conf"; yes '# padding' | head -c $((1048576 - size)); } > "$work/big.conf"
"$NFPROBE" --config "$work/big.conf" > "$work/big.json" 2> /dev/null
check "a config file of exactly 1 MiB is read whole" cmp "$work/cmdline.json" "$work/big.json"
printf '#' >> "$work/big.conf"
expect_error "config file over 1 MiB" 2 "^nfprobe: cannot read config file $work/big.conf: larger than 1 MiB\$" -- --config "$work/big.conf"
expect_error "config file a directory" 2 "^nfprobe: cannot read config file $work: Is a directory\$" -- --config "$work"
# A value the file's parser accepts but the whole does not: after the file.
printf 'read = %s\nbiflow\n' "$pcap" > "$conf"
expect_error "inconsistent with the command line" 2 "^nfprobe: --biflow needs IPFIX" -- --config "$conf" -V 9
# The command line's own errors are still its own.
expect_error "unknown option next to --config" 2 "^nfprobe: unknown option '--colector'" -- --config "$conf" --colector x

finish
