#!/bin/sh
# SPDX-License-Identifier: MIT
# flota push to web updaters served by flota-sim on 127.0.0.x: the stock HTTPUpdateServer page
# and the ESP32 WebServer + Update example both answer 200 when the update failed, and flota
# reads the failure from the body; Basic credentials (wrong ones: auth-failed), no updater at
# the path (refused), nothing listening (no-answer), a dropped link, a stall (timeout).
. "$(dirname "$0")/common.sh"

"$FLOTA_SIM" mkimage --version 3.0.0 --size 200K -o "$work/app.bin"
config '[push]' 'password = sekrit' 'web-user = ops'

# stock pages, 6 devices: 0 nothing listens, 1 corrupt, 2 drop, 3 stall, 4 and 5 healthy
ota stock --ota web --devices 6 --ota-password sekrit --ota-user ops --ota-mute 0.167 --ota-corrupt 0.167 \
    --ota-drop 0.167 --ota-stall 0.167 --json
wait_tcp 127.0.0.6
: >"$work/list"
for i in 1 2 3 4 5; do echo "127.0.0.$i:$PORT" >>"$work/list"; done
set +e
push --devices "$work/list" "$work/app.bin" --transport web --parallel 5 --phase-timeout 3 --json >"$work/stock.json"
code=$?
set -e
[ "$code" -eq 1 ] || fail "a run with failures exits $code"
for want in "1 no-answer" "2 upload-failed" "3 upload-failed" "4 timeout" "5 ok"; do
    set -- $want
    got=$(outcome_of "$work/stock.json" "127.0.0.$1:$PORT")
    [ "$got" = "$2" ] || fail "127.0.0.$1: $got, not $2: $(cat "$work/stock.json")"
done
grep -q '"message":	"Update error: ERROR\[10\]: Magic byte is not 0xE9"' "$work/stock.json" ||
    fail "the stock page's failure (with 200) was not read: $(cat "$work/stock.json")"
grep -q '"http_status":	200' "$work/stock.json" || fail "no 200 recorded"
echo "ok: stock updater outcomes, failure with 200"

# wrong credentials, then no updater at the path
config '[push]' 'password = sekrit' 'web-user = ops' 'password.127.0.0.6 = wrong'
set +e
push "127.0.0.6:$PORT" "$work/app.bin" --transport web --json >"$work/wrong.json"
set -e
[ "$(outcome_of "$work/wrong.json" "127.0.0.6:$PORT")" = auth-failed ] || fail "wrong password: $(cat "$work/wrong.json")"
wait_tcp 127.0.0.5
set +e
push "127.0.0.5:$PORT" "$work/app.bin" --transport web --path /nowhere --json >"$work/path.json"
set -e
[ "$(outcome_of "$work/path.json" "127.0.0.5:$PORT")" = refused ] || fail "wrong path: $(cat "$work/path.json")"
# the path from the config: web-path
config '[push]' 'password = sekrit' 'web-user = ops' 'web-path = /elsewhere'
set +e
push "127.0.0.5:$PORT" "$work/app.bin" --transport web --json >"$work/path2.json"
set -e
[ "$(outcome_of "$work/path2.json" "127.0.0.5:$PORT")" = refused ] || fail "web-path: $(cat "$work/path2.json")"
grep -q 'HTTP 404' "$work/path2.json" || fail "web-path: $(cat "$work/path2.json")"
# the filesystem form field
config '[push]' 'password = sekrit' 'web-user = ops'
push "127.0.0.6:$PORT" --filesystem "$work/app.bin" --transport web >/dev/null || fail "fs push failed"
stop_sim stock
stats=$(sim_json stock)
echo "$stats" | tr -d '\n\t ' | grep -q '"ota":{"sketch":1,"filesystem":1,"auth_failed":1' || fail "the fleet counted: $stats"
echo "ok: credentials, path, filesystem"

# the ESP32 WebServer + Update example: "FAIL" / "OK" as text/plain, 200 both. On a port of
# its own: the first fleet's connections on 127.0.0.x:PORT may outlive it in the kernel (a
# stalled one above), and a listener cannot take their address back until they are gone
PORT=$((PORT + 1))
ota example --ota web --ota-updater example --devices 2 --ota-corrupt 0.5 --json
wait_tcp 127.0.0.2
set +e
push --devices - "$work/app.bin" --transport web --json >"$work/example.json" <<EOT
127.0.0.1:$PORT
127.0.0.2:$PORT
EOT
set -e
[ "$(outcome_of "$work/example.json" "127.0.0.1:$PORT")" = upload-failed ] || fail "example FAIL: $(cat "$work/example.json")"
grep -q '"message":	"FAIL"' "$work/example.json" || fail "the example's FAIL is lost"
[ "$(outcome_of "$work/example.json" "127.0.0.2:$PORT")" = ok ] || fail "example OK: $(cat "$work/example.json")"
echo "ok: the WebServer + Update example's pages"

# a second fleet on addresses the first holds: refused with a clear error, and a clean exit
set +e
"$FLOTA_SIM" --ota web --ota-port "$PORT" --devices 2 --duration 1 >"$work/clash.log" 2>&1
status=$?
set -e
[ "$status" = 1 ] || fail "a fleet that cannot listen exited $status: $(cat "$work/clash.log")"
grep -q "cannot listen on 127.0.0.1:$PORT: Address already in use" "$work/clash.log" ||
    fail "no clear error: $(cat "$work/clash.log")"
echo "ok: a fleet that cannot listen says so"
