#!/bin/sh
# SPDX-License-Identifier: MIT
# A fleet: DEVICES (2,000) flota-sim devices announce themselves on the devices side;
# "flota discover --watch" on the manager side must add every one of them once, resolved
# (address and port as flota-sim --list says), and put each in the inventory as one row. Then
# flota-sim stops (goodbyes) and every device must be removed once, leaving none announced.
#
# The manager's avahi-daemon keeps its stock limit of 1,024 objects per client, which one
# resolver per device would exceed at this size. Its record cache is raised, though: every
# ArduinoOTA device has four records (PTR, SRV, TXT, its host's A), avahi-daemon caches the
# SRV, TXT and A that come with each PTR answer whether or not anyone resolves, and a full
# cache drops new records, PTRs included, so a stock cache (4,096) lists about 1,000 such
# devices whoever asks (avahi-browse too). No client can work around that; see flota(1).
# Needs root (skipped, 77, without it).
set -eu
# shellcheck source=tests/mdns/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
flota=${FLOTA:?FLOTA must point at flota}

n=${DEVICES:-2000}
fleet="--devices $n --seed 21 --mix esp8266=1,esp32=1"
conf=$(mktemp "${TMPDIR:-/tmp}/flota-mdns-conf.XXXXXX")
echo "cache-entries-max=16384" > "$conf"
export MDNS_ENV_MANAGER_CONF="$conf"
mdns_setup
rm -f "$conf"
db="$work/flota.db"

# watch first: what it reports is what counts
spawn manager "$work/watch.out" "$flota" --db "$db" --json discover --watch --types _arduino._tcp
watch_pid=$spawned
# shellcheck disable=SC2086
spawn devices "$work/sim.log" "$sim" --mdns $fleet --server http://127.0.0.1:9 --interval 3600
sim_pid=$spawned

count() { # EVENT: distinct devices with that event in the watch
    grep -o "\"event\":\"$1\",\"device\":{\"id\":\"[^\"]*\"" "$work/watch.out" | sort -u | wc -l
}
deadline=$(($(now_ms) + 150000))
until [ "$(count added)" -ge "$n" ]; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "the watch added $(count added) of $n devices"
    sleep 1
done
echo "all $n added after $(($(now_ms) - deadline + 150000)) ms"

# each once, resolved as flota-sim says: "instance address port"
# shellcheck disable=SC2086
"$sim" --list $fleet | awk -F'\t' '{ print $4 " " $6 " " ($2 == "esp32" ? 3232 : 8266) }' | sort > "$work/expected"
grep '"event":"added"' "$work/watch.out" |
    sed 's/.*"address":"\([^"]*\)","port":\([0-9]*\),.*"instance":"\([^"]*\)".*/\3 \1 \2/' | sort > "$work/added"
cmp -s "$work/expected" "$work/added" ||
    fail "added devices differ from flota-sim --list: $(diff "$work/expected" "$work/added" | head -20)"
rows=$(sqlite3 "$db" "SELECT count(*) FROM devices WHERE announced = 1 AND sources = 'mdns'")
[ "$rows" -eq "$n" ] || fail "$rows announced inventory rows for $n devices"

# goodbyes: every device removed once, none announced any more
kill "$sim_pid"
deadline=$(($(now_ms) + 60000))
until [ "$(count removed)" -ge "$n" ]; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "the watch removed $(count removed) of $n devices"
    sleep 1
done
removed=$(grep -c '"event":"removed"' "$work/watch.out") || true
[ "$removed" -eq "$n" ] || fail "$removed removals for $n devices"
kill -INT "$watch_pid"
wait "$watch_pid" || true     # done with the inventory
left=$(sqlite3 "$db" "SELECT count(*) FROM devices WHERE announced = 1")
[ "$left" -eq 0 ] || fail "$left devices still announced in the inventory"
echo "ok: $n devices added once, resolved, one row each, removed once"
