#!/bin/sh
# SPDX-License-Identifier: MIT
# A 2,000-device mixed fleet (ESP8266 and ESP32, two versions) goes through waves
# 1,5%,25%,100% to a new ESP8266 release: the ESP32 devices are excluded (wrong platform),
# every ESP8266 device ends on the release, the channel is promoted at the end and the
# rollout's assignments are cleared.
. "$(dirname "$0")/common.sh"

start_flotad flotad
api POST /products -d '{"name":"door"}' >/dev/null
release door 1.0.0
release door 1.1.0
sim fleet --devices 2000 --product door --mix esp8266=80,esp32=20 --versions 1.0.0=70,0.9.0=30 \
    --interval 1 --jitter --concurrency 128
# flota-sim gives a few devices in 10,000 the same MAC: 2,000 simulated are 1,990 or more real
ingest_until 60 1990

fl rollout create r1 --release 2 --select 'product=door' --waves 1,5%,25%,100% --soak 1s --min-sample 1 \
    --promote stable >/dev/null || fail "create"
fl rollout plan r1 --json >"$work/plan.json" || fail "plan"
esp32=$(sqlite3 "$work/inventory.db" "SELECT count(*) FROM devices WHERE platform = 'esp32'")
excluded=$(grep -c '"reason":	"wrong platform"' "$work/plan.json" || true)
[ "$excluded" -eq "$esp32" ] || fail "plan excludes $excluded devices for their platform, the fleet has $esp32 ESP32"
[ "$esp32" -gt 300 ] || fail "only $esp32 ESP32 devices in the mix"

fl rollout start r1 >/dev/null || fail "start"
# the waves are cut over the population at start; devices heard of later join them late
at_start=$(count_of r1 eligible)
[ "$(state_of r1)" = running ] || fail "r1 is $(state_of r1) after start"
[ "$(count_of r1 offered)" -eq 1 ] || fail "wave 1 offered $(count_of r1 offered) devices, not 1"
tick_until 240 r1 completed halted
[ "$(state_of r1)" = completed ] || fail "r1 ended $(state_of r1): $(fl rollout show r1)"

eligible=$(count_of r1 eligible)
updated=$(count_of r1 updated)
[ "$updated" -eq "$eligible" ] || fail "$updated of $eligible updated"
esp8266=$(sqlite3 "$work/inventory.db" "SELECT count(*) FROM devices WHERE platform = 'esp8266'")
[ "$eligible" -eq "$esp8266" ] || fail "$eligible eligible, $esp8266 ESP8266 devices"
# the waves were cumulative: each wave's target as ROLLOUTS.md rounds it
targets=$(show_json r1 | tr -d '\n\t ' | grep -o '"target":[0-9]*' | cut -d: -f2 | tr '\n' ' ')
w2=$(( (at_start * 5 + 99) / 100 )) w3=$(( (at_start * 25 + 99) / 100 ))
[ "$targets" = "1 $w2 $w3 $at_start " ] || fail "wave targets are '$targets', not '1 $w2 $w3 $at_start'"
# the channel points at the release, and flotad holds no assignment of the rollout any more
api GET /channels | tr -d '\n\t ' | grep -q '"product":"door","name":"stable","kind":"sketch","release":2' ||
    fail "door/stable was not promoted: $(api GET /channels)"
left=$(api GET "/devices?assigned=2&limit=10000" | grep -c '"assigned":' || true)
[ "$left" -eq 0 ] || fail "$left assignments left on flotad after the promotion"
# every ESP8266 device reported the release to flotad
on=$(sqlite3 "$work/flotad/flotad.db" "SELECT count(*) FROM devices WHERE version = '1.1.0'")
[ "$on" -eq "$esp8266" ] || fail "$on devices run 1.1.0, $esp8266 should"
fl rollout history r1 | grep -q 'completed' || fail "no completed event in the history"
fl audit | grep -q 'r1 completed' || fail "no audit entry for the completion"
echo "ok: $updated devices through 4 waves ($targets), $esp32 excluded, stable promoted"
