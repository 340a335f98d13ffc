#!/bin/sh
# SPDX-License-Identifier: MIT
# A device that bricks withdraws its service: 10 devices (--brick 1) are resolved on the
# manager side while their update server is down; then flotad comes up on the devices side
# with a new release, every device takes it and bricks, and the manager side lists none
# while flota-sim still runs.
# Needs root (skipped, 77, without it). Bounded: well under 60 s.
set -eu
# shellcheck source=tests/mdns/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
flotad=${FLOTAD:?FLOTAD must point at flotad}

n=10
mdns_setup

# the update server is the devices side's own 127.0.0.1:8070 (its netns: nothing else there)
spawn devices "$work/sim.log" timeout -k 2 45 "$sim" --mdns --devices $n --brick 1 --interval 0.5 \
    --server http://127.0.0.1:8070 --json
sim_pid=$spawned
wait_resolved "$n" 20 "$work/browse" || fail "the manager resolved $(grep -c '^=' "$work/browse") of $n services"

token=$("$flotad" --data-dir "$work/data" token create mdns --role admin 2> "$work/token.err") ||
    fail "flotad token create: $(cat "$work/token.err")"
spawn devices "$work/flotad.log" "$flotad" --data-dir "$work/data" --listen 127.0.0.1:8070
api() {
    on_devices curl -sSf -H "Authorization: Bearer $token" "$@" > /dev/null
}
deadline=$(($(now_ms) + 10000))
until on_devices curl -sf http://127.0.0.1:8070/healthz > /dev/null 2>&1; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "flotad did not come up: $(cat "$work/flotad.log")"
    sleep 0.1
done
"$sim" mkimage --version 2.0.0 --size 64K -o "$work/image.bin"
api -d '{"name":"demo"}' http://127.0.0.1:8070/api/v1/products
api --data-binary "@$work/image.bin" "http://127.0.0.1:8070/api/v1/releases?product=demo&version=2.0.0"
api -X PUT -d '{"release":1}' http://127.0.0.1:8070/api/v1/channels/demo/stable

wait_gone 20 || fail "bricked devices are still listed on the manager side"
kill -0 "$sim_pid" 2>/dev/null || fail "flota-sim ended early: $(cat "$work/sim.log")"
kill "$sim_pid"
rc=0
wait "$sim_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "flota-sim exited with $rc"
grep -q "\"bricked\":[[:space:]]*$n," "$work/sim.log" || fail "not every device bricked: $(cat "$work/sim.log")"
echo "ok: all $n devices bricked and their services went while flota-sim ran on"
