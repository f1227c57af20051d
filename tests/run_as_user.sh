#!/usr/bin/env bash
# -u USER and the journal's priority prefixes. -u: a user that does not
# exist, or one that only root could become, is a one-line error before
# anything is opened (exit 2); as root, -u nobody gives the same flows, and
# the -o file opened before the switch is still written. Logging: with
# JOURNAL_STREAM naming stderr (as systemd sets it) each message carries its
# sd-daemon priority (<3> error, <4> warning, <6> info); with JOURNAL_STREAM
# naming another file, none. The live capture as another user:
# tests/service_netns.sh.
set -u
. "$(dirname "$0")/lib.sh"

pcap="$top_srcdir/samples/sample.pcap"

expect_error "-u: no such user" 2 "^nfprobe: -u nfprobe-no-such-user: no such user" -- -r "$pcap" -u nfprobe-no-such-user

if [ "$(id -u)" -eq 0 ]; then
    rc=0
    setpriv --reuid nobody --regid nogroup --clear-groups "$NFPROBE" -r "$pcap" -u root > /dev/null 2> "$work/notroot.err" || rc=$?
    check "-u root as nobody: exit 2, one line ($(cat "$work/notroot.err"))" \
        sh -c "[ $rc -eq 2 ] && [ \$(grep -c '' '$work/notroot.err') -eq 1 ] && grep -q 'only root can switch to another user' '$work/notroot.err'"

    "$NFPROBE" -r "$pcap" -q > "$work/root.json" || fail_setup "nfprobe -r failed"
    rc=0
    "$NFPROBE" -r "$pcap" -u nobody -o "$work/nobody.ipfix" --json > "$work/nobody.json" 2> "$work/nobody.err" || rc=$?
    check "-u nobody: exit 0" test "$rc" -eq 0
    check "-u nobody: says so" grep -q "^nfprobe: running as nobody (uid $(id -u nobody))\$" "$work/nobody.err"
    check "-u nobody: the same flows" cmp "$work/root.json" "$work/nobody.json"
    records=$("$COLLECTOR" -r "$work/nobody.ipfix" 2> /dev/null | grep -vc '"_options"')
    check "-u nobody: the -o file opened as root is complete after the switch ($records records)" \
        test "$records" -eq "$(grep -o '"src2dst_packets":[1-9]\|"dst2src_packets":[1-9]' "$work/root.json" | wc -l)"
else
    echo "# not root: the -u runs are skipped"
fi

# JOURNAL_STREAM as systemd sets it: "device:inode" of stderr, decimal.
journal_run() {   # stderr-file journal-stream-file -- nfprobe arguments
    local err=$1 js=$2; shift 3
    : > "$err"; : > "$js"
    JOURNAL_STREAM="$(stat -c '%d:%i' "$js")" "$NFPROBE" "$@" > /dev/null 2> "$err"
}
journal_run "$work/j.err" "$work/j.err" -- -V 9 -r "$pcap" -c "tcp://127.0.0.1:$(free_port tcp)" --drain-timeout 0.2
check "journal: an error is <3>" grep -q '^<3>nfprobe: [0-9]* flow records could not be delivered' "$work/j.err"
check "journal: a warning is <4>" grep -q '^<4>nfprobe: collector tcp://127.0.0.1:[0-9]*: Connection refused; queueing records and retrying' "$work/j.err"
check "journal: information is <6>" grep -q '^<6>nfprobe: NetFlow v9 has no field for' "$work/j.err"
check "journal: no message line without a priority but the statistics" \
    sh -c "! grep -v '^<[346]>nfprobe: ' '$work/j.err' | grep -v '^nfprobe: \(packets\|flows\|DPI\|export\)' | grep -q ."
journal_run "$work/n.err" "$work/other" -- -V 9 -r "$pcap" -c "tcp://127.0.0.1:$(free_port tcp)" --drain-timeout 0.2
check "JOURNAL_STREAM of another file: no prefixes" sh -c "! grep -q '^<' '$work/n.err' && grep -q '^nfprobe: [0-9]* flow records could not be delivered' '$work/n.err'"

finish
