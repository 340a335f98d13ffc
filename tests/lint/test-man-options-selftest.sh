#!/bin/sh
# SPDX-License-Identifier: MIT
# Proves check-man-options.sh can fail: a man page missing an option of --help, and one
# describing an option --help does not have, are both refused.
# Usage: test-man-options-selftest.sh PROGRAM MAN_PAGE
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prog=$1 man=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flota-man-options-selftest.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

grep -v '^\*--jitter\*' "$man" >"$tmp/missing.scd"
if sh "$here/check-man-options.sh" "$prog" "$tmp/missing.scd" 2>"$tmp/err"; then
    echo "selftest: a man page without --jitter was accepted" >&2
    exit 1
fi
grep -q '^-jitter' "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
{ cat "$man"; printf '\n*--frobnicate* _N_\n\tNot an option.\n'; } >"$tmp/extra.scd"
if sh "$here/check-man-options.sh" "$prog" "$tmp/extra.scd" 2>"$tmp/err"; then
    echo "selftest: a man page with --frobnicate was accepted" >&2
    exit 1
fi
grep -q '^+frobnicate' "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
echo "selftest: both refused as expected"
