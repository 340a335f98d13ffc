#!/bin/sh
# SPDX-License-Identifier: MIT
# After the device's OK, flota waits (bounded) for it to come back and report through flotad:
# flota-sim devices that also poll a real flotad, pushed by MAC from the inventory. One comes
# back on the new version (updated), one never comes back (silent), one boot-loops back to the
# old version (failed, exit 1).
. "$(dirname "$0")/common.sh"

start_flotad flotad
api POST /products -d '{"name":"demo"}' >/dev/null
"$FLOTA_SIM" mkimage --version 2.0.0 --size 200K -o "$work/app.bin"
config '[push]' 'password.demo = sekrit'

# fleet a: device 0 never comes back, device 1 is healthy; fleet b (127.0.0.20): boot-loops
ota a --server "$SERVER" --ota espota --devices 2 --interval 1 --ota-password sekrit --ota-never-back 0.5 --seed 3
ota b --server "$SERVER" --ota espota --devices 1 --interval 1 --ota-password sekrit --bootloop 1 --seed 4 \
    --ota-addr-base 127.0.0.20
wait_udp 127.0.0.2
wait_udp 127.0.0.20
ingest_until 30 3
mac() {
    "$FLOTA_SIM" --list --ota espota --devices "$1" --seed "$2" | sed -n "$(($3 + 1))p" | cut -f 3
}
never=$(mac 2 3 0) good=$(mac 2 3 1) loop=$(mac 1 4 0)

# password.<MAC> comes before password.<product>
# (a colon ends an INI key: the MAC without them)
config '[push]' 'password.demo = sekrit' "password.$(echo "$good" | tr -d :) = wrong"
set +e
push "$good" "$work/app.bin" --port "$PORT" --json >"$work/wrong.json"
set -e
[ "$(outcome_of "$work/wrong.json" "$good")" = auth-failed ] || fail "password.<MAC>: $(cat "$work/wrong.json")"
config '[push]' 'password.demo = sekrit'
push "$good" "$work/app.bin" --port "$PORT" --verify-timeout 20 --json >"$work/good.json" ||
    fail "push to $good: $(cat "$work/good.json")"
[ "$(verified_of "$work/good.json" "$good")" = updated ] || { cat "$work/good.json"; fl device "$good"; fail "not verified"; }
grep -q "\"address\":	\"127.0.0.2\"" "$work/good.json" || fail "the inventory's address was not used"
echo "ok: updated, verified through flotad"

set +e
push "$never" "$work/app.bin" --port "$PORT" --verify-timeout 3 --json >"$work/never.json"
code=$?
set -e
[ "$code" -eq 0 ] || fail "a silent device fails the run ($code)"
[ "$(outcome_of "$work/never.json" "$never")" = ok ] || fail "never-back: $(cat "$work/never.json")"
[ "$(verified_of "$work/never.json" "$never")" = silent ] || fail "never-back: $(cat "$work/never.json")"
echo "ok: a device that never comes back is silent"

set +e
push "$loop" "$work/app.bin" --port "$PORT" --verify-timeout 20 --json >"$work/loop.json"
code=$?
set -e
[ "$code" -eq 1 ] || { cat "$work/loop.json"; fl device "$loop"; fail "a device back on the old version exits $code, not 1"; }
[ "$(verified_of "$work/loop.json" "$loop")" = failed ] || fail "boot loop: $(cat "$work/loop.json")"
grep -q '"version_seen":	"1.0.0"' "$work/loop.json" || fail "the version seen is not recorded"
echo "ok: a device back on the old version failed"
