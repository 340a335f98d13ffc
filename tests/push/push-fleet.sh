#!/bin/sh
# SPDX-License-Identifier: MIT
# 200 simulated devices pushed in parallel (--parallel 16), with faults on a quarter of them,
# over espota and over the web updater: every device gets the outcome its fault calls for,
# and every push is in the audit log.
. "$(dirname "$0")/common.sh"

"$FLOTA_SIM" mkimage --version 4.0.0 --size 64K -o "$work/app.bin"
config '[push]' 'password = sekrit'

count() {
    grep -c "\"outcome\":	\"$2\"" "$1" || true
}

for transport in espota web; do
    # devices 0-9 mute, 10-19 refuse, 20-29 corrupt, 30-39 drop, 40-49 stall, 50-199 healthy
    ota "$transport" --ota "$transport" --devices 200 --ota-password sekrit --ota-mute 0.05 --ota-refuse 0.05 \
        --ota-corrupt 0.05 --ota-drop 0.05 --ota-stall 0.05 --json
    "$FLOTA_SIM" --list --ota "$transport" --devices 200 | cut -f 6 | sed "s/\$/:$PORT/" >"$work/list"
    if [ "$transport" = web ]; then wait_tcp 127.0.0.200; else wait_udp 127.0.0.200; fi
    set +e
    push --devices "$work/list" "$work/app.bin" --transport "$transport" --parallel 16 --phase-timeout 5 \
        --json >"$work/$transport.json"
    set -e
    refused=10 failed=20
    # a web updater that runs out of room says so with 200 and its failure text
    [ "$transport" = espota ] || { refused=0 failed=30; }
    for want in "no-answer 10" "refused $refused" "upload-failed $failed" "timeout 10" "ok 150"; do
        set -- $want
        got=$(count "$work/$transport.json" "$1")
        [ "$got" -eq "$2" ] || { grep -B8 -A6 "\"timeout\"" "$work/$transport.json" | grep -E "device|message|bytes" >&2; fail "$transport: $got $1, not $2"; }
    done
    # the outcome follows the fault of each device (the list is in index order)
    [ "$(outcome_of "$work/$transport.json" "$(sed -n 5p "$work/list")")" = no-answer ] || fail "$transport: device 4"
    [ "$(outcome_of "$work/$transport.json" "$(sed -n 45p "$work/list")")" = timeout ] || fail "$transport: device 44"
    [ "$(outcome_of "$work/$transport.json" "$(sed -n 200p "$work/list")")" = ok ] || fail "$transport: device 199"
    stop_sim "$transport"
    echo "ok: 200 devices over $transport"
done
n=$("$FLOTA" --db "$work/inventory.db" audit --limit 1000 | grep -c ' push ' || true)
[ "$n" -eq 400 ] || fail "the audit log holds $n pushes, not 400"
echo "ok: 400 pushes in the audit log"
