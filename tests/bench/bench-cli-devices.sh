#!/bin/sh
# SPDX-License-Identifier: MIT
# `flota devices --json` over a large fleet: a private flotad on 127.0.0.1 (a free port),
# DEVICES simulated devices that each poll it (flota-sim, closed loop, until every device
# has been heard once), then RUNS timed runs of `flota devices --json > /dev/null`. Prints
# each run, the median and its ratio to the 1 s target, and checks the output once (every
# device listed, valid JSON when jq is installed). A benchmark, not a test.
# Usage: tests/bench/bench-cli-devices.sh
# Environment: BUILD_DIR (default <repo>/build), DEVICES (100000), RUNS (5), KEEP=1 keeps the
#              scratch directory (flotad.db, log).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-100000}
runs=${RUNS:-5}
flotad="$build/src/server/flotad"
sim="$build/src/sim/flota-sim"
flota="$build/src/cli/flota"
for b in "$flotad" "$sim" "$flota"; do
    [ -x "$b" ] || { echo "bench-cli-devices: build first (ninja -C $build)" >&2; exit 1; }
done

work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

token=$("$flotad" --data-dir "$work/data" token create bench --role admin 2>/dev/null)
"$flotad" --data-dir "$work/data" --listen 127.0.0.1:0 --threads 2 2>"$work/flotad.log" &
pid=$!
port=""
i=0
while [ -z "$port" ]; do
    i=$((i + 1)); [ "$i" -lt 100 ] || { cat "$work/flotad.log" >&2; exit 1; }; sleep 0.1
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$work/flotad.log" | head -n 1)
done
server="http://127.0.0.1:$port"
export FLOTA_SERVER="$server" FLOTA_TOKEN="$token"

# two products, both chips, the whole fleet updated during the run: rows like a real fleet's
"$sim" mkimage --platform esp8266 --version 2.0.0 --size 16K -o "$work/door.bin"
"$sim" mkimage --platform esp32 --version 2.0.0 --size 16K -o "$work/lamp.bin"
for p in door lamp; do
    curl -sSf -H "Authorization: Bearer $token" -d "{\"name\":\"$p\"}" "$server/api/v1/products" >/dev/null
    "$flota" --db "$work/inventory.db" release upload "$work/$p.bin" --product "$p" --version 2.0.0 >/dev/null
done
"$flota" --db "$work/inventory.db" promote door stable 1 >/dev/null
"$flota" --db "$work/inventory.db" promote lamp stable 2 >/dev/null

# every device starts on 1.0.0, so each must poll, take 2.0.0 and report it before the run ends
echo "populating: $devices devices poll flotad (flota-sim --rate max --until-version 2.0.0)"
t0=$(date +%s.%N)
"$sim" --server "$server" --devices "$devices" --product esp8266=door,esp32=lamp --mix esp8266=70,esp32=30 \
    --versions 1.0.0=100 --rate max --concurrency 64 --until-version 2.0.0 --duration 300 >/dev/null
t1=$(date +%s.%N)
# the writer batches check-ins: wait until it has written them all. (Identities come from a
# hash, so a fleet of 100,000 has a few hundred MAC collisions: flotad knows somewhat fewer.)
i=0
until [ "$(curl -sf "$server/metrics" | awk '$1 == "flotad_checkins_pending" { print $2 }')" = 0 ]; do
    i=$((i + 1)); [ "$i" -lt 100 ] || { echo "flotad did not write the check-ins" >&2; exit 1; }; sleep 0.1
done
known=$(sqlite3 "$work/data/flotad.db" 'SELECT count(*) FROM devices')
awk -v a="$t0" -v b="$t1" -v n="$known" 'BEGIN { printf "flotad knows %d devices (populated in %.1f s)\n", n, b - a }'

# one checked run: every device listed, and the output parses (flotad's own list)
"$flota" --db "$work/inventory.db" devices --from-server --json > "$work/devices.json"
listed=$(grep -c '"first_seen":' "$work/devices.json")
if command -v jq >/dev/null 2>&1; then
    jq -e '.devices | length' "$work/devices.json" >/dev/null || { echo "output is not valid JSON" >&2; exit 1; }
fi
echo "flota devices --json lists $listed devices, $(wc -c < "$work/devices.json") bytes"
[ "$listed" -eq "$known" ] || { echo "expected $known devices" >&2; exit 1; }

# wall time of each run, and where the CPU went: flota's own, and flotad's (from /proc)
ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
times="" client_cpu=0 server_ticks=0
i=1
while [ "$i" -le "$runs" ]; do
    s0=$(ticks)
    a=$(date +%s.%N)
    /usr/bin/env time -f '%U %S' -o "$work/time" "$flota" --db "$work/inventory.db" devices --from-server --json > /dev/null
    b=$(date +%s.%N)
    s1=$(ticks)
    t=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b - a }')
    echo "run $i: $t s"
    times="$times $t"
    client_cpu=$(awk -v c="$client_cpu" '{ printf "%.2f", c + $1 + $2 }' "$work/time")
    server_ticks=$((server_ticks + s1 - s0))
    i=$((i + 1))
done
# shellcheck disable=SC2086 # one run a line
median=$(printf '%s\n' $times | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
awk -v c="$client_cpu" -v s="$server_ticks" -v hz="$(getconf CLK_TCK)" -v r="$runs" 'BEGIN {
    printf "CPU per run: flota %.2f s, flotad %.2f s\n", c / r, s / hz / r
}'
awk -v m="$median" -v n="$known" 'BEGIN {
    printf "flota devices --from-server --json, %d devices: median %.3f s = %.2fx the 1 s target (%s)\n", n, m,
        m / 1.0, (m < 1.0 ? "met" : "NOT met")
}'

# the merged inventory list (what plain `flota devices` shows): the feed read into the
# inventory once, then the list from the inventory's snapshot, without and with the refresh
a=$(date +%s.%N)
"$flota" --db "$work/inventory.db" ingest --from-server > /dev/null
b=$(date +%s.%N)
awk -v a="$a" -v b="$b" 'BEGIN { printf "flota ingest --from-server of the whole feed: %.2f s\n", b - a }'
for mode in --no-refresh ""; do
    times=""
    i=1
    while [ "$i" -le "$runs" ]; do
        a=$(date +%s.%N)
        # shellcheck disable=SC2086 # the mode is one word or none
        "$flota" --db "$work/inventory.db" devices $mode --json > "$work/inventory.json"
        b=$(date +%s.%N)
        times="$times $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b - a }')"
        i=$((i + 1))
    done
    # shellcheck disable=SC2086 # one run a line
    m=$(printf '%s\n' $times | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }')
    rows=$(grep -c '"sources":' "$work/inventory.json")
    awk -v m="$m" -v n="$rows" -v mode="${mode:-(refresh: nothing new)}" 'BEGIN {
        printf "flota devices --json %s, %d inventory devices: median %.3f s\n", mode, n, m }'
done
