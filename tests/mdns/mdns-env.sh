#!/bin/sh
# SPDX-License-Identifier: MIT
# A private mDNS test bed: two avahi-daemons on two private D-Buses, each in its own network
# namespace, joined by a veth pair, so what one side publishes reaches the other over the
# wire, as between a fleet of devices and the fleet manager's host.
#
#   mdns-env.sh start DIR              set it up; DIR keeps its state (created if missing)
#   mdns-env.sh devices DIR CMD...     run CMD on the devices side (its netns and D-Bus)
#   mdns-env.sh manager DIR CMD...     run CMD on the manager side
#   mdns-env.sh restart-devices DIR    restart the devices side's avahi-daemon
#   mdns-env.sh restart-manager DIR    restart the manager side's avahi-daemon
#   mdns-env.sh stop DIR               stop everything it started, delete the namespaces
#
#   side       netns                  veth    address            avahi host name
#   devices    flota-mdns-PID-dev     mdns0   169.254.77.1/16    flota-devices
#   manager    flota-mdns-PID-mgr     mdns0   169.254.77.2/16    flota-manager
#
# PID is the pid of the "start" process, so parallel runs never share a name. Nothing is put
# on the machine's interfaces (both veth ends live in the namespaces) or its system bus (each
# side's bus is a unix socket in DIR, and commands get DBUS_SYSTEM_BUS_ADDRESS pointing at
# it). Each avahi-daemon gets a private tmpfs on /run in the mount namespace that
# "ip netns exec" makes, so its pid file and socket never meet the machine's. Every process
# started is recorded in DIR/*.pid and stopped by that pid; "stop" also ends whatever still
# runs inside the two namespaces. "stop" is safe to run twice and after a partial start.
# Waits are bounded. Needs root: without it, "start" prints "skipped: needs root" and exits 77.
set -eu

usage() {
    echo "usage: $0 start|stop|restart-devices|restart-manager DIR" >&2
    echo "       $0 devices|manager DIR CMD [ARG...]" >&2
    exit 2
}

[ $# -ge 2 ] || usage
verb=$1
dir=$2
shift 2

die() {
    echo "mdns-env: $*" >&2
    exit 1
}

skip() {
    echo "skipped: $*"
    exit 77
}

# --- configuration files ---------------------------------------------------------------

write_dbus_conf() { # $1 side
    cat > "$dir/dbus-$1.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<!-- Private bus of the $1 side of mdns-env.sh; nothing else connects to it. -->
<busconfig>
  <type>system</type>
  <listen>unix:path=$dir/dbus-$1.socket</listen>
  <pidfile>$dir/dbus-$1.pid</pidfile>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="method_return"/>
    <allow send_type="signal"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="signal"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
EOF
}

# The devices side stands in for a fleet of hosts, so its daemon gets large limits: one flota-sim
# client registers an entry group per device. The manager side is a fleet manager's machine
# and runs avahi-daemon with its stock limits (1,024 objects per client, 4,096 cached
# records), as a user's would; MDNS_ENV_MANAGER_CONF, when set, names a file of [server] lines
# added to the manager's configuration.
write_avahi_conf() { # $1 side, $2 host name
    cat > "$dir/avahi-$1.conf" <<EOF
# avahi-daemon of the $1 side of mdns-env.sh: only the veth in its netns, IPv4.
[server]
host-name=$2
domain-name=local
use-ipv4=yes
use-ipv6=no
allow-interfaces=mdns0
enable-dbus=yes
disallow-other-stacks=no
EOF
    if [ "$1" = dev ]; then
        cat >> "$dir/avahi-$1.conf" <<EOF
cache-entries-max=65536
clients-max=1024
objects-per-client-max=65536
entries-per-entry-group-max=64
ratelimit-interval-usec=1000000
ratelimit-burst=10000
EOF
    elif [ -n "${MDNS_ENV_MANAGER_CONF:-}" ]; then
        cat "$MDNS_ENV_MANAGER_CONF" >> "$dir/avahi-$1.conf"
    fi
    cat >> "$dir/avahi-$1.conf" <<EOF

[wide-area]
enable-wide-area=no

[publish]
publish-hinfo=no
publish-workstation=no
publish-addresses=yes
publish-aaaa-on-ipv4=no
publish-a-on-ipv6=no

[reflector]
enable-reflector=no

[rlimits]
EOF
}

# --- processes ---------------------------------------------------------------------------

# Is pid (from file $1) alive and the program $2? Guards against a recycled pid.
pid_is() {
    [ -s "$1" ] || return 1
    p=$(cat "$1")
    [ -n "$p" ] && [ -r "/proc/$p/comm" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]
}

# Is process $1 running? A zombie is not (its parent may be slow to reap it).
alive() {
    [ -r "/proc/$1/stat" ] || return 1
    state=$(sed 's/.*) \(.\).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# Stops the process of pid file $1 if it is program $2: TERM, up to 5 s, then KILL.
stop_pid() {
    if pid_is "$1" "$2"; then
        p=$(cat "$1")
        kill "$p" 2>/dev/null || true
        i=0
        while alive "$p" && [ $i -lt 50 ]; do
            sleep 0.1
            i=$((i + 1))
        done
        kill -9 "$p" 2>/dev/null || true
    fi
    rm -f "$1"
}

bus_of() { # $1 side
    echo "unix:path=$dir/dbus-$1.socket"
}

ns_of() { # $1 side
    if [ "$1" = dev ]; then echo "$NS_DEV"; else echo "$NS_MGR"; fi
}

start_bus() { # $1 side
    write_dbus_conf "$1"
    rm -f "$dir/dbus-$1.socket" "$dir/dbus-$1.pid"
    dbus-daemon --config-file="$dir/dbus-$1.conf" --fork --nosyslog > /dev/null ||
        die "dbus-daemon ($1) did not start"
    i=0
    while [ ! -S "$dir/dbus-$1.socket" ] || ! pid_is "$dir/dbus-$1.pid" dbus-daemon; do
        i=$((i + 1))
        [ $i -le 50 ] || die "dbus-daemon ($1) did not come up"
        sleep 0.1
    done
}

avahi_state() { # $1 side; prints 2 when the server is RUNNING
    DBUS_SYSTEM_BUS_ADDRESS=$(bus_of "$1") dbus-send --system --reply-timeout=1000 --print-reply=literal \
        --dest=org.freedesktop.Avahi / org.freedesktop.Avahi.Server.GetState 2>/dev/null | awk '{print $2}'
}

# The daemon runs in the foreground of a background job: env, ip netns exec, sh and
# avahi-daemon each exec the next, so $! is avahi-daemon's pid.
start_avahi() { # $1 side
    # shellcheck disable=SC2016 # $1 is the inner shell's
    env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of "$1")" ip netns exec "$(ns_of "$1")" sh -c \
        'mount -t tmpfs -o size=1m,mode=0755 tmpfs /run && exec avahi-daemon -f "$1" --no-drop-root --no-chroot --no-rlimits' \
        sh "$dir/avahi-$1.conf" >> "$dir/avahi-$1.log" 2>&1 < /dev/null &
    echo $! > "$dir/avahi-$1.pid"
    i=0
    while [ "$(avahi_state "$1")" != 2 ]; do
        i=$((i + 1))
        if [ $i -gt 100 ] || ! alive "$(cat "$dir/avahi-$1.pid")"; then
            cat "$dir/avahi-$1.log" >&2
            die "avahi-daemon ($1) did not reach RUNNING"
        fi
        sleep 0.1
    done
}

load_env() {
    [ -f "$dir/env" ] || die "$dir: not started (no $dir/env)"
    dir=$(cd "$dir" && pwd)
    # shellcheck source=/dev/null
    . "$dir/env"
}

# --- verbs --------------------------------------------------------------------------------

start_ended() {
    rc=$?
    trap - EXIT
    [ "$rc" -eq 0 ] || stop
    exit "$rc"
}

start() {
    [ "$(id -u)" -eq 0 ] || skip "needs root"
    for tool in ip dbus-daemon dbus-send avahi-daemon avahi-browse mount; do
        command -v "$tool" > /dev/null 2>&1 || skip "needs $tool (share/dev/deps.sh installs it)"
    done
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    [ ! -f "$dir/env" ] || die "$dir: already started (run stop first)"
    # unix socket paths are limited to 107 bytes
    [ ${#dir} -le 80 ] || die "$dir: path too long for a unix socket"
    cat > "$dir/env" <<EOF
NS_DEV=flota-mdns-$$-dev
NS_MGR=flota-mdns-$$-mgr
EOF
    # shellcheck source=/dev/null
    . "$dir/env"
    # from here on, a start that fails (or skips) takes down what it started
    trap start_ended EXIT

    start_bus dev
    start_bus mgr
    if ! ip netns add "$NS_DEV" 2>/dev/null; then
        skip "cannot create network namespaces"
    fi
    ip netns add "$NS_MGR"
    ip -n "$NS_DEV" link set lo up
    ip -n "$NS_MGR" link set lo up
    ip -n "$NS_DEV" link add mdns0 type veth peer name mdns0 netns "$NS_MGR"
    ip -n "$NS_DEV" addr add 169.254.77.1/16 dev mdns0
    ip -n "$NS_MGR" addr add 169.254.77.2/16 dev mdns0
    ip -n "$NS_DEV" link set mdns0 up
    ip -n "$NS_MGR" link set mdns0 up

    write_avahi_conf dev flota-devices
    write_avahi_conf mgr flota-manager
    start_avahi dev
    start_avahi mgr
    trap - EXIT
    echo "mdns-env: up in $dir (netns $NS_DEV, $NS_MGR)"
}

stop() {
    [ -d "$dir" ] || return 0
    dir=$(cd "$dir" && pwd)
    [ -f "$dir/env" ] || return 0
    # shellcheck source=/dev/null
    . "$dir/env"
    stop_pid "$dir/avahi-mgr.pid" avahi-daemon
    stop_pid "$dir/avahi-dev.pid" avahi-daemon
    # whatever a test left running on either side
    for ns in "$NS_DEV" "$NS_MGR"; do
        [ -e "/run/netns/$ns" ] || continue
        for p in $(ip netns pids "$ns" 2>/dev/null); do
            kill -9 "$p" 2>/dev/null || true
        done
    done
    stop_pid "$dir/dbus-mgr.pid" dbus-daemon
    stop_pid "$dir/dbus-dev.pid" dbus-daemon
    for ns in "$NS_DEV" "$NS_MGR"; do
        [ ! -e "/run/netns/$ns" ] || ip netns del "$ns" 2>/dev/null || true
    done
    rm -f "$dir/dbus-dev.socket" "$dir/dbus-mgr.socket" "$dir/env"
}

restart() { # $1 side
    load_env
    stop_pid "$dir/avahi-$1.pid" avahi-daemon
    start_avahi "$1"
}

run_on() { # $1 side, then the command
    load_env
    side=$1
    shift
    [ $# -gt 0 ] || usage
    exec env DBUS_SYSTEM_BUS_ADDRESS="$(bus_of "$side")" ip netns exec "$(ns_of "$side")" "$@"
}

case $verb in
start) start ;;
stop) stop ;;
restart-devices) restart dev ;;
restart-manager) restart mgr ;;
devices) run_on dev "$@" ;;
manager) run_on mgr "$@" ;;
*) usage ;;
esac
