#!/bin/sh
# SPDX-License-Identifier: MIT
# flota-sim --mdns without avahi-daemon: with no D-Bus to reach, and with a private D-Bus on
# which no avahi-daemon runs, it says so in one line and the devices poll as usual.
# Needs no root; skipped (77) without dbus-daemon.
set -eu
sim=${FLOTA_SIM:?FLOTA_SIM must point at flota-sim}
command -v dbus-daemon > /dev/null 2>&1 || { echo "skipped: needs dbus-daemon"; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/flota-mdns.XXXXXX")
bus_pid=""
cleanup() {
    [ -z "$bus_pid" ] || kill "$bus_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# $1 = what the one line must say; runs flota-sim for 1.5 s on DBUS_SYSTEM_BUS_ADDRESS.
check_one_line() {
    rc=0
    timeout -k 2 20 "$sim" --mdns --devices 5 --server http://127.0.0.1:9 --interval 0.2 --duration 1.5 \
        > "$work/out" 2> "$work/err" || rc=$?
    [ "$rc" -eq 0 ] || fail "flota-sim exited with $rc: $(cat "$work/err")"
    [ "$(grep -c -- --mdns "$work/err")" -eq 1 ] || fail "expected one --mdns line: $(cat "$work/err")"
    grep -q -- "$1" "$work/err" || fail "expected '$1': $(cat "$work/err")"
    polls=$(sed -n 's/^5 devices, .*: \([0-9]*\) polls.*/\1/p' "$work/out")
    [ "${polls:-0}" -gt 5 ] || fail "the devices did not poll: $(cat "$work/out")"
}

DBUS_SYSTEM_BUS_ADDRESS="unix:path=$work/no-bus" check_one_line "cannot reach avahi-daemon over D-Bus"

cat > "$work/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$work/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
bus_pid=$(dbus-daemon --config-file="$work/bus.conf" --fork --nopidfile --print-pid --nosyslog)
[ -n "$bus_pid" ] || fail "dbus-daemon did not start"
DBUS_SYSTEM_BUS_ADDRESS="unix:path=$work/bus" check_one_line "avahi-daemon is not running"
echo "ok: one line each time, and the devices polled"
