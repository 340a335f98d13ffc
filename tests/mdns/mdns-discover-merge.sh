#!/bin/sh
# SPDX-License-Identifier: MIT
# One device, one row: 20 flota-sim devices (ESP8266 and ESP32) announce themselves by mDNS and
# poll a flotad on the devices side. flota discover on the manager side finds them all (the
# ESP8266 ones only by chip id); flota ingest then reads flotad's check-ins over the wire, and
# the inventory still holds 20 devices, each seen by both sources, each ESP8266 under its MAC.
# Needs root (skipped, 77, without it). Bounded: well under 60 s.
set -eu
# shellcheck source=tests/mdns/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
flotad=${FLOTAD:?FLOTAD must point at flotad}
flota=${FLOTA:?FLOTA must point at flota}

n=20
mdns_setup
server=http://169.254.77.1:8070
db="$work/flota.db"

token=$("$flotad" --data-dir "$work/data" token create mdns --role admin 2> "$work/token.err") ||
    fail "flotad token create: $(cat "$work/token.err")"
spawn devices "$work/flotad.log" "$flotad" --data-dir "$work/data" --listen 169.254.77.1:8070
deadline=$(($(now_ms) + 10000))
until on_devices curl -sf "$server/healthz" > /dev/null 2>&1; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "flotad did not come up"
    sleep 0.1
done
on_devices curl -sSf -H "Authorization: Bearer $token" -d '{"name":"demo"}' "$server/api/v1/products" > /dev/null

spawn devices "$work/sim.log" timeout -k 2 45 "$sim" --mdns --devices $n --mix esp8266=50,esp32=50 \
    --interval 0.5 --server "$server" --product demo
wait_resolved "$n" 25 "$work/browse" || fail "the manager resolved $(grep -c '^=' "$work/browse") of $n services"

# mDNS first
out=$(on_manager "$flota" --db "$db" --json discover --timeout 3) || fail "discover: $out"
found=$(printf '%s\n' "$out" | grep -c '"id":') || true
[ "$found" -eq "$n" ] || fail "discover found $found of $n: $out"
printf '%s\n' "$out" | grep -q '"id":	"esp8266-' || fail "no ESP8266 known by its chip id: $out"

# then the check-ins, over the wire from the manager side
on_manager "$flota" --server "$server" --token "$token" --db "$db" ingest > "$work/ingest.log" 2>&1 ||
    fail "ingest: $(cat "$work/ingest.log")"
rows=$(sqlite3 "$db" "SELECT count(*) FROM devices")
both=$(sqlite3 "$db" "SELECT count(*) FROM devices WHERE sources LIKE '%mdns%' AND sources LIKE '%flotad%'")
partial=$(sqlite3 "$db" "SELECT count(*) FROM devices WHERE id LIKE 'esp8266-%'")
[ "$rows" -eq "$n" ] || fail "$rows inventory rows for $n devices: $(sqlite3 "$db" 'SELECT id, sources FROM devices')"
[ "$both" -eq "$n" ] || fail "$both of $n devices seen by both sources"
[ "$partial" -eq 0 ] || fail "$partial devices still known only by chip id"
echo "ok: $n devices, one row each, seen by mDNS and by flotad"
