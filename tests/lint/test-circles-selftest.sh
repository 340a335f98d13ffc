#!/bin/sh
# SPDX-License-Identifier: MIT
# Proves the file-circle check can fail: it must reject a tree where two files of a directory
# call each other, or where a new file joins a known circle, and must not be fooled by a name
# in a comment or a string.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

make_tree() {
    mkdir -p "$tmp/$1"
    cp -r "$root/src" "$tmp/$1/"
}

expect_reject() {
    if sh "$here/check-file-circles.sh" "$tmp/$1" 2>"$tmp/$1.err"; then
        echo "selftest: '$1' was accepted" >&2
        exit 1
    fi
    grep -q "$2" "$tmp/$1.err" || { echo "selftest: '$1': unexpected message:" >&2; cat "$tmp/$1.err" >&2; exit 1; }
    echo "selftest: '$1' rejected as expected"
}

expect_accept() {
    sh "$here/check-file-circles.sh" "$tmp/$1" >/dev/null 2>"$tmp/$1.err" || {
        echo "selftest: '$1' was rejected:" >&2; cat "$tmp/$1.err" >&2; exit 1; }
    echo "selftest: '$1' accepted as expected"
}

# the circle issue 13 found: the value checks calling back into the JSON reader
make_tree two-files
printf 'int call_back(void);\nint call_back(void) {\n        return log_parse_json(0, 0, 0, 0, 0);\n}\n' \
    >> "$tmp/two-files/src/ingest/log-values.c"
expect_reject two-files "src/ingest: these files depend on each other around: log-json log-values"

# three files around, one of them through a callback (a name passed, not called)
make_tree three-files
printf 'void sim_a(void);\nvoid sim_a(void) {\n        sim_b();\n}\n' > "$tmp/three-files/src/sim/a.c"
printf 'void sim_b(void);\nvoid sim_b(void) {\n        void *p = sim_device_reboot;\n        (void) p;\n}\n' \
    > "$tmp/three-files/src/sim/b.c"
printf 'static void *hook = sim_a;\n' >> "$tmp/three-files/src/sim/main.c"
expect_reject three-files "src/sim: these files depend on each other around: a b main"

# a new file joining a known circle is refused: known circles may only shrink
make_tree join-known
printf 'int api_extra(void);\nint api_extra(void) {\n        return api_n_routes();\n}\n' \
    > "$tmp/join-known/src/server/api-extra.c"
printf 'static void *extra = api_extra;\n' >> "$tmp/join-known/src/server/api.c"
expect_reject join-known "api-extra"

# names in comments and strings are not calls
make_tree prose
printf '/* log_parse_json() reads the line */\nstatic const char *what = "log_parse_json(";\n' \
    >> "$tmp/prose/src/ingest/log-values.c"
expect_accept prose

sh "$here/check-file-circles.sh" "$root"
