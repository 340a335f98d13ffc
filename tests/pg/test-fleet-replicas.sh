#!/bin/sh
# SPDX-License-Identifier: MIT
# Two flotad replicas on one PostgreSQL database behind nginx (the shipped share/nginx/flotad.conf,
# images sent by nginx), a 1,000-device flota-sim fleet polling through nginx: a promotion made
# through replica A updates the whole fleet (every device flashes the image, its MD5 checked from
# the x-MD5 nginx sends), a SIGKILL of replica B in the middle of it stops nothing (nginx moves to
# A) and loses no API write B acknowledged; once B is started again on its data directory, every
# poll a replica answered is in the check-in feed, once (B's journal brings back those it had
# answered but not written). Runs under tests/pg/with-postgres.sh; 77 without PostgreSQL or nginx.
set -eu
FLOTAD=${FLOTAD:?FLOTAD must point at flotad}
FLOTA_SIM=${FLOTA_SIM:?FLOTA_SIM must point at flota-sim}
SRC=${FLOTA_SOURCE_ROOT:?FLOTA_SOURCE_ROOT must point at the source tree}
[ -n "${FLOTA_TEST_PG:-}" ] || { echo "SKIP: run under tests/pg/with-postgres.sh" >&2; exit 77; }
NGINX=${NGINX:-/usr/sbin/nginx}
[ -x "$NGINX" ] || { echo "SKIP: nginx is not installed (Debian: nginx)" >&2; exit 77; }

work=$(mktemp -d "${TMPDIR:-/tmp}/flota-fleet.XXXXXX")
pids=""
nginx_pid=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    [ -z "$nginx_pid" ] || kill -QUIT "$nginx_pid" 2>/dev/null || true
    for p in $pids $nginx_pid; do wait "$p" 2>/dev/null || true; done
    if [ -n "${FLOTA_KEEP_TEST_DIR:-}" ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
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
now_ms() { date +%s%3N; }
wait_for() { # SECONDS COMMAND...
    deadline=$(($(now_ms) + $1 * 1000))
    shift
    while ! "$@"; do
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

"$FLOTA_TEST_PG_BINDIR/createdb" fleet
db="postgresql:///fleet?${FLOTA_TEST_PG#*\?}"
token=$("$FLOTAD" --database "$db" token create ops --role admin 2>"$work/token.log") || fail "token create"

# start_replica NAME [PORT]: sets port and pid; each replica has a data directory (its journal)
# of its own; every poll gets a check-in row, so that the feed can be held against the polls
start_replica() {
    "$FLOTAD" --database "$db" --data-dir "$work/$1" --image-dir "$work/images" --listen "127.0.0.1:${2:-0}" \
        --image-delivery x-accel --checkin-heartbeat 0 >>"$work/$1.log" 2>&1 &
    pid=$!
    pids="$pids $pid"
    wait_for 20 grep -qs 'listening on http://' "$work/$1.log" || fail "replica $1 did not come up"
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/$1.log" | tail -n 1)
}
start_replica a
a_port=$port a_pid=$pid
start_replica b
b_port=$port b_pid=$pid

# nginx with the shipped file: both replicas upstream, its port found by trying
upstream="server 127.0.0.1:$a_port max_fails=1 fail_timeout=5s; server 127.0.0.1:$b_port max_fails=1 fail_timeout=5s;"
try=0
while :; do
    try=$((try + 1))
    [ "$try" -le 20 ] || fail "no free port for nginx"
    nport=$((20000 + ($$ * 7 + try * 131) % 12000)) # below the ephemeral ports
    curl -s -o /dev/null "http://127.0.0.1:$nport/" && continue
    sed -e "s|server 127.0.0.1:8070;|$upstream|" -e "s|listen 8080;|listen 127.0.0.1:$nport;|" \
        -e "s|alias /var/lib/flota/images/;|alias $work/images/;|" "$SRC/share/nginx/flotad.conf" > "$work/site.conf"
    cat > "$work/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon off;
pid $work/nginx.pid;
events { worker_connections 2048; }
http {
    access_log off;
    client_body_temp_path $work/nb; proxy_temp_path $work/np; fastcgi_temp_path $work/nf;
    uwsgi_temp_path $work/nu; scgi_temp_path $work/ns;
    include $work/site.conf;
}
EOF
    "$NGINX" -p "$work" -e "$work/nginx-error.log" -c "$work/nginx.conf" &
    nginx_pid=$!
    if wait_for 10 curl -s -o /dev/null "http://127.0.0.1:$nport/healthz"; then
        break
    fi
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
    nginx_pid=""
done
front="http://127.0.0.1:$nport"

api() { curl -sS -H "Authorization: Bearer $token" "$@"; }
api -d '{"name":"door"}' "$front/api/v1/products" >/dev/null
"$FLOTA_SIM" mkimage --version 1.0.0 --size 64K -o "$work/v1.bin"
"$FLOTA_SIM" mkimage --version 2.0.0 --size 64K -o "$work/v2.bin"
v1=$(api --data-binary "@$work/v1.bin" "$front/api/v1/releases?product=door&version=1.0.0" | tee "$work/up1.log" |
    sed -n 's/^{"id":\([0-9]*\).*/\1/p')
v2=$(api --data-binary "@$work/v2.bin" "$front/api/v1/releases?product=door&version=2.0.0" |
    sed -n 's/^{"id":\([0-9]*\).*/\1/p')
[ -n "$v1" ] && [ -n "$v2" ] || fail "uploads through nginx"
api -X PUT -d "{\"release\":$v1}" "$front/api/v1/channels/door/stable" >/dev/null

"$FLOTA_SIM" --server "$front" --devices 1000 --product door --versions 1.0.0=100 --interval 2 --jitter \
    --concurrency 64 --until-version 2.0.0 --duration 90 --poll-log "$work/polls.txt" --json > "$work/sim.json" \
    2>"$work/sim.log" &
sim_pid=$!
pids="$pids $sim_pid"
sleep_until_polled() { api "http://127.0.0.1:$a_port/api/v1/devices?limit=1000" | grep -c '"id":' | grep -q '^[1-9]'; }
wait_for 20 sleep_until_polled || fail "the fleet does not poll"

# the promotion, through replica A
api -X PUT -d "{\"release\":$v2}" "http://127.0.0.1:$a_port/api/v1/channels/door/stable" | grep -q '"version":"2.0.0"' ||
    fail "promotion through A"
# some devices update, then B acknowledges a write and is killed
updated() { [ "$(api "http://127.0.0.1:$a_port/api/v1/devices?version=2.0.0&limit=1000" | grep -o '"id":' | wc -l)" -ge 100 ]; }
wait_for 30 updated || fail "no device updated"
code=$(curl -sS -o "$work/pin.json" -w '%{http_code}' -H "Authorization: Bearer $token" -X PUT \
    -d "{\"release\":$v1}" "http://127.0.0.1:$b_port/api/v1/devices/02:00:00:00:99:99/pin")
[ "$code" = 200 ] || fail "pin through B (release '$v1'): $code $(cat "$work/pin.json")"
kill -9 "$b_pid"
wait "$b_pid" 2>/dev/null || true

# the fleet completes through A alone
status=0
wait "$sim_pid" || status=$?
[ "$status" = 0 ] || fail "flota-sim: exit $status (not every device reported 2.0.0): $(cat "$work/sim.json")"
grep -q '"2.0.0":[[:space:]]*1000' "$work/sim.json" || fail "the fleet's versions: $(cat "$work/sim.json")"
# B again, on its data directory and port: it writes what it had answered and not yet written
mv "$work/b.log" "$work/b-killed.log"
start_replica b "$b_port"
wait_for 30 grep -qs 'check-in journal: .* written now\|listening on' "$work/b.log" || fail "B did not restart"
# every answered poll is in the feed: per device and status, rows >= answers; the surplus is
# bounded by the polls in flight when B died (answered by B, never received, asked again via A)
feed() {
    after=0
    : > "$work/feed.txt"
    while :; do
        api "$front/api/v1/checkins?after=$after&limit=10000" > "$work/page.json" || return 1
        # one check-in a line, then its device and status
        n=$(sed 's/},{/}\n{/g' "$work/page.json" | grep '"device":' |
            sed 's/.*"device":"\([^"]*\)".*"status":\([0-9]*\).*/\1 \2/' | tee -a "$work/feed.txt" | wc -l)
        [ "$n" -gt 0 ] || break
        after=$(sed -n 's/.*"next":\([0-9]*\).*/\1/p' "$work/page.json")
    done
}
compare() {
    feed || return 1
    sort "$work/polls.txt" | uniq -c | awk '{print $2" "$3" "$1}' | sort > "$work/answered.cnt"
    sort "$work/feed.txt" | uniq -c | awk '{print $2" "$3" "$1}' | sort > "$work/rows.cnt"
    awk -v rows_file="$work/rows.cnt" '
         BEGIN { while ((getline line < rows_file) > 0) { split(line, f, " "); rows[f[1]" "f[2]] = f[3] } }
         { want = $3; got = rows[$1" "$2] + 0; if (got < want) missing += want - got; else extra += got - want;
           delete rows[$1" "$2] }
         END { for (k in rows) extra += rows[k]; printf "%d %d\n", missing, extra }' \
        "$work/answered.cnt" > "$work/diff.txt"
    read missing extra < "$work/diff.txt"
    [ "$missing" -eq 0 ]
}
answered=$(wc -l < "$work/polls.txt")
wait_for 20 compare || fail "$(cat "$work/diff.txt" | cut -d' ' -f1) of $answered answered polls are not in the feed"
read missing extra < "$work/diff.txt"
[ "$extra" -le 64 ] || fail "$extra check-ins in the feed that no device saw answered (more than the 64 in flight)"
grep -q 'check-in journal: [1-9][0-9]* check-ins answered before the last stop' "$work/b.log" &&
    replayed=$(sed -n 's/.*check-in journal: \([0-9]*\) check-ins answered.*/\1/p' "$work/b.log") || replayed=0
echo "answered polls: $answered; all in the feed ($extra more rows: polls B took and died before answering);" \
    "$replayed written by B from its journal after the restart"
"$FLOTA_SIM" --server "$front" --devices 1000 --product door --versions 2.0.0=100 --rate max --concurrency 64 \
    --duration 3 --json > "$work/sim2.json" 2>>"$work/sim.log" || fail "second pass: $(cat "$work/sim2.json")"
all_known() { [ "$(api "$front/api/v1/devices?version=2.0.0&limit=2000" | grep -o '"version":"2.0.0"' | wc -l)" -eq 1000 ]; }
wait_for 10 all_known || fail "flotad does not know all 1000 devices on 2.0.0 after their next polls"
# B's acknowledged write is there, served by A
api "$front/api/v1/devices/02:00:00:00:99:99" | grep -q "\"pin\":$v1" ||
    fail "the pin B acknowledged is gone: $(api "$front/api/v1/devices/02:00:00:00:99:99")"
echo "fleet of 1000 updated through nginx and two replicas, one killed with SIGKILL mid-run"
