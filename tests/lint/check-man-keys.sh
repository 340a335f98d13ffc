#!/bin/sh
# SPDX-License-Identifier: MIT
# flota(1)'s DASHBOARD keys are the dashboard's own key table ('flota tui --list-keys').
# Usage: check-man-keys.sh MAN_PAGE   (FLOTA points at flota)
set -eu
man=$1
FLOTA=${FLOTA:?FLOTA must point at flota}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flota-man-keys.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$FLOTA" tui --list-keys >"$tmp/table"
# the lines between '## Keys' (and its blank line) and the sentence after the list
sed -n '/^## Keys$/,/^\*--list-keys\* prints/p' "$man" | sed '1,2d;$d' >"$tmp/man"
if ! diff -u "$tmp/table" "$tmp/man"; then
    echo "man-keys: the DASHBOARD keys in $man differ from 'flota tui --list-keys' (paste its output)" >&2
    exit 1
fi
echo "man-keys: ok ($(grep -c '^\*' "$tmp/table") keys)"
