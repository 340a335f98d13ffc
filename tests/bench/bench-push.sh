#!/bin/sh
# SPDX-License-Identifier: MIT
# flota push at fleet size: DEVICES flota-sim devices answering espota (or the web updater,
# TRANSPORT=web) on 127.0.0.x, each pushed a SIZE image, PARALLEL at a time. Prints what
# 'flota push --stats' measures: pushes per second, flota's CPU per push, and the loop's
# longest turn (how late a 5 ms heartbeat timer ran at worst), and checks every push was ok.
# A benchmark, not a test. Environment: BUILD_DIR (default <repo>/build), DEVICES (200),
# SIZE (1M), PARALLEL (16), TRANSPORT (espota), PORT (28500).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-200}
size=${SIZE:-1M}
parallel=${PARALLEL:-16}
transport=${TRANSPORT:-espota}
port=${PORT:-28500}
flota="$build/src/cli/flota"
sim="$build/src/sim/flota-sim"
[ -x "$flota" ] && [ -x "$sim" ] || { echo "bench-push: build first (ninja -C $build)" >&2; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

"$sim" mkimage --version 9.9.9 --size "$size" -o "$work/image.bin"
"$sim" --ota "$transport" --devices "$devices" --ota-port "$port" --json >"$work/sim.log" 2>&1 &
pid=$!
"$sim" --list --ota "$transport" --devices "$devices" | cut -f 6 | sed "s/\$/:$port/" >"$work/list"
last=$(tail -n 1 "$work/list")
proto=$([ "$transport" = web ] && echo t || echo u)
i=0
until ss -ln"$proto" | grep -q " ${last%:*}:$port "; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || { echo "bench-push: the fleet did not come up" >&2; exit 1; }
    sleep 0.1
done
printf '[push]\n' >"$work/config"
"$flota" --db "$work/inventory.db" -c "$work/config" push --devices "$work/list" "$work/image.bin" \
    --transport "$transport" --parallel "$parallel" --stats --json >"$work/result.json" 2>"$work/stats"
cat "$work/stats"
ok=$(grep -c '"outcome":	"ok"' "$work/result.json" || true)
echo "bench-push: $ok of $devices pushes ok ($transport, $size, --parallel $parallel)"
[ "$ok" -eq "$devices" ]
