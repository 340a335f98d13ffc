#!/bin/sh
# SPDX-License-Identifier: MIT
# The Rollouts view with a running rollout: waves as progress bars and why it holds; Space asks
# before pausing (naming what changes), n cancels, y pauses through the engine (the CLI sees
# it), the Fleet meter and the Events view follow; Space y resumes. Releases (F3) and a
# promotion to a channel asked for, confirmed and done.
. "$(dirname "$0")/common.sh"

fleet_with_rollout
tui_start 120 36
wait_screen "● up"
keys F4
wait_screen "ROLLOUT      RELEASE"
wait_screen "1 updated, 0 offered"
golden rollouts

# Space: the question names the rollout and what stays as it is; n changes nothing
keys Space
wait_screen "Pause r1: no new offers until resumed"
golden rollouts-confirm-pause
keys n
wait_screen "cancelled: nothing changed"
[ "$(state_of r1)" = running ] || fail "r1 is $(state_of r1) after a cancelled pause"

keys Space
wait_screen "[y/N]"
keys y
wait_screen "pause r1: done"
wait_screen "paused by the operator"
[ "$(state_of r1)" = paused ] || fail "r1 is $(state_of r1) after the dashboard paused it"
golden rollouts-paused
fl audit | grep -q 'r1 pause' || fail "the pause is not in the audit log: $(fl audit)"

keys F2
wait_screen "⏸  r1"
# Events: flotad's check-ins stream in; '/' keeps the rollout's own
keys F5
wait_screen "check-in 18:FE:34:"
keys / 'r1 wave' Enter
wait_screen "events containing: r1 wave"
wait_screen "r1 wave 1: pause"
wait_gone "check-in 18:FE:34:"
keys Escape
wait_screen "check-in 18:FE:34:"

# resume: the same key, the other question
keys F4
wait_screen "ROLLOUT      RELEASE"
keys Space
wait_screen "Resume r1 at wave 1/3"
keys y
wait_screen "resume r1: done"
[ "$(state_of r1)" = running ] || fail "r1 is $(state_of r1) after the dashboard resumed it"

# ':' runs a flota verb on the same inventory and server; its output in a pane, Esc returns
keys : 'rollout list' Enter
wait_screen "$ flota rollout list"
wait_screen "flota rollout list: exit status 0"
raw_screen | grep -q '^ r1 ' || fail "no r1 in ':rollout list': $(raw_screen)"
keys Escape
wait_screen "ROLLOUT      RELEASE"

# Releases (F3): flotad's releases with the devices running each; P asks for the channel
# (stable offered), then asks again naming the change; y promotes through flotad's API
keys F3
wait_screen "no channels yet"
golden releases
keys P
wait_screen "promote to channel: stable"
keys C-u beta Enter
wait_screen "Point door/beta at 1.1.0 (release 2; now none)"
golden releases-confirm-promote
keys y
wait_screen "promote door/beta: release 2, done"
wait_screen "door/beta"
api GET /channels | tr -d '\n\t ' | grep -q '"product":"door","name":"beta","kind":"sketch","release":2' ||
    fail "door/beta was not promoted: $(api GET /channels)"
fl audit | grep -q 'door/beta -> release 2' || fail "the promotion is not in the audit log: $(fl audit)"

# n: the New rollout form. Every field is checked as it is typed (a bad one in red, and no
# preview until it is fixed); the plan preview follows the fields; Enter on the last asks,
# naming what it reaches, and y creates and starts the rollout through the engine.
# U: an upload from the dashboard. The file prompt completes with Tab; a missing file is refused
# there; the product defaults to the selected release's; an ESP32 image carries its version.
"$FLOTA_SIM" mkimage --version 1.1.0 --platform esp32 -o "$work/meter-1.1.0.bin" >/dev/null
keys U "$work/nothing-here.bin" Enter
wait_screen "nothing-here.bin: No such file or directory"
keys U "$work/meter-1." Tab
wait_screen "upload image (Tab completes): $work/meter-1.1.0.bin"
keys Enter
wait_screen "product: door"
keys C-u meter Enter
wait_screen "version (empty: an ESP32 image's own):"
keys Enter
wait_screen "Upload meter-1.1.0.bin (262,144 bytes) as meter (its version from the image)? [y/N]"
keys y
wait_screen "upload: release 3, meter 1.1.0, done"
wait_screen "meter      3"
fl audit | grep -q "release 3: meter 1.1.0 from $work/meter-1.1.0.bin" ||
    fail "the upload is not in the audit log: $(fl audit)"
keys F4
wait_screen "ROLLOUT      RELEASE"
keys n
wait_screen "New rollout"
keys m2 Down Left
wait_screen "meter 1.1.0 esp32 (release 3)"
keys Down product=meter
wait_screen "12 devices selected, 12 eligible"
keys Down x
wait_screen "waves: 'x'"
wait_screen "fix the fields in red"
keys BSpace 1,100%
wait_screen "waves: 1 > 11 devices"
golden create-form
keys Enter Enter Enter Enter Enter Enter Enter Enter
wait_screen "▶start"
keys Enter
wait_screen "Create and start rollout m2: meter 1.1.0 esp32 (release 3) to 12 devices in 2 waves (0 excluded)? [y/N]"
keys y
wait_screen "create and start m2: done"
wait_screen "─ m2 "
[ "$(state_of m2)" = running ] || fail "m2 is $(state_of m2) after the dashboard created and started it"
fl rollout show m2 --json | grep -q '^		"waves":	"1,100%",$' ||
    fail "m2 does not have the form's waves: $(fl rollout show m2 --json)"
tui_quit
echo "ok: rollouts, pause asked, cancelled, done, resumed; releases, promotion; the New rollout form"
