#!/bin/sh
# SPDX-License-Identifier: MIT
# Time is injected (--now; the fleet is stopped, so silent devices are allowed): a window delays offers and the rate limits them; two ticks at once
# offer once; a held lock makes a tick give up; ticks killed with SIGKILL at random moments
# never lose or duplicate an offer, and flotad's assignments are reconciled with the
# inventory in both directions. Plan and show --json are compared with golden files.
. "$(dirname "$0")/common.sh"
golden=$(dirname "$0")/golden

start_flotad flotad
api POST /products -d '{"name":"door"}' >/dev/null
release door 1.0.0
release door 1.1.0
sim fleet --devices 100 --product door --versions 1.0.0=100 --interval 1 --seed 3
ingest_until 60 100
stop_sim fleet
fl ingest --from-server >/dev/null

# what flotad holds for release 2, and what the inventory says was offered, as sorted id lists
held() {
    api GET "/devices?assigned=2&limit=10000" | grep -o '"id":	*"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' | sort
}
offered_ids() {
    sqlite3 "$work/inventory.db" "SELECT device_id FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
        WHERE r.name = '$1' AND d.state != 0 AND d.state != 6 ORDER BY device_id"
}
check_golden() {
    sed -e "s|$SERVER|<server>|g" "$work/$1" >"$work/$1.masked"
    if [ -n "${FLOTA_GOLDEN_UPDATE:-}" ]; then
        cp "$work/$1.masked" "$golden/$1"
    fi
    diff -u "$golden/$1" "$work/$1.masked" || fail "$1 differs from its golden file"
}

# ---- a window and a rate ----
# a day far ahead, so the fleet (seen today) is offline in every run, whatever the date
day=2036-12-02
fl rollout create w1 --release 2 --waves 100% --window 01:00-05:00 --rate 10/min --max-silent 100% --now ${day}T00:00:00Z >/dev/null ||
    fail "create w1"
fl rollout plan w1 --json --now ${day}T00:00:00Z >"$work/plan-w1.json" || fail "plan w1"
check_golden plan-w1.json
fl --color=never rollout plan w1 --now ${day}T00:00:00Z >"$work/plan-w1.txt" || fail "plan w1 (text)"
check_golden plan-w1.txt
fl rollout start w1 --now ${day}T00:00:00Z >/dev/null || fail "start w1"
[ "$(count_of w1 offered)" -eq 0 ] || fail "offers outside the window"
show_json w1 | grep -q '"hold":	"outside its windows; next opens Tue 01:00"' || fail "no word of the window: $(fl rollout show w1)"
[ -z "$(held)" ] || fail "flotad holds assignments before the window opens"

out=$(fl rollout tick --dry-run --now ${day}T01:30:00Z) || fail "dry run"
echo "$out" | grep -q '(dry run: would offer 10)' || fail "the dry run does not say what it would do: $out"
[ "$(count_of w1 offered)" -eq 0 ] || fail "a dry run made offers"
[ -z "$(held)" ] || fail "a dry run changed flotad's assignments"
fl rollout tick --now ${day}T01:30:00Z >/dev/null || fail "tick in the window"
[ "$(count_of w1 offered)" -eq 10 ] || fail "$(count_of w1 offered) offered in the first minute, the rate is 10"
fl rollout tick --now ${day}T01:30:59Z >/dev/null || fail "tick"
[ "$(count_of w1 offered)" -eq 10 ] || fail "more than 10 offers within a minute"
[ "$(held)" = "$(offered_ids w1)" ] || fail "flotad's assignments differ from the offers"
fl rollout tick --now ${day}T01:31:30Z >/dev/null || fail "tick"
[ "$(count_of w1 offered)" -eq 20 ] || fail "$(count_of w1 offered) offered after the second minute"
fl rollout tick --now ${day}T05:10:00Z >/dev/null || fail "tick after the window"
[ "$(count_of w1 offered)" -eq 20 ] || fail "offers after the window closed"
fl rollout show w1 --json --now ${day}T05:10:00Z >"$work/show-w1.json"
check_golden show-w1.json
fl rollout list --json >"$work/list.json"
check_golden list.json
fl rollout history w1 --json >"$work/history-w1.json"
check_golden history-w1.json
# the feed may still bring the fleet's last polls: the count of check-ins read is not compared
fl rollout tick --json --now ${day}T05:20:00Z | sed 's/"checkins":	[0-9]*/"checkins":	<n>/' >"$work/tick.json"
check_golden tick.json
echo "ok: window and rate"

# ---- the lock ----
(flock -x "$work/inventory.db.lock" sleep 5) &
locker=$!
pids="$pids $locker"
wait_for 5 sh -c "! flock -n -x '$work/inventory.db.lock' true" || fail "the test could not take the lock"
set +e
out=$(fl rollout tick --wait 0 --now ${day}T01:40:00Z 2>&1)
code=$?
set -e
[ "$code" -eq 1 ] || fail "a tick with the lock held exits $code"
echo "$out" | grep -q 'another flota holds the rollout lock' || fail "no word of the lock: $out"
kill "$locker" 2>/dev/null || true
wait "$locker" 2>/dev/null || true
[ "$(count_of w1 offered)" -eq 20 ] || fail "a tick that did not get the lock made offers"

# two ticks at once: one waits for the other, the minute's offers are made once
fl rollout tick --now ${day}T01:45:00Z >"$work/t1.out" 2>&1 &
a=$!
fl rollout tick --now ${day}T01:45:00Z >"$work/t2.out" 2>&1 &
b=$!
wait "$a" || fail "first of two ticks: $(cat "$work/t1.out")"
wait "$b" || fail "second of two ticks: $(cat "$work/t2.out")"
[ "$(count_of w1 offered)" -eq 30 ] || fail "two ticks together offered $(( $(count_of w1 offered) - 20 )), not 10"
[ "$(held)" = "$(offered_ids w1)" ] || fail "flotad's assignments differ from the offers after two ticks"
echo "ok: lock"

# ---- reconciliation in both directions ----
pending=$(sqlite3 "$work/inventory.db" "SELECT device_id FROM rollout_devices WHERE state = 0 LIMIT 1")
taken=$(offered_ids w1 | head -n 1)
api POST /assignments -d "{\"release\": 2, \"devices\": [\"$pending\"]}" >/dev/null
api DELETE /assignments -d "{\"devices\": [\"$taken\"]}" >/dev/null
fl rollout tick --now ${day}T01:45:10Z >/dev/null || fail "repair tick"
[ "$(held)" = "$(offered_ids w1)" ] || fail "the tick did not repair flotad's assignments"
echo "ok: reconciled"

# ---- killed ticks ----
fl rollout create k1 --release 2 --waves 100% --rate 7/min --max-silent 100% --now ${day}T00:00:00Z >/dev/null || fail "create k1"
fl rollout abort w1 --now ${day}T00:00:00Z >/dev/null || fail "abort w1"
fl rollout start k1 --now ${day}T10:00:00Z >/dev/null || fail "start k1"
fl rollout plan k1 --json --now ${day}T10:00:00Z | tr -d '\n\t ' | sed 's/.*"devices":\[\([^]]*\)\].*/\1/' |
    tr ',' '\n' | tr -d '"' >"$work/order"
base=$(date -u -d ${day}T10:00:00Z +%s)
round=1 landed=0
while [ "$round" -le 20 ]; do
    now=$((base + round * 60))
    fl rollout tick --now "$now" >/dev/null 2>&1 &
    victim=$!
    # kill at a random moment of the tick (0-9 ms in; a tick here takes a few ms)
    sleep "0.00$(od -An -N1 -tu1 /dev/urandom | tr -d ' ' | cut -c1)"
    kill -9 "$victim" 2>/dev/null || true
    code=0
    wait "$victim" 2>/dev/null || code=$?
    [ "$code" -ne 137 ] || landed=$((landed + 1))
    fl rollout tick --now "$now" >/dev/null 2>&1 || fail "round $round: the tick after a kill failed"
    want=$(( (round + 1) * 7 ))
    [ "$want" -le 100 ] || want=100
    got=$(count_of k1 offered)
    [ "$got" -eq "$want" ] || fail "round $round: $got offered, $want expected"
    # the same devices an uninterrupted run offers: the first ones in hash order
    head -n "$want" "$work/order" | sort >"$work/expect"
    sqlite3 "$work/inventory.db" "SELECT device_id FROM rollout_devices d JOIN rollouts r ON r.id = d.rollout_id
        WHERE r.name = 'k1' AND d.state != 0 ORDER BY device_id" >"$work/got"
    diff -q "$work/expect" "$work/got" >/dev/null || fail "round $round: offered other devices than the hash order says"
    held >"$work/held"
    diff -q "$work/got" "$work/held" >/dev/null || fail "round $round: flotad holds other assignments than the offers"
    round=$((round + 1))
done
[ "$landed" -gt 0 ] || fail "no kill landed while a tick ran: the kill moments need to be earlier"
echo "ok: 20 rounds, $landed ticks killed mid-way, no offer lost or duplicated"

# ---- an unreachable server: the tick fails (exit 1) and changes nothing ----
before=$(sqlite3 "$work/inventory.db" "SELECT group_concat(device_id || state || offered_at) FROM rollout_devices")
kill "$flotad_pid"
wait "$flotad_pid" 2>/dev/null || true
set +e
out=$(fl rollout tick --now "$((base + 40 * 60))" 2>&1)
code=$?
set -e
[ "$code" -eq 1 ] || fail "a tick without its server exits $code"
echo "$out" | grep -q "^flota: rollout tick: " || fail "no one-line error without a server: $out"
[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "more than one line without a server: $out"
after=$(sqlite3 "$work/inventory.db" "SELECT group_concat(device_id || state || offered_at) FROM rollout_devices")
[ "$before" = "$after" ] || fail "a tick without its server changed the rollouts"
echo "ok: an unreachable server changes nothing"
