#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs what flota needs to build and test on Debian 12 (bookworm). Idempotent: it only
# calls apt-get when a package is missing. Uses sudo when not run as root.
set -eu

# systemd is for systemd-analyze, which checks the shipped units (tests/lint/check-units.sh).
# tmux is for the dashboard's golden-screen tests (tests/tui).
# avahi-daemon, avahi-utils, dbus and iproute2 are for the mDNS tests (tests/mdns), which run
# private avahi-daemons in network namespaces; on a machine with systemd, installing
# avahi-daemon also enables the system's own mDNS responder.
# bsdutils is for script(1), the pseudo-terminal of tests/cli/test-cli-color.c.
# postgresql (the server, for the throw-away clusters of tests/pg/with-postgres.sh) and libpq-dev
# (flotad's PostgreSQL backend, src/store/pg) are for running several flotad on one database.
# nginx is for the image-delivery test (flotad --image-delivery x-accel behind a real nginx).
packages="gcc meson ninja-build pkg-config bsdutils
libsqlite3-dev libssl-dev libcjson-dev libmicrohttpd-dev libinih-dev
libcurl4-openssl-dev libavahi-client-dev libncurses-dev libcmocka-dev
zlib1g-dev scdoc curl sqlite3 systemd tmux
avahi-daemon avahi-utils dbus iproute2
postgresql libpq-dev
nginx"
# clang-format (14 on Debian 12) is for the formatting lint (tests/lint/check-format.sh) and
# share/dev/format.sh.
packages="$packages clang-format"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "flota: installing:$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends $missing
