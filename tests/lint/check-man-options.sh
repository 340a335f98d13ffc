#!/bin/sh
# SPDX-License-Identifier: MIT
# A program's long options, as its --help lists them (made from its option table), are the
# ones its man page describes: none missing on either side.
# Usage: check-man-options.sh PROGRAM MAN_PAGE
set -eu
prog=$1 man=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flota-man-options.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$prog" --help | sed -n 's/^  \(-., \)\{0,1\}--\([a-z0-9-]*\).*/\2/p' | grep -v '^help$' | sort -u >"$tmp/help"
# every option a definition line names ("*--ota-password* _PW_, *--ota-user* _NAME_": both)
grep '^\*--' "$man" | grep -o '\*--[a-z0-9-]*\*' | sed 's/^\*--//; s/\*$//' | sort -u >"$tmp/man"
[ -s "$tmp/help" ] || { echo "man-options: $prog --help lists no options" >&2; exit 1; }
if ! diff -u "$tmp/help" "$tmp/man" >"$tmp/diff"; then
    echo "man-options: $prog --help (-) and $man (+) name different options:" >&2
    grep '^[-+][a-z]' "$tmp/diff" >&2
    exit 1
fi
echo "man-options: ok ($(wc -l <"$tmp/help") options)"
