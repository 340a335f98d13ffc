#!/bin/sh
# SPDX-License-Identifier: MIT
# The check-in writer alone: flotad's store (insert the check-in, update its device, in
# batches) against the reference peer sqlite_upsert (a bare device upsert per check-in,
# the floor for check-in storage), same population, batch size, sync mode and cache.
# A benchmark, not a test. Usage: tests/bench/bench-checkins.sh
# Environment: FLOTA_PEERS (default <repo>/../shared/peers), BUILD_DIR (default <repo>/build),
#              DEVICES (100000), BATCH (4000), DURATION (seconds, 10), RUNS (3)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
peers=${FLOTA_PEERS:-$repo/../shared/peers}
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-100000}
batch=${BATCH:-4000}
seconds=${DURATION:-10}
runs=${RUNS:-3}

[ -f "$peers/sqlite_upsert.c" ] || { echo "bench-checkins: no peers at $peers (set FLOTA_PEERS)" >&2; exit 1; }
[ -x "$build/tests/bench/bench-checkins" ] || { echo "bench-checkins: build first (ninja -C $build)" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
gcc -O2 -o "$scratch/sqlite_upsert" "$peers/sqlite_upsert.c" -lsqlite3

median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

flota="" peer=""
# populate both first, outside the measurement
"$build/tests/bench/bench-checkins" "$scratch/flota.db" "$devices" "$batch" 1 >/dev/null
"$scratch/sqlite_upsert" "$scratch/peer.db" "$devices" "$batch" 1 NORMAL 16384 >/dev/null
i=1
while [ "$i" -le "$runs" ]; do
    line=$("$build/tests/bench/bench-checkins" "$scratch/flota.db" "$devices" "$batch" "$seconds")
    echo "flota run $i: $line"
    flota="$flota $(echo "$line" | sed 's/.*checkins_per_s=\([0-9.]*\).*/\1/')"
    line=$("$scratch/sqlite_upsert" "$scratch/peer.db" "$devices" "$batch" "$seconds" NORMAL 16384)
    echo "peer  run $i: $line"
    peer="$peer $(echo "$line" | sed 's/.*upserts_per_s=\([0-9.]*\).*/\1/')"
    i=$((i + 1))
done
f=$(median "$flota")
p=$(median "$peer")
echo "median: flota $f check-ins/s (insert + device upsert), peer $p upserts/s (upsert only)"
awk -v f="$f" -v p="$p" 'BEGIN { printf "ratio flota / bare SQLite upsert: %.2fx\n", f / p }'
