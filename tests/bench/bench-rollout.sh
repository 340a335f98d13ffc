#!/bin/sh
# SPDX-License-Identifier: MIT
# Rollouts at fleet size: DEVICES devices (default 1,000,000) generated straight into a
# private flotad's database and into flota's inventory (no simulator: flota-sim at that size
# is optional), then timed: 'rollout plan', 'rollout start' (which offers a 25 % wave and
# makes the assignment calls), a 'rollout tick' with nothing to do, and the peak RSS of each.
# Targets (issue 10): plan < 2 s, the 25 % wave < 5 s, an idle tick < 0.5 s, RSS < 200 MB.
# A benchmark, not a test. Usage: tests/bench/bench-rollout.sh
# Environment: BUILD_DIR (default <repo>/build), DEVICES, KEEP=1 keeps the scratch directory.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-1000000}
flotad="$build/src/server/flotad"
sim="$build/src/sim/flota-sim"
flota="$build/src/cli/flota"
for b in "$flotad" "$sim" "$flota"; do
    [ -x "$b" ] || { echo "bench-rollout: build first (ninja -C $build)" >&2; exit 1; }
done
command -v sqlite3 >/dev/null || { echo "bench-rollout: needs sqlite3" >&2; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    if [ -n "${KEEP:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT INT TERM

# the fleet: MACs from a counter, 90 % on 1.0.0 and 10 % already on 1.1.0, seen in the last hour
fleet_cte="WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $devices)"
mac="printf('18:FE:%02X:%02X:%02X:%02X', (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255)"
now=$(date +%s)
echo "$now" > "$work/now" # for a tick run by hand on a kept directory (KEEP=1)

token=$("$flotad" --data-dir "$work/d" token create bench --role admin 2>/dev/null)
echo "generating $devices devices in flotad's database and in the inventory..."
sqlite3 "$work/d/flotad.db" "$fleet_cte
    INSERT INTO devices (id, product, mac, first_seen, last_seen, platform, version, free_space, polls)
    SELECT $mac, 'door', $mac, ($now - 86400) * 1000000, ($now - (i % 3600)) * 1000000, 'esp8266',
           CASE WHEN i % 10 = 0 THEN '1.1.0' ELSE '1.0.0' END, 1044480, 1440 FROM n;"
"$flotad" --data-dir "$work/d" --listen 127.0.0.1:0 >"$work/flotad.log" 2>&1 &
pid=$!
i=0
until grep -q 'listening on http://' "$work/flotad.log"; do
    i=$((i + 1))
    [ "$i" -lt 600 ] || { echo "bench-rollout: flotad did not start" >&2; cat "$work/flotad.log" >&2; exit 1; }
    sleep 0.1
done
server=$(sed -n 's|.*listening on \(http://[0-9.:]*\).*|\1|p' "$work/flotad.log" | head -n 1)
export FLOTA_SERVER=$server FLOTA_TOKEN=$token
fl() { "$flota" --db "$work/inventory.db" "$@"; }
curl -sf -H "Authorization: Bearer $token" -d '{"name":"door"}' "$server/api/v1/products" >/dev/null
for v in 1.0.0 1.1.0; do
    "$sim" mkimage --version $v -o "$work/door-$v.bin"
    fl release upload "$work/door-$v.bin" --product door --version $v >/dev/null
done
fl rollout list >/dev/null
sqlite3 "$work/inventory.db" "$fleet_cte
    INSERT INTO devices (id, product, platform, version, first_seen, last_seen, sources, free_space, polls,
                         first_poll, last_poll)
    SELECT $mac, 'door', 'esp8266', CASE WHEN i % 10 = 0 THEN '1.1.0' ELSE '1.0.0' END,
           ($now - 86400) * 1000000, ($now - (i % 3600)) * 1000000, 'flotad', 1044480, 1440,
           ($now - 86400) * 1000000, ($now - (i % 3600)) * 1000000 FROM n;"

# timed NAME CMD...: wall time and peak RSS of one run
timed() {
    name=$1
    shift
    [ -z "${PERF:-}" ] || set -- perf record -a -g -o "$work/perf-$(echo "$name" | tr -c 'a-z0-9\n' '-').data" "$@"
    /usr/bin/time -f '%e %M' -o "$work/time" "$@" >"$work/out" 2>"$work/err" || {
        echo "bench-rollout: $name failed:" >&2
        cat "$work/err" >&2
        exit 1
    }
    grep PHASE "$work/err" >&2 || true
    read -r secs kb <"$work/time"
    printf '%-28s %6.2f s   %6.1f MB RSS\n' "$name" "$secs" "$(echo "$kb / 1024" | bc -l)"
}

# wave 1 is one device; wave 2 (25 %) starts when the soak is over. The fleet here never polls,
# so the gate is told to pass on time alone (--min-success 0%, --max-silent 100%).
fl rollout create bench --release 2 --select product=door --waves 1,25%,100% --soak 30m --min-sample 1 \
    --min-success 0% --max-silent 100% --max-failure 100% >/dev/null
timed "rollout plan" "$flota" --db "$work/inventory.db" rollout plan bench
timed "rollout plan --json" "$flota" --db "$work/inventory.db" rollout plan bench --json
timed "rollout start (1 device)" "$flota" --db "$work/inventory.db" rollout start bench --now "$now"
timed "tick: the 25% wave" "$flota" --db "$work/inventory.db" rollout tick --now "$((now + 31 * 60))"
offered=$(sqlite3 "$work/inventory.db" "SELECT count(*) FROM rollout_devices WHERE state IN (1, 5)")
held=$(sqlite3 "$work/d/flotad.db" "SELECT count(*) FROM devices WHERE assigned_release_id = 2")
echo "offered $offered, flotad holds $held assignments"
[ "$offered" -eq "$held" ] || { echo "bench-rollout: offers and assignments differ" >&2; exit 1; }
timed "tick: nothing to do" "$flota" --db "$work/inventory.db" rollout tick --now "$((now + 32 * 60))"
timed "tick: nothing to do (again)" "$flota" --db "$work/inventory.db" rollout tick --now "$((now + 33 * 60))"
timed "rollout show --json" "$flota" --db "$work/inventory.db" rollout show bench --json
