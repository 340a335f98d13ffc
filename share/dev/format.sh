#!/bin/sh
# SPDX-License-Identifier: MIT
# Formats flota's C sources with clang-format and the top-level .clang-format.
# Usage: format.sh [FILE...]      format these files (default: every C source, see below)
#        format.sh --list [ROOT]  print the C sources the formatting covers, relative to ROOT
# The sources are the *.c and *.h under src/, include/ and tests/ (tracked or new, not ignored,
# when ROOT is a git work tree), less fuzz corpora and the files in $excluded below.
# clang-format 14 (Debian 12's) is the reference: other versions lay some constructs out
# differently, so they are used with a warning. CLANG_FORMAT names another binary.
set -eu

# Files kept out of the formatting (vendored or generated code), as ROOT-relative paths.
# None today.
excluded=''

list_sources() (
    cd "$1"
    if [ "$(git rev-parse --show-toplevel 2>/dev/null)" = "$(pwd -P)" ]; then
        git ls-files --cached --others --exclude-standard -- 'src/*.[ch]' 'include/*.[ch]' 'tests/*.[ch]'
    else
        find src include tests -type f -name '*.[ch]' 2>/dev/null
    fi | sort -u | while IFS= read -r f; do
        case "$f" in
        tests/fuzz/corpus/*) continue ;;
        esac
        for x in $excluded; do
            [ "$f" = "$x" ] && continue 2
        done
        [ -f "$f" ] && printf '%s\n' "$f"
    done
)

if [ "${1:-}" = "--list" ]; then
    list_sources "${2:-$(cd "$(dirname "$0")/../.." && pwd)}"
    exit 0
fi

cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
    for c in clang-format-14 clang-format; do
        if command -v "$c" >/dev/null 2>&1; then
            cf=$c
            break
        fi
    done
fi
if [ -z "$cf" ]; then
    echo "format.sh: clang-format not found (apt-get install clang-format)" >&2
    exit 1
fi
case "$("$cf" --version)" in
*" version 14."*) ;;
*) echo "format.sh: warning: $("$cf" --version) is not clang-format 14, which tests/lint/check-format.sh uses" >&2 ;;
esac

top=$(cd "$(dirname "$0")/../.." && pwd)
if [ $# -gt 0 ]; then
    "$cf" -i --style=file --fallback-style=none -- "$@"
else
    cd "$top"
    list_sources "$top" | xargs -r "$cf" -i --style=file --fallback-style=none --
fi
