#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs dependencies, builds flota and shows flotad answering real ESP8266 update polls:
# a private flotad on 127.0.0.1 with a sample product and two releases, and curl sending
# the exact headers of the ESP8266 core. flotad keeps running until Ctrl-C when run on a
# terminal (so you can try it yourself); without a terminal it stops when the demo ends.
# Environment: FLOTA_DEMO_PORT (default 8070), BUILD_DIR.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
export BUILD_DIR="$build"
port=${FLOTA_DEMO_PORT:-8070}
url="http://127.0.0.1:$port"

sh "$top/share/dev/deps.sh"
echo "flota: building in $build"
sh "$top/share/dev/build.sh"
flotad="$build/src/server/flotad"
sim="$build/src/sim/flota-sim"

work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*"; }

step "start flotad on $url (data in a temporary directory)"
token=$("$flotad" --data-dir "$work/data" token create demo --role admin 2>/dev/null)
"$flotad" --data-dir "$work/data" --listen "127.0.0.1:$port" 2>"$work/flotad.log" &
pid=$!
i=0
until curl -sf "$url/healthz" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -gt 50 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "flotad did not start:" >&2
        cat "$work/flotad.log" >&2
        exit 1
    fi
    sleep 0.1
done
cat "$work/flotad.log"

api() {
    method=$1 path=$2
    shift 2
    curl -sS -X "$method" -H "Authorization: Bearer $token" "$@" "$url$path"
}

step "create a product and upload two releases (synthetic ESP8266 images)"
"$sim" mkimage --size 300K --version 1.0.0 -o "$work/door-1.0.0.bin"
"$sim" mkimage --size 310K --version 1.1.0 -o "$work/door-1.1.0.bin"
show "curl -X POST -d '{\"name\":\"door\"}' $url/api/v1/products"
api POST /api/v1/products -d '{"name":"door"}'
show "curl --data-binary @door-1.0.0.bin '$url/api/v1/releases?product=door&version=1.0.0'"
api POST "/api/v1/releases?product=door&version=1.0.0" --data-binary "@$work/door-1.0.0.bin"
api POST "/api/v1/releases?product=door&version=1.1.0" --data-binary "@$work/door-1.1.0.bin" >/dev/null
show "curl -X PUT -d '{\"release\":1}' $url/api/v1/channels/door/stable"
api PUT /api/v1/channels/door/stable -d '{"release":1}'

poll() {
    # the request an ESP8266 running $1 sends (ESPhttpUpdate.update(client, url, "$1"))
    curl -sS -o /dev/null -D - --http1.0 "$url/update/door" \
        -H 'User-Agent: ESP8266-http-Update' -H 'Connection: close' \
        -H 'x-ESP8266-Chip-ID: 15602487' -H 'x-ESP8266-STA-MAC: DE:BA:7A:B1:E0:42' \
        -H 'x-ESP8266-AP-MAC: DE:BA:7A:B1:E0:42' -H 'x-ESP8266-free-space: 1040384' \
        -H 'x-ESP8266-sketch-size: 300000' -H "x-ESP8266-sketch-md5: $2" \
        -H 'x-ESP8266-chip-size: 4194304' -H 'x-ESP8266-sdk-version: 2.2.2-dev(38a443e)' \
        -H 'x-ESP8266-mode: sketch' -H "x-ESP8266-version: $1" | tr -d '\r' | grep -E '^(HTTP|Content-Length|x-MD5)'
}

step "a device running 0.9.0 polls: 200 and the 1.0.0 image"
poll 0.9.0 0537061f98e956f58721a59bb6fa476e
step "the same device after flashing 1.0.0 polls again: 304, nothing to do"
poll 1.0.0 "$(md5sum "$work/door-1.0.0.bin" | cut -d' ' -f1)"
step "promote 1.1.0 to stable: the device is offered 1.1.0"
api PUT /api/v1/channels/door/stable -d '{"release":2}' >/dev/null
poll 1.0.0 "$(md5sum "$work/door-1.0.0.bin" | cut -d' ' -f1)"

sleep 0.3
step "every poll is a check-in with the answer and the reason"
show "curl $url/api/v1/checkins"
api GET /api/v1/checkins | sed 's/},{/},\n{/g' | sed -E 's/.*"version":"([^"]*)".*"status":([0-9]+),"reason":"([^"]*)".*/  device ran \1 -> \2 (\3)/'

step "a simulated fleet of 50 devices on 0.9.0 and 1.0.0 updates itself to 1.1.0"
show "flota-sim --server $url --devices 50 --product door --versions 0.9.0=30,1.0.0=70 --interval 1 --until-version 1.1.0"
"$sim" --server "$url" --devices 50 --product door --versions 0.9.0=30,1.0.0=70 --interval 1 --jitter \
    --until-version 1.1.0 --duration 30
sleep 0.3
show "curl $url/api/v1/devices?version=1.1.0"
echo "  $(api GET "/api/v1/devices?version=1.1.0&limit=1000" | grep -o '"id":' | wc -l) devices report 1.1.0 to flotad"

if [ -t 0 ] && [ -t 1 ]; then
    step "flotad keeps running on $url — try it; Ctrl-C stops it and removes the demo data"
    echo "API token: $token"
    echo "  curl -H 'Authorization: Bearer $token' $url/api/v1/devices"
    echo "  curl $url/metrics"
    wait "$pid"
fi
