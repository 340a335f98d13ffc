#!/bin/sh
# SPDX-License-Identifier: MIT
# The dashboard steps a push rollout too: started from the CLI (its first wave pushed there),
# its later waves are pushed by 'flota tui' (its worker's tick), with the [push] password of
# the config file; without it the devices would refuse every push (auth-failed) and the
# rollout would halt.
. "$(dirname "$0")/common.sh"

command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed (share/dev/deps.sh installs it)"; exit 77; }
sock=flota-push-tui-$$
tmx() { env -u TMUX tmux -L "$sock" -f /dev/null "$@"; }
trap 'tmx kill-server 2>/dev/null || true; cleanup' EXIT INT TERM

start_flotad flotad
api POST /products -d '{"name":"demo"}' >/dev/null
release demo 2.0.0
config '[push]' 'password = sekrit'
ota fleet --server "$SERVER" --ota espota --devices 6 --interval 1 --ota-password sekrit --seed 9
wait_udp 127.0.0.6
ingest_until 30 6
rl() {
    "$FLOTA" --db "$work/inventory.db" -c "$work/config" rollout "$@"
}
rl create r1 --release 1 --transport espota --image "$work/demo-2.0.0.bin" --push-port "$PORT" --parallel 2 \
    --waves 1,100% --soak 1s --min-sample 1 >/dev/null || fail "create r1"
rl start r1 >/dev/null || fail "start r1"
tmx new-session -d -s t -x 120 -y 36 \
    "env TERM=screen LANG=C.UTF-8 '$FLOTA' --db '$work/inventory.db' -c '$work/config' tui --interval 1 \
     2>'$work/tui.stderr'; sleep 600" || fail "tmux did not start"
state() { rl show r1 --json | sed -n 's/^	"state":	"\(.*\)",$/\1/p'; }
done_or_halted() { s=$(state); [ "$s" = completed ] || [ "$s" = halted ]; }
wait_for 90 done_or_halted || fail "r1 is still $(state) with only the dashboard ticking: $(rl show r1)"
[ "$(state)" = completed ] || fail "r1 ended $(state) under the dashboard: $(rl show r1; rl history r1)"
counts=$(rl show r1 --json | tr -d '\n\t ')
echo "$counts" | grep -q '"updated":6' || fail "not 6 updated: $counts"
tmx kill-server 2>/dev/null || true
echo "ok: the dashboard pushed the rollout's later waves with the [push] password"
