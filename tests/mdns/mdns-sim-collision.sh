#!/bin/sh
# SPDX-License-Identifier: MIT
# A name collision on the wire: another host (the manager side) already publishes the name
# and host name of flota-sim's device 0. Its probe loses, and the device goes on as
# "NAME #2" on host NAME-2.local, as a real device would; the other devices are untouched.
# Needs root (skipped, 77, without it). Bounded: well under 60 s.
set -eu
# shellcheck source=tests/mdns/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"

n=5
fleet="--devices $n --seed 4"
mdns_setup

# shellcheck disable=SC2086
first=$("$sim" --list $fleet | head -n 1 | cut -f4)
spawn manager "$work/pub-service.log" timeout 40 avahi-publish-service -H "$first.local" "$first" \
    _arduino._tcp 8266 board=generic
spawn manager "$work/pub-address.log" timeout 40 avahi-publish-address "$first.local" 169.254.99.9
deadline=$(($(now_ms) + 10000))
until grep -q "Established" "$work/pub-service.log" && grep -q "Established" "$work/pub-address.log"; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "avahi-publish did not establish $first"
    sleep 0.2
done

# shellcheck disable=SC2086
spawn devices "$work/sim.log" timeout -k 2 40 "$sim" --mdns $fleet --server http://127.0.0.1:9 --interval 5
sim_pid=$spawned
# the other host's service and the sim's n
wait_resolved $((n + 1)) 20 "$work/browse" || fail "the manager resolved $(grep -c '^=' "$work/browse") of $((n + 1))"

# avahi-browse -p escapes the instance name: " " is \032, "#" is \035
# shellcheck disable=SC2086
expected_services no $fleet | awk -v first="$first" '$1 == first { $1 = first "\\032\\0352"; $2 = first "-2.local" } 1' |
    sort > "$work/expected"
normalize "$work/browse" | grep -v " 169.254.99.9 " > "$work/seen"
cmp -s "$work/expected" "$work/seen" || fail "services differ: $(diff "$work/expected" "$work/seen")"
grep -q "$first is taken on the network" "$work/sim.log" || fail "no collision reported: $(cat "$work/sim.log")"

kill "$sim_pid"
rc=0
wait "$sim_pid" || rc=$?
[ "$rc" -eq 0 ] || fail "flota-sim exited with $rc"
echo "ok: $first lost its name to another host and goes on as '$first #2'"
