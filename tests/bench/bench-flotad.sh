#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# bench-flotad.sh -- flotad's device endpoint against the reference peers
# (nginx and a hand-written PHP update script), measured in the same run on
# the same machine, reported as ratios.  A benchmark, not a pass/fail test:
# it always exits 0 once the measurements ran, and prints the targets next to
# the measured ratios.
#
# Usage:
#   tests/bench/bench-flotad.sh
#
# Environment:
#   FLOTA_PEERS   reference kit (default: <repo>/../shared/peers)
#   BUILD_DIR     meson build dir holding flotad and flota-sim
#                 (default: <repo>/build; configured and built when missing)
#   RUNS          wrk runs per case, the median is reported (default 3)
#   DURATION      wrk duration per run (default 10s)
#   THREADS       flotad worker threads (default 2)
#   FLOTAD_PORT   flotad port on 127.0.0.1 (default 8090; nginx and PHP use
#                 8080 and 8081, fixed by the kit's nginx.conf)
#   DEVICES       device population of the kit and of esp_poll.lua (default 100000)
#   PHP200=1      also measure the PHP script's 200 (1 MiB) answer (slow)
#   KEEP=1        keep the scratch dir (wrk output, logs, flotad.db)
#   FLOTAD_ARGS   more flotad options, e.g. "--checkin-journal none" to measure
#                 what the journal costs
#
# Needs: nginx wrk php-fpm8.2 php-cli php-sqlite3 sqlite3 curl gcc, and
# root (the kit's nginx runs its workers as www-data).  Only 127.0.0.1 is used.
# Takes about 6 cases (7 with PHP200=1) x RUNS x (DURATION + 2 s) plus setup,
# about 4 minutes with the defaults.
#
# Besides req/s and MB/s it prints, per case, the server CPU time per answered
# request (nginx workers, php-fpm children, or flotad), for flotad split into
# HTTP workers and check-in writer, and the disk bytes flotad wrote per poll.
#
# Cases (all with "Connection: close", as ESP devices open a new TCP
# connection per poll; wrk -t2 -c64):
#   nginx-304-close         nginx "return 304", plain wrk (report.lua)
#   nginx-304-close-esplua  the same with the ESP header Lua (esp_poll.lua),
#                           i.e. the same load-generator cost as the flotad case
#   nginx-304log-close-esplua  the same, nginx also writing the ESP access-log line
#                           per poll (flotad records every poll too)
#   php-304-close           update.php behind php-fpm, device up to date
#   flotad-304-close        flotad /update/<product>, device up to date
#   nginx-bin1M-close       nginx static 1 MiB image (sendfile)
#   flotad-200-close        flotad, device stale: 200 + the 1 MiB image
#   php-200-close           (PHP200=1) update.php, device stale
set -euo pipefail

# ---------------------------------------------------------------- settings

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(git -C "$SCRIPT_DIR" rev-parse --show-toplevel 2>/dev/null || (cd "$SCRIPT_DIR/../.." && pwd))
PEERS=${FLOTA_PEERS:-$REPO/../shared/peers}
BUILD_DIR=${BUILD_DIR:-$REPO/build}
RUNS=${RUNS:-3}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
FLOTAD_PORT=${FLOTAD_PORT:-8090}
DEVICES=${DEVICES:-100000}
PHP200=${PHP200:-0}
KEEP=${KEEP:-0}

NGINX=http://127.0.0.1:8080
PHP=http://127.0.0.1:8081
FLOTAD=http://127.0.0.1:$FLOTAD_PORT
PRODUCT=bench
RELEASE_VERSION=BENCH-1
# What the devices report as their version.  It must differ from the release's
# so that only the MD5 says "up to date" in ESP_MODE=current, and it must have
# the "-N-g" part that esp_poll.lua decrements in ESP_MODE=stale (together
# with a wrong MD5 that makes flotad answer 200 with the image).
DEVICE_VERSION=BENCH-7-g0000000
STALE_VERSION=BENCH-6-g0000000
STALE_MD5=0123456789abcdef0123456789abcdef
WRK_ARGS=(-t2 -c64 "-d$DURATION")

SCRATCH=""
FLOTAD_PID=""
SERVERS_STARTED=0
TOKEN=""
IMAGE_MD5=""
CURL_POLLS=0        # device polls this script sent to flotad itself (curl checks)

# ---------------------------------------------------------------- helpers

say() { printf '\n== %s\n' "$*"; }
die() { printf 'bench-flotad: %s\n' "$*" >&2; exit 1; }

# Stops what this script started (by PID), removes the scratch dir.
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    stop_flotad || true
    if [ "$SERVERS_STARTED" = 1 ]; then
        (cd "$SCRATCH" && sh servers.sh stop) >/dev/null 2>&1 || true
    fi
    if [ -n "$SCRATCH" ] && [ -d "$SCRATCH" ]; then
        if [ "$KEEP" = 1 ]; then
            echo "scratch dir kept: $SCRATCH"
        else
            rm -rf "$SCRATCH"
        fi
    fi
    exit "$rc"
}

# SIGTERM to flotad (it drains and flushes the check-in queue), bounded wait,
# SIGKILL as the last resort.  Returns 1 when it had to be killed.
stop_flotad() {
    [ -n "$FLOTAD_PID" ] || return 0
    local pid=$FLOTAD_PID _
    FLOTAD_PID=""
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "flotad (pid $pid) did not stop within 30 s of SIGTERM; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        return 1
    fi
    wait "$pid" 2>/dev/null || true
    return 0
}

need_tools() {
    local t missing=""
    for t in curl wrk nginx php php-fpm8.2 sqlite3 gcc git md5sum awk; do
        command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
    done
    [ -z "$missing" ] || die "missing tools:$missing (Debian: apt-get install -y nginx wrk php-fpm php-cli php-sqlite3 sqlite3 gcc curl)"
    [ -f "$PEERS/setup.sh" ] || die "no reference kit at $PEERS (set FLOTA_PEERS)"
    PEERS=$(cd "$PEERS" && pwd)
}

# flotad and flota-sim from BUILD_DIR, configured and built when missing.
find_binaries() {
    FLOTAD_BIN=$BUILD_DIR/src/server/flotad
    MKIMAGE_BIN=$BUILD_DIR/src/sim/flota-sim
    if [ ! -x "$FLOTAD_BIN" ] || [ ! -x "$MKIMAGE_BIN" ]; then
        say "building flotad in $BUILD_DIR"
        [ -f "$BUILD_DIR/build.ninja" ] || meson setup "$BUILD_DIR" "$REPO" --buildtype=release
        ninja -C "$BUILD_DIR"
    fi
    if [ ! -x "$FLOTAD_BIN" ] || [ ! -x "$MKIMAGE_BIN" ]; then
        die "flotad or flota-sim missing in $BUILD_DIR"
    fi
}

# Refuses to run when something already answers on one of the ports.
ports_free() {
    local url
    for url in "$NGINX" "$PHP" "$FLOTAD"; do
        if curl -s -o /dev/null --max-time 1 "$url/"; then
            die "something already listens on ${url#http://}; stop it first"
        fi
    done
}

# One ESP8266 poll with exactly the headers esp_poll.lua sends for device 0
# (MAC 18:FE:AA:00:00:00).  Prints "status bytes x-MD5".
#   esp_curl URL VERSION SKETCH_MD5
esp_curl() {
    local hdr
    hdr=$(mktemp "$SCRATCH/tmp/hdr.XXXXXX")
    curl -s -o /dev/null -D "$hdr" -w '%{http_code} %{size_download}' --max-time 20 \
        -H 'User-Agent: ESP8266-http-Update' \
        -H 'x-ESP8266-STA-MAC: 18:FE:AA:00:00:00' \
        -H 'x-ESP8266-AP-MAC: 1A:FE:AA:00:00:00' \
        -H 'x-ESP8266-free-space: 2088960' \
        -H 'x-ESP8266-sketch-size: 1048576' \
        -H "x-ESP8266-sketch-md5: $3" \
        -H 'x-ESP8266-chip-size: 4194304' \
        -H 'x-ESP8266-sdk-version: 2.2.2-dev(38a443e)' \
        -H 'x-ESP8266-mode: sketch' \
        -H "x-ESP8266-version: $2" \
        -H 'Cache-Control: no-cache' \
        -H 'Connection: close' \
        "$1" || printf '000 0'
    printf ' %s\n' "$(tr -d '\r' < "$hdr" | awk -F': ' 'tolower($1) == "x-md5" { print $2 }')"
    rm -f "$hdr"
}

# check LABEL EXPECTED_STATUS "status bytes md5": prints one verification line.
check() {
    local label=$1 want=$2 got=$3 mark=ok
    [ "${got%% *}" = "$want" ] || mark="UNEXPECTED (want $want)"
    printf '  %-22s -> %s  %s\n' "$label" "$got" "$mark"
    [ "$mark" = ok ]
}

# flotad API call: api METHOD PATH [curl args...]; prints the body, fails on non-2xx.
api() {
    local method=$1 path=$2 out code
    shift 2
    out=$(mktemp "$SCRATCH/tmp/api.XXXXXX")
    code=$(curl -s -o "$out" -w '%{http_code}' --max-time 60 -X "$method" \
        -H "Authorization: Bearer $TOKEN" "$@" "$FLOTAD$path") || code=000
    cat "$out"
    rm -f "$out"
    case "$code" in
    2??) ;;
    *) echo >&2; die "flotad API $method $path answered $code" ;;
    esac
}

# The value of a top-level string or number field in a flat JSON answer.
json_field() {
    sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\{0,1\}\([^\",}]*\).*/\1/p" | head -n 1
}

# One value from flotad's /metrics, e.g. metric 'flotad_polls_total{status="304"}'.
metric() {
    curl -s --max-time 5 "$FLOTAD/metrics" | awk -v k="$1" '$1 == k { print $2; exit }'
}

# The server processes that answer a case: flotad, or nginx's workers (plus
# php-fpm's for the PHP cases), found from the masters' pid files.
case_pids() {
    local pids=""
    case "$1" in
    flotad-*) pids=$FLOTAD_PID ;;
    php-*) pids="$(pgrep -P "$(cat "$SCRATCH/run/nginx.pid")") $(pgrep -P "$(cat "$SCRATCH/run/php-fpm.pid")")" ;;
    nginx-*) pids=$(pgrep -P "$(cat "$SCRATCH/run/nginx.pid")") ;;
    esac
    # one line, pids separated by blanks
    echo "$pids" | tr '\n' ' '
}

# CPU time (user + system, in clock ticks) the given processes have used so far.
cpu_ticks() {
    local pid total=0 t
    for pid in "$@"; do
        # fields after the "(comm)" of /proc/PID/stat: utime is the 12th, stime the 13th
        t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }')
        total=$((total + ${t:-0}))
    done
    echo "$total"
}

# flotad's CPU ticks split by thread: "HTTP-workers other" (libmicrohttpd names
# its pool threads MHD-worker; the other busy thread is the check-in writer).
flotad_thread_ticks() {
    local task comm t workers=0 other=0
    for task in "/proc/$FLOTAD_PID"/task/*; do
        comm=$(cat "$task/comm" 2>/dev/null) || continue
        t=$(sed 's/^.*) //' "$task/stat" 2>/dev/null | awk '{ print $12 + $13 }')
        case "$comm" in
        MHD-*) workers=$((workers + ${t:-0})) ;;
        *) other=$((other + ${t:-0})) ;;
        esac
    done
    echo "$workers $other"
}

# Bytes flotad has caused to be written to storage so far (/proc/PID/io).
flotad_write_bytes() {
    awk '/^write_bytes:/ { print $2 }' "/proc/$FLOTAD_PID/io" 2>/dev/null || echo 0
}

# ---------------------------------------------------------------- setup steps

prepare_scratch() {
    SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/flota-bench.XXXXXX")
    # nginx workers run as www-data and must reach www/ below the scratch dir
    chmod 755 "$SCRATCH"
    say "preparing nginx + php-fpm in $SCRATCH ($DEVICES devices)"
    sh "$PEERS/setup.sh" "$SCRATCH" "$DEVICES" | tail -n 6
}

start_peers() {
    say "starting nginx + php-fpm"
    SERVERS_STARTED=1
    (cd "$SCRATCH" && sh servers.sh start)
}

# A valid 1 MiB ESP8266 image, served identically by flotad and nginx.
make_image() {
    "$MKIMAGE_BIN" mkimage --size 1M --version "$RELEASE_VERSION" -o "$SCRATCH/image.bin" >/dev/null
    cp "$SCRATCH/image.bin" "$SCRATCH/www/firmware/bench.bin"
    chmod a+r "$SCRATCH/www/firmware/bench.bin"
    IMAGE_MD5=$(md5sum "$SCRATCH/image.bin" | awk '{ print $1 }')
    echo "image.bin: $(stat -c %s "$SCRATCH/image.bin") bytes, md5 $IMAGE_MD5"
}

start_flotad() {
    local data=$SCRATCH/flotad _
    say "starting flotad on 127.0.0.1:$FLOTAD_PORT ($THREADS threads)"
    TOKEN=$("$FLOTAD_BIN" --data-dir "$data" token create bench --role admin 2>/dev/null)
    [ -n "$TOKEN" ] || die "flotad token create printed no token"
    "$FLOTAD_BIN" --data-dir "$data" --listen "127.0.0.1:$FLOTAD_PORT" --threads "$THREADS" \
        --log-file "$SCRATCH/logs/flotad.log" ${FLOTAD_ARGS:-} &
    FLOTAD_PID=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null --max-time 1 "$FLOTAD/healthz" && break
        kill -0 "$FLOTAD_PID" 2>/dev/null || die "flotad exited; see $SCRATCH/logs/flotad.log (KEEP=1)"
        sleep 0.1
    done
    curl -s --max-time 1 "$FLOTAD/healthz" >/dev/null || die "flotad did not answer /healthz within 10 s"
    echo "flotad pid $FLOTAD_PID, $("$FLOTAD_BIN" --version)"
}

# Product, release (the 1 MiB image), stable channel -> that release.
publish_release() {
    local rel id md5
    say "publishing $RELEASE_VERSION on flotad"
    api POST /api/v1/products -d "{\"name\":\"$PRODUCT\"}" >/dev/null
    rel=$(api POST "/api/v1/releases?product=$PRODUCT&version=$RELEASE_VERSION" \
        -H 'Content-Type: application/octet-stream' --data-binary "@$SCRATCH/image.bin")
    id=$(printf '%s' "$rel" | json_field id)
    md5=$(printf '%s' "$rel" | json_field md5)
    [ -n "$id" ] || die "release upload answered without an id: $rel"
    [ "$md5" = "$IMAGE_MD5" ] || die "flotad's md5 '$md5' differs from image.bin's $IMAGE_MD5"
    api PUT "/api/v1/channels/$PRODUCT/stable" -d "{\"release\":$id}" >/dev/null
    echo "release id $id, md5 $md5, channel stable -> $id"
}

# esp_poll.lua wants exactly 4 images; all 4 are the bench image here.
write_flotad_manifest() {
    local _
    for _ in 1 2 3 4; do
        echo "bench.bin $IMAGE_MD5 $DEVICE_VERSION"
    done > "$SCRATCH/flotad-manifest.txt"
}

# One poll of each case with curl before measuring.
verify_cases() {
    local door_md5 door_version ok=1
    read -r _ door_md5 door_version < "$SCRATCH/www/firmware/manifest.txt"
    say "checking each case once with curl (device 0, the headers esp_poll.lua sends)"
    printf '  %-22s    %s\n' case "status bytes x-MD5"
    check "nginx /304" 304 "$(esp_curl "$NGINX/304" "$door_version" "$door_md5")" || ok=0
    check "nginx bench.bin" 200 "$(curl -s -o /dev/null -w '%{http_code} %{size_download}' \
        -H 'Connection: close' "$NGINX/firmware/bench.bin")" || ok=0
    check "php current" 304 "$(esp_curl "$PHP/update" "$door_version" "$door_md5")" || ok=0
    check "php stale" 200 "$(esp_curl "$PHP/update" "${door_version/-7-g/-6-g}" "$STALE_MD5")" || ok=0
    check "flotad current" 304 "$(esp_curl "$FLOTAD/update/$PRODUCT" "$DEVICE_VERSION" "$IMAGE_MD5")" || ok=0
    check "flotad stale" 200 "$(esp_curl "$FLOTAD/update/$PRODUCT" "$STALE_VERSION" "$STALE_MD5")" || ok=0
    CURL_POLLS=2
    [ "$ok" = 1 ] || die "a case does not answer as expected; not measuring"
}

# ---------------------------------------------------------------- measuring

# bench LABEL [env assignments...] -- wrk args...
# Runs bench_http.sh from the scratch dir; after a flotad case also prints
# flotad's own poll counters and its check-in backlog.
bench() {
    local label=$1
    shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    say "$label"
    local pids ticks0 ticks threads0="0 0" io0=0
    pids=$(case_pids "$label")
    # shellcheck disable=SC2086
    ticks0=$(cpu_ticks $pids)
    case "$label" in
    flotad-*) threads0=$(flotad_thread_ticks); io0=$(flotad_write_bytes) ;;
    esac
    (cd "$SCRATCH" && env "${envs[@]}" sh bench_http.sh "$label" "${WRK_ARGS[@]}" "$@")
    # shellcheck disable=SC2086
    ticks=$(($(cpu_ticks $pids) - ticks0))
    # server CPU per answered request: what one answer costs, whoever is faster
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$(result_sum requests "$label")" -v l="$label" \
        -v out="$SCRATCH/results/cpu.tsv" 'BEGIN {
            us = (n > 0 ? t / hz / n * 1e6 : 0)
            printf "  server CPU: %.2f s over the runs, %.1f us per answered request\n", t / hz, us
            printf "%s\t%.1f\n", l, us >> out }'
    case "$label" in
    flotad-*)
        kill -0 "$FLOTAD_PID" 2>/dev/null || die "flotad exited during $label; see logs/flotad.log (KEEP=1)"
        printf '  flotad /metrics: polls 200=%s 304=%s, check-ins written=%s pending=%s\n' \
            "$(metric 'flotad_polls_total{status="200"}')" "$(metric 'flotad_polls_total{status="304"}')" \
            "$(metric flotad_checkins_written_total)" "$(metric flotad_checkins_pending)"
        # where flotad's CPU went, and what recording the check-ins wrote to disk
        awk -v a="$threads0" -v b="$(flotad_thread_ticks)" -v hz="$(getconf CLK_TCK)" \
            -v n="$(result_sum requests "$label")" -v io=$(($(flotad_write_bytes) - io0)) 'BEGIN {
                split(a, x, " "); split(b, y, " ")
                if (n > 0) printf "  flotad per answered poll: HTTP workers %.1f us CPU, check-in writer %.1f us CPU, %.1f KB written to disk\n",
                    (y[1] - x[1]) / hz / n * 1e6, (y[2] - x[2]) / hz / n * 1e6, io / n / 1024 }'
        ;;
    esac
}

run_cases() {
    local flotad_env=("ESP_PATH=/update/$PRODUCT" ESP_CLOSE=1 ESP_MANIFEST=flotad-manifest.txt)
    export ESP_DEVICES=$DEVICES
    : > "$SCRATCH/results/http.tsv"
    : > "$SCRATCH/results/cpu.tsv"
    bench nginx-304-close -- -s report.lua -H 'Connection: close' "$NGINX/304"
    bench nginx-304-close-esplua ESP_CLOSE=1 ESP_PATH=/304 ESP_MANIFEST=www/firmware/manifest.txt \
        -- -s esp_poll.lua "$NGINX"
    bench nginx-304log-close-esplua ESP_CLOSE=1 ESP_PATH=/304log ESP_MANIFEST=www/firmware/manifest.txt \
        -- -s esp_poll.lua "$NGINX"
    bench php-304-close ESP_PATH=/update ESP_MODE=current ESP_CLOSE=1 ESP_MANIFEST=www/firmware/manifest.txt \
        -- -s esp_poll.lua "$PHP"
    bench flotad-304-close "${flotad_env[@]}" ESP_MODE=current -- -s esp_poll.lua "$FLOTAD"
    bench nginx-bin1M-close -- -s report.lua -H 'Connection: close' "$NGINX/firmware/bench.bin"
    bench flotad-200-close "${flotad_env[@]}" ESP_MODE=stale -- -s esp_poll.lua "$FLOTAD"
    if [ "$PHP200" = 1 ]; then
        bench php-200-close ESP_PATH=/update ESP_MODE=stale ESP_CLOSE=1 ESP_MANIFEST=www/firmware/manifest.txt \
            -- -s esp_poll.lua "$PHP"
    fi
}

# median FIELD LABEL: median_rps or median_MBps of a case from results/http.tsv.
median() {
    awk -F'\t' -v l="$2" -v f="$1=" '$1 == l { for (i = 2; i <= NF; i++) if (index($i, f) == 1) v = substr($i, length(f) + 1) }
        END { print (v == "" ? 0 : v) }' "$SCRATCH/results/http.tsv"
}

# Sum of one RESULT field over the raw wrk outputs (results/http-LABEL-N.txt)
# of the cases whose label matches the glob.
result_sum() {
    local field=$1 glob=$2
    # shellcheck disable=SC2086 # the label is a glob on purpose
    cat "$SCRATCH"/results/http-$glob-[0-9]*.txt 2>/dev/null |
        awk -v f="$field=" '/^RESULT/ { for (i = 2; i <= NF; i++) if (index($i, f) == 1) s += substr($i, length(f) + 1) }
            END { printf "%d\n", s }'
}

# Sum of wrk's error counters (connect/read/write/timeout, and non-2xx/3xx).
errors_of() {
    cat "$SCRATCH"/results/http-"$1"-[0-9]*.txt 2>/dev/null |
        awk '/^RESULT/ { for (i = 2; i <= NF; i++) if ($i ~ /^err_/) { split($i, a, "="); s += a[2] } }
            END { printf "%d\n", s }'
}

print_summary() {
    local label
    say "summary (median of $RUNS run(s), wrk ${WRK_ARGS[*]}, Connection: close)"
    printf '  %-24s %10s %9s %10s %11s %s\n' case "req/s" "MB/s" "requests" "CPU us/req" "wrk errors"
    for label in nginx-304-close nginx-304-close-esplua nginx-304log-close-esplua php-304-close flotad-304-close \
        nginx-bin1M-close flotad-200-close php-200-close; do
        grep -q "^$label	" "$SCRATCH/results/http.tsv" || continue
        printf '  %-24s %10s %9s %10s %11s %s\n' "$label" "$(median median_rps "$label")" \
            "$(median median_MBps "$label")" "$(result_sum requests "$label")" \
            "$(awk -F'\t' -v l="$label" '$1 == l { print $2 }' "$SCRATCH/results/cpu.tsv")" "$(errors_of "$label")"
    done

    local f304 n304 n304l n304log p304 f200 nbin
    f304=$(median median_rps flotad-304-close)
    n304=$(median median_rps nginx-304-close)
    n304l=$(median median_rps nginx-304-close-esplua)
    n304log=$(median median_rps nginx-304log-close-esplua)
    p304=$(median median_rps php-304-close)
    f200=$(median median_MBps flotad-200-close)
    nbin=$(median median_MBps nginx-bin1M-close)
    say "ratios"
    ratio() { # ratio TEXT A B TARGET
        awk -v t="$1" -v a="$2" -v b="$3" -v g="$4" 'BEGIN {
            r = (b > 0) ? a / b : 0
            printf "  %-46s %8.2fx   target >= %sx  %s\n", t, r, g, (r >= g ? "met" : "NOT met") }'
    }
    ratio "flotad 304 / nginx 304 (plain wrk)" "$f304" "$n304" 0.8
    ratio "flotad 304 / nginx 304 (ESP header Lua)" "$f304" "$n304l" 0.8
    ratio "flotad 304 / nginx 304 + access log (ESP Lua)" "$f304" "$n304log" 0.8
    ratio "flotad 304 / PHP 304" "$f304" "$p304" 20
    ratio "flotad 200 MB/s / nginx static 1 MiB MB/s" "$f200" "$nbin" 0.9
    if [ "$PHP200" = 1 ]; then
        ratio "flotad 200 / PHP 200 (req/s)" "$(median median_rps flotad-200-close)" \
            "$(median median_rps php-200-close)" 1
    fi
}

# VmHWM / VmRSS of the running flotad, and how many devices it knows.
print_memory() {
    local hwm rss devices
    [ -r "/proc/$FLOTAD_PID/status" ] || die "flotad (pid $FLOTAD_PID) is gone"
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$FLOTAD_PID/status")
    rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$FLOTAD_PID/status")
    devices=$(sqlite3 "$SCRATCH/flotad/flotad.db" 'select count(*) from devices' 2>/dev/null || echo '?')
    say "flotad memory (before SIGTERM)"
    awk -v h="$hwm" -v r="$rss" -v d="$devices" 'BEGIN {
        printf "  VmHWM %.1f MB, VmRSS %.1f MB, devices known %s; target VmHWM < 64 MB: %s\n",
            h / 1024, r / 1024, d, (h / 1024 < 64 ? "met" : "NOT met") }'
}

# After SIGTERM: every poll wrk saw answered is counted on its device (flotad writes a
# check-in row only when something changed or a heartbeat is due, and counts the rest).
print_checkins() {
    local rows counted devices wrk_total polls
    rows=$(sqlite3 "$SCRATCH/flotad/flotad.db" 'select count(*) from checkins')
    counted=$(sqlite3 "$SCRATCH/flotad/flotad.db" 'select coalesce(sum(polls), 0) from devices')
    devices=$(sqlite3 "$SCRATCH/flotad/flotad.db" 'select count(*) from devices')
    wrk_total=$(result_sum requests 'flotad*')
    polls=$((wrk_total + CURL_POLLS))
    say "check-ins (after SIGTERM drained flotad)"
    printf '  rows in checkins:                         %s (a row per change or heartbeat)\n' "$rows"
    printf '  polls counted on the devices:             %s\n' "$counted"
    printf '  polls answered per wrk (flotad cases):    %s  (+ %s curl checks = %s)\n' \
        "$wrk_total" "$CURL_POLLS" "$polls"
    printf '  devices known after the runs:             %s (population %s)\n' "$devices" "$DEVICES"
    if [ "$counted" -ge "$polls" ]; then
        echo "  every answered poll was counted; the surplus are polls flotad answered (and counted)"
        echo "  whose answer wrk cut off when a run ended (at most -c connections per run)"
    else
        echo "  NOT every answered poll was counted: $((polls - counted)) missing"
    fi
    grep -E 'stopped;|error' "$SCRATCH/logs/flotad.log" | tail -n 5 | sed 's/^/  flotad.log: /' || true
}

# ---------------------------------------------------------------- main

main() {
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    need_tools
    find_binaries
    ports_free
    prepare_scratch
    start_peers
    make_image
    start_flotad
    publish_release
    write_flotad_manifest
    verify_cases
    run_cases
    print_summary
    print_memory
    say "stopping flotad with SIGTERM"
    local t0 t1
    t0=$(date +%s%N)
    stop_flotad || echo "  flotad had to be killed; the check-in count below may be short"
    t1=$(date +%s%N)
    echo "  flotad exited $(( (t1 - t0) / 1000000 )) ms after SIGTERM"
    print_checkins
}

main "$@"
