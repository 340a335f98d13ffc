#!/bin/sh
# SPDX-License-Identifier: MIT
# Proves the formatting check can fail: a badly laid out file, a line over 109 columns that
# clang-format was told to leave alone, and a tree without .clang-format are refused; what
# share/dev/format.sh writes is accepted, and fuzz corpora are not looked at.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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
    echo "selftest: clang-format 14 not found; skipping" >&2
    exit 77
fi
export CLANG_FORMAT="$cf"

# A small tree: the real .clang-format and two sources laid out as it says.
make_tree() {
    mkdir -p "$tmp/$1/src/util" "$tmp/$1/include/flota" "$tmp/$1/tests/unit"
    cp "$root/.clang-format" "$tmp/$1/"
    cat > "$tmp/$1/src/util/good.c" <<'EOF'
/* SPDX-License-Identifier: MIT */
#include "flota/good.h"

static const struct {
        const char *name;
        int value;
} names[] = {
        { "one", 1 },
        { "two", 2 },
};

int good_lookup(const char *name) {
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
                if (strcmp(names[i].name, name) == 0)
                        return names[i].value;
        return -1;
}
EOF
    printf '/* SPDX-License-Identifier: MIT */\n#pragma once\n\nint good_lookup(const char *name);\n' \
        > "$tmp/$1/include/flota/good.h"
}

expect_reject() {
    if sh "$here/check-format.sh" "$tmp/$1" >/dev/null 2>"$tmp/$1.err"; then
        echo "selftest: '$1' was accepted" >&2
        exit 1
    fi
    grep -q "$2" "$tmp/$1.err" || { echo "selftest: '$1': unexpected message:" >&2; cat "$tmp/$1.err" >&2; exit 1; }
    echo "selftest: '$1' rejected as expected"
}

expect_accept() {
    sh "$here/check-format.sh" "$tmp/$1" >/dev/null 2>"$tmp/$1.err" || {
        echo "selftest: '$1' was rejected:" >&2; cat "$tmp/$1.err" >&2; exit 1; }
    echo "selftest: '$1' accepted as expected"
}

make_tree clean
expect_accept clean

# a function with 4-space indents, a brace on its own line and a cramped `if`
make_tree badly-laid-out
printf 'int bad(int x)\n{\n    if(x>1) return x*2;\n    return 0;\n}\n' > "$tmp/badly-laid-out/tests/unit/test-bad.c"
expect_reject badly-laid-out "tests/unit/test-bad.c:1:15: not laid out as .clang-format says"

# format.sh lays that file out so that the check accepts it
make_tree formatted
cp "$tmp/badly-laid-out/tests/unit/test-bad.c" "$tmp/formatted/tests/unit/test-bad.c"
sh "$root/share/dev/format.sh" "$tmp/formatted/tests/unit/test-bad.c"
expect_accept formatted

# a long line clang-format was told to leave alone still breaks the 109-column limit
make_tree long-line
{
    printf '/* clang-format off */\n'
    printf 'static const char *const long_line = "%s";\n' "$(printf '%090d' 0)"
    printf '/* clang-format on */\n'
} >> "$tmp/long-line/src/util/good.c"
expect_reject long-line "src/util/good.c:19: 130 columns, more than 109"

# columns are characters: a line of 126 bytes but 66 characters (UTF-8) is within the limit
make_tree utf8
printf '/* %s */\n' "$(printf '%0120d' 0 | sed 's/00/é/g')" >> "$tmp/utf8/src/util/good.c"
expect_accept utf8

# a header too: a pointer star on the wrong side
make_tree header
printf 'char* header_name(void);\n' >> "$tmp/header/include/flota/good.h"
expect_reject header "include/flota/good.h:5:5: not laid out"

# fuzz corpora are inputs, not sources, even when named *.c
make_tree corpus
mkdir -p "$tmp/corpus/tests/fuzz/corpus/fuzz-x"
printf 'int  x ;\n' > "$tmp/corpus/tests/fuzz/corpus/fuzz-x/seed.c"
expect_accept corpus

# without .clang-format there is nothing to check against
make_tree no-config
rm "$tmp/no-config/.clang-format"
expect_reject no-config ".clang-format is missing"
