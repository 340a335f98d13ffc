#!/bin/sh
# SPDX-License-Identifier: MIT
# flotad on PostgreSQL against flotad on SQLite, and replicas. A benchmark, not a test; run it
# under tests/pg/with-postgres.sh (which starts a throw-away cluster), with nice on a shared
# machine:
#   nice sh tests/pg/with-postgres.sh sh tests/bench/bench-replicas.sh
# Prints:
#   1. cost per 1,000 polls at a fixed offered rate (flota-sim, DEVICES devices polling every
#      INTERVAL seconds, so DEVICES/INTERVAL polls/s): flotad CPU, database CPU (PostgreSQL's
#      processes), WAL bytes and database growth, SQLite vs PostgreSQL;
#   2. 304 latency (p50/p99 from flota-sim) with PostgreSQL running and while its processes are
#      stopped (SIGSTOP) for PAUSE seconds;
#   3. catalog propagation between two replicas: a promotion through A until B's answer
#      changes, ROUNDS times, p50/p99;
#   4. the 200 path with a 1 MiB image: nginx x-accel in front of flotad, flotad sendfile,
#      and nginx serving the file itself (wrk, ESP8266 requests, one connection per poll).
# Two replicas on two shared cores say nothing about throughput: only costs and latencies here.
# Environment: BUILD_DIR (default <repo>/build), DEVICES (2000), INTERVAL (2), DURATION (15),
#              PAUSE (10), ROUNDS (20), WRK_SECONDS (5)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$repo/build}
devices=${DEVICES:-2000}
interval=${INTERVAL:-2}
duration=${DURATION:-15}
pause=${PAUSE:-10}
rounds=${ROUNDS:-20}
wrk_seconds=${WRK_SECONDS:-5}
flotad="$build/src/server/flotad"
sim="$build/src/sim/flota-sim"
[ -x "$flotad" ] && [ -x "$sim" ] || { echo "bench-replicas: build first (ninja -C $build)" >&2; exit 1; }
[ -n "${FLOTA_TEST_PG:-}" ] || { echo "bench-replicas: run under tests/pg/with-postgres.sh" >&2; exit 1; }
psql="$FLOTA_TEST_PG_BINDIR/psql"
createdb="$FLOTA_TEST_PG_BINDIR/createdb"

work=$(mktemp -d)
pids=""
nginx_pid=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null || true; done
    [ -n "$nginx_pid" ] && kill -QUIT "$nginx_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    [ -n "${KEEP:-}" ] && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT INT TERM

url_of() { echo "postgresql:///$1?${FLOTA_TEST_PG#*\?}"; }
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# CPU ticks of every process of the PostgreSQL cluster (the postmaster and its children)
pg_ticks() {
    pm=$(head -n 1 "$FLOTA_TEST_PG_DIR/data/postmaster.pid")
    t=$(ticks "$pm")
    for c in $(cat "/proc/$pm/task/$pm/children" 2>/dev/null); do
        t=$((t + $(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$c/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
wait_up() {
    i=0
    until curl -sf "http://127.0.0.1:$1/healthz" >/dev/null; do
        i=$((i + 1)); [ "$i" -lt 100 ] || { echo "flotad on :$1 did not come up" >&2; exit 1; }; sleep 0.1
    done
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# start_flotad NAME PORT ARGS...: background flotad, its pid in $last_pid
start_flotad() {
    name=$1 port=$2; shift 2
    "$flotad" --listen "127.0.0.1:$port" --threads 2 "$@" 2>"$work/$name.log" &
    last_pid=$!
    pids="$pids $last_pid"
    wait_up "$port"
}
stop_pid() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }
api() { curl -sS -H "Authorization: Bearer $token" "$@"; }
seed_catalog() { # PORT: product bench, release 2.0.0 (64K), stable -> it
    api -d '{"name":"bench"}' "http://127.0.0.1:$1/api/v1/products" >/dev/null
    api --data-binary "@$work/image.bin" "http://127.0.0.1:$1/api/v1/releases?product=bench&version=2.0.0" >/dev/null
    api -X PUT -d '{"release":1}' "http://127.0.0.1:$1/api/v1/channels/bench/stable" >/dev/null
}
field() { sed -n "s/^[[:space:]]*\"$1\":[[:space:]]*\([0-9.]*\).*/\1/p" "$2" | head -n 1; }

"$sim" mkimage --version 2.0.0 --size 64K -o "$work/image.bin"

# --- 1. cost per 1,000 polls -------------------------------------------------------------
rate=$((devices / interval))
echo "1. cost per 1,000 polls: $devices devices every ${interval}s (~$rate polls/s offered), ${duration}s," \
     "fleet up to date (304s; a row per device per heartbeat)"
for backend in sqlite postgresql; do
    port=$(free_port)
    if [ "$backend" = sqlite ]; then
        db=""
        token=$("$flotad" --data-dir "$work/lite" token create bench --role admin 2>/dev/null)
        start_flotad lite "$port" --data-dir "$work/lite"
    else
        "$createdb" bench_cost
        db=$(url_of bench_cost)
        token=$("$flotad" --database "$db" token create bench --role admin 2>/dev/null)
        start_flotad pg "$port" --database "$db" --data-dir "$work/pg-data" --image-dir "$work/pg-images"
    fi
    pid=$last_pid
    seed_catalog "$port"
    # a first pass creates the device rows, so that the measured one is steady state
    "$sim" --server "http://127.0.0.1:$port" --devices "$devices" --product bench --versions 2.0.0=100 \
        --rate max --duration 3 --json >/dev/null
    sleep 1
    if [ -z "$db" ]; then
        size0=$(du -cb "$work/lite/flotad.db"* | tail -n 1 | cut -f1); wal0=0; pg0=0
    else
        size0=$("$psql" -Atd bench_cost -c "SELECT pg_database_size('bench_cost')")
        wal0=$("$psql" -Atd bench_cost -c "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        pg0=$(pg_ticks)
    fi
    f0=$(ticks "$pid")
    "$sim" --server "http://127.0.0.1:$port" --devices "$devices" --product bench --versions 2.0.0=100 \
        --interval "$interval" --jitter --concurrency 256 --duration "$duration" --json > "$work/cost-$backend.json"
    sleep 1   # the last batch
    f1=$(ticks "$pid")
    if [ -z "$db" ]; then
        size1=$(du -cb "$work/lite/flotad.db"* | tail -n 1 | cut -f1); wal1=0; pg1=0
    else
        size1=$("$psql" -Atd bench_cost -c "SELECT pg_database_size('bench_cost')")
        wal1=$("$psql" -Atd bench_cost -c "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        pg1=$(pg_ticks)
    fi
    polls=$(field polls "$work/cost-$backend.json")
    stop_pid "$pid"
    awk -v b="$backend" -v n="$polls" -v f="$((f1 - f0))" -v p="$((pg1 - pg0))" -v hz="$hz" \
        -v w="$((wal1 - wal0))" -v s="$((size1 - size0))" 'BEGIN {
        k = n / 1000; if (k <= 0) k = 1
        printf "   %-10s %7d polls: flotad %6.1f ms CPU, database %6.1f ms CPU, WAL %8.0f B, database +%8.0f B per 1,000 polls\n",
            b, n, f * 1000 / hz / k, p * 1000 / hz / k, w / k, s / k }'
done
echo "   (SQLite: its CPU is inside flotad's; the SQLite size counts the -wal file, which checkpoints reuse;"
echo "   both also append each check-in, about 256 B, to their journal in the page cache, not counted here)"

# --- 2. 304 latency while PostgreSQL is stopped --------------------------------------------
port=$(free_port)
"$createdb" bench_down
db=$(url_of bench_down)
token=$("$flotad" --database "$db" token create bench --role admin 2>/dev/null)
start_flotad down "$port" --database "$db" --data-dir "$work/down-data" --image-dir "$work/pg-images"
pid=$last_pid
seed_catalog "$port"
run_sim() { "$sim" --server "http://127.0.0.1:$port" --devices "$devices" --product bench --versions 2.0.0=100 \
        --interval "$interval" --jitter --concurrency 256 --duration "$pause" --json > "$1"; }
run_sim "$work/up.json"
pm=$(head -n 1 "$FLOTA_TEST_PG_DIR/data/postmaster.pid")
procs="$pm $(cat "/proc/$pm/task/$pm/children")"
# shellcheck disable=SC2086
kill -STOP $procs
run_sim "$work/down.json"
# shellcheck disable=SC2086
kill -CONT $procs
lat() { tr -d ' \n\t' < "$1" | sed -n "s/.*\"latency_ms\":{[^}]*\"$2\":\([0-9.]*\).*/\1/p"; }
echo "2. 304 latency, ${pause}s each, ~$rate polls/s: PostgreSQL running p50 $(lat "$work/up.json" p50) ms" \
     "p99 $(lat "$work/up.json" p99) ms; PostgreSQL stopped (SIGSTOP) p50 $(lat "$work/down.json" p50) ms" \
     "p99 $(lat "$work/down.json" p99) ms"
i=0
until curl -s "http://127.0.0.1:$port/healthz" | grep -q '"checkins_pending":0'; do
    i=$((i + 1)); [ "$i" -lt 300 ] || break; sleep 0.1
done
echo "   after SIGCONT the queued check-ins were written in $((i / 10)).$((i % 10)) s" \
     "($(curl -s "http://127.0.0.1:$port/healthz" | tr -d ' \n' | sed -n 's/.*"checkins_dropped":\([0-9]*\).*/\1/p') dropped)"
stop_pid "$pid"

# --- 3. catalog propagation between replicas ----------------------------------------------
"$createdb" bench_prop
db=$(url_of bench_prop)
token=$("$flotad" --database "$db" token create bench --role admin 2>/dev/null)
pa=$(free_port); pb=$(free_port)
start_flotad a "$pa" --database "$db" --data-dir "$work/a" --image-dir "$work/shared"
a_pid=$last_pid
start_flotad b "$pb" --database "$db" --data-dir "$work/b" --image-dir "$work/shared"
b_pid=$last_pid
seed_catalog "$pa"
"$sim" mkimage --version 3.0.0 --size 64K -o "$work/image3.bin"
api --data-binary "@$work/image3.bin" "http://127.0.0.1:$pa/api/v1/releases?product=bench&version=3.0.0" >/dev/null
poll_b() { # the x-MD5 B answers a device on 1.0.0
    curl -s -o /dev/null -D - -H 'User-Agent: ESP8266-http-Update' -H 'x-ESP8266-STA-MAC: 18:FE:34:00:00:01' \
        -H 'x-ESP8266-AP-MAC: 1A:FE:34:00:00:01' -H 'x-ESP8266-free-space: 1000000' -H 'x-ESP8266-sketch-size: 300000' \
        -H 'x-ESP8266-sketch-md5: 00000000000000000000000000000000' -H 'x-ESP8266-chip-size: 4194304' \
        -H 'x-ESP8266-sdk-version: 2.2.2' -H 'x-ESP8266-mode: sketch' -H 'x-ESP8266-version: 1.0.0' \
        "http://127.0.0.1:$pb/update/bench" | tr -d '\r' | sed -n 's/^[xX]-MD5: //p'
}
: > "$work/prop.txt"
for r in $(seq 1 "$rounds"); do
    rel=$((r % 2 + 1))
    before=$(poll_b)
    t0=$(date +%s%N)
    api -X PUT -d "{\"release\":$rel}" "http://127.0.0.1:$pa/api/v1/channels/bench/stable" >/dev/null
    while [ "$(poll_b)" = "$before" ]; do
        [ $(( ($(date +%s%N) - t0) / 1000000 )) -lt 5000 ] || break
    done
    echo $(( ($(date +%s%N) - t0) / 1000000 )) >> "$work/prop.txt"
done
sort -n "$work/prop.txt" | awk '{ v[NR] = $1 } END {
    p50 = v[int((NR + 1) * 0.5)]; p99 = v[NR >= 100 ? int(NR * 0.99) : NR]
    printf "3. catalog propagation A -> B, %d promotions: p50 %d ms, p99 %d ms, max %d ms (catalog watch every 1 s)\n",
        NR, p50, p99, v[NR] }'
stop_pid "$a_pid"; stop_pid "$b_pid"

# --- 4. the 200 path ------------------------------------------------------------------------
if ! command -v wrk >/dev/null || [ ! -x /usr/sbin/nginx ]; then
    echo "4. skipped: needs wrk and nginx"
    exit 0
fi
"$sim" mkimage --version 2.0.0 --size 1M -o "$work/image1m.bin"
md5=$(md5sum "$work/image1m.bin" | cut -d' ' -f1)
for mode in sendfile x-accel; do
    dir="$work/d-$mode"
    port=$(free_port)
    token=$("$flotad" --data-dir "$dir" token create bench --role admin 2>/dev/null)
    start_flotad "$mode" "$port" --data-dir "$dir" --image-delivery "$mode"
    eval "port_$(echo "$mode" | tr - _)=$port pid_$(echo "$mode" | tr - _)=$last_pid"
    api -d '{"name":"bench"}' "http://127.0.0.1:$port/api/v1/products" >/dev/null
    api --data-binary "@$work/image1m.bin" "http://127.0.0.1:$port/api/v1/releases?product=bench&version=2.0.0" >/dev/null
    api -X PUT -d '{"release":1}' "http://127.0.0.1:$port/api/v1/channels/bench/stable" >/dev/null
done
nport=$(free_port)
mkdir -p "$work/static"
cp "$work/image1m.bin" "$work/static/image.bin"
sed -e "s|server 127.0.0.1:8070;|server 127.0.0.1:$port_x_accel;|" -e "s|listen 8080;|listen 127.0.0.1:$nport;|" \
    -e "s|alias /var/lib/flota/images/;|alias $work/d-x-accel/images/;|" "$repo/share/nginx/flotad.conf" > "$work/site.conf"
# the same with the image location copying instead of sendfile, for a like-for-like second pair
cport=$(free_port)
sed -e "s|upstream flotad {|upstream flotad_copy {|" -e "s|proxy_pass http://flotad;|proxy_pass http://flotad_copy;|" \
    -e "s|listen 127.0.0.1:$nport;|listen 127.0.0.1:$cport;|" -e "s|sendfile on;|sendfile off;|" \
    "$work/site.conf" > "$work/site-copy.conf"
cat > "$work/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root;" )
worker_processes 1;
daemon off;
pid $work/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nb; proxy_temp_path $work/np; fastcgi_temp_path $work/nf;
    uwsgi_temp_path $work/nu; scgi_temp_path $work/ns;
    include $work/site.conf;
    include $work/site-copy.conf;
    server {
        listen 127.0.0.1:$((nport + 0));
        location = /static.bin { sendfile on; alias $work/static/image.bin; }
        location = /static-copy.bin { sendfile off; alias $work/static/image.bin; }
    }
}
EOF
# the static file on the same server block port would clash: give it its own port
sport=$(free_port)
sed -i "s|listen 127.0.0.1:$((nport + 0));|listen 127.0.0.1:$sport;|" "$work/nginx.conf"
/usr/sbin/nginx -p "$work" -e "$work/nginx-error.log" -c "$work/nginx.conf" &
nginx_pid=$!
i=0
until curl -s -o /dev/null "http://127.0.0.1:$sport/static.bin"; do
    i=$((i + 1)); [ "$i" -lt 100 ] || { cat "$work/nginx-error.log" >&2; exit 1; }; sleep 0.1
done
cat > "$work/poll.lua" <<EOF
wrk.method = "GET"
wrk.headers["User-Agent"] = "ESP8266-http-Update"
wrk.headers["x-ESP8266-STA-MAC"] = "18:FE:34:00:00:02"
wrk.headers["x-ESP8266-AP-MAC"] = "1A:FE:34:00:00:02"
wrk.headers["x-ESP8266-free-space"] = "3000000"
wrk.headers["x-ESP8266-sketch-size"] = "300000"
wrk.headers["x-ESP8266-sketch-md5"] = "00000000000000000000000000000000"
wrk.headers["x-ESP8266-chip-size"] = "4194304"
wrk.headers["x-ESP8266-sdk-version"] = "2.2.2"
wrk.headers["x-ESP8266-mode"] = "sketch"
wrk.headers["x-ESP8266-version"] = "1.0.0"
wrk.headers["Connection"] = "close"
EOF
bench() { # KEY NAME URL
    wrk -t1 -c8 -d"${wrk_seconds}s" -s "$work/poll.lua" "$3" 2>/dev/null > "$work/wrk-$1.txt" || true
    r=$(awk '/Requests\/sec/ { print $2 }' "$work/wrk-$1.txt")
    bad=$(awk '/Non-2xx/ { print $NF }' "$work/wrk-$1.txt")
    printf "   %-24s %8.0f answers/s%s\n" "$2" "${r:-0}" "${bad:+ ($bad not 2xx)}"
    echo "$1 ${r:-0}" >> "$work/rates.txt"
}
# the answer through nginx: 200, the file's length, x-MD5 (checked once)
curl -s -D "$work/h.txt" -o "$work/body.bin" -H 'User-Agent: ESP8266-http-Update' -H 'x-ESP8266-STA-MAC: 18:FE:34:00:00:03' \
    -H 'x-ESP8266-AP-MAC: 1A:FE:34:00:00:03' -H 'x-ESP8266-free-space: 3000000' -H 'x-ESP8266-sketch-size: 300000' \
    -H 'x-ESP8266-sketch-md5: 00000000000000000000000000000000' -H 'x-ESP8266-chip-size: 4194304' \
    -H 'x-ESP8266-sdk-version: 2.2.2' -H 'x-ESP8266-mode: sketch' -H 'x-ESP8266-version: 1.0.0' \
    "http://127.0.0.1:$nport/update/bench"
grep -qi "^x-MD5: $md5" "$work/h.txt" && [ "$(md5sum < "$work/body.bin" | cut -d' ' -f1)" = "$md5" ] ||
    { echo "4. nginx x-accel answer is wrong:" >&2; cat "$work/h.txt" >&2; exit 1; }
echo "4. the 200 path, 1 MiB image, wrk 1 thread, 8 connections, a new connection per poll, ${wrk_seconds}s:"
: > "$work/rates.txt"
bench static "nginx static (sendfile)" "http://127.0.0.1:$sport/static.bin"
bench accel "nginx x-accel + flotad" "http://127.0.0.1:$nport/update/bench"
bench sendfile "flotad sendfile" "http://127.0.0.1:$port_sendfile/update/bench"
bench static_copy "nginx static (copying)" "http://127.0.0.1:$sport/static-copy.bin"
bench accel_copy "x-accel (copying)" "http://127.0.0.1:$cport/update/bench"
awk '{ v[$1] = $2 } END { s = v["static"] > 0 ? v["static"] : 1; c = v["static_copy"] > 0 ? v["static_copy"] : 1
    printf "   x-accel / nginx static = %.2f (both sendfile, as shipped), %.2f (both copying);", v["accel"] / s,
        v["accel_copy"] / c
    printf " flotad sendfile / nginx static = %.2f\n", v["sendfile"] / s }' "$work/rates.txt"
echo "   (on loopback sendfile costs nginx less CPU but moves fewer bytes a second than copying: compare"
echo "   like with like)"
echo "(machine shared with other work: figures are indicative)"
