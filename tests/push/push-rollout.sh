#!/bin/sh
# SPDX-License-Identifier: MIT
# A rollout with --transport espota: each wave's devices are pushed the release's image by the
# tick (the devices answer espota and also poll flotad, which is how their new version is
# seen); a push that fails makes its device failed with the outcome as the reason; flotad is
# assigned nothing. An image that is not the release is refused.
. "$(dirname "$0")/common.sh"

start_flotad flotad
api POST /products -d '{"name":"demo"}' >/dev/null
release demo 2.0.0
"$FLOTA_SIM" mkimage --version 2.0.1 -o "$work/other.bin"
config '[push]' 'password = sekrit'

# 10 devices; device 0's transfers arrive corrupted
ota fleet --server "$SERVER" --ota espota --devices 10 --interval 1 --ota-password sekrit --ota-corrupt 0.1 --seed 5
wait_udp 127.0.0.10
ingest_until 30 10
rl() {
    "$FLOTA" --db "$work/inventory.db" -c "$work/config" rollout "$@"
}
set +e
rl create bad --release 1 --transport espota >/dev/null 2>"$work/bad.err"
code=$?
set -e
[ "$code" -ne 0 ] && grep -q 'give the release.s image' "$work/bad.err" || fail "a push rollout without an image was taken"
rl create other --release 1 --transport espota --image "$work/other.bin" --push-port "$PORT" --waves 100% \
    --min-sample 1 >/dev/null || fail "create other"
set +e
rl start other >"$work/other.out" 2>"$work/other.err"
set -e
grep -q 'is not release 1 (its MD5 differs)' "$work/other.err" ||
    fail "another image was pushed: $(cat "$work/other.out" "$work/other.err")"
rl abort other >/dev/null 2>&1 || true
rl create r1 --release 1 --transport espota --image "$work/demo-2.0.0.bin" --push-port "$PORT" --parallel 4 \
    --waves 50%,100% --soak 1s --min-sample 1 --max-failure 20% --min-success 80% >/dev/null || fail "create r1"
rl start r1 >/dev/null || fail "start r1"
deadline=$(($(now_ms) + 30000))
while :; do
    rl tick >>"$work/ticks.out" 2>>"$work/ticks.log" || true
    s=$(rl show r1 --json | sed -n 's/^	"state":	"\(.*\)",$/\1/p')
    [ "$s" = completed ] || [ "$s" = halted ] && break
    [ "$(now_ms)" -lt "$deadline" ] || { rl show r1; rl history r1; tail -5 "$work/ticks.out"; fail "r1 is still $s"; }
    sleep 0.2
done
[ "$s" = completed ] || fail "r1 ended $s: $(rl show r1)"
counts=$(rl show r1 --json | tr -d '\n\t ')
echo "$counts" | grep -q '"updated":9' || fail "not 9 updated: $counts"
echo "$counts" | grep -q '"failed":1' || fail "not 1 failed: $counts"
rl history r1 | grep -q 'pushed' || fail "no push in the history: $(rl history r1)"
# flotad was assigned nothing: the devices were pushed, not told to pull
assigned=$(api GET "/assignments?release=1" | tr -d '\n\t ')
echo "$assigned" | grep -q '"release":1' || fail "no assignment list: $assigned"
! echo "$assigned" | grep -q '18:FE' || fail "flotad holds assignments: $assigned"
echo "ok: a push rollout updated 9 devices and failed the one whose transfer broke"

# the rate limit holds the pushes too: 3 a minute
release demo 2.0.2
rl create r2 --release 2 --transport espota --image "$work/demo-2.0.2.bin" --push-port "$PORT" --parallel 2 \
    --waves 100% --rate 3/min --min-sample 1 >/dev/null || fail "create r2"
rl start r2 >/dev/null || fail "start r2"
rl tick >/dev/null 2>&1 || true
rl tick >/dev/null 2>&1 || true
rl history r2 | grep -q 'wave 1: pushed 3 devices over espota' || fail "not 3 pushes: $(rl history r2)"
[ "$(rl history r2 | grep -c 'pushed')" -eq 1 ] || fail "more pushes within the minute: $(rl history r2)"
echo "ok: the rate limit holds the pushes"

# flota push --release: the image comes from flotad (checked against the release's size and
# MD5); a release flotad does not have is an error, and so is an image that is not the release's
push "127.0.0.9:$PORT" --release 2 --json >"$work/rel.json" 2>"$work/rel.err" || fail "push --release: $(cat "$work/rel.err")"
[ "$(outcome_of "$work/rel.json" "127.0.0.9:$PORT")" = ok ] || fail "push --release: $(cat "$work/rel.json")"
fl audit | grep -q 'release 2 (demo 2.0.2)' || fail "the push of release 2 is not in the audit log: $(fl audit)"
set +e
push "127.0.0.9:$PORT" --release 99 >/dev/null 2>"$work/rel99.err"
code=$?
set -e
[ "$code" -eq 1 ] && grep -q 'not found' "$work/rel99.err" || fail "release 99: exit $code, $(cat "$work/rel99.err")"
sha=$(api GET /releases/2 | tr -d '\n\t ' | sed -n 's/.*"sha256":"\([0-9a-f]*\)".*/\1/p')
img=$(find "$work/flotad" -name "$sha" -type f | head -n 1)
[ -n "$img" ] || fail "no image file for release 2 under $work/flotad"
printf 'x' | dd of="$img" bs=1 seek=100 conv=notrunc 2>/dev/null
set +e
push "127.0.0.9:$PORT" --release 2 >/dev/null 2>"$work/relbad.err"
code=$?
set -e
[ "$code" -eq 1 ] && grep -q "size or MD5 is not the release's" "$work/relbad.err" ||
    fail "a changed image file was pushed: exit $code, $(cat "$work/relbad.err")"
echo "ok: push --release fetches the release's image and refuses one that is not it"
