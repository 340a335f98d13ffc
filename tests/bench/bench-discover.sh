#!/bin/sh
# SPDX-License-Identifier: MIT
# flota's own mDNS discovery at scale, over the wire of tests/mdns/mdns-env.sh (needs root),
# the manager's avahi-daemon at its stock limits. DEVICES flota-sim devices on the devices side;
# bench-discover (flota's discovery on its own loop, tests/bench/bench-discover.c) on the
# manager side measures, in one run:
#   announce  discovery running, flota-sim starts: ms until discovery lists every device
#   cold      the manager's daemon restarted (empty cache): ms until every service is resolved,
#             against "avahi-browse -rpt" on a cache emptied the same way (ROUNDS rounds each)
#   warm      the same right after, the daemon's cache full
#   churn     how late a 5 ms ticker on discovery's loop ran (worst turn, 99th percentile)
#             while the devices churn (--offline 1: each withdraws and comes back, again
#             and again), and while all of them say goodbye at once and come back; beside
#             it, at the same time, a baseline: the same program browsing a type nobody
#             announces (how late the ticker runs on this machine anyway)
# Targets (issue 14): loop lag worst < 20 ms, p99 < 5 ms; cold no slower than avahi-browse;
# warm < 0.5 s; announce < 5 s. A benchmark, not a test.
# Environment: BUILD_DIR (default <repo>/build), DEVICES (1000), SECONDS_RUN (20), ROUNDS (2).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-1000}
run_s=${SECONDS_RUN:-20}
rounds=${ROUNDS:-2}
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
manager() { sh "$env_sh" manager "$work/env" "$@"; }
field() { # KEY LINE
    printf '%s\n' "$2" | sed -n "s/.*$1=\([-0-9.]*\).*/\1/p"
}

start_sim() { # extra flota-sim options
    sh "$env_sh" devices "$work/env" "$sim" --mdns --devices "$devices" --mix esp8266=70,esp32=30 \
        --server http://127.0.0.1:9 "$@" >"$work/sim.log" 2>&1 &
    sim_pid=$!
    pids="$pids $sim_pid"
}
stop_sim() {
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
}

# announce: discovery first, then the fleet
manager "$bench" "$devices" 120 --until-all >"$work/announce" 2>&1 &
bench_pid=$!
start_sim --interval 3600
wait "$bench_pid" || true
announce=$(cat "$work/announce")
echo "announce: $announce"

cold_flota="" cold_browse="" warm=""
i=0
while [ "$i" -lt "$rounds" ]; do
    sh "$env_sh" restart-manager "$work/env" >/dev/null
    out=$(manager "$bench" "$devices" 30 --until-all) || true
    echo "cold flota: $out"
    cold_flota="$cold_flota $(field all_resolved_ms "$out")"
    out=$(manager "$bench" "$devices" 30 --until-all) || true
    echo "warm flota: $out"
    warm="$warm $(field all_resolved_ms "$out")"
    sh "$env_sh" restart-manager "$work/env" >/dev/null
    t0=$(now_ms)
    n=$(manager timeout 60 avahi-browse -rpt _arduino._tcp 2>/dev/null | grep -c '^=') || true
    ms=$(($(now_ms) - t0))
    echo "cold avahi-browse -rpt: $n of $devices resolved in $ms ms"
    cold_browse="$cold_browse $ms"
    i=$((i + 1))
done

# churn: every device comes and goes again and again
stop_sim
start_sim --offline 1 --interval 2
baseline() { # SECONDS: the ticker with nothing to discover, into $work/baseline
    manager env BENCH_TYPES=_flota-bench-none._tcp "$bench" 0 "$1" >"$work/baseline" 2>&1 &
    base_pid=$!
}
baseline "$run_s"
churn=$(manager "$bench" "$devices" "$run_s") || true
wait "$base_pid" || true
base_churn=$(cat "$work/baseline")
echo "churn (--offline 1): $churn"
echo "  baseline meanwhile: $base_churn"
# and all at once: once all are listed, every service says goodbye, then all come back
stop_sim
start_sim --interval 3600
t0=$(now_ms)
until [ "$(manager timeout 10 avahi-browse -pt _arduino._tcp 2>/dev/null | grep -c '^+')" -ge "$devices" ]; do
    [ $(($(now_ms) - t0)) -lt 120000 ] || { echo "flota-sim did not announce all again" >&2; exit 1; }
    sleep 1
done
(sleep 3; kill "$sim_pid" 2>/dev/null; sleep 3; start_sim --interval 3600) &
pids="$pids $!"
baseline "$run_s"
burst=$(manager "$bench" "$devices" "$run_s") || true
wait "$base_pid" || true
base_burst=$(cat "$work/baseline")
echo "goodbye-all and back: $burst"
echo "  baseline meanwhile: $base_burst"

echo
echo "summary ($devices devices, manager avahi-daemon at stock limits):"
echo "  flota-sim announcing, until discovery lists all: $(field all_resolved_ms "$announce") ms (target < 5000)"
echo "  cold discovery, flota: ${cold_flota# } ms; avahi-browse -rpt: ${cold_browse# } ms"
echo "  warm discovery, flota: ${warm# } ms (target < 500)"
echo "  loop lag while churning: worst $(field worst_lag_ms "$churn") ms, p99 $(field p99_lag_ms "$churn") ms" \
    "(baseline: worst $(field worst_lag_ms "$base_churn"), p99 $(field p99_lag_ms "$base_churn"))"
echo "  loop lag, all goodbye and back: worst $(field worst_lag_ms "$burst") ms, p99 $(field p99_lag_ms "$burst") ms" \
    "(baseline: worst $(field worst_lag_ms "$base_burst"), p99 $(field p99_lag_ms "$base_burst"))"
echo "  (targets: worst < 20 ms, p99 < 5 ms)"
