#!/bin/sh
# SPDX-License-Identifier: MIT
# Installs dependencies, builds and runs the whole test suite (unit, integration, fuzz
# corpus replay, lint). Ends with one line "N passed, M failed[, K skipped]".
# BUILD_DIR and extra meson setup arguments (e.g. -Dsanitize=true) may be given.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
export BUILD_DIR="$build"

sh "$top/share/dev/deps.sh"
sh "$top/share/dev/build.sh" "$@"

status=0
meson test -C "$build" --print-errorlogs || status=$?

log="$build/meson-logs/testlog.json"
passed=$(grep -c '"result": "OK"' "$log" || true)
failed=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
skipped=$(grep -c '"result": "SKIP"' "$log" || true)
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
