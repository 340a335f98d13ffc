#!/bin/sh
# SPDX-License-Identifier: MIT
# Gated promotion: flota promote refuses (exit 3, naming the condition) until the release has
# run long enough on the source channel, on enough devices, with enough of them healthy.
. "$(dirname "$0")/common.sh"

start_flotad flotad
api POST /products -d '{"name":"door"}' >/dev/null
release door 1.0.0
release door 1.1.0
fl promote door stable 1 >/dev/null || fail "promote stable"
sim fleet --devices 80 --product door --versions 1.0.0=100 --interval 1 --bootloop 0.3 --seed 5
ingest_until 60 80
# half the fleet moves to beta, and beta gets 1.1.0
sqlite3 "$work/inventory.db" "SELECT id FROM devices ORDER BY id LIMIT 40" >"$work/beta"
while read -r mac; do
    api PUT "/devices/$mac/channel" -d '{"channel": "beta"}' >/dev/null || fail "moving $mac to beta"
done <"$work/beta"
fl promote door beta 2 >/dev/null || fail "promote beta"
promoted=$(date -u +%s)

# promote_gate EXPECTED_EXIT GATE [NOW]: runs the gated promotion of 1.1.0 to stable
promote_gate() {
    set +e
    out=$(fl promote door stable 2 --gate "$2" ${3:+--now "$3"} 2>&1)
    code=$?
    set -e
    [ "$code" -eq "$1" ] || fail "promote --gate '$2' exits $code, not $1: $out"
}

# the boot-looping devices never run it: wait until the others on beta do
healthy_on_beta() {
    [ "$(sqlite3 "$work/flotad/flotad.db" "SELECT count(*) FROM devices WHERE channel = 'beta' AND version = '1.1.0'")" -ge 20 ]
}
wait_for 60 healthy_on_beta || fail "beta devices did not update"

promote_gate 3 "from=beta,soak=1h"
echo "$out" | grep -q 'soak: on beta for' || fail "the soak is not named: $out"
later=$((promoted + 7200))
promote_gate 3 "from=beta,soak=1h,min=50" "$later"
echo "$out" | grep -q 'min: [0-9]* devices on beta report it, 50 needed' || fail "min is not named: $out"
promote_gate 3 "from=beta,soak=1h,healthy=98%" "$later"
echo "$out" | grep -q 'healthy: .* of 40 devices offered it on beta run it, 98% needed' || fail "healthy is not named: $out"
promote_gate 3 "from=canary,soak=1h" "$later"
echo "$out" | grep -q 'the release is not on canary' || fail "a channel without the release passes: $out"
api GET /channels | tr -d '\n\t ' | grep -q '"product":"door","name":"stable","kind":"sketch","release":1' ||
    fail "a refused promotion moved stable"
promote_gate 0 "from=beta,soak=1h,healthy=50%,min=20" "$later"
api GET /channels | tr -d '\n\t ' | grep -q '"product":"door","name":"stable","kind":"sketch","release":2' ||
    fail "stable was not promoted"
fl audit | grep -q 'through the gate from beta' || fail "the audit log does not say the gate passed"
echo "ok: gated promotion holds on soak, min, healthy and channel, then promotes"

# a rollout that reaches no device promotes nothing: a release no device runs does not go to a
# channel (here a label nobody has); the rollout completes and says why
release door 1.2.0
fl rollout create nobody --release 3 --select 'product=door label=nobody' --waves 100% --promote stable \
    >/dev/null || fail "create nobody"
fl rollout start nobody >/dev/null || fail "start nobody"
tick_until 30 nobody completed
fl rollout show nobody | grep -q 'no device runs 1.2.0: door/stable not promoted' ||
    fail "no reason given: $(fl rollout show nobody)"
api GET /channels | tr -d '\n\t ' | grep -q '"product":"door","name":"stable","kind":"sketch","release":2' ||
    fail "stable moved off release 2: $(api GET /channels)"
echo "ok: a rollout that reached no device does not promote"
