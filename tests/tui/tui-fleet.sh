#!/bin/sh
# SPDX-License-Identifier: MIT
# The Fleet view on a 40-device fleet with a running rollout: meters and table, a filter in the
# selection syntax, a sort, the Device view, the help screen, the mouse, resizes to 80x24 and below.
. "$(dirname "$0")/common.sh"

fleet_with_rollout
tui_start 120 36
wait_screen "● up"
wait_screen "1/28 updated"
golden fleet

# '/' filter: the prompt, then the rows it selects and the filter on the status line
keys / 'product=meter version<1.0'
wait_screen "filter: product=meter version<1.0"
keys Enter
wait_screen "2 rows"
golden fleet-filter
keys Escape
wait_screen "40 rows"

# sort by the next column (PRODUCT), reversed: meter first
keys '>' I
wait_screen "PRODUCT▲"
golden fleet-sort-product
keys '<' I
wait_screen "ID▼"

# the Device view lists flotad's newest 5 check-ins: wait until flotad has them
five_checkins() {
    [ "$(api GET /devices/18:FE:34:0A:E2:F3 | grep -o '"reason"' | wc -l)" -ge 5 ]
}
wait_for 30 five_checkins || fail "18:FE:34:0A:E2:F3 did not poll 5 times"

# Enter: the device under the cursor (Home: the first row; the cursor followed its device through the sorts)
keys Home Enter
wait_screen "◀ Fleet / 18:FE:34:0A:E2:F3"
wait_screen "History"
# flotad's answers to its last polls, and why (the worker asks flotad)
wait_screen "ANSWER  REASON"
golden device
keys Escape
wait_screen "40 rows"

# the help screen comes from the key table
keys '?'
wait_screen "Keys (Esc or F1 returns)"
golden help
keys Escape
wait_screen "40 rows"

# the mouse: a click on a title sorts by it, on a row moves the cursor there and, again,
# opens it; the wheel scrolls; a click on the bar's F4 is F4
click 43 5
wait_screen "VERSION▼"
click 5 8
click 5 8
wait_screen "◀ Fleet / "
keys Escape
wait_screen "40 rows"
click 3 5
wait_screen "ID▼"
keys Home
wheel down 5 10
keys Enter
wait_screen "◀ Fleet / 18:FE:34:14:FC:7F"
keys Escape
x=$(raw_screen | tail -n 1 | grep -o '^.*F4Rollouts' | wc -c)
click $((x - 5)) 35
wait_screen "ROLLOUT      RELEASE"
keys F2
wait_screen "40 rows"

# 80x24: the table keeps its rows, LABELS, SOURCES and TARGET go
tmx resize-window -t tui -x 80 -y 24
wait_gone "SOURCES"
golden fleet-80x24
tmx resize-window -t tui -x 79 -y 24
wait_screen "flota needs at least 80x24; this terminal is 79x24"
golden too-small
tmx resize-window -t tui -x 120 -y 36
wait_screen "SOURCES"
tui_quit
echo "ok: fleet, filter, sort, device, help, mouse, 80x24, too small"
