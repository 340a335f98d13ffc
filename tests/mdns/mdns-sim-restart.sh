#!/bin/sh
# SPDX-License-Identifier: MIT
# flota-sim --mdns survives an avahi-daemon restart: 20 devices (with --auth, so
# auth_upload=yes) are resolved on the manager side; the devices side's daemon restarts,
# flota-sim says so once, makes a new client and publishes everything again. The manager's
# daemon restarts too, so what it then resolves cannot come from its cache.
# Needs root (skipped, 77, without it). Bounded: well under 60 s.
set -eu
# shellcheck source=tests/mdns/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"

n=20
fleet="--devices $n --seed 9 --mix esp8266=1,esp32=1"
mdns_setup

# shellcheck disable=SC2086
spawn devices "$work/sim.log" timeout -k 2 50 "$sim" --mdns $fleet --auth ota:secret \
    --server http://127.0.0.1:9 --interval 5
sim_pid=$spawned
# shellcheck disable=SC2086
expected_services yes $fleet > "$work/expected"

wait_resolved "$n" 20 "$work/browse" || fail "the manager resolved $(grep -c '^=' "$work/browse") of $n services"
normalize "$work/browse" > "$work/seen"
cmp -s "$work/expected" "$work/seen" || fail "services differ from flota-sim --list: $(diff "$work/expected" "$work/seen")"

sh "$env_sh" restart-devices "$work/env"
sh "$env_sh" restart-manager "$work/env"
deadline=$(($(now_ms) + 15000))
until grep -q "is there; publishing" "$work/sim.log"; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "flota-sim did not publish again: $(cat "$work/sim.log")"
    sleep 0.2
done
wait_resolved "$n" 20 "$work/browse2" || fail "after the restart: $(grep -c '^=' "$work/browse2") of $n services"
normalize "$work/browse2" > "$work/seen2"
cmp -s "$work/expected" "$work/seen2" || fail "after the restart: $(diff "$work/expected" "$work/seen2")"

kill "$sim_pid"
rc=0
wait "$sim_pid" || rc=$?
bg_pids=""
[ "$rc" -eq 0 ] || fail "flota-sim exited with $rc"
[ "$(grep -c "went away" "$work/sim.log")" -eq 1 ] || fail "expected one 'went away' line: $(cat "$work/sim.log")"
echo "ok: $n services published again after avahi-daemon restarted"
