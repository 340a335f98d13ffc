#!/bin/sh
# SPDX-License-Identifier: MIT
# No goodbye: 20 flota-sim devices are added by "flota discover --watch" on the manager side;
# then the devices side's avahi-daemon, which speaks for them on the wire, is killed with
# SIGKILL, so no goodbye is ever sent (a power cut). Each device must be removed once its
# host records expire in the manager's cache: their TTL is 120 s (avahi's and the ESP
# responders' host-record TTL), and the test allows that plus 10 %, counted from the kill.
# Needs root (skipped, 77, without it). About 2.5 minutes.
set -eu
# shellcheck source=tests/mdns/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
flota=${FLOTA:?FLOTA must point at flota}

n=20
ttl_ms=120000
mdns_setup

spawn manager "$work/watch.out" "$flota" --db "$work/flota.db" --json discover --watch --types _arduino._tcp
watch_pid=$spawned
spawn devices "$work/sim.log" "$sim" --mdns --devices "$n" --seed 44 --mix esp8266=1,esp32=1 --interval 3600 \
    --server http://127.0.0.1:9
count() { # EVENT: how many the watch reported
    grep -c "^{\"event\":\"$1\"" "$work/watch.out" || true
}
deadline=$(($(now_ms) + 30000))
until [ "$(count added)" -ge "$n" ]; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "the watch added $(count added) of $n devices"
    sleep 0.5
done

kill -KILL "$(cat "$work/env/avahi-dev.pid")"
t_kill=$(now_ms)
limit=$((ttl_ms * 110 / 100))
until [ "$(count removed)" -ge "$n" ]; do
    [ $(($(now_ms) - t_kill)) -le "$limit" ] ||
        fail "$(count removed) of $n devices removed $limit ms after their responder was killed"
    sleep 0.5
done
elapsed=$(($(now_ms) - t_kill))
[ "$(count removed)" -eq "$n" ] || fail "$(count removed) removals for $n devices"
[ "$(count added)" -eq "$n" ] || fail "$(count added) additions for $n devices"
kill "$watch_pid"
wait "$watch_pid" || true     # done with the inventory
left=$(sqlite3 "$work/flota.db" "SELECT count(*) FROM devices WHERE announced = 1")
[ "$left" -eq 0 ] || fail "$left devices still announced in the inventory"
echo "ok: $n devices removed ${elapsed} ms after their responder died (TTL ${ttl_ms} ms + 10 %: $limit ms)"
