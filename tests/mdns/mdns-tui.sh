#!/bin/sh
# SPDX-License-Identifier: MIT
# The dashboard discovers devices by mDNS live, on its own loop: flota tui on the manager side
# (no flotad: the inventory only, passes every 600 s so nothing but mDNS feeds it) shows the
# devices a flota-sim fleet announces on the devices side, with "mdns" as their source and
# "mDNS ● on" in the title; when the fleet says goodbye, the Events view shows the removals.
# Needs root (skipped, 77, without it) and tmux. Bounded: well under 60 s.
set -eu
# shellcheck source=tests/mdns/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
flotad=${FLOTAD:?FLOTAD must point at flotad}
flota=${FLOTA:?FLOTA must point at flota}
command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed (share/dev/deps.sh installs it)"; exit 77; }

n=6
mdns_setup
sock=flota-mdns-tui-$$
tmx() { env -u TMUX tmux -L "$sock" -f /dev/null "$@"; }
trap 'tmx kill-server 2>/dev/null || true; mdns_cleanup' EXIT
server=http://169.254.77.1:8070
token=$("$flotad" --data-dir "$work/data" token create mdns --role admin 2> "$work/token.err") ||
    fail "flotad token create: $(cat "$work/token.err")"
spawn devices "$work/flotad.log" "$flotad" --data-dir "$work/data" --listen 169.254.77.1:8070
deadline=$(($(now_ms) + 10000))
until on_devices curl -sf "$server/healthz" > /dev/null 2>&1; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "flotad did not come up"
    sleep 0.1
done
spawn devices "$work/sim.log" timeout -k 2 45 "$sim" --mdns --devices $n --mix esp8266=50,esp32=50 \
    --interval 5 --server "$server" --product demo
sim_pid=$spawned
wait_resolved "$n" 25 "$work/browse" || fail "the manager resolved $(grep -c '^=' "$work/browse") of $n services"

tmx new-session -d -s t -x 120 -y 36 \
    "sh '$env_sh' manager '$work/env' env TERM=screen LANG=C.UTF-8 '$flota' --db '$work/flota.db' tui \
     --interval 600 2>'$work/tui.stderr'; sleep 600" || fail "tmux did not start"
screen_has() { tmx capture-pane -p -t t | grep -qF -- "$1"; }
wait_screen() {
    deadline=$(($(now_ms) + ${2:-20} * 1000))
    until screen_has "$1"; do
        [ "$(now_ms)" -lt "$deadline" ] || { tmx capture-pane -p -t t >&2; fail "the screen never showed '$1'"; }
        sleep 0.1
    done
}
wait_screen "mDNS ● on"
wait_screen "$n devices"
[ "$(tmx capture-pane -p -t t | grep -c ' mdns ')" -eq "$n" ] ||
    { tmx capture-pane -p -t t >&2; fail "not $n rows with the mdns source"; }
# goodbyes: the devices go, and the Events view says so, a line each
kill "$sim_pid"
tmx send-keys -t t F5
wait_screen "mdns removed"
deadline=$(($(now_ms) + 20000))
until [ "$(tmx capture-pane -p -t t | grep -c 'mdns removed')" -eq "$n" ]; do
    [ "$(now_ms)" -lt "$deadline" ] || { tmx capture-pane -p -t t >&2; fail "not $n removals in the Events view"; }
    sleep 0.1
done
tmx send-keys -t t q
echo "ok: the dashboard found $n devices by mDNS and showed them go"
