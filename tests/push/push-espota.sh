#!/bin/sh
# SPDX-License-Identifier: MIT
# flota push over espota against flota-sim devices on 127.0.0.x: each outcome (ok, wrong
# password, refused, no answer, a corrupted transfer, a dropped link, a stall), filesystem
# images, the ESP32 3.3.1+ authentication, --devices with --parallel and the --json result
# against its golden file, and the audit log.
. "$(dirname "$0")/common.sh"

"$FLOTA_SIM" mkimage --version 2.0.0 --size 300K -o "$work/app.bin"
head -c 100000 /dev/urandom >"$work/fs.bin"
config '[push]' 'password = sekrit'

# 7 devices: 0 mute, 1 refuse, 2 corrupt, 3 drop, 4 stall, 5 and 6 healthy
ota fleet --ota espota --devices 7 --ota-password sekrit --ota-mute 0.143 --ota-refuse 0.143 \
    --ota-corrupt 0.143 --ota-drop 0.143 --ota-stall 0.143 --json
wait_udp 127.0.0.7

: >"$work/list"
for i in 1 2 3 4 5 6; do echo "127.0.0.$i:$PORT" >>"$work/list"; done
set +e
push --devices "$work/list" "$work/app.bin" --parallel 3 --phase-timeout 3 --json >"$work/all.json" 2>"$work/all.err"
code=$?
set -e
[ "$code" -eq 1 ] || fail "a run with failures exits $code, not 1"
for want in "1 no-answer" "2 refused" "3 upload-failed" "4 upload-failed" "5 timeout" "6 ok"; do
    set -- $want
    got=$(outcome_of "$work/all.json" "127.0.0.$1:$PORT")
    [ "$got" = "$2" ] || fail "127.0.0.$1: $got, not $2: $(cat "$work/all.json")"
done
grep -q '"message":	"ERR: Not Enough Space"' "$work/all.json" || fail "the refusal's words are lost"
grep -q '"message":	"ERROR\[7\]: MD5 verification failed"' "$work/all.json" || fail "the MD5 failure's words are lost"
echo "ok: every espota outcome"

# the golden file: times and the run's port blanked out
sed -e 's/"seconds":	[0-9.]*/"seconds":	0/' -e "s/:$PORT\"/:PORT\"/" -e "s/\"port\":	$PORT/\"port\":	0/" \
    "$work/all.json" >"$work/all.golden"
[ -z "${FLOTA_UPDATE_GOLDEN:-}" ] || cp "$work/all.golden" "$(dirname "$0")/golden/push-devices.json"
diff -u "$(dirname "$0")/golden/push-devices.json" "$work/all.golden" || fail "--json differs from the golden file"
echo "ok: --json golden"

# the wrong password for one device (password.<address> overrides password)
config '[push]' 'password = sekrit' 'password.127.0.0.7 = wrong'
set +e
push "127.0.0.7:$PORT" "$work/app.bin" --json >"$work/wrong.json"
set -e
[ "$(outcome_of "$work/wrong.json" "127.0.0.7:$PORT")" = auth-failed ] || fail "wrong password: $(cat "$work/wrong.json")"
grep -q '"message":	"Authentication Failed"' "$work/wrong.json" || fail "the device's words are lost"
echo "ok: wrong password is auth-failed"

# a filesystem image (command 100): the device counts it as such
config '[push]' 'password = sekrit'
push "127.0.0.7:$PORT" --filesystem "$work/fs.bin" --json >"$work/fs.json" || fail "fs push: $(cat "$work/fs.json")"
[ "$(outcome_of "$work/fs.json" "127.0.0.7:$PORT")" = ok ] || fail "fs push: $(cat "$work/fs.json")"
grep -q '"kind":	"filesystem"' "$work/fs.json" || fail "not a filesystem push"
# a random file is no firmware image: refused before anything is sent
set +e
push "127.0.0.7:$PORT" "$work/fs.bin" 2>"$work/notimage.err"
code=$?
set -e
[ "$code" -eq 1 ] && grep -q 'is not a firmware image' "$work/notimage.err" || fail "a non-image was not refused"
stop_sim fleet
stats=$(sim_json fleet)
echo "$stats" | tr -d '\n\t ' | grep -q '"ota":{"sketch":1,"filesystem":1' || fail "the fleet counted: $stats"
echo "ok: filesystem image"

# ESP32 core 3.3.1+: a 64-hex nonce, answered with the SHA-256 scheme
ota sha --ota espota --devices 2 --ota-password sekrit --ota-auth sha256 --mix esp32=1 --json
wait_udp 127.0.0.2
push "127.0.0.1:$PORT" "$work/app.bin" --json >"$work/sha.json" || fail "sha push: $(cat "$work/sha.json")"
grep -q '"auth":	"sha256"' "$work/sha.json" || fail "the SHA-256 challenge went unnoticed"
config '[push]' 'password = wrong'
set +e
push "127.0.0.2:$PORT" "$work/app.bin" --json >"$work/sha-wrong.json"
set -e
[ "$(outcome_of "$work/sha-wrong.json" "127.0.0.2:$PORT")" = auth-failed ] || fail "sha wrong password: $(cat "$work/sha-wrong.json")"
stop_sim sha
echo "ok: ESP32 3.3.1+ authentication"

# on a terminal: a progress bar on stderr, the table on stdout (script(1) gives it a pty)
config '[push]' 'password = sekrit'
ota tty --ota espota --devices 1 --ota-password sekrit --ota-addr-base 127.0.0.30
wait_udp 127.0.0.30
script -qec "$FLOTA --db $work/inventory.db -c $work/config push 127.0.0.30:$PORT $work/app.bin" /dev/null \
    >"$work/tty.out" 2>&1 || fail "push on a terminal: $(cat "$work/tty.out")"
grep -q '\[####################\] 100%' "$work/tty.out" || fail "no progress bar: $(cat "$work/tty.out")"
grep -q 'OUTCOME' "$work/tty.out" || fail "no table: $(cat "$work/tty.out")"
stop_sim tty
echo "ok: progress bar on a terminal"

# every push is in the audit log
n=$("$FLOTA" --db "$work/inventory.db" audit --limit 100 | grep -c 'push' || true)
[ "$n" -ge 10 ] || fail "the audit log holds $n pushes"
echo "ok: audit log"
