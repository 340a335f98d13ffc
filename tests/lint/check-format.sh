#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks that the C sources are laid out as .clang-format says (clang-format --dry-run -Werror)
# and that no line of them is longer than 109 columns (.editorconfig), which clang-format
# cannot always ensure (a /* clang-format off */ region, a word longer than the line).
# The files are those share/dev/format.sh covers; `sh share/dev/format.sh` fixes the layout.
# clang-format 14 (Debian 12's) is the reference, as other versions lay out some code
# differently: without it the check is skipped (exit 77). CLANG_FORMAT names another binary.
# Usage: check-format.sh [SOURCE_ROOT]   (exit 0 clean, 1 files differ, 77 no clang-format 14)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${1:-$(cd "$here/../.." && pwd)}
max=109

cf=${CLANG_FORMAT:-}
if [ -z "$cf" ]; then
    for c in clang-format-14 clang-format; do
        if command -v "$c" >/dev/null 2>&1 && "$c" --version | grep -q ' version 14\.'; then
            cf=$c
            break
        fi
    done
fi
if [ -z "$cf" ]; then
    echo "check-format: clang-format 14 not found (apt-get install clang-format); skipping" >&2
    exit 77
fi
if [ ! -f "$root/.clang-format" ]; then
    echo "check-format: $root/.clang-format is missing" >&2
    exit 1
fi

files=$(sh "$here/../../share/dev/format.sh" --list "$root")
if [ -z "$files" ]; then
    echo "check-format: no C sources found under $root" >&2
    exit 1
fi

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
cd "$root"
bad=0
# one run over all files; -Werror makes every difference an error, the first of each file shown
# shellcheck disable=SC2086
"$cf" --dry-run -Werror --ferror-limit=1 --style=file --fallback-style=none $files >"$tmp" 2>&1 || bad=1
sed -n 's/^\([^:]*:[0-9]*:[0-9]*\): error: .*clang-format-violations.*/check-format: \1: not laid out as .clang-format says/p' "$tmp" >&2
if [ "$bad" -ne 0 ] && ! grep -q 'clang-format-violations' "$tmp"; then
    cat "$tmp" >&2   # clang-format itself failed (a bad .clang-format, an unreadable file)
fi
# columns, not bytes: UTF-8 continuation bytes take none
# shellcheck disable=SC2086
LC_ALL=C awk -v max="$max" '{
    line = $0; gsub(/[\200-\277]/, "", line)
    if (length(line) > max) { printf "check-format: %s:%d: %d columns, more than %d\n", FILENAME, FNR, length(line), max; n++ }
} END { exit n > 0 }' $files >&2 || bad=1

if [ "$bad" -ne 0 ]; then
    echo "check-format: fix with: sh share/dev/format.sh (see the files above)" >&2
    exit 1
fi
echo "check-format: $(printf '%s\n' "$files" | wc -l) files formatted"
