#!/bin/sh
# SPDX-License-Identifier: MIT
# flota's own mDNS discovery at scale, over the wire of tests/mdns/mdns-env.sh (needs root).
# DEVICES flota-sim devices announce themselves on the devices side; once the manager's
# avahi-daemon lists them all, it is restarted (a cold cache) and bench-discover (flota's
# discovery on its own loop, tests/bench/bench-discover.c) measures how long until every
# service is resolved, and how late a 5 ms ticker on the same loop ever ran while, a few seconds
# in, flota-sim is stopped and started again (every service says goodbye and comes back).
# Targets: all resolved within 2 s; no loop turn later than 10 ms. A benchmark, not a test.
# Environment: BUILD_DIR (default <repo>/build), DEVICES (1000), SECONDS_RUN (25).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-1000}
run_s=${SECONDS_RUN:-25}
sim="$build/src/sim/flota-sim"
bench="$build/tests/bench/bench-discover"
env_sh="$repo/tests/mdns/mdns-env.sh"
[ -x "$sim" ] && [ -x "$bench" ] || { echo "bench-discover: build first (ninja -C $build)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench-discover: needs root (network namespaces)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/flota-bench-disc.XXXXXX")
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    sh "$env_sh" stop "$work/env" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
sh "$env_sh" start "$work/env" >/dev/null
now_ms() { date +%s%3N; }

start_sim() {
    sh "$env_sh" devices "$work/env" "$sim" --mdns --devices "$devices" --mix esp8266=70,esp32=30 \
        --interval 3600 --server http://127.0.0.1:9 >"$work/sim.log" 2>&1 &
    sim_pid=$!
    pids="$pids $sim_pid"
}

start_sim
t0=$(now_ms)
while :; do
    n=$(sh "$env_sh" manager "$work/env" timeout 10 avahi-browse -pt _arduino._tcp 2>/dev/null | grep -c '^+' || true)
    [ "$n" -ge "$devices" ] && break
    [ $(($(now_ms) - t0)) -lt 120000 ] || { echo "only $n of $devices announced after 120 s" >&2; exit 1; }
    sleep 1
done
echo "flota-sim: $devices devices announced on the manager side after $(($(now_ms) - t0)) ms"

# cold: the manager's daemon restarted, its cache empty
sh "$env_sh" restart-manager "$work/env" >/dev/null
cold=$(sh "$env_sh" manager "$work/env" "$bench" "$devices" 12) || true
echo "cold: $cold"
# churn: a few seconds in, every service says goodbye, then all come back
(sleep 3; kill "$sim_pid" 2>/dev/null; sleep 3; start_sim) &
pids="$pids $!"
churn=$(sh "$env_sh" manager "$work/env" "$bench" "$devices" "$run_s") || true
echo "churn: $churn"
ms=$(printf '%s\n' "$cold" | sed -n 's/.*all_resolved_ms=\([-0-9.]*\).*/\1/p')
lag_cold=$(printf '%s\n' "$cold" | sed -n 's/.*worst_lag_ms=\([0-9.]*\).*/\1/p')
lag=$(printf '%s\n' "$churn" | sed -n 's/.*worst_lag_ms=\([0-9.]*\).*/\1/p')
echo "cold discovery of $devices devices: ${ms} ms (target <= 2000 ms); worst loop lag meanwhile ${lag_cold} ms"
echo "worst loop lag while they churned: ${lag} ms (target < 10 ms)"
