#!/bin/sh
# SPDX-License-Identifier: MIT
# flota discover against real avahi-daemons over a veth pair (tests/mdns/mdns-env.sh):
# what each firmware announces, goodbyes, a moved address, a changed TXT, hostile TXT, a name
# conflict, a daemon restart, and no daemon at all. Needs root (exit 77 otherwise).
# Usage: test-discover.sh  (FLOTA points at the flota binary)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
env_sh="$here/mdns-env.sh"
flota=${FLOTA:?FLOTA must point at the flota binary}
[ "$(id -u)" = 0 ] || { echo "skipped: needs root"; exit 77; }

dir=$(mktemp -d)
cleanup() {
    sh "$env_sh" stop "$dir" >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}

sh "$env_sh" start "$dir" >/dev/null
devices() { sh "$env_sh" devices "$dir" "$@"; }
manager() { sh "$env_sh" manager "$dir" "$@"; }
db="$dir/flota.db"

# Publishes a service on the devices side in the background; its pid goes to $dir/pub.NAME.
publish() { # NAME HOST-OR-- TYPE PORT [TXT...]
    name=$1 host=$2
    shift 2
    if [ "$host" = - ]; then
        devices sh -c 'avahi-publish-service "$@" >/dev/null 2>&1 & echo $! >"$0"' "$dir/pub.$name" "$name" "$@"
    else
        devices sh -c 'h=$1; shift; avahi-publish-service -H "$h" "$@" >/dev/null 2>&1 & echo $! >"$0"' \
            "$dir/pub.$name" "$host" "$name" "$@"
    fi
}
address() { # NAME HOST IP
    devices sh -c 'avahi-publish-address -R "$1" "$2" >/dev/null 2>&1 & echo $! >"$0"' "$dir/addr.$1" "$2" "$3"
}
unpublish() { kill "$(cat "$dir/$1")" 2>/dev/null || true; }

discover() { manager "$flota" --db "$db" discover --timeout 3 "$@"; }

# Runs COMMAND every 0.2 s until it succeeds, for at most SECONDS; 1 when it never did.
wait_until() { # SECONDS COMMAND...
    end=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.2
    done
}
# True when the manager's daemon has resolved a service of each instance NAME.
resolved() { # NAME...
    browse=$(manager timeout 5 avahi-browse -arpt 2>/dev/null | grep '^=') || return 1
    for name in "$@"; do
        case $browse in *";$name;"*) ;; *) return 1 ;; esac
    done
}
# True when FILE holds every TEXT.
holds() { # FILE TEXT...
    file=$1
    shift
    text=$(cat "$file" 2>/dev/null) || return 1
    for t in "$@"; do
        case $text in *"$t"*) ;; *) return 1 ;; esac
    done
}
# True when the process whose pid is in FILE is gone.
gone() { ! kill -0 "$(cat "$1")" 2>/dev/null; }

# --- what each firmware announces -------------------------------------------------------
publish esp8266-1a2b3c esp8266-1a2b3c.local _arduino._tcp 8266 tcp_check=no ssh_upload=no board=generic auth_upload=yes
address esp8266-1a2b3c esp8266-1a2b3c.local 169.254.77.50
publish esp32-24a160112233 esp32-24a160112233.local _arduino._tcp 3232 tcp_check=no ssh_upload=no board=esp32 auth_upload=no
address esp32-24a160112233 esp32-24a160112233.local 169.254.77.51
publish hall - _esphomelib._tcp 6053 "friendly_name=Hall sensor" version=2024.11.0 mac=a4cf12ab34cd platform=ESP8266 \
    board=d1_mini project_name=acme.hall project_version=1.4.2
publish wled-strip - _wled._tcp 80 mac=ecfabc0a0b0c
publish plug tasmota-0D0E0F-2828.local _http._tcp 80 devicetype=tasmota
address plug tasmota-0D0E0F-2828.local 169.254.77.52
publish printer - _http._tcp 631 path=/
# hostile TXT: a value too long to keep (a TXT string holds at most 255 bytes), a duplicate
# key (the first counts), a control byte
big=$(printf '%0230d' 0)
publish noisy - _esphomelib._tcp 6053 "friendly_name=$big" mac=00aabb112233 mac=ffffffffffff 'board=\001x'
wait_until 20 resolved esp8266-1a2b3c esp32-24a160112233 hall wled-strip plug printer noisy ||
    fail "the announcements were not resolved on the manager's side"

out=$(discover --json) || fail "discover exit $?"
for want in '"id":	"esp8266-1a2b3c"' '"id":	"24:A1:60:11:22:33"' '"id":	"A4:CF:12:AB:34:CD"' \
    '"id":	"EC:FA:BC:0A:0B:0C"' '"id":	"00:AA:BB:11:22:33"' '"address":	"169.254.77.50"' \
    '"name":	"Hall sensor"' '"version":	"1.4.2"' '"framework":	"2024.11.0"' '"port":	3232' '"kind":	"tasmota"' \
    '"id":	"tasmota-0d0e0f"' '"name":	"esp8266-1a2b3c"'; do
    case $out in *"$want"*) ;; *) fail "discover --json lacks $want" ;; esac
done
case $out in *printer*) fail "a printer was taken for a device" ;; esac
case $out in *FFFFFFFFFFFF* | *"FF:FF:FF:FF:FF:FF"*) fail "the second mac= was used" ;; esac
n=$(printf '%s\n' "$out" | grep -c '"id":') || true
[ "$n" = 6 ] || fail "6 devices expected, got $n"
table=$(discover) || fail "discover (table) exit $?"
case $table in *"DEVICE "*"FRAMEWORK"*"esp8266-1a2b3c"*) ;; *) fail "table: $table" ;; esac
case $table in *"Hall sensor"*"1.4.2"*"2024.11.0"*) ;; *) fail "table lacks the ESPHome names and versions: $table" ;; esac
# the friendly name is kept in the inventory, the host name when there is none
v=$(sqlite3 "$db" "SELECT name || '|' || version || '|' || framework FROM devices WHERE id = 'A4:CF:12:AB:34:CD'")
[ "$v" = "Hall sensor|1.4.2|2024.11.0" ] || fail "inventory row of the ESPHome device: $v"

# types= in the config file: what discover browses; a bad list is refused with its line
printf '[flota]\ntypes = _esphomelib._tcp\n' > "$dir/config"
out=$(manager "$flota" --config "$dir/config" --db "$dir/types.db" --json discover --timeout 3) ||
    fail "discover with types= exit $?"
n=$(printf '%s\n' "$out" | grep -c '"id":') || true
[ "$n" = 2 ] || fail "types=_esphomelib._tcp: 2 devices expected, got $n: $out"
printf '[flota]\ntypes = arduino\n' > "$dir/config"
set +e
msg=$("$flota" --config "$dir/config" --db "$dir/types.db" discover --timeout 1 2>&1)
rc=$?
set -e
[ "$rc" = 2 ] || fail "a bad types= in the config: exit $rc"
case $msg in *"config:2: types: expected service types"*) ;; *) fail "a bad types= in the config: $msg" ;; esac

# the inventory has them, announced, one row each
status=$(manager "$flota" --db "$db" --json status)
case $status in *'"devices":	6'*) ;; *) fail "status: $status" ;; esac

# --- a watch: goodbye, a moved address, a changed TXT ----------------------------------
manager sh -c '"$0" --db "$1" --json discover --watch >"$2" 2>&1 & echo $! >"$3"' "$flota" "$db" "$dir/watch.out" \
    "$dir/watch.pid"
# the watch has seen the fleet before anything changes
wait_until 20 holds "$dir/watch.out" '"id":"EC:FA:BC:0A:0B:0C"' '"id":"24:A1:60:11:22:33"' '"id":"A4:CF:12:AB:34:CD"' ||
    fail "the watch did not list the fleet: $(cat "$dir/watch.out")"
unpublish pub.wled-strip                                       # goodbye
unpublish addr.esp32-24a160112233                              # the ESP32 moves to another address
address esp32-24a160112233 esp32-24a160112233.local 169.254.77.61
unpublish pub.hall                                             # ESPHome comes back with a new version
publish hall - _esphomelib._tcp 6053 "friendly_name=Hall sensor" mac=a4cf12ab34cd platform=ESP8266 project_version=1.5.0
wait_until 30 holds "$dir/watch.out" '"event":"removed","device":{"id":"EC:FA:BC:0A:0B:0C"' \
    '"address":"169.254.77.61"' '"version":"1.5.0"' || true   # said below, one failure each
manager sh -c 'kill -INT "$(cat "$0")"' "$dir/watch.pid"
wait_until 10 gone "$dir/watch.pid" || fail "discover --watch did not stop on SIGINT"
w=$(cat "$dir/watch.out")
case $w in *'"event":"removed","device":{"id":"EC:FA:BC:0A:0B:0C"'*) ;; *) fail "no goodbye for WLED: $w" ;; esac
case $w in *'"address":"169.254.77.61"'*) ;; *) fail "the ESP32's new address was not seen: $w" ;; esac
case $w in *'"version":"1.5.0"'*) ;; *) fail "the new ESPHome version was not seen: $w" ;; esac
# sqlite3 is installed by share/dev/deps.sh: no answer is a failure, not a pass
ip=$(sqlite3 "$db" "SELECT ip FROM devices WHERE id = '24:A1:60:11:22:33'") || fail "sqlite3 on the inventory: exit $?"
[ "$ip" = 169.254.77.61 ] || fail "inventory ip of the ESP32: $ip"

# --- a name conflict: the manager's host announces a service of the same name; avahi on one
# side renames its own ("twin #2"); both are seen ----------------------------------------
publish twin - _arduino._tcp 8266 board=generic
manager sh -c 'avahi-publish-service twin _arduino._tcp 8267 board=generic >/dev/null 2>&1 & echo $! >"$0"' \
    "$dir/pub.twin2"
# both twins resolved: the devices' on 8266, the manager's own on 8267 (one of them renamed)
twins() {
    b=$(manager timeout 5 avahi-browse -rpt _arduino._tcp 2>/dev/null | grep '^=;.*;twin') || return 1
    case $b in *";8266;"*) ;; *) return 1 ;; esac
    case $b in *";8267;"*) ;; *) return 1 ;; esac
}
wait_until 20 twins || fail "the twins were not both resolved on the manager's side"
out=$(discover --json --types _arduino._tcp) || fail "discover after the conflict: exit $?"
case $out in *'"port":	8267'*'"port":	8266'* | *'"port":	8266'*'"port":	8267'*) ;;
*) fail "both twins were not seen: $out" ;; esac
case $out in *'"instance":	"twin #2"'*) ;; *) fail "no twin was renamed: $out" ;; esac

# --- the manager's daemon restarts under a watch: not a goodbye ----------------------------
# Discovery says it is down and back, keeps the devices (no "-" for them, no second "+"), and
# still hears what happens afterwards: a device that comes after the restart is added. The
# twins go first: the manager's own one would go with its daemon, for good.
unpublish pub.twin2
unpublish pub.twin
no_twins() { ! manager timeout 5 avahi-browse -pt _arduino._tcp 2>/dev/null | grep -q ';twin'; }
wait_until 20 no_twins || fail "the twins did not go"
manager sh -c '"$0" --db "$1" discover --watch >"$2" 2>&1 & echo $! >"$3"' "$flota" "$db" "$dir/watch2.out" \
    "$dir/watch2.pid"
wait_until 20 holds "$dir/watch2.out" "+ esp8266-1a2b3c" || fail "the second watch did not list the fleet"
sh "$env_sh" restart-manager "$dir" >/dev/null
wait_until 30 holds "$dir/watch2.out" "avahi-daemon went away" "avahi-daemon is back" ||
    fail "the watch did not say the daemon went and came back: $(cat "$dir/watch2.out")"
publish esp8266-5d6e7f esp8266-5d6e7f.local _arduino._tcp 8266 board=generic
address esp8266-5d6e7f esp8266-5d6e7f.local 169.254.77.53
wait_until 30 holds "$dir/watch2.out" "+ esp8266-5d6e7f" || fail "no device added after the restart"
# the known devices are confirmed (resolved again) before the newcomer: its "+" ends that
manager sh -c 'kill -INT "$(cat "$0")"' "$dir/watch2.pid"
wait_until 10 gone "$dir/watch2.pid" || fail "the second watch did not stop on SIGINT"
w=$(cat "$dir/watch2.out")
case $w in *"avahi-daemon went away"*"avahi-daemon is back"*) ;; *) fail "no reconnect after the restart: $w" ;; esac
case $w in *"- "*) fail "a daemon restart was taken for goodbyes: $w" ;; esac
n=$(printf '%s\n' "$w" | grep -c '^+ esp8266-1a2b3c') || true
[ "$n" = 1 ] || fail "esp8266-1a2b3c added $n times across the restart: $w"
a=$(sqlite3 "$db" "SELECT announced FROM devices WHERE id = 'esp8266-1a2b3c'")
[ "$a" = 1 ] || fail "the inventory no longer says esp8266-1a2b3c is announced"
st=$(manager "$flota" --db "$db" --json status)
case $st in *'"state":	"stopped"'*) ;; *) fail "status after the watch: $st" ;; esac

# --- no daemon at all: one line, exit 1 -------------------------------------------------
set +e
msg=$(DBUS_SYSTEM_BUS_ADDRESS="unix:path=$dir/no-such-bus" "$flota" --db "$db" discover --timeout 1 2>&1)
rc=$?
set -e
[ "$rc" = 1 ] || fail "without a daemon: exit $rc"
case $msg in *"no answer from avahi-daemon"*) ;; *) fail "without a daemon: $msg" ;; esac
# status says discovery is down, and that the devices are kept
st=$("$flota" --db "$db" --json status)
case $st in *'"discovery":'*'"state":	"down"'*) ;; *) fail "status after discover found no daemon: $st" ;; esac
st=$("$flota" --db "$db" status)
case $st in *"mdns"*"down since"*"devices kept"*) ;; *) fail "status (text) after discover found no daemon: $st" ;; esac

[ "$failed" = 0 ] && echo "discover: all checks passed"
exit "$failed"
