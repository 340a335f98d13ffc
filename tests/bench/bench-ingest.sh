#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench-ingest.sh -- `flota ingest --log` against the reference peers on the same
# nginx access log, in the same run: the kit's last_version.awk one-liner (mawk)
# and GoAccess. A benchmark, not a pass/fail test: it prints the times, the peak
# memory and the ratios next to the targets (>= 2x awk, >= 40x GoAccess,
# < 100 MB whatever the log size), and exits 0 once the measurements ran.
#
# Usage:
#   tests/bench/bench-ingest.sh
#
# Environment:
#   FLOTA_PEERS   reference kit (default: <repo>/../shared/peers)
#   BUILD_DIR     meson build dir holding flota (default: <repo>/build; built when missing)
#   LOG_BYTES     size of the generated log (default 1073741824, as the kit's run_logs_all.sh)
#   MACS          devices in the log (default 100000)
#   RUNS          runs per tool, the median is reported (default 3; GoAccess runs once)
#   GOACCESS=0    skip GoAccess (it takes minutes on 1 GiB)
#   SCRATCH       where the log and databases go (default: a temporary directory)
#   KEEP=1        keep the scratch directory
#
# Needs: gcc, mawk, goaccess, GNU time (/usr/bin/time). The page cache is warmed
# by a first read of the log, as hyperfine --warmup does in the kit.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
peers=${FLOTA_PEERS:-$top/../shared/peers}
build=${BUILD_DIR:-$top/build}
bytes=${LOG_BYTES:-1073741824}
macs=${MACS:-100000}
runs=${RUNS:-3}

for tool in gcc mawk /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "bench-ingest: needs $tool" >&2; exit 1; }
done
[ -f "$peers/gen_log.c" ] || { echo "bench-ingest: no reference kit at $peers (set FLOTA_PEERS)" >&2; exit 1; }
if [ ! -x "$build/src/cli/flota" ]; then
    [ -d "$build" ] || meson setup "$build" "$top" >/dev/null
    ninja -C "$build" >/dev/null
fi
flota="$build/src/cli/flota"

scratch=${SCRATCH:-$(mktemp -d)}
cleanup() { [ "${KEEP:-0}" = 1 ] || [ -n "${SCRATCH:-}" ] || rm -rf "$scratch"; }
trap cleanup EXIT
log="$scratch/access.log"

if [ ! -s "$log" ]; then
    gcc -O2 -o "$scratch/gen_log" "$peers/gen_log.c"
    "$scratch/gen_log" "$log" "$bytes" "$macs" 8266
fi
lines=$(wc -l <"$log")
size=$(stat -c %s "$log")
echo "log: $size bytes, $lines lines, $macs devices ($log)"
cat "$log" >/dev/null

# measure NAME CMD...: runs it, prints "seconds maxrss_kb" of the run
measure() {
    local out="$scratch/time.$1"
    shift
    /usr/bin/time -f "%e %M" -o "$out" "$@" >/dev/null 2>"$scratch/stderr" || {
        echo "bench-ingest: '$*' failed:" >&2
        cat "$scratch/stderr" >&2
        exit 1
    }
    cat "$out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

flota_times=() flota_mem=0 awk_times=()
for i in $(seq "$runs"); do
    rm -f "$scratch"/inv.db*
    read -r t m < <(measure flota "$flota" --db "$scratch/inv.db" ingest --log "$log" --format nginx-esp)
    flota_times+=("$t")
    [ "$m" -gt "$flota_mem" ] && flota_mem=$m
    read -r t _ < <(measure awk mawk -F'"' -f "$peers/last_version.awk" "$log")
    awk_times+=("$t")
done
flota_s=$(printf '%s\n' "${flota_times[@]}" | median)
awk_s=$(printf '%s\n' "${awk_times[@]}" | median)

# what the inventory holds must match the awk answer: one row per MAC, same last version
mawk -F'"' -f "$peers/last_version.awk" "$log" | sort >"$scratch/awk.txt"
sqlite3 -separator ' ' "$scratch/inv.db" "SELECT id, version FROM devices" 2>/dev/null | sort >"$scratch/flota.txt" || true
if [ -s "$scratch/flota.txt" ]; then
    if cmp -s "$scratch/awk.txt" "$scratch/flota.txt"; then
        echo "check: the inventory's device versions equal last_version.awk's output ($(wc -l <"$scratch/awk.txt") devices)"
    else
        echo "check: MISMATCH between the inventory and last_version.awk (see $scratch)"
        KEEP=1
    fi
fi

echo
printf '%-28s %10s %12s\n' tool seconds "peak RSS MB"
printf '%-28s %10s %12.1f\n' "flota ingest --log" "$flota_s" "$(echo "$flota_mem / 1024" | bc -l)"
printf '%-28s %10s\n' "mawk last_version.awk" "$awk_s"
ratio_awk=$(echo "$awk_s / $flota_s" | bc -l)

if [ "${GOACCESS:-1}" != 0 ] && command -v goaccess >/dev/null; then
    read -r goa_s goa_m < <(measure goaccess goaccess "$log" --log-format=COMBINED --no-global-config \
        -o "$scratch/goaccess.json")
    printf '%-28s %10s %12.1f\n' "goaccess (COMBINED, json)" "$goa_s" "$(echo "$goa_m / 1024" | bc -l)"
    ratio_goa=$(echo "$goa_s / $flota_s" | bc -l)
else
    ratio_goa=""
fi

echo
printf 'flota vs mawk:     %6.2fx   (target >= 2x)\n' "$ratio_awk"
[ -n "$ratio_goa" ] && printf 'flota vs GoAccess: %6.1fx   (target >= 40x)\n' "$ratio_goa"
printf 'flota peak memory: %6.1f MB (target < 100 MB)\n' "$(echo "$flota_mem / 1024" | bc -l)"
exit 0
