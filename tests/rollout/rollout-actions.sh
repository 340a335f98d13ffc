#!/bin/sh
# SPDX-License-Identifier: MIT
# The operator's verbs on a live fleet: a rollout from an INI file that waits for approval
# after its first wave, pause and resume, a late joiner, retry-failed, and abort (which takes
# back the offers of devices that did not update and leaves the updated ones where they are).
. "$(dirname "$0")/common.sh"

start_flotad flotad
api POST /products -d '{"name":"door"}' >/dev/null
release door 1.0.0
release door 1.1.0
sim fleet --devices 120 --product door --versions 1.0.0=100 --interval 1 --fail-download 0.1 --seed 21
ingest_until 60 119

cat >"$work/a1.ini" <<'INI'
; a canary of ten, then everyone once a human says so
[rollout]
name = a1
release = 2
select = product=door
waves = 10,100%
soak = 1s
min-sample = 3
max-failure = 50%
approve = first
INI
fl rollout create --file "$work/a1.ini" >/dev/null || fail "create from a file"
show_json a1 | grep -q '"approve":	"first"' || fail "the file's approve= was not kept"
show_json a1 | grep -q '"waves":	"10,100%"' || fail "the file's waves= were not kept"
echo "[rollout]
name = bad
release = 2
waves = 5%,1" >"$work/bad.ini"
set +e
out=$(fl rollout create --file "$work/bad.ini" 2>&1)
code=$?
set -e
[ "$code" -eq 2 ] || fail "a bad file exits $code, not 2"
echo "$out" | grep -q 'bad.ini:4: waves' || fail "the bad line is not named: $out"

fl rollout start a1 >/dev/null || fail "start"
[ "$(count_of a1 offered)" -eq 10 ] || fail "wave 1 offered $(count_of a1 offered)"
waits() {
    fl rollout tick >/dev/null 2>&1 || true
    show_json a1 | grep -q '"hold":	"wave 2 waits for approval'
}
wait_for 60 waits || fail "wave 2 does not wait for approval: $(fl rollout show a1)"
[ "$(count_of a1 offered)" -eq 10 ] || fail "offers beyond wave 1 without approval"

fl rollout pause a1 >/dev/null || fail "pause"
[ "$(state_of a1)" = paused ] || fail "pause left it $(state_of a1)"
set +e
fl rollout pause a1 >/dev/null 2>&1
code=$?
set -e
[ "$code" -eq 1 ] || fail "pausing a paused rollout exits $code"

# a device that appears now and matches joins the rollout
eligible_before=$(count_of a1 eligible)
sim late --devices 5 --product door --versions 1.0.0=100 --interval 1 --seed 99
ingest_until 60 $((eligible_before + 5))
fl rollout resume a1 >/dev/null || fail "resume"
[ "$(state_of a1)" = running ] || fail "resume left it $(state_of a1)"
[ "$(count_of a1 eligible)" -eq $((eligible_before + 5)) ] || fail "late joiners: $eligible_before -> $(count_of a1 eligible)"
fl rollout history a1 | grep -q '5 devices joined late' || fail "no event for the late joiners"

fl rollout approve a1 >/dev/null || fail "approve"
[ "$(count_of a1 offered)" -gt 10 ] || fail "approval did not start wave 2"

# devices whose downloads always break fail; retry-failed offers them again
has_failed() {
    fl rollout tick >/dev/null 2>&1 || true
    [ "$(count_of a1 failed)" -gt 0 ]
}
wait_for 60 has_failed || fail "no device failed"
offered=$(count_of a1 offered)
fl rollout retry-failed a1 >/dev/null || fail "retry-failed"
[ "$(count_of a1 failed)" -eq 0 ] || fail "retry-failed left $(count_of a1 failed) failed"
[ "$(count_of a1 offered)" -eq "$offered" ] || fail "retried devices were not offered again"

fl rollout abort a1 >/dev/null || fail "abort"
[ "$(state_of a1)" = aborted ] || fail "abort left it $(state_of a1)"
held=$(api GET "/devices?assigned=2&limit=10000" | grep -o '"id":	*"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' | sort)
updated=$(sqlite3 "$work/inventory.db" "SELECT device_id FROM rollout_devices WHERE state = 3 ORDER BY device_id")
[ "$held" = "$updated" ] || fail "after abort flotad assigns $(echo "$held" | wc -w) devices, $(echo "$updated" | wc -w) updated"
set +e
fl rollout resume a1 >/dev/null 2>&1
code=$?
set -e
[ "$code" -eq 1 ] || fail "an aborted rollout resumes (exit $code)"
# an ended rollout can be deleted; a running one cannot
fl rollout create a2 --release 2 --waves 100% >/dev/null || fail "create a2"
fl rollout start a2 >/dev/null || fail "start a2"
set +e
out=$(fl rollout delete a2 2>&1)
code=$?
set -e
[ "$code" -eq 1 ] || fail "deleting a running rollout exits $code"
echo "$out" | grep -q 'abort it first' || fail "no word of how to end it: $out"
fl rollout delete a1 >/dev/null || fail "delete a1"
[ "$(sqlite3 "$work/inventory.db" "SELECT count(*) FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
    WHERE r.name = 'a1'")" -eq 0 ] || fail "a1's devices are left"
fl rollout list | grep -q '^a1 ' && fail "a1 is still listed"
fl audit | grep -q 'a1 deleted' || fail "the deletion is not in the audit log"
echo "ok: file, approval, pause/resume, late joiners, retry-failed, abort and delete"
