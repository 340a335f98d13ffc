#!/bin/sh
# SPDX-License-Identifier: MIT
# The dashboard's environment: colours by role on a colour terminal and none under NO_COLOR
# (mono attributes only), ASCII line art under LANG=C, 'flota' with no verb on a terminal, a
# read-only token (admin actions unavailable once flotad refuses one), and a flotad that goes
# away (the screen says so and keeps answering keys) and comes back.
. "$(dirname "$0")/common.sh"

# SGR colour parameters (30-37, 40-47, 38;5/48;5) in a capture-pane -e dump
has_colour() {
    raw_screen -e | grep -qE "$(printf '\033')\[([0-9;]*;)?(3[0-7]|4[0-7]|38;5|48;5)[;m]"
}

fleet_with_rollout

tui_start 120 36
wait_screen "● up"
has_colour || fail "no colour on a colour terminal"
tui_quit

tui_start 120 36 NO_COLOR=1
wait_screen "● up"
wait_screen "1/28 updated"
has_colour && fail "colours under NO_COLOR"
raw_screen -e | grep -q "$(printf '\033')\[[0-9;]*7m" || fail "no reverse video for the cursor under NO_COLOR"
golden fleet-no-color
tui_quit

tui_start 120 36 LANG=C LC_ALL=C
wait_screen "* up"
wait_screen "1/28 updated"
golden fleet-ascii
keys F4
wait_screen "ROLLOUT      RELEASE"
golden rollouts-ascii
tui_quit

# 'flota' with no verb on a terminal is the dashboard; without a terminal, the help
tui_verb=''
tui_start 120 36
tui_verb=tui
wait_screen "● up"
wait_screen "40 rows"
tui_quit
set +e
"$FLOTA" --db "$work/inventory.db" </dev/null >"$work/no-verb.out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] && grep -q '^Usage: flota' "$work/no-verb.out" || fail "flota with no verb off a terminal: exit $rc"

# a read-only token: flotad says so up front (GET /token), and admin actions say why they are
# unavailable instead of asking; the Help view marks them
viewer=$("$FLOTAD" --data-dir "$work/flotad" token create viewer --role read 2>/dev/null)
admin_token=$TOKEN
TOKEN=$viewer
tui_start 120 36
wait_screen "● up"
wait_screen "token viewer may only read: actions are unavailable"
keys F3
wait_screen "no channels yet"
keys P
wait_screen "promote: unavailable, this token may only read"
keys F4
wait_screen "ROLLOUT      RELEASE"
keys Space
wait_screen "pause-resume: unavailable"
keys F2 '?'
wait_screen "(unavailable: read-only token)"
tui_quit
TOKEN=$admin_token

# flotad goes away: 'down' with the reason, and the keys still work; it comes back: 'up'
port=${SERVER##*:}
tui_start 120 36 -- --interval 1
wait_screen "● up"
for p in $pids; do
    if [ "$(cat /proc/"$p"/comm 2>/dev/null)" = flotad ]; then
        kill "$p"
        wait "$p" 2>/dev/null || true
    fi
done
wait_screen "● down"
wait_screen "flotad: "
keys F4
wait_screen "ROLLOUT      RELEASE"
keys F2
wait_screen "40 rows"
"$FLOTAD" --data-dir "$work/flotad" --listen "127.0.0.1:$port" >"$work/flotad-2.log" 2>&1 &
pids="$pids $!"
wait_screen "● up" 30
tui_quit

# --log: a poll log followed as it grows (inotify wakes the worker): a device only the log
# knows appears with its source, and a newer version it logs replaces the old one
# log_line MAC VERSION SECONDS-AGO
log_line() {
    printf '10.0.0.77 - - [%s] "GET /update/door HTTP/1.1" 304 0 "-" "ESP8266-http-Update" "%s" "%s"\n' \
        "$(date -u -d "@$(($(date +%s) - $3))" +%d/%b/%Y:%H:%M:%S) +0000" "$1" "$2" >>"$work/access.log"
}
log_line 18:FE:AA:00:00:76 0.9.0 20
tui_start 120 36 -- --interval 600 --log "$work/access.log" --format nginx-esp
wait_screen "● up"
keys / 'mac=18:FE:AA:00:00:77' Enter
wait_screen "no device matches the filter"
log_line 18:FE:AA:00:00:77 0.9.0 10
wait_screen "18:FE:AA:00:00:77 door       esp8266   0.9.0"
raw_screen | grep '18:FE:AA:00:00:77' | grep -q ' log ' || fail "the log's device has no 'log' source: $(raw_screen)"
log_line 18:FE:AA:00:00:77 1.0.0 0
wait_screen "18:FE:AA:00:00:77 door       esp8266   1.0.0"
tui_quit
# a log whose format cannot be told is refused before the screen is taken
: >"$work/empty.log"
if fl --server "$SERVER" tui --log "$work/empty.log" 2>"$work/tui-log.err" </dev/null; then
    fail "flota tui took a log of unknown format"
fi
grep -q "cannot tell the format of $work/empty.log" "$work/tui-log.err" ||
    fail "no clear error for a log of unknown format: $(cat "$work/tui-log.err")"
echo "ok: colour, NO_COLOR, LANG=C, no verb, read-only token, flotad down and back, a followed log"
