#!/bin/sh
# SPDX-License-Identifier: MIT
# The Fleet view on a 40-device fleet with a running rollout: meters and table, a filter in the
# selection syntax, a sort, the Device view, the help screen, the mouse, resizes to 80x24 and
# below, marks with a bulk label, and a pin from the Device view.
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

# marks and a bulk change: Space marks two devices, l asks for labels, then asks again
# naming the change; y sets them on flotad and in the inventory; the filter finds them
keys Home Space Space
keys l
wait_screen "labels (space-separated, none clears):"
keys 'garage attic' Enter
wait_screen "Set the labels of 2 marked devices to 'garage attic' (replacing theirs)? [y/N]"
golden fleet-confirm-label
keys y
wait_screen "label: 2 devices done"
keys / 'label=garage' Enter
wait_screen "2 rows"
wait_screen "attic,garage"
keys Escape
api GET /devices/18:FE:34:0E:5F:A9 | tr -d '\n\t ' | grep -q '"labels":\["attic","garage"\]' ||
    fail "flotad does not have the labels: $(api GET /devices/18:FE:34:0E:5F:A9)"
[ "$(fl audit | grep -c 'label')" -ge 2 ] || fail "the labels are not in the audit log: $(fl audit)"

# p in the Device view pins that device, after asking
keys Home Enter
wait_screen "◀ Fleet / 18:FE:34:0A:E2:F3"
keys p
wait_screen "release id:"
keys 1 Enter
wait_screen "Pin 18:FE:34:0A:E2:F3 to release 1"
keys y
wait_screen "pin: 1 device done"
fl audit | grep -q '18:FE:34:0A:E2:F3 -> release 1' || fail "the pin is not in the audit log: $(fl audit)"
keys Escape

# what mDNS said of a device (an ESPHome node: kind, host, port, its TXT a line a key) and the
# poll log that saw it; text from the network is shown escaped, never sent to the terminal
wait_screen "40 rows"
sqlite3 "$work/inventory.db" "UPDATE devices SET mdns_kind = 'esphome', mdns_host = 'door-hall.local',
    mdns_port = 6053, announced = 1, mdns_txt = 'version=2024.6.1' || char(10) || 'friendly_name=Hall' ||
    char(27) || '[2J', sources = sources || ',log:/var/log/nginx/access.log,mdns'
    WHERE id = '18:FE:34:0A:E2:F3'" || fail "the inventory update"
keys Home Enter
wait_screen "mDNS: announced, esphome door-hall.local:6053"
wait_screen "TXT version=2024.6.1"
wait_screen 'TXT friendly_name=Hall\x1b[2J'
wait_screen "log: /var/log/nginx/access.log"
keys Escape
tui_quit
echo "ok: fleet, filter, sort, device, help, mouse, 80x24, too small, bulk label, pin, mDNS and log in the detail"
