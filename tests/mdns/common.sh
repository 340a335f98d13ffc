# SPDX-License-Identifier: MIT
# Sourced by the tests of tests/mdns: a private mdns-env.sh test bed that is stopped on every
# way out (end, failure, SIGTERM from meson's timeout), and bounded waits on it.
#   mdns_setup            root check (exit 77), work dir, trap, "mdns-env.sh start"
#   on_devices CMD...     run CMD on the devices side (foreground)
#   on_manager CMD...     run CMD on the manager side
#   spawn SIDE LOG CMD... run CMD on side "devices" or "manager" in the background (output
#                         to LOG); its pid (the same process all along: sh, env, ip and CMD
#                         exec each other) is added to bg_pids and left in $spawned
#   manager_browse FILE   one "avahi-browse -rpt _arduino._tcp" on the manager side into FILE
#   fail MSG              print MSG and the logs, exit 1 (the trap cleans up)
# Background jobs in bg_pids are killed first.

# shellcheck shell=sh disable=SC2034 # variables for the sourcing test
here=$(cd "$(dirname "$0")" && pwd)
env_sh="$here/mdns-env.sh"
sim=${FLOTA_SIM:?FLOTA_SIM must point at flota-sim}
work=""
bg_pids=""

now_ms() {
    date +%s%3N
}

mdns_cleanup() {
    for p in $bg_pids; do
        kill "$p" 2>/dev/null || true
    done
    if [ -n "$work" ]; then
        sh "$env_sh" stop "$work/env" || true
        # MDNS_KEEP=DIR: a copy of the work dir (logs, outputs) for a post-mortem
        [ -z "${MDNS_KEEP:-}" ] || cp -r "$work" "$MDNS_KEEP" || true
        rm -rf "$work"
    fi
}

mdns_setup() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "skipped: needs root (network namespaces)"
        exit 77
    fi
    work=$(mktemp -d "${TMPDIR:-/tmp}/flota-mdns.XXXXXX")
    trap mdns_cleanup EXIT
    trap 'exit 143' TERM
    trap 'exit 130' INT
    rc=0
    sh "$env_sh" start "$work/env" || rc=$?
    [ "$rc" -eq 0 ] || exit "$rc"
}

on_devices() {
    sh "$env_sh" devices "$work/env" "$@"
}

spawn() {
    side=$1
    log=$2
    shift 2
    sh "$env_sh" "$side" "$work/env" "$@" > "$log" 2>&1 &
    spawned=$!
    bg_pids="$bg_pids $spawned"
}

on_manager() {
    sh "$env_sh" manager "$work/env" "$@"
}

manager_browse() {
    on_manager timeout 8 avahi-browse -rpt _arduino._tcp > "$1" 2> "$1.err" || true
}

fail() {
    echo "FAIL: $*" >&2
    for f in "$work"/*.log "$work"/env/avahi-*.log; do
        [ -s "$f" ] || continue
        echo "--- $f" >&2
        tail -n 30 "$f" >&2
    done
    exit 1
}

# Resolved services of a browse in a stable form: "name host address port" and the TXT
# strings sorted, one service a line, sorted.
normalize() {
    grep '^=' "$1" | awk -F';' '{
        n = split($10, t, "\" \"")
        for (i = 1; i <= n; i++) gsub(/"/, "", t[i])
        for (i = 2; i <= n; i++) { v = t[i]; j = i - 1
            while (j > 0 && t[j] > v) { t[j + 1] = t[j]; j-- }
            t[j + 1] = v }
        line = $4 " " $7 " " $8 " " $9
        for (i = 1; i <= n; i++) line = line " " t[i]
        print line }' | sort
}

# What flota-sim --list says the network should see, in the form of normalize().
expected_services() { # $1 = auth_upload value, then flota-sim's fleet options
    auth=$1
    shift
    "$sim" --list "$@" | awk -F'\t' -v auth="$auth" '{
        port = $2 == "esp32" ? 3232 : 8266
        board = $2 == "esp32" ? "esp32" : "generic"
        print $4 " " $5 " " $6 " " port " auth_upload=" auth " board=" board " ssh_upload=no tcp_check=no" }' | sort
}

# Waits (at most $2 seconds) until a manager-side browse resolves $1 services; FILE is $3.
wait_resolved() {
    deadline=$(($(now_ms) + $2 * 1000))
    while :; do
        manager_browse "$3"
        count=$(grep -c '^=' "$3" || true)
        [ "$count" -ge "$1" ] && return 0
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}

# Waits (at most $1 seconds) until the manager side lists no _arduino._tcp service.
wait_gone() {
    deadline=$(($(now_ms) + $1 * 1000))
    while :; do
        left=$(on_manager timeout 8 avahi-browse -pt _arduino._tcp 2>/dev/null | grep -c '^+' || true)
        [ "$left" -eq 0 ] && return 0
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.5
    done
}
