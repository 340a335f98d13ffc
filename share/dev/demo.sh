#!/bin/sh
# SPDX-License-Identifier: MIT
# The README's first command: installs the dependencies, builds flota and runs `flota demo`,
# a private flotad on a temporary directory, a simulated fleet of 50 ESP8266/ESP32 devices on
# mixed versions, two releases per product, and the fleet's status live while it updates
# itself. Ctrl-C stops everything the demo started and removes its data. Without a terminal
# the demo stops by itself after 30 seconds (flota(1), demo).
# Environment: FLOTA_DEMO_PORT (default 8070; 0 for any free port), BUILD_DIR.
# Arguments go to flota demo, e.g. --devices 200 or --keep.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
export BUILD_DIR="$build"

sh "$top/share/dev/deps.sh"
echo "flota: building in $build"
sh "$top/share/dev/build.sh"
exec "$build/src/cli/flota" demo --port "${FLOTA_DEMO_PORT:-8070}" "$@"
