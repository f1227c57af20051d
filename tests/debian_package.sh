#!/usr/bin/env bash
# The Debian package, end to end (not in `make check`: it builds the whole
# package and installs it on this machine; .ci/run runs it after the suite).
# As root, on Debian 12 with debhelper, dpkg-dev, fakeroot and lintian:
#   - dpkg-buildpackage -us -uc -b builds nfprobe, nfprobe-dev and
#     python3-nfprobe from a copy
#     of this tree (its unit tests included); lintian reports no error;
#   - apt installs both; /usr/bin/nfprobe --version says the changelog's
#     version and it meters the sample capture; a plugin builds against the
#     installed header and pkg-config file and loads;
#   - the system user nfprobe exists (system uid, no login shell) and
#     nfprobe -u nfprobe works; /var/lib/nfprobe is that user's; the unit
#     nfprobe@.service is installed and disabled; /etc/nfprobe's files are
#     conffiles: installing again (as an upgrade) and removing keep an edit;
#   - remove, then purge: no file of either package is left, nor
#     /var/lib/nfprobe and what nfprobe wrote there; dpkg forgets them; the
#     user stays (Debian does not delete system users: a file it owned
#     elsewhere would go to whoever gets the uid next).
# KEEP_WORK=1 keeps the build and its log.
set -u
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "# needs root (it installs the package): skipped"; exit 77; }
for tool in dpkg-buildpackage dh fakeroot lintian apt-get; do
    command -v "$tool" >/dev/null || fail_setup "$tool is missing: apt-get install debhelper dpkg-dev fakeroot lintian"
done
packages=(nfprobe nfprobe-dev python3-nfprobe)
for p in "${packages[@]}"; do
    if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
        fail_setup "$p is already on this machine (dpkg-query -W $p): the test would replace it; purge it first"
    fi
done
purge_packages() { dpkg --purge "${packages[@]}" >/dev/null 2>&1; }
trap 'purge_packages; cleanup' EXIT

# ---- build ----------------------------------------------------------------
# A copy of the working tree as git sees it (tracked and new files, not the
# ignored build output): the build writes into its source tree. ../shared
# beside it lets the unit tests that meter shared captures run too.
src=$work/src/nfprobe
mkdir -p "$src"
if git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$top_srcdir" && git ls-files -co --exclude-standard -z | tar -c --null -T - | tar -x -C "$src") ||
        fail_setup "cannot copy the tree to $src"
else
    (cd "$top_srcdir" && tar -c --exclude='./build*' . | tar -x -C "$src") || fail_setup "cannot copy the tree to $src"
fi
[ -d "$top_srcdir/../shared" ] && ln -s "$(cd "$top_srcdir/../shared" && pwd)" "$work/src/shared"

version=$(cd "$src" && dpkg-parsechangelog -S Version)
start=$SECONDS
if (cd "$src" && dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b ($((SECONDS - start)) s)"
else
    not_ok "dpkg-buildpackage -us -uc -b: see the end of $work/build.log"
    tail -30 "$work/build.log" | sed 's/^/#   /'
    exit 1
fi
debs=()
for p in "${packages[@]}"; do
    arch=$(dpkg --print-architecture); [ "$p" = python3-nfprobe ] && arch=all
    debs+=("$work/src/${p}_${version}_$arch.deb")
done
changes=$work/src/nfprobe_${version}_$(dpkg --print-architecture).changes

lintian_out=$(lintian -I -E --pedantic "$changes" 2>&1 | grep -v 'running with root privileges')
echo "$lintian_out" | sed '/^$/d; s/^/# lintian: /'
check "lintian: no error" bash -c '! grep -q "^E:" <<<"$1"' _ "$lintian_out"

# ---- install ----------------------------------------------------------------
check "apt-get installs ${debs[*]##*/}" apt-get install -y -q --no-install-recommends "${debs[@]}"
installed_files=$(dpkg-query -L "${packages[@]}" | grep -vx '/\.' | sort -u)

check "nfprobe is /usr/bin/nfprobe" test "$(command -v nfprobe)" = /usr/bin/nfprobe
said=$(/usr/bin/nfprobe --version 2>&1)
check "nfprobe --version says $version ($said)" test "$said" = "nfprobe $version"

# The installed probe on the sample capture: one JSON object a flow, and the
# statistics line on stderr counts the same number of flows exported.
/usr/bin/nfprobe -r "$top_srcdir/samples/sample.pcap" > "$work/sample.json" 2> "$work/sample.err"
status=$?
flows=$(python3 -c 'import json,sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)))' "$work/sample.json" 2>/dev/null)
check "the installed nfprobe meters samples/sample.pcap (exit $status, ${flows:-no} JSON flows)" \
    test "$status" = 0 -a "${flows:-0}" -gt 0

# nfprobe-dev: the example plugin, built as README tells users to build theirs.
if cc -shared -fPIC $(pkg-config --cflags nfprobe-plugin) -o "$work/packets666.so" \
        /usr/share/doc/nfprobe-dev/examples/packets666.c > "$work/plugin.log" 2>&1; then
    ok "the example plugin builds against pkg-config nfprobe-plugin"
    /usr/bin/nfprobe -r "$top_srcdir/samples/sample.pcap" -P "$work/packets666.so" > "$work/plugin.json" 2>> "$work/plugin.log"
    check "the installed nfprobe loads it: every flow has packets_over_666, at most its packets" \
        python3 - "$work/plugin.json" "$flows" <<'EOF'
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
assert len(records) == int(sys.argv[2]), f"{len(records)} flows, {sys.argv[2]} without the plugin"
for r in records:
    n = r.get("packets_over_666")
    assert isinstance(n, int), f"flow {r['id']}: packets_over_666 is {n!r}"
    assert n <= r["src2dst_packets"] + r["dst2src_packets"], f"flow {r['id']}: {n} > its packets"
EOF
else
    not_ok "the example plugin builds against pkg-config nfprobe-plugin"; sed 's/^/#   /' "$work/plugin.log"
fi

# python3-nfprobe: the package imports with Debian's python3 and runs the
# installed nfprobe (no NFPROBE, no PATH search: _install.py says /usr/bin).
pyflows=$(cd "$work" && env -u NFPROBE PATH=/nonexistent /usr/bin/python3 -c \
    'import sys; from nfprobe import NFStreamer; print(sum(1 for f in NFStreamer(source=sys.argv[1])))' \
    "$top_srcdir/samples/sample.pcap" 2>&1)
check "python3-nfprobe: NFStreamer runs /usr/bin/nfprobe on the sample (${pyflows} flows, CLI $flows)" \
    test "$pyflows" = "$flows"

entry=$(getent passwd nfprobe)
check "system user nfprobe exists ($entry)" test -n "$entry"
uid=$(echo "$entry" | cut -d: -f3)
shell=$(echo "$entry" | cut -d: -f7)
check "nfprobe's uid $uid is a system uid (< 1000)" test "${uid:-1000}" -lt 1000
check "nfprobe has no login shell ($shell)" test "$shell" = /usr/sbin/nologin

# The unit lets nfprobe write only to /var/lib/nfprobe (ReadWritePaths).
owner=$(stat -c '%U:%G %a' /var/lib/nfprobe 2>&1)
check "/var/lib/nfprobe is nfprobe's, mode 750 ($owner)" test "$owner" = "nfprobe:nfprobe 750"
check "nfprobe can write to /var/lib/nfprobe" runuser -u nfprobe -- sh -c 'echo x > /var/lib/nfprobe/left-by-test'
check "nfprobe cannot write to /etc/nfprobe" bash -c '! runuser -u nfprobe -- touch /etc/nfprobe/x 2>/dev/null'
# What the unit runs: started as root, nfprobe becomes the user nfprobe (-u).
/usr/bin/nfprobe -r "$top_srcdir/samples/sample.pcap" -u nfprobe > "$work/user.json" 2> "$work/user.err"
status=$?
check "nfprobe -u nfprobe from the package (exit $status): the same JSON" cmp "$work/sample.json" "$work/user.json"

unit=$(echo "$installed_files" | grep '/systemd/system/nfprobe@\.service$')
check "the unit nfprobe@.service is installed (${unit:-nowhere})" test -n "$unit" -a -f "$unit"
state=$(systemctl is-enabled nfprobe@eth0.service 2>&1)
check "nfprobe@eth0.service is disabled ($state)" test "$state" = disabled
wants=$(find /etc/systemd/system -name 'nfprobe*' 2>/dev/null)
check "no nfprobe unit is linked under /etc/systemd/system (${wants:-none})" test -z "$wants"

etc_files=$(echo "$installed_files" | grep '^/etc/' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
conffiles=$(dpkg-query -W -f='${Conffiles}\n' nfprobe | awk 'NF {print $1}' | sort)
check "every file nfprobe installs under /etc is a conffile (${etc_files//$'\n'/ })" \
    test "$etc_files" = "$conffiles"

# Installing again runs the maintainer scripts as an upgrade does: an edited
# conffile is kept, the user keeps its uid.
edited=$(echo "$conffiles" | head -1)
[ -n "$edited" ] && echo "# edited by tests/debian_package.sh" >> "$edited"
check "dpkg -i again (upgrade path)" dpkg -i "${debs[0]}"
check "the user keeps uid $uid" test "$(id -u nfprobe)" = "$uid"
[ -n "$edited" ] && check "the edited $edited is kept" grep -q "edited by tests/debian_package.sh" "$edited"

# ---- remove, purge ----------------------------------------------------------
# A file or directory of the packages that is still there; directories other
# packages share (/usr/bin, /etc/systemd/system, ...) are not ours to remove.
leftovers() {
    local f
    echo "$installed_files" | while read -r f; do
        [ -e "$f" ] || continue
        [ -d "$f" ] && [ -n "$(dpkg-query -S "$f" 2>/dev/null)" ] && continue
        echo "$f"
    done
}
# dpkg, not apt: apt knows local .debs only while they are installed.
check "dpkg --remove ${packages[*]}" dpkg --remove "${packages[@]}"
left=$(leftovers | grep -v '^/etc/')
check "after remove only /etc is left (${left:-nothing else})" test -z "$left"
[ -n "$edited" ] && check "after remove the edited $edited is still there" test -f "$edited"
check "dpkg --purge ${packages[*]}" dpkg --purge "${packages[@]}"
left=$(leftovers)
check "after purge no file of the packages is left (${left:-none})" test -z "$left"
for dir in /etc/nfprobe /var/lib/nfprobe /var/log/nfprobe; do
    check "after purge there is no $dir" test ! -e "$dir"
done
known=$(dpkg-query -W -f='${binary:Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null | grep -v 'not-installed$')
check "dpkg has forgotten them (${known:-yes})" test -z "$known"
check "the user nfprobe stays after purge (Debian practice)" getent passwd nfprobe

finish
