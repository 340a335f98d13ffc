#!/bin/sh
# SPDX-License-Identifier: MIT
# flota-sim --mdns at scale, over the wire of tests/mdns/mdns-env.sh (needs root): how long
# until a manager-side browser lists all DEVICES services after flota-sim starts, how long
# "avahi-browse -rpt _arduino._tcp" takes to resolve them all from a warm and from a cold
# cache (manager daemon restarted), and how long the goodbyes take to empty the manager's
# list once flota-sim is stopped. A benchmark, not a test.
# Environment: BUILD_DIR (default <repo>/build), DEVICES (1000), RUNS (3).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-1000}
runs=${RUNS:-3}
sim="$build/src/sim/flota-sim"
env_sh="$repo/tests/mdns/mdns-env.sh"
[ -x "$sim" ] || { echo "bench-mdns: build first (ninja -C $build)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/flota-bench-mdns.XXXXXX")
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    sh "$env_sh" stop "$work/env" || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
sh "$env_sh" start "$work/env"

now_ms() { date +%s%3N; }
count() { grep -c "$1" "$2" 2>/dev/null || true; }

# Waits (polling FILE every 0.1 s, at most $3 s) until it has $2 lines matching $1.
wait_lines() {
    deadline=$(($(now_ms) + $3 * 1000))
    while [ "$(count "$1" "$4")" -lt "$2" ]; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}

browse_rpt() { # $1 output file; prints the time it took in ms
    t=$(now_ms)
    sh "$env_sh" manager "$work/env" timeout 120 avahi-browse -rpt _arduino._tcp > "$1" 2>&1 || true
    echo $(($(now_ms) - t))
}

r=1
while [ "$r" -le "$runs" ]; do
    sh "$env_sh" restart-devices "$work/env" > /dev/null
    sh "$env_sh" restart-manager "$work/env" > /dev/null
    sh "$env_sh" manager "$work/env" timeout 300 avahi-browse -p _arduino._tcp > "$work/watch" 2>&1 &
    watch=$!
    pids="$watch"
    sleep 1
    t0=$(now_ms)
    sh "$env_sh" devices "$work/env" timeout 300 "$sim" --mdns --devices "$devices" \
        --mix esp8266=70,esp32=30 --server http://127.0.0.1:9 --interval 60 > "$work/sim.log" 2>&1 &
    simpid=$!
    pids="$watch $simpid"
    if wait_lines '^+' "$devices" 240 "$work/watch"; then
        listed=$(($(now_ms) - t0))
    else
        listed="timeout ($(count '^+' "$work/watch") listed)"
    fi
    warm=$(browse_rpt "$work/warm")
    warm_n=$(count '^=' "$work/warm")
    sh "$env_sh" restart-manager "$work/env" > /dev/null
    cold=$(browse_rpt "$work/cold")
    cold_n=$(count '^=' "$work/cold")
    kill "$watch" 2>/dev/null || true
    sh "$env_sh" manager "$work/env" timeout 300 avahi-browse -p _arduino._tcp > "$work/watch2" 2>&1 &
    watch=$!
    pids="$watch $simpid"
    wait_lines '^+' "$devices" 30 "$work/watch2" || true
    t1=$(now_ms)
    kill "$simpid"
    wait "$simpid" || true
    stopped=$(($(now_ms) - t1))
    if wait_lines '^-' "$devices" 60 "$work/watch2"; then
        gone=$(($(now_ms) - t1))
    else
        gone="timeout ($(count '^-' "$work/watch2") removed)"
    fi
    kill "$watch" 2>/dev/null || true
    pids=""
    echo "run $r, $devices devices: all listed on the manager after $listed ms;" \
        "avahi-browse -rpt warm $warm ms ($warm_n resolved), cold $cold ms ($cold_n resolved);" \
        "flota-sim stopped in $stopped ms, all removed after $gone ms"
    r=$((r + 1))
done
