#!/bin/sh
# SPDX-License-Identifier: MIT
# flota-sim --mdns over the wire: 50 devices (ESP8266 and ESP32) publish on the devices side
# of mdns-env.sh; the manager side's avahi-daemon must resolve every one of them with the
# name, host, address, port and TXT that "flota-sim --list" gives, and lose them all
# (goodbyes, not TTL expiry: that would take 75 minutes) once flota-sim has exited.
# Needs root (skipped, 77, without it). Bounded: well under 60 s.
set -eu
# shellcheck source=tests/mdns/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"

n=50
fleet="--devices $n --seed 5 --mix esp8266=1,esp32=1"
t0=$(now_ms)
mdns_setup

# the update server is unreachable (port 9 on the devices side's own loopback): the devices'
# polls fail and are counted, publishing does not depend on them
# shellcheck disable=SC2086
spawn devices "$work/sim.log" timeout -k 2 45 "$sim" --mdns $fleet --server http://127.0.0.1:9 --interval 5
sim_pid=$spawned

wait_resolved "$n" 25 "$work/browse" || fail "the manager resolved $(grep -c '^=' "$work/browse") of $n services"
t_seen=$(now_ms)
# shellcheck disable=SC2086
expected_services no $fleet > "$work/expected"
normalize "$work/browse" > "$work/seen"
if ! cmp -s "$work/expected" "$work/seen"; then
    diff "$work/expected" "$work/seen" >&2 || true
    fail "the services seen on the manager side differ from flota-sim --list"
fi

kill "$sim_pid"
rc=0
wait "$sim_pid" || rc=$?
bg_pids=""
[ "$rc" -eq 0 ] || fail "flota-sim exited with $rc"
! grep -q warning "$work/sim.log" || fail "flota-sim warned: $(grep warning "$work/sim.log")"
grep -q "^$n devices" "$work/sim.log" || fail "flota-sim printed no statistics"
wait_gone 15 || fail "services still listed on the manager side after flota-sim exited"
t_gone=$(now_ms)

echo "ok: $n services resolved on the manager side after $((t_seen - t0)) ms (test bed included)," \
    "gone $((t_gone - t_seen)) ms after flota-sim was stopped"
