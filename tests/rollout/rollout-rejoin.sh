#!/bin/sh
# SPDX-License-Identifier: MIT
# An excluded device comes back when its reason goes away (ROLLOUTS.md §4, late joiners): a
# device pinned when the rollout starts is excluded as pinned; once unpinned, its next poll
# tells the inventory, and the next tick takes it into the wave its hash puts it in, where it
# is offered and updates like the others. A device on another platform stays excluded.
. "$(dirname "$0")/common.sh"

FLOTAD_ARGS="--checkin-heartbeat 0"
start_flotad flotad
api POST /products -d '{"name":"door"}' >/dev/null
release door 1.0.0
release door 1.1.0
sim fleet --devices 12 --product door --mix esp8266=75,esp32=25 --versions 1.0.0=100 --interval 1 --seed 5
ingest_until 60 12
pinned=$(sqlite3 "$work/inventory.db" "SELECT id FROM devices WHERE platform = 'esp8266' ORDER BY id LIMIT 1")
esp32=$(sqlite3 "$work/inventory.db" "SELECT id FROM devices WHERE platform = 'esp32' ORDER BY id LIMIT 1")
[ -n "$pinned" ] && [ -n "$esp32" ] || fail "the fleet has no ESP8266 or no ESP32 device"
fl pin "$pinned" 1 >/dev/null || fail "pin"
# the inventory learns of the pin from the device's next answered poll
state_json() { fl devices --no-refresh --where "mac=$1" --json | tr -d '\n\t '; }
pinned_seen() { fl ingest --from-server >/dev/null 2>&1; state_json "$pinned" | grep -q '"pinned":true'; }
wait_for 30 pinned_seen || fail "the inventory never saw $pinned pinned: $(state_json "$pinned")"

fl rollout create r1 --release 2 --select 'product=door' --waves 1,100% --soak 1s --min-sample 1 >/dev/null ||
    fail "create"
fl rollout start r1 >/dev/null || fail "start"
state_json "$pinned" | grep -q '"state":"excluded"' || fail "$pinned is not excluded: $(state_json "$pinned")"
state_json "$esp32" | grep -q '"state":"excluded"' || fail "$esp32 is not excluded: $(state_json "$esp32")"

fl unpin "$pinned" >/dev/null || fail "unpin"
tick_until 120 r1 completed halted
[ "$(state_of r1)" = completed ] || fail "r1 ended $(state_of r1): $(fl rollout show r1)"
# every ESP8266 device updated through the rollout, the one unpinned late among them
esp8266=$(sqlite3 "$work/inventory.db" "SELECT count(*) FROM devices WHERE platform = 'esp8266'")
[ "$(count_of r1 updated)" -eq "$esp8266" ] ||
    fail "$(count_of r1 updated) of $esp8266 ESP8266 devices updated: $(fl rollout show r1)"
state_json "$pinned" | grep -q '"version":"1.1.0"' || fail "$pinned does not run 1.1.0: $(state_json "$pinned")"
[ "$(sqlite3 "$work/inventory.db" "SELECT rd.reason FROM rollout_devices rd WHERE rd.device_id = '$esp32'")" = \
    "wrong platform" ] || fail "$esp32 left the excluded"
fl rollout history r1 | grep -q 'joined late' || fail "no 'joined late' in the history: $(fl rollout history r1)"
echo "ok: a device excluded as pinned rejoined once unpinned and updated; the ESP32 stayed excluded"
