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
tui_quit
echo "ok: rollouts, pause asked, cancelled, done, resumed; releases, promotion"
