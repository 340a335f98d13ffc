# SPDX-License-Identifier: MIT
# Shared by the push tests: the rollout tests' harness (a real flotad on 127.0.0.1, bounded
# waits, cleanup by pid), flota-sim fleets that answer pushes on 127.0.0.x, and a config file.
. "$(dirname "$0")/../rollout/common.sh"

# a port for this run's simulated devices (each listens on its own 127.0.0.x address); below
# the kernel's ephemeral range (32768 and up), where an outgoing connection of another test
# could hold the same address and port
PORT=$((20000 + $$ % 12000))

# ota NAME ARGS...: a flota-sim fleet answering pushes (no --server unless given)
ota() {
    name=$1
    shift
    "$FLOTA_SIM" --ota-port "$PORT" "$@" >"$work/$name.log" 2>&1 &
    pids="$pids $!"
    eval "sim_$name=$!"
}

# sim_json NAME: prints the final statistics of a fleet started with --json (stop it first,
# with stop_sim, outside a command substitution)
sim_json() {
    wait_for 10 grep -q '^}' "$work/$1.log" || fail "$1 printed no statistics"
    sed -n '/^{/,$p' "$work/$1.log"
}

# config TEXT: writes the [push] config (mode 600) to $work/config
config() {
    printf '%s\n' "$@" >"$work/config"
    chmod 600 "$work/config"
}

push() {
    "$FLOTA" --db "$work/inventory.db" -c "$work/config" push "$@"
}

# outcome_of JSON-FILE DEVICE: the outcome field of DEVICE's row
outcome_of() {
    tr -d '\n\t ' <"$1" | sed 's/},{/}\n{/g' | grep "\"device\":\"$2\"" | sed -n 's/.*"outcome":"\([a-z-]*\)".*/\1/p'
}
verified_of() {
    tr -d '\n\t ' <"$1" | sed 's/},{/}\n{/g' | grep "\"device\":\"$2\"" | sed -n 's/.*"verified":"\([a-z-]*\)".*/\1/p'
}

# wait_udp ADDR / wait_tcp ADDR: until the fleet's socket on ADDR:PORT is open
wait_udp() {
    wait_for 10 sh -c "ss -lun | grep -q '$1:$PORT '" || fail "nothing listens on $1:$PORT (udp)"
}
wait_tcp() {
    wait_for 10 sh -c "ss -ltn | grep -q '$1:$PORT '" || fail "nothing listens on $1:$PORT (tcp)"
}
