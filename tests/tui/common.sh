# SPDX-License-Identifier: MIT
# Shared by the dashboard's golden-screen tests: the rollout tests' flotad, releases and
# flota-sim fleets (../rollout/common.sh), plus 'flota tui' inside a private tmux server at a
# fixed size, keys sent with send-keys, and screens read with capture-pane, normalized (times
# and ages become placeholders) and compared with golden/*.screen. Every wait is a bounded
# loop on the screen's content, never a fixed sleep.
# FLOTA_GOLDEN_UPDATE=1 rewrites the golden files instead of comparing.
# the Device view shows flotad's last check-in rows: a row for every poll, not one per change
FLOTAD_ARGS="--checkin-heartbeat 0"
. "$(dirname "$0")/../rollout/common.sh"

golden_dir=$(cd "$(dirname "$0")" && pwd)/golden
# each tui_start gets a tmux server of its own: a new session on a server that is exiting fails
tmux_phase=0
tmux_sock=flota-tui-$$-0
export TZ=UTC

command -v tmux >/dev/null 2>&1 || { echo "SKIP: tmux is not installed (share/dev/deps.sh installs it)"; exit 77; }

tmx() {
    env -u TMUX tmux -L "$tmux_sock" -f /dev/null "$@"
}

tui_cleanup() {
    tmx kill-server 2>/dev/null || true
    cleanup
}
trap tui_cleanup EXIT INT TERM

# a fleet for the screens: 30 door (ESP8266) and 10 meter (ESP32) devices of a fixed seed,
# and a rollout r1 of door 1.1.0 whose first wave (one device) is updated and soaks for an hour
fleet_with_rollout() {
    start_flotad flotad
    api POST /products -d '{"name":"door"}' >/dev/null
    api POST /products -d '{"name":"meter"}' >/dev/null
    release door 1.0.0
    release door 1.1.0
    sim fleet --devices 40 --product esp8266=door,esp32=meter --mix esp8266=75,esp32=25 \
        --versions 1.0.0=70,0.9.0=30 --interval 1 --seed 7
    ingest_until 60 40
    fl rollout create r1 --release 2 --select 'product=door' --waves 1,50%,100% --soak 1h --min-sample 1 \
        >/dev/null || fail "rollout create"
    fl rollout start r1 >/dev/null || fail "rollout start"
    deadline=$(($(now_ms) + 60000))
    while [ "$(count_of r1 updated)" != 1 ]; do
        [ "$(now_ms)" -lt "$deadline" ] || fail "r1's first device was not updated in 60s"
        fl rollout tick >>"$work/ticks.out" 2>>"$work/ticks.log" || true
        sleep 0.2
    done
}

# tui_start COLS LINES [VAR=VALUE...] [-- TUI ARGS...]: flota tui in a new tmux session, without
# mDNS (the golden screens would depend on an avahi-daemon; tests/mdns has the dashboard's mDNS)
# (tui_verb= runs 'flota' with no verb instead, which opens the dashboard on a terminal)
tui_verb=tui
tui_start() {
    cols=$1 lines=$2
    shift 2
    envs="TERM=screen LANG=C.UTF-8 LC_ALL=C.UTF-8"
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        envs="$envs $1"
        shift
    done
    [ $# -eq 0 ] || shift
    rm -f "$work/tui.rc"
    tmux_phase=$((tmux_phase + 1))
    tmux_sock=flota-tui-$$-$tmux_phase
    tmx new-session -d -s tui -x "$cols" -y "$lines" \
        "env $envs FLOTA_SERVER='$SERVER' FLOTA_TOKEN='$TOKEN' '$FLOTA' --db '$work/inventory.db' $tui_verb \
         ${tui_verb:+--no-mdns} $* \
         2>'$work/tui.stderr'; echo \$? >'$work/tui.rc'; sleep 600" ||
        fail "tmux did not start"
}

keys() {
    tmx send-keys -t tui "$@"
}

raw_screen() {
    tmx capture-pane -p -t tui "$@"
}

# the screen with times, ages and counters that move replaced by placeholders
screen() {
    raw_screen | sed -E \
        -e 's/[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}/<date>/g' \
        -e 's/(^|[ (])[0-9]{2}:[0-9]{2}:[0-9]{2}([ )]|$)/\1<time>\2/g' \
        -e 's|http://127\.0\.0\.1:[0-9]+|http://127.0.0.1:<port>|g' \
        -e 's/poll: [0-9]+ polls/poll: <n> polls/g' \
        -e 's/[0-9]+ of them offline now/<n> of them offline now/' \
        -e 's/\b[0-9]+[smhd]([0-9]+[smh])?\b */<t> /g' \
        -e 's/ +$//'
}

# wait_screen TEXT [SECONDS]: until the screen shows TEXT (a fixed string)
wait_screen() {
    if ! wait_for "${2:-20}" sh -c 'env -u TMUX tmux -L "$1" -f /dev/null capture-pane -p -t tui | grep -qF -- "$2"' \
        sh "$tmux_sock" "$1"; then
        echo "--- the screen:" >&2
        raw_screen >&2 || true
        fail "the screen never showed '$1'"
    fi
}

# wait_gone TEXT [SECONDS]: until the screen no longer shows TEXT
wait_gone() {
    if ! wait_for "${2:-20}" sh -c '! env -u TMUX tmux -L "$1" -f /dev/null capture-pane -p -t tui | grep -qF -- "$2"' \
        sh "$tmux_sock" "$1"; then
        raw_screen >&2 || true
        fail "the screen still shows '$1'"
    fi
}

# golden NAME: the normalized screen must equal golden/NAME.screen
golden() {
    screen >"$work/$1.screen"
    if [ -n "${FLOTA_GOLDEN_UPDATE:-}" ]; then
        cp "$work/$1.screen" "$golden_dir/$1.screen"
        return 0
    fi
    diff -u "$golden_dir/$1.screen" "$work/$1.screen" >&2 || fail "screen $1 differs from golden/$1.screen"
}

# tui_quit: q, and flota exits 0; its tmux server goes away
tui_quit() {
    keys q
    wait_for 20 test -s "$work/tui.rc" || fail "flota tui did not exit on q"
    [ "$(cat "$work/tui.rc")" = 0 ] || fail "flota tui exited $(cat "$work/tui.rc"): $(cat "$work/tui.stderr")"
    tmx kill-server 2>/dev/null || true
}

# click X Y: a left click at column X, line Y (0-based), as an xterm reports it (X10 encoding)
click() {
    cx=$(printf '%x' $(($1 + 33))) cy=$(printf '%x' $(($2 + 33)))
    keys -H 1b 5b 4d 20 "$cx" "$cy"
    keys -H 1b 5b 4d 23 "$cx" "$cy"
}

# wheel up|down X Y
wheel() {
    b=60
    [ "$1" = up ] || b=61
    keys -H 1b 5b 4d "$b" "$(printf '%x' $(($2 + 33)))" "$(printf '%x' $(($3 + 33)))"
}
