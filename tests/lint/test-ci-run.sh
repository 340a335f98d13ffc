#!/bin/sh
# SPDX-License-Identifier: MIT
# .ci/run against stand-in suites: it sums passed, failed and skipped into its last line, and
# fails when anything was skipped or failed (a skip is not a pass).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# a copy of .ci/run whose test command prints the given result line
tree() {
    mkdir -p "$tmp/$1/.ci" "$tmp/$1/share/dev"
    cp "$root/.ci/run" "$tmp/$1/.ci/run"
    printf '#!/bin/sh\necho "%s"\n' "$2" > "$tmp/$1/share/dev/test.sh"
}

expect() {
    name=$1 want_status=$2 want_line=$3
    status=0
    bash "$tmp/$name/.ci/run" > "$tmp/$name.out" 2>&1 || status=$?
    last=$(tail -n 1 "$tmp/$name.out")
    if [ "$status" -ne "$want_status" ] || [ "$last" != "$want_line" ]; then
        echo "ci-run: $name: exit $status, last line '$last' (want $want_status, '$want_line')" >&2
        exit 1
    fi
    echo "ci-run: $name: ok"
}

tree clean "7 passed, 0 failed"
expect clean 0 "14 passed, 0 failed, 0 skipped"

tree skipped "6 passed, 0 failed, 1 skipped"
expect skipped 1 "12 passed, 0 failed, 2 skipped"

tree failed "6 passed, 1 failed"
expect failed 1 "12 passed, 2 failed, 0 skipped"
