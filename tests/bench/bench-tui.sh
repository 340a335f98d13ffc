#!/bin/sh
# SPDX-License-Identifier: MIT
# The dashboard over a large inventory: bench-tui fills one with DEVICES devices (default
# 100,000) and times the snapshot, filter and sorts; then 'flota tui --stats' runs in tmux at
# 120x36 on it (no flotad: the inventory only), takes a few keys (sorts, pages, a filter) and
# quits, printing its first paint, redraw times and peak RSS. A benchmark, not a test.
# Usage: tests/bench/bench-tui.sh   (BUILD_DIR, DEVICES, KEEP=1 keeps the scratch directory)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-100000}
flota="$build/src/cli/flota"
bench="$build/tests/bench/bench-tui"
for b in "$flota" "$bench"; do
    [ -x "$b" ] || { echo "bench-tui: build first (ninja -C $build)" >&2; exit 1; }
done
command -v tmux >/dev/null || { echo "bench-tui: needs tmux" >&2; exit 1; }

work=$(mktemp -d)
sock=flota-bench-tui-$$
cleanup() {
    env -u TMUX tmux -L "$sock" kill-server 2>/dev/null || true
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM
tmx() { env -u TMUX tmux -L "$sock" -f /dev/null "$@"; }

"$bench" "$work/inventory.db" "$devices"

shown=$(echo "$devices" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta')
wait_screen() {
    i=0
    until tmx capture-pane -p -t b | grep -qF -- "$1"; do
        i=$((i + 1)); [ "$i" -lt 600 ] || { echo "bench-tui: the screen never showed '$1'" >&2; tmx capture-pane -p -t b | head -8 >&2; exit 1; }
        sleep 0.05
    done
}
tmx new-session -d -s b -x 120 -y 36 \
    "env -u FLOTA_SERVER TERM=screen LANG=C.UTF-8 '$flota' --db '$work/inventory.db' tui --stats 2>'$work/stats'; sleep 60"
wait_screen "$shown rows"
# one key at a time, each waited for on the screen: every sort, reversed, pages, a filter
for step in '>:PRODUCT▼' '>:PLATFORM▼' '>:VERSION▼' 'I:VERSION▲' '>:TARGET▲' '>:STATE▲' '>:SOURCES▲' \
    '>:SEEN▲' 'I:SEEN▼' '>:LABELS▼' '>:ID▼'; do
    tmx send-keys -t b "${step%%:*}"
    wait_screen "${step#*:}"
done
tmx send-keys -t b / 'product=door version<2.1' Enter
wait_screen "filter: product=door"
tmx send-keys -t b Escape q
i=0
until [ -s "$work/stats" ]; do
    i=$((i + 1)); [ "$i" -lt 200 ] || { echo "bench-tui: no stats" >&2; exit 1; }
    sleep 0.05
done
cat "$work/stats"
