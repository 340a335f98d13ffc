#!/bin/sh
# SPDX-License-Identifier: MIT
# The dashboard while flotad streams check-ins into it: a flotad on 127.0.0.1 that writes a
# check-in for every poll (--checkin-heartbeat 0), a flota-sim fleet polling as fast as it can,
# and 'flota tui --interval 1 --stats' at 120x36 in tmux following the feed. Keys (sort
# changes) are sent one at a time; each is timed from send-keys until the screen shows its
# effect (tmux's own latency included), and the dashboard's --stats give the time from the key
# read to the screen drawn (mean, p99, max). A benchmark, not a test.
# Usage: tests/bench/bench-tui-load.sh
# Environment: BUILD_DIR, DEVICES (10000), KEYS (200), KEEP=1 keeps the scratch directory
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-10000}
nkeys=${KEYS:-200}
flota="$build/src/cli/flota"
flotad="$build/src/server/flotad"
sim="$build/src/sim/flota-sim"
for b in "$flota" "$flotad" "$sim"; do
    [ -x "$b" ] || { echo "bench-tui-load: build first (ninja -C $build)" >&2; exit 1; }
done
command -v tmux >/dev/null || { echo "bench-tui-load: needs tmux" >&2; exit 1; }

work=$(mktemp -d)
sock=flota-bench-tui-load-$$
pids=""
cleanup() {
    env -u TMUX tmux -L "$sock" kill-server 2>/dev/null || true
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM
tmx() { env -u TMUX tmux -L "$sock" -f /dev/null "$@"; }
now_ms() { date +%s%3N; }

port=$((20000 + $$ % 20000))
"$flotad" --data-dir "$work/flotad" --listen "127.0.0.1:$port" --checkin-heartbeat 0 \
    --checkin-queue-size 200000 >"$work/flotad.log" 2>&1 &
pids="$pids $!"
token=$("$flotad" --data-dir "$work/flotad" token create bench --role admin 2>/dev/null | tail -n 1)
server="http://127.0.0.1:$port"
i=0
until curl -sf -o /dev/null "$server/healthz"; do
    i=$((i + 1)); [ "$i" -lt 200 ] || { echo "bench-tui-load: flotad did not start" >&2; exit 1; }
    sleep 0.05
done
curl -sf -o /dev/null -H "Authorization: Bearer $token" -d '{"name":"door"}' "$server/api/v1/products"
"$sim" --server "$server" --devices "$devices" --product door --rate max --concurrency 64 \
    --mix esp8266=75,esp32=25 --versions 1.0.0=60,0.9.0=40 >"$work/sim.log" 2>&1 &
pids="$pids $!"

wait_screen() {
    i=0
    until tmx capture-pane -p -t b | grep -qF -- "$1"; do
        i=$((i + 1)); [ "$i" -lt 30000 ] || { echo "bench-tui-load: the screen never showed '$1'" >&2; exit 1; }
    done
}
tmx new-session -d -s b -x 120 -y 36 \
    "env TERM=screen LANG=C.UTF-8 FLOTA_SERVER='$server' FLOTA_TOKEN='$token' '$flota' --db '$work/inventory.db' \
     tui --interval 1 --no-tick --stats 2>'$work/stats'; sleep 60"
shown=$(echo "$devices" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')
wait_screen "$shown devices"
# the feed's rate over the measured stretch, from flotad's own counter
written() { curl -sf "$server/metrics" | sed -n 's/^flotad_checkins_written_total \([0-9]*\)$/\1/p'; }
c0=$(written)
t0=$(now_ms)
# keys: the sort moves right and back; each waited for on the screen
lat=""
k=0
while [ "$k" -lt "$nkeys" ]; do
    if [ $((k % 2)) = 0 ]; then key='>'; want='PRODUCT▼'; else key='<'; want='ID▼'; fi
    s=$(now_ms)
    tmx send-keys -t b "$key"
    wait_screen "$want"
    lat="$lat $(($(now_ms) - s))"
    k=$((k + 1))
done
t1=$(now_ms)
c1=$(written)
tmx send-keys -t b q
i=0
until [ -s "$work/stats" ]; do
    i=$((i + 1)); [ "$i" -lt 400 ] || { echo "bench-tui-load: no stats" >&2; exit 1; }
    sleep 0.05
done
echo "check-ins flotad wrote meanwhile: $((c1 - c0)) in $((t1 - t0)) ms ($(awk -v c="$((c1 - c0))" -v t="$((t1 - t0))" 'BEGIN { printf "%.0f", c * 1000 / t }')/s)"
printf '%s\n' $lat | sort -n | awk '{ a[NR] = $1; s += $1 } END {
    printf "send-keys to screen (tmux included): %d keys, mean %.1f ms, p50 %d ms, p99 %d ms, max %d ms\n",
        NR, s / NR, a[int((NR + 1) / 2)], a[int((NR * 99 + 99) / 100)], a[NR] }'
cat "$work/stats"
