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

# libpq: the PostgreSQL backend's directory only, not the rest of the store layer
make_tree libpq-in-store
echo '#include <libpq-fe.h>' >> "$tmp/libpq-in-store/src/store/checkins.c"
expect_reject libpq-in-store "only src/store/pg/ may use libpq"

make_tree libpq-in-server
echo '#include <libpq-fe.h>' >> "$tmp/libpq-in-server/src/server/server.c"
expect_reject libpq-in-server "only src/store/pg/ may use libpq"

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

# a directory DESIGN.md does not name, and a file outside every layer
make_tree unknown-layer
mkdir -p "$tmp/unknown-layer/src/web"
echo '#include "flota/store.h"' > "$tmp/unknown-layer/src/web/page.c"
expect_reject unknown-layer "unknown layer 'web'"

make_tree top-level-file
echo 'int stray;' > "$tmp/top-level-file/src/stray.c"
expect_reject top-level-file "unknown layer 'stray.c'"

# a private header of a higher layer reached by a relative path
make_tree relative-private-include
echo '#include "../store/store-internal.h"' >> "$tmp/relative-private-include/src/model/mac.c"
expect_reject relative-private-include "a private header of store"

# ... and of a lower one: private is private
make_tree relative-private-include-below
echo '#include "../ingest/log-format-internal.h"' >> "$tmp/relative-private-include-below/src/store/db.c"
expect_reject relative-private-include-below "a private header of ingest"

# a public header by its path instead of flota/NAME (the rank check would not see it)
make_tree relative-public-include
echo '#include "../../include/flota/store.h"' >> "$tmp/relative-public-include/src/model/mac.c"
expect_reject relative-public-include "by its path"

sh "$here/check-layering.sh" "$root"
