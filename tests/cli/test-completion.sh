#!/bin/bash
# SPDX-License-Identifier: MIT
# The bash completion (share/completion/flota.bash), sourced into a plain bash and called the
# way bash calls it (COMP_WORDS, COMP_CWORD). Checks the verbs against flota --help (every
# verb in the table is offered), the global options likewise, keywords, per-verb options,
# option values and file names. Usage: test-completion.sh COMPLETION-FILE (FLOTA: the binary).
set -u
completion=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
flota=${FLOTA:?FLOTA is not set}
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
touch "$work/door.bin" "$work/lamp.bin.gz" "$work/wave.txt"
cd "$work" || exit 1

# shellcheck source=/dev/null
. "$completion"

# complete WORD...: the words of the command line, the last one being completed
complete_words() {
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMPREPLY=()
    _flota
    printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

# expect "WANT" WORD...: the sorted offers are exactly WANT
expect() {
    local want=$1 got
    shift
    got=$(complete_words "$@")
    if [ "$got" != "$want" ]; then
        echo "FAIL: flota ${*:2}<TAB>: got '$got', want '$want'"
        failed=1
    fi
}

# expect_has "WORD..." WORD...: every one of the first list is offered
expect_has() {
    local want=$1 got w
    shift
    got=" $(complete_words "$@") "
    for w in $want; do
        if [[ $got != *" $w "* ]]; then
            echo "FAIL: flota ${*:2}<TAB>: '$w' not offered (got:$got)"
            failed=1
        fi
    done
}

# the verbs and options of --help, which prints them from the same tables as a person sees them
help=$("$flota" --help)
verbs=$(printf '%s\n' "$help" | sed -n '/^Verbs:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p; s/^  \([a-z][a-z-]*\)$/\1/p')
options=$(printf '%s\n' "$help" | sed -n '/^Options:/,/^$/p' | grep -o -- '--[a-z][a-z-]*' | sort -u)
[ "$(printf '%s\n' "$verbs" | wc -l)" -ge 10 ] || { echo "FAIL: could not read the verbs of flota --help"; exit 1; }
[ "$(printf '%s\n' "$options" | wc -l)" -ge 8 ] || { echo "FAIL: could not read the options of flota --help"; exit 1; }

expect "release releases" "$flota" rel
expect "$(printf '%s\n' "$verbs" | sort | tr '\n' ' ' | sed 's/ $//')" "$flota" ""
expect_has "$options" "$flota" --
# the verb is found behind global options and their values, also under another name on PATH
PATH="$(dirname "$flota"):$PATH" expect "device devices" flota --server http://127.0.0.1:8070 -t tok dev
expect "--label --limit" "$flota" --db x.db devices --l
expect "--log" "$flota" tui --lo
expect "--no-mdns --no-tick" "$flota" tui --no
expect "always auto never" "$flota" --color = "" # bash splits --color= at the '='
expect "always" "$flota" --color = al
expect "door.bin lamp.bin.gz wave.txt" "$flota" --db ""
expect "show upload" "$flota" release ""
expect "door.bin lamp.bin.gz wave.txt" "$flota" release upload ""
expect "door.bin" "$flota" release upload d
expect "--json --kind --platform --product --version" "$flota" release upload door.bin --
expect "esp32 esp8266" "$flota" release upload door.bin --platform ""
expect "filesystem sketch" "$flota" release upload door.bin --product door --kind ""
expect "" "$flota" release show ""
expect "" "$flota" assign ""
expect "wave.txt" "$flota" assign 2 --devices w
expect "--devices --json" "$flota" assign 2 --
expect "apache-esp apache-flota flotad nginx-esp nginx-flota" "$flota" ingest --format ""
expect "wave.txt" "$flota" ingest --log w
expect_has "--backfill --batch --format --json --log" "$flota" ingest --
expect "" "$flota" devices --product ""
expect "--json" "$flota" channels --

[ "$failed" = 0 ] && echo "completion: all checks passed"
exit "$failed"
