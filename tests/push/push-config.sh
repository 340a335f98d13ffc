#!/bin/sh
# SPDX-License-Identifier: MIT
# flota push's configuration and bad input: a config file with passwords that others can read
# is refused (for group and for others), --password-from, a device asking for a password when
# none is configured, names that are neither devices nor addresses, a list with one bad entry
# (nothing is pushed), and usage errors.
. "$(dirname "$0")/common.sh"

"$FLOTA_SIM" mkimage --version 2.0.0 --size 64K -o "$work/app.bin"
ota fleet --ota espota --devices 2 --ota-password sekrit --json
wait_udp 127.0.0.2

expect() {
    want=$1 pattern=$2
    shift 2
    set +e
    "$@" >"$work/out" 2>"$work/err"
    code=$?
    set -e
    [ "$code" -eq "$want" ] || fail "$* exits $code, not $want: $(cat "$work/err")"
    [ -z "$pattern" ] || grep -q -- "$pattern" "$work/err" || fail "$*: no '$pattern' in: $(cat "$work/err")"
}

# passwords readable by others, by the group: refused; 600: used
config '[push]' 'password = sekrit'
chmod 644 "$work/config"
expect 2 "holds push passwords and others can read it" push "127.0.0.1:$PORT" "$work/app.bin"
chmod 640 "$work/config"
expect 2 "holds push passwords and others can read it" push "127.0.0.1:$PORT" "$work/app.bin"
# a readable config without passwords is fine
printf '[push]\nweb-user = ops\n' >"$work/config"
chmod 644 "$work/config"
expect 1 "" push "127.0.0.1:$PORT" "$work/app.bin" --json
[ "$(outcome_of "$work/out" "127.0.0.1:$PORT")" = auth-failed ] || fail "no password: $(cat "$work/out")"
grep -q 'asks for a password and none is configured' "$work/out" || fail "no password: $(cat "$work/out")"
echo "ok: permissions, no password"

# unknown settings, --password-from
config '[push]' 'passwd = x'
expect 2 "unknown \[push\] setting 'passwd'" push "127.0.0.1:$PORT" "$work/app.bin"
config '[push]' 'password = wrong' 'password.lab = sekrit'
expect 1 "the config has no \[push\] password.nope" push "127.0.0.1:$PORT" "$work/app.bin" --password-from password.nope
expect 0 "" push "127.0.0.1:$PORT" "$work/app.bin" --password-from password.lab
echo "ok: settings, --password-from"

# names that are no device, a list with one of them: nothing is pushed
expect 1 "is neither a device in the inventory nor an address" push "10.0.0.1:http" "$work/app.bin"
expect 1 "is neither a device in the inventory nor an address" push "127.0.0.1:0" "$work/app.bin"
expect 1 "cannot resolve 'no-such-host.invalid'" push "no-such-host.invalid" "$work/app.bin"
expect 1 "no device 18:FE:34:00:00:01 in the inventory" push "18fe34000001" "$work/app.bin"
printf '127.0.0.2:%s\n# a comment\n\nno-such-host.invalid\n' "$PORT" >"$work/list"
expect 1 "cannot resolve" push --devices "$work/list" "$work/app.bin"
: >"$work/empty"
expect 1 "lists no device" push --devices "$work/empty" "$work/app.bin"
stop_sim fleet
stats=$(sim_json fleet)
echo "$stats" | tr -d '\n\t ' | grep -q '"ota":{"sketch":1,' || fail "the fleet counted: $stats"
echo "ok: bad names push nothing"

# usage errors
expect 2 "expects DEVICE FILE" push "127.0.0.1:$PORT"
expect 2 "--parallel expects 1 to 256" push --parallel 0 "127.0.0.1:$PORT" "$work/app.bin"
expect 2 "--transport expects espota or web" push --transport pull "127.0.0.1:$PORT" "$work/app.bin"
expect 2 "--path expects an absolute path" push --path update "127.0.0.1:$PORT" "$work/app.bin"
expect 1 "cannot read" push "127.0.0.1:$PORT" "$work/missing.bin"
echo "ok: usage errors"
