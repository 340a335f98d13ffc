#!/bin/sh
# SPDX-License-Identifier: MIT
# The shipped systemd units parse as systemd reads them (systemd-analyze verify), with the
# programs they start pointed at this build. Usage: check-units.sh SOURCE_ROOT BUILD_ROOT
set -eu
src=$1 build=$2
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "skipped: systemd-analyze is not installed"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in flotad.service flota-rollout.service flota-rollout.timer; do
    sed -e "s|/usr/local/sbin/flotad|$build/src/server/flotad|" -e "s|/usr/local/bin/flota|$build/src/cli/flota|" \
        "$src/share/systemd/$unit" >"$work/$unit"
done
cd "$work"
systemd-analyze verify --man=no flotad.service flota-rollout.service flota-rollout.timer
echo "units: ok"
