#!/bin/sh
# SPDX-License-Identifier: MIT
# flota-sim --mdns --ota: each device announces the address and port that answer pushes, and
# a push makes it reboot as the cores do: its service goes, then comes back (or, for a device
# that never comes back, stays gone). flota push runs on the devices side, where 127.0.0.x
# answers, on devices 'flota discover' put in its inventory (pushed by host name, to the
# announced address and port), and watches them come back: silent for the one that does not.
# The manager side watches the announcements too.
# Needs root (skipped, 77, without it). Bounded: well under 60 s.
set -eu
# shellcheck source=tests/mdns/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
flota=${FLOTA:?FLOTA must point at flota}

mdns_setup
"$sim" mkimage --version 2.0.0 --size 64K -o "$work/image.bin"
printf '[push]\n' > "$work/config"

# device 0 never comes back; device 1 is away 4 s while it reboots
spawn devices "$work/sim.log" timeout -k 2 50 "$sim" --mdns --ota espota --ota-port 18266 --devices 2 \
    --ota-never-back 0.5 --ota-reboot 4 --json
sim_pid=$spawned
wait_resolved 2 20 "$work/browse" || fail "the manager resolved $(grep -c '^=' "$work/browse") of 2 services"
normalize "$work/browse" | awk '{ print $3, $4 }' | sort > "$work/seen"
printf '127.0.0.1 18266\n127.0.0.2 18266\n' | cmp -s - "$work/seen" ||
    fail "the services do not announce the push addresses: $(cat "$work/seen")"

push() {
    on_devices "$flota" --db "$work/inventory.db" -c "$work/config" push "$@"
}
on_devices "$flota" --db "$work/inventory.db" discover --timeout 5 > "$work/discover.log" 2>&1 ||
    fail "discover: $(cat "$work/discover.log")"
host0=$("$sim" --list --devices 2 | sed -n 1p | cut -f 5 | sed 's/\.local$//')
host1=$("$sim" --list --devices 2 | sed -n 2p | cut -f 5 | sed 's/\.local$//')
push "$host0" "$work/image.bin" --verify-timeout 8 --json > "$work/push0.json" 2> "$work/push0.err" ||
    fail "push to device 0: $(cat "$work/push0.json" "$work/push0.err")"
grep -q '"address":	"127.0.0.1"' "$work/push0.json" && grep -q '"port":	18266' "$work/push0.json" ||
    fail "not the announced address and port: $(cat "$work/push0.json")"
grep -q '"verified":	"silent"' "$work/push0.json" || fail "device 0 is not silent: $(cat "$work/push0.json")"
count_now() {
    on_manager timeout 8 avahi-browse -pt _arduino._tcp 2>/dev/null | grep -c '^+' || true
}
[ "$(count_now)" -eq 1 ] || fail "device 0's service did not go"
push "$host1" "$work/image.bin" --verify-timeout 20 --json > "$work/push1.json" 2> "$work/push1.err" ||
    fail "push to device 1: $(cat "$work/push1.json" "$work/push1.err")"
grep -q '"announced_again":	true' "$work/push1.json" || fail "device 1 did not come back: $(cat "$work/push1.json")"
wait_resolved 1 20 "$work/browse2" || fail "device 1 did not announce itself again"
grep -q '127.0.0.2;18266' "$work/browse2" || fail "not device 1 back: $(cat "$work/browse2")"
[ "$(count_now)" -eq 1 ] || fail "device 0 came back"
kill "$sim_pid"
rc=0
wait "$sim_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "flota-sim exited with $rc"
echo "ok: a push withdraws the service; it comes back after the reboot, or never"
