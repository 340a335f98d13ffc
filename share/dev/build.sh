#!/bin/sh
# SPDX-License-Identifier: MIT
# Configures (once) and builds flota into BUILD_DIR (default: build). Extra arguments go to meson setup.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$top/build}
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" "$top" "$@" >/dev/null
fi
ninja -C "$build" >/dev/null
