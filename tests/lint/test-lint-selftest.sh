#!/bin/sh
# SPDX-License-Identifier: MIT
# Proves the layering check can fail: it must reject a tree with each kind of violation.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect_reject() {
    name=$1
    if sh "$here/check-layering.sh" "$tmp/$name" 2>"$tmp/$name.err"; then
        echo "selftest: '$name' was accepted" >&2
        exit 1
    fi
    grep -q "$2" "$tmp/$name.err" || { echo "selftest: '$name': unexpected message:" >&2; cat "$tmp/$name.err" >&2; exit 1; }
    echo "selftest: '$name' rejected as expected"
}

make_tree() {
    mkdir -p "$tmp/$1"
    cp -r "$root/src" "$root/include" "$tmp/$1/"
}

make_tree mhd-in-store
echo '#include <microhttpd.h>' >> "$tmp/mhd-in-store/src/store/db.c"
expect_reject mhd-in-store "only server may use"

make_tree curses-in-server
echo '#include <ncurses.h>' >> "$tmp/curses-in-server/src/server/http.c"
expect_reject curses-in-server "only tui may use"

make_tree upward-include
echo '#include "flota/store.h"' >> "$tmp/upward-include/src/model/mac.c"
expect_reject upward-include "a layer above it"

make_tree header-without-layer
printf '#pragma once\n' > "$tmp/header-without-layer/include/flota/stray.h"
expect_reject header-without-layer "no 'Layer: NAME'"

make_tree json-parse-in-cli
echo 'static void *p = cJSON_Parse;' >> "$tmp/json-parse-in-cli/src/cli/main.c"
expect_reject json-parse-in-cli "parses JSON itself"

make_tree store-in-json
echo '#include "flota/store.h"' >> "$tmp/store-in-json/src/json/encode.c"
expect_reject store-in-json "a layer above it"

sh "$here/check-layering.sh" "$root"
