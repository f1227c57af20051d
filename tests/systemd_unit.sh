#!/usr/bin/env bash
# The systemd unit: make install puts nfprobe@.service (paths filled in) in
# the unit directory configure chose and the example config in
# SYSCONFDIR/nfprobe; systemd-analyze verify accepts the unit (with the
# paths of this build), its sandbox rates "OK" or better in
# systemd-analyze security, and the example config parses. Running the
# unit's command line: tests/service_netns.sh.
set -u
. "$(dirname "$0")/lib.sh"

unit_in="$top_srcdir/systemd/nfprobe@.service.in"
make -s -C "$top_builddir" install-systemdsystemunitDATA install-dist_nfprobeconfDATA DESTDIR="$work/dest" \
    > "$work/install.out" 2>&1 || fail_setup "make install of the unit failed: $(tail -3 "$work/install.out")"
# A make variable as make expands it, with the make flags make install had
# (distcheck sets the unit directory to ${dc_install_base}/...); an outer
# make -w adds its directory lines, which are left out.
make_var() {
    make -s --no-print-directory -C "$top_builddir" -f Makefile -f - "print-$1" \
        <<< "print-$1: ; @echo \$($1)" 2> /dev/null | grep -v '^make\['
}
unitdir=$(make_var systemdsystemunitdir)
bindir=$(make_var bindir)
sysconfdir=$(make_var sysconfdir)
installed="$work/dest$unitdir/nfprobe@.service"
check "make install: the unit in $unitdir" test -f "$installed"
check "make install: ExecStart=$bindir/nfprobe --config $sysconfdir/nfprobe/%i.conf -i %i -u nfprobe" \
    grep -qx "ExecStart=$bindir/nfprobe --config $sysconfdir/nfprobe/%i.conf -i %i -u nfprobe" "$installed"
check "make install: no @...@ left" sh -c "! grep -q '@[a-z]*@' '$installed'"
check "make install: $sysconfdir/nfprobe/nfprobe.conf.example" test -f "$work/dest$sysconfdir/nfprobe/nfprobe.conf.example"

# The example parses (its collector replaced by one of the test's: records
# refused by a closed port would count as lost, exit 1).
port=$(free_port udp)
start_collector udp "$port" "$work/example.jsonl"
rc=0
"$NFPROBE" --config "$top_srcdir/systemd/nfprobe.conf.example" -r "$top_srcdir/samples/sample.pcap" \
    -o "$work/example.ipfix" -c "udp://127.0.0.1:$port" -q > /dev/null 2> "$work/example.err" || rc=$?
stop_collectors
check "the example config is valid (exit $rc: $(head -1 "$work/example.err"))" test "$rc" -eq 0

if ! command -v systemd-analyze > /dev/null; then
    echo "# systemd-analyze not installed: the unit is not verified"
    finish; exit
fi
# This build's paths, so that verify finds the program it names.
mkdir -p "$work/units"
sed -e "s|@bindir@|$(cd "$top_builddir" && pwd)|g" -e "s|@sysconfdir@|$work/etc|g" "$unit_in" > "$work/units/nfprobe@.service"
check "systemd-analyze verify nfprobe@.service" systemd-analyze verify --man=no "$work/units/nfprobe@.service"
systemd-analyze security --offline=yes --no-pager "$work/units/nfprobe@.service" > "$work/security.out" 2>&1
exposure=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p' "$work/security.out")
echo "# systemd-analyze security: exposure ${exposure:-?} (0 safest, 10 unsafe)"
check "systemd-analyze security: exposure ${exposure:-?} below 4 (OK or better)" \
    awk -v e="${exposure:-10}" 'BEGIN { exit !(e < 4) }'

finish
