# SPDX-License-Identifier: MIT
# Shared by the rollout tests: a real flotad on 127.0.0.1 (port chosen by the kernel), an
# admin token, products and releases made with flota-sim mkimage, flota-sim fleets, and
# bounded waits. Everything started is stopped by pid when the test exits.
set -eu

FLOTAD=${FLOTAD:?FLOTAD must point at flotad}
FLOTA=${FLOTA:?FLOTA must point at flota}
FLOTA_SIM=${FLOTA_SIM:?FLOTA_SIM must point at flota-sim}
export TZ=UTC

work=$(mktemp -d "${TMPDIR:-/tmp}/flota-rollout.XXXXXX")
pids=""

cleanup() {
    for p in $pids; do
        kill "$p" 2>/dev/null || true
    done
    for p in $pids; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    for f in "$work"/*.log; do
        [ -f "$f" ] || continue
        echo "--- $f" >&2
        tail -n 20 "$f" >&2
    done
    exit 1
}

now_ms() {
    date +%s%3N
}

# wait_for SECONDS COMMAND...: runs COMMAND every 200 ms until it succeeds or time runs out
wait_for() {
    limit=$1
    shift
    deadline=$(($(now_ms) + limit * 1000))
    while ! "$@"; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# start_flotad NAME: a flotad with its own data directory (FLOTAD_ARGS: more options); sets SERVER and TOKEN
start_flotad() {
    name=$1
    TOKEN=$("$FLOTAD" --data-dir "$work/$name" token create ops --role admin 2>"$work/$name-token.log")
    # shellcheck disable=SC2086
    "$FLOTAD" --data-dir "$work/$name" --listen 127.0.0.1:0 ${FLOTAD_ARGS:-} >"$work/$name.log" 2>&1 &
    pids="$pids $!"
    flotad_pid=$!
    flotad_log=$work/$name.log
    wait_for 20 grep -qs 'listening on http://' "$flotad_log" || fail "flotad did not come up"
    SERVER=$(sed -n 's|.*listening on \(http://[0-9.:]*\).*|\1|p' "$flotad_log" | head -n 1)
    export FLOTA_SERVER=$SERVER FLOTA_TOKEN=$TOKEN
}

api() {
    method=$1 path=$2
    shift 2
    curl -sS -f -X "$method" -H "Authorization: Bearer $TOKEN" "$@" "$SERVER/api/v1$path"
}

# release PRODUCT VERSION [PLATFORM]: uploads an image made by flota-sim; prints nothing
release() {
    "$FLOTA_SIM" mkimage --version "$2" --platform "${3:-esp8266}" -o "$work/$1-$2.bin"
    fl release upload "$work/$1-$2.bin" --product "$1" --version "$2" >/dev/null ||
        fail "upload of $1 $2 refused"
}

# sim NAME ARGS...: a flota-sim fleet in the background polling SERVER
sim() {
    name=$1
    shift
    "$FLOTA_SIM" --server "$SERVER" "$@" >"$work/$name.log" 2>&1 &
    pids="$pids $!"
    eval "sim_$name=$!"
}

stop_sim() {
    eval "p=\$sim_$1"
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
}

fl() {
    "$FLOTA" --db "$work/inventory.db" "$@"
}

# field NAME KEY: a counts field of 'rollout show --json' (a top-level string or a count)
show_json() {
    fl rollout show "$1" --json
}
state_of() {
    show_json "$1" | sed -n 's/^	"state":	"\(.*\)",$/\1/p'
}
count_of() {
    show_json "$1" | tr -d '\n\t ' | sed -n "s/.*\"counts\":{[^}]*\"$2\":\([0-9]*\).*/\1/p"
}

# tick_until SECONDS NAME STATE...: ticks every 200 ms until NAME is in one of the states
tick_until() {
    limit=$1 name=$2
    shift 2
    deadline=$(($(now_ms) + limit * 1000))
    while :; do
        fl rollout tick >>"$work/ticks.out" 2>>"$work/ticks.log" || true
        s=$(state_of "$name")
        for want in "$@"; do
            [ "$s" = "$want" ] && return 0
        done
        [ "$(now_ms)" -lt "$deadline" ] || fail "$name is still $s after ${limit}s (wanted $*)"
        sleep 0.2
    done
}

inventory_devices() {
    sqlite3 "$work/inventory.db" "SELECT count(*) FROM devices WHERE ${1:-1}" 2>/dev/null || echo 0
}

# ingest_until SECONDS N [PRODUCT]: follows flotad's feed until the inventory knows N devices (of PRODUCT)
ingest_until() {
    limit=$1 want=$2 where=1
    [ $# -lt 3 ] || where="product = '$3'"
    deadline=$(($(now_ms) + limit * 1000))
    while :; do
        fl ingest --from-server >/dev/null 2>>"$work/ingest.log" || true
        [ "$(inventory_devices "$where")" -ge "$want" ] && return 0
        [ "$(now_ms)" -lt "$deadline" ] ||
            fail "the inventory knows $(inventory_devices "$where") devices after ${limit}s, not $want"
        sleep 0.2
    done
}
