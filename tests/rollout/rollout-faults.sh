#!/bin/sh
# SPDX-License-Identifier: MIT
# Faults stop a rollout: a fleet where a fifth of the devices brick halts at the silent gate
# (exit 3) long before the last wave; a fleet that boot-loops halts at the failure gate; and
# with --on-failure rollback the devices that took the release are given the previous one
# back and come back to it.
. "$(dirname "$0")/common.sh"

start_flotad flotad
api POST /products -d '{"name":"door"}' >/dev/null
release door 1.0.0
release door 1.1.0

# ---- bricks: silent devices ----
sim brick --devices 300 --product door --versions 1.0.0=100 --interval 1 --brick 0.2 --seed 7
ingest_until 60 299 door
fl rollout create bricks --release 2 --waves 10,30%,100% --soak 6s --min-sample 5 --max-silent 5% \
    --silent-after 3 >/dev/null || fail "create bricks"
fl rollout start bricks >/dev/null || fail "start bricks"
tick_until 120 bricks halted completed
[ "$(state_of bricks)" = halted ] || fail "bricks ended $(state_of bricks)"
set +e
fl rollout tick >/dev/null 2>&1
code=$?
set -e
[ "$code" -eq 3 ] || fail "the tick exits $code with a halted rollout, not 3"
silent=$(count_of bricks silent) offered=$(count_of bricks offered) eligible=$(count_of bricks eligible)
[ "$silent" -gt 0 ] || fail "no silent device"
[ "$offered" -lt "$eligible" ] || fail "halted only after offering all $eligible devices"
show_json bricks | grep -q '"hold":	"halted: silent ratio' || fail "the hold does not name the silent ratio: $(fl rollout show bricks)"
# a halted rollout offers no more
before=$(count_of bricks offered)
fl rollout tick >/dev/null 2>&1 || true
[ "$(count_of bricks offered)" -eq "$before" ] || fail "a halted rollout made offers"
stop_sim brick
echo "ok: bricks halted with $silent silent of $offered offered ($eligible eligible)"

# ---- boot loops: failed devices, rolled back ----
rm -f "$work/inventory.db" "$work/inventory.db.lock"
api POST /products -d '{"name":"lamp"}' >/dev/null
release lamp 2.0.0
release lamp 2.1.0
sim loop --devices 300 --product lamp --versions 2.0.0=100 --interval 1 --bootloop 0.3 --seed 11
ingest_until 60 299 lamp
fl rollout create loops --release 4 --select product=lamp --waves 10%,100% --soak 1s --min-sample 10 \
    --max-failure 2% --on-failure rollback --stuck-polls 3 >/dev/null || fail "create loops"
fl rollout start loops >/dev/null || fail "start loops"
tick_until 120 loops halted completed
[ "$(state_of loops)" = halted ] || fail "loops ended $(state_of loops)"
show_json loops | grep -q '"hold":	"rolled back [0-9]* devices: failure ratio' ||
    fail "the hold does not say it rolled back for failures: $(fl rollout show loops)"
failed=$(count_of loops failed)
[ "$failed" -gt 0 ] || fail "no failed device"
# the devices that took 2.1.0 go back to 2.0.0: wait until none of the rollout's runs 2.1.0
back() {
    fl rollout tick >/dev/null 2>&1 || true
    [ "$(sqlite3 "$work/flotad/flotad.db" "SELECT count(*) FROM devices WHERE product = 'lamp' AND version = '2.1.0'")" -eq 0 ]
}
wait_for 60 back || fail "devices still run 2.1.0 after the rollback"
rolled=$(count_of loops rolled_back)
[ "$rolled" -gt 0 ] || fail "no device counted as rolled back"
# flotad holds the previous release for exactly the devices rolled back or still rolling back
assigned=$(api GET "/devices?assigned=3&limit=10000" | grep -o '"id":' | wc -l)
served=$(sqlite3 "$work/inventory.db" "SELECT count(*) FROM rollout_devices WHERE from_release = 3")
[ "$assigned" -eq "$served" ] || fail "flotad assigns 2.0.0 to $assigned devices, the rollback to $served"
echo "ok: boot loops halted with $failed failed; $rolled devices rolled back to 2.0.0"
