#!/bin/sh
# SPDX-License-Identifier: MIT
# A device's filesystem-mode polls (updateFS(): x-ESP8266-mode: spiffs, carrying the
# filesystem image's version) are kept as its filesystem version, apart from the sketch version
# the inventory holds for it, and do not count against a rollout of sketches; its sketch-mode poll on the new version makes it updated.
# The polls carry the stock ESP8266 client's headers (PROTOCOLS.md section 1).
. "$(dirname "$0")/common.sh"

start_flotad flotad
api POST /products -d '{"name":"door"}' >/dev/null
release door 1.0.0
release door 1.1.0
port=${SERVER##*:}

# poll MODE VERSION: one request with the stock ESP8266 client's headers; prints the status
poll() {
    curl -sS --max-time 10 -o /dev/null -w '%{http_code}' --http1.0 \
        -H 'User-Agent: ESP8266-http-Update' -H 'Connection: close' -H 'x-ESP8266-Chip-ID: 15602487' \
        -H 'x-ESP8266-STA-MAC: DE:BA:7A:B1:E0:42' -H 'x-ESP8266-AP-MAC: DE:BA:7A:B1:E0:43' \
        -H 'x-ESP8266-free-space: 4194304' -H 'x-ESP8266-sketch-size: 400000' \
        -H 'x-ESP8266-sketch-md5: 0537061f98e956f58721a59bb6fa476e' -H 'x-ESP8266-chip-size: 4194304' \
        -H 'x-ESP8266-sdk-version: 2.5.0' -H "x-ESP8266-mode: $1" -H "x-ESP8266-version: $2" \
        "$SERVER/update/door"
}
inv_version() {
    sqlite3 "$work/inventory.db" "SELECT version FROM devices WHERE id = 'DE:BA:7A:B1:E0:42'"
}

code=$(poll sketch 1.0.0)
[ "$code" = 304 ] || fail "a sketch poll was answered $code"
ingest_until 30 1
[ "$(inv_version)" = 1.0.0 ] || fail "the inventory holds $(inv_version)"

fl rollout create m1 --release 2 --waves 100% --soak 0 --min-sample 1 --stuck-polls 2 >/dev/null || fail "create"
fl rollout start m1 >/dev/null || fail "start"
[ "$(count_of m1 offered)" -eq 1 ] || fail "the device was not offered"

# four filesystem polls, each with another filesystem version: more than --stuck-polls
for v in fs-7 fs-8 fs-9 fs-10; do
    code=$(poll spiffs "$v")
    [ "$code" = 304 ] || [ "$code" = 200 ] || fail "a filesystem poll was answered $code"
done
fs_seen() {
    fl rollout tick >/dev/null 2>&1 || true
    [ "$(sqlite3 "$work/inventory.db" "SELECT ingested FROM sources WHERE name LIKE 'flotad:%'")" -ge 5 ]
}
wait_for 30 fs_seen || fail "the filesystem polls did not reach the inventory"
[ "$(inv_version)" = 1.0.0 ] || fail "a filesystem poll changed the sketch version to $(inv_version)"
fs=$(sqlite3 "$work/inventory.db" "SELECT fs_version FROM devices WHERE id = 'DE:BA:7A:B1:E0:42'")
[ "$fs" = fs-10 ] || fail "the inventory keeps '$fs' as the filesystem version, not fs-10"
[ "$(count_of m1 failed)" -eq 0 ] || fail "filesystem polls failed the device: $(fl rollout show m1)"

code=$(poll sketch 1.1.0)
updated() {
    fl rollout tick >/dev/null 2>&1 || true
    [ "$(count_of m1 updated)" -eq 1 ]
}
wait_for 30 updated || fail "the sketch poll on 1.1.0 did not make the device updated"
[ "$(inv_version)" = 1.1.0 ] || fail "the inventory holds $(inv_version) after the update"
echo "ok: filesystem polls leave the sketch version and the rollout alone"
