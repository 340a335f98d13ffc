#!/bin/sh
# SPDX-License-Identifier: MIT
# flota-sim as a load generator: a closed loop (--rate max) of DEVICES simulated devices
# against a private flotad on 127.0.0.1, half of the fleet on an old version (so it is sent
# a small image and flashes it), the rest up to date. Prints the simulator's rate, its own CPU
# per poll (so its capacity on one core), and checks that flotad recorded (counted) every
# answered poll and that every device offered the update runs it. A benchmark, not a test.
# Environment: BUILD_DIR (default <repo>/build), DEVICES (100000), DURATION (10), CONCURRENCY (64),
#              VERSIONS (the fleet's start, default 1.0.0=50,2.0.0=50; 2.0.0=100 for polls only)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-100000}
duration=${DURATION:-10}
concurrency=${CONCURRENCY:-64}
port=${FLOTAD_PORT:-8095}
flotad="$build/src/server/flotad"
sim="$build/src/sim/flota-sim"
[ -x "$flotad" ] && [ -x "$sim" ] || { echo "bench-sim: build first (ninja -C $build)" >&2; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT INT TERM

token=$("$flotad" --data-dir "$work/data" token create bench --role admin 2>/dev/null)
"$flotad" --data-dir "$work/data" --listen "127.0.0.1:$port" --threads 2 2>"$work/flotad.log" &
pid=$!
i=0
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
    i=$((i + 1)); [ "$i" -lt 50 ] || { cat "$work/flotad.log" >&2; exit 1; }; sleep 0.1
done
api() { curl -sS -H "Authorization: Bearer $token" "$@"; }
api -d '{"name":"bench"}' "http://127.0.0.1:$port/api/v1/products" >/dev/null
"$sim" mkimage --version 2.0.0 --size 64K -o "$work/image.bin"
api --data-binary "@$work/image.bin" "http://127.0.0.1:$port/api/v1/releases?product=bench&version=2.0.0" >/dev/null
api -X PUT -d '{"release":1}' "http://127.0.0.1:$port/api/v1/channels/bench/stable" >/dev/null

echo "flota-sim: $devices devices, closed loop, concurrency $concurrency, ${duration}s against flotad"
start=$(cut -d' ' -f14-15 /proc/self/stat)
/usr/bin/env time -f '%U %S' -o "$work/time" "$sim" --server "http://127.0.0.1:$port" --devices "$devices" \
    --product bench --versions "${VERSIONS:-1.0.0=50,2.0.0=50}" --rate max --concurrency "$concurrency" \
    --duration "$duration" --json > "$work/stats.json"
kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""

field() { sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\([0-9.]*\).*/\1/p" "$work/stats.json" | head -n 1; }
polls=$(field polls); answered=$(field answered); rate=$(field polls_per_second)
applied=$(field updates_applied)
read -r user sys < "$work/time"
# a poll that changed nothing only counts on its device (polls); every poll is counted there
rows=$(sqlite3 "$work/data/flotad.db" 'SELECT coalesce(sum(polls), 0) FROM devices')
offered=$(sqlite3 "$work/data/flotad.db" "SELECT count(*) FROM checkins WHERE reason = 'update'")
awk -v p="$polls" -v a="$answered" -v r="$rate" -v u="$user" -v s="$sys" 'BEGIN {
    cpu = (u + s) * 1e6 / (p > 0 ? p : 1)
    printf "polls %d, answered %d, %d polls/s with flotad on the same 2 cores\n", p, a, r
    printf "simulator CPU: %.1f us per poll (user %.2f s, system %.2f s): %.0f polls/s per core on its own\n", cpu, u, s, 1e6 / cpu
}'
echo "flotad polls recorded: $rows for $answered answered polls ($( [ "$rows" -eq "$answered" ] && echo equal || echo DIFFERENT))"
echo "images flotad sent whole: $offered, updates the devices applied: $applied ($( [ "$offered" -eq "$applied" ] && echo every one || echo DIFFERENT))"
