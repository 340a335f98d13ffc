#!/bin/sh
# SPDX-License-Identifier: MIT
# Churn on a stock avahi-daemon: 200 flota-sim devices come and go (--offline 1: one poll in
# three a device withdraws its service, with a goodbye, for 3 to 6 polls; back, it stays at
# least one poll interval, 1.5 to 2.5 s, probing included) for 30 s while "flota discover
# --watch" runs on the manager side. avahi-browse on the same side records, with the time,
# what the manager's avahi-daemon listed and unlisted. For every device flota must report
# adds and removes in turn, each once, no more than the daemon listed, and every stay the
# daemon listed for 2 s or more (a goodbye takes 1 s to reach a browser, so that is a device
# on the network for a second): a shorter one may go unreported when the device said
# goodbye before it could be resolved. Then flota-sim stops and nothing may be left added.
# Needs root (skipped, 77, without it).
set -eu
# shellcheck source=tests/mdns/common.sh
. "$(cd "$(dirname "$0")" && pwd)/common.sh"
flota=${FLOTA:?FLOTA must point at flota}

n=200
churn_s=${CHURN_SECONDS:-30}
mdns_setup
db="$work/flota.db"

# shellcheck disable=SC2016 # the inner shell's
spawn manager "$work/browse.out" sh -c 'stdbuf -oL avahi-browse -p _arduino._tcp |
    while IFS= read -r l; do printf "%s %s\n" "$(date +%s%3N)" "$l"; done'
browse_pid=$spawned
spawn manager "$work/watch.out" "$flota" --db "$db" --json discover --watch --types _arduino._tcp
watch_pid=$spawned
spawn devices "$work/sim.log" "$sim" --mdns --devices "$n" --seed 33 --mix esp8266=1,esp32=1 --offline 1 \
    --interval 2 --server http://127.0.0.1:9
sim_pid=$spawned
t0=$(now_ms)
until [ $(($(now_ms) - t0)) -ge $((churn_s * 1000)) ]; do
    kill -0 "$sim_pid" 2>/dev/null || fail "flota-sim ended early: $(tail -5 "$work/sim.log")"
    sleep 1
done
kill "$sim_pid"

# every device gone: avahi-browse has a "-" last for each, and so has flota
last_is_removal() { # FILE: per instance, the last event is a removal
    awk '{ last[$1] = $2 } END { for (i in last) if (last[i] != "-") exit 1 }' "$1"
}
browse_events() { # avahi-browse's adds and removes as "instance +|- time"
    awk -F';' '/^[0-9]+ [+-];/ { split($1, a, " "); print $4 " " a[2] " " a[1] }' "$work/browse.out"
}
watch_events() { # flota's, in the same form
    sed -n 's/^{"event":"\(added\|removed\)".*"instance":"\([^"]*\)".*/\2 \1/p' "$work/watch.out" |
        sed 's/ added$/ +/; s/ removed$/ -/'
}
deadline=$(($(now_ms) + 30000))
while :; do
    browse_events > "$work/browse.ev"
    watch_events > "$work/watch.ev"
    if [ "$(cut -d' ' -f1 "$work/browse.ev" | sort -u | wc -l)" -eq "$n" ] && last_is_removal "$work/browse.ev" &&
        last_is_removal "$work/watch.ev"; then
        break
    fi
    [ "$(now_ms)" -lt "$deadline" ] || fail "devices left added after flota-sim stopped: $(tail -5 "$work/watch.ev")"
    sleep 1
done
kill "$browse_pid" "$watch_pid"
wait "$watch_pid" || true     # done with the inventory

# per device: flota's adds and removes alternate, and their pairs number no more than the
# daemon's and no fewer than its stays of 2 s or more
awk '
    FNR == 1 { file++ }
    file == 1 { if ($2 == "+") t[$1] = $3; else { pairs[$1]++; if ($3 - t[$1] >= 2000) long[$1]++ } next }
    { want = seen[$1] % 2 == 0 ? "+" : "-"
      if ($2 != want) { print $1 ": " $2 " after " (want == "+" ? "-" : "+") " or nothing"; bad++ }
      seen[$1]++ }
    END {
      for (d in pairs) {
        f = int((seen[d] + 1) / 2)
        if (f > pairs[d] || f < long[d]) { print d ": " f " stays reported, daemon " pairs[d] " (" long[d] " of 2 s or more)"; bad++ }
        missed += pairs[d] - f; all += pairs[d]
      }
      for (d in seen) if (!(d in pairs)) { print d ": reported, never listed by the daemon"; bad++ }
      print "stays: " all " listed by the daemon, " missed " short ones not reported" > "/dev/stderr"
      exit (bad > 0)
    }' "$work/browse.ev" "$work/watch.ev" > "$work/check" || fail "flota's adds and removes against avahi-daemon's: $(head -20 "$work/check")"
adds=$(grep -c ' +$' "$work/watch.ev") || true
[ "$adds" -gt "$n" ] || fail "no churn: $adds adds for $n devices"
left=$(sqlite3 "$db" "SELECT count(*) FROM devices WHERE announced = 1")
[ "$left" -eq 0 ] || fail "$left devices still announced in the inventory"
echo "ok: $n devices, $adds adds and as many removes in ${churn_s} s, as the daemon listed them"
