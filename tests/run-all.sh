#!/usr/bin/env bash
# The whole test suite (README's set-up command 2): as root, first install
# what the build and the tests need (Debian packages, only those missing);
# then a warning-free build (-Werror) and `make check` in build-release/,
# and the same suite again under AddressSanitizer + UndefinedBehaviorSanitizer
# in build-sanitizers/. Run from anywhere; the shared test captures must sit
# at ../shared/testdata/pcap beside the source tree (or TESTDATA=DIR).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
jobs=$(nproc 2>/dev/null || echo 2)

# Build (README's command 1 installs these too) and test dependencies.
PACKAGES="build-essential autoconf automake libtool pkg-config
    libpcap-dev libndpi-dev libfixbuf-dev check libssl-dev openssl
    nfdump pmacct tshark softflowd libndpi-bin libfixbuf-tools
    python3 iproute2 procps time groff-base man-db systemd util-linux passwd tcpreplay
    python3-pytest python3-pandas python3-sklearn
    libzmq3-dev zlib1g-dev python3-zmq redis-server
    libmosquitto-dev mosquitto python3-paho-mqtt
    clang libclang-rt-dev"

install_packages() {
    local missing=() p
    for p in $PACKAGES; do
        dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    echo "=== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive   # tshark asks about capture rights otherwise
    # Wait for another apt (a fresh machine's unattended upgrades) to finish.
    local wait_lock=(-o DPkg::Lock::Timeout=600)
    apt-get "${wait_lock[@]}" update -q > /dev/null
    apt-get "${wait_lock[@]}" install -y -q --no-install-recommends "${missing[@]}" > /dev/null
}

# Run with sudo by a user, what this creates in the user's tree is given back
# to the user, so that a later run without sudo can rebuild it.
created=()
give_back() {
    [ -n "${SUDO_UID:-}" ] && [ ${#created[@]} -gt 0 ] || return 0
    chown -R "$SUDO_UID:${SUDO_GID:-$SUDO_UID}" "${created[@]}" 2> /dev/null || true
}
trap give_back EXIT

if [ "$(id -u)" = 0 ]; then
    install_packages
else
    echo "=== not root: using the packages installed (tests that need root or a missing tool are skipped)"
fi

# The suites build out of tree, which autoconf refuses in a tree configured
# in place.
if [ -f "$top/config.status" ]; then
    echo "nfprobe: $top was configured in place (./configure run there): run 'make distclean' in it first; the tests build in build-release/ and build-sanitizers/" >&2
    exit 1
fi
if [ ! -x configure ]; then
    created+=(configure configure~ Makefile.in aclocal.m4 autom4te.cache build-aux m4 config.h.in config.h.in~)
    autoreconf -fi
fi

run_suite() {   # name, configure flags...
    local name=$1; shift
    local dir="$top/build-$name"
    created+=("$dir")
    rm -f "$dir/test-suite.log"
    echo "=== $name: configure $*"
    mkdir -p "$dir"
    (cd "$dir" && "$top/configure" -q "$@" && make -s -j"$jobs" && make -s -j"$jobs" check) || {
        echo "=== $name: FAILED"; for f in "$dir"/tests/*.log; do
            [ -f "$f" ] && case "$f" in */test-suite.log) ;; *) grep -q "^:test-result: \(FAIL\|ERROR\|XPASS\)" "${f%.log}.trs" 2>/dev/null && { echo "--- $f"; tail -50 "$f"; } ;; esac
        done; return 1; }
    sed -n '1,12p' "$dir/test-suite.log" 2>/dev/null
}

count() {   # field of automake's summary, summed over the suites
    cat "$top"/build-release/test-suite.log "$top"/build-sanitizers/test-suite.log 2>/dev/null | sed -n "s/^# $1: *//p" | awk '{s+=$1} END {print s+0}'
}
status=0
run_suite release --enable-werror || status=1
run_suite sanitizers --enable-werror --enable-sanitizers || status=1
echo "$(count PASS) passed, $(( $(count FAIL) + $(count ERROR) + $(count XPASS) )) failed, $(count SKIP) skipped"
exit $status
