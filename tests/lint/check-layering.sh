#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks the layering rules of DESIGN.md section 2 on a source tree:
#   util <- model <- json <- ingest <- store <- loop <- {net, discovery} <- rollout <- {server, cli, tui, sim}
# - a file may include flota/ headers of its own layer or below (each public header names its
#   layer in a "Layer: NAME" comment);
# - outside libraries belong to one layer each (libmicrohttpd: server; ncurses: tui; sqlite: store; ...);
# - a quoted include of a private header ("store-internal.h") stays in its layer's directory:
#   "../store/store-internal.h" from another layer is refused;
# - every file under src/ is in a layer's directory: an unknown directory or a file directly
#   in src/ is refused;
# - libpq (libpq-fe.h, libpq/*) is used only in src/store/pg/, the PostgreSQL backend: the rest of
#   the store reaches it through the backend table (src/store/store-ops.h);
# - the front ends that talk to flotad (cli, tui) read its answers through the typed client
#   (flota/api.h), never by parsing JSON themselves: no cJSON_Parse* and no JSON scanner there.
# Usage: check-layering.sh [SOURCE_ROOT]   (exit 0 clean, 1 violations)
set -eu
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"
root_abs=$(pwd -P)

rank() {
    case $1 in
    util) echo 0 ;; model) echo 1 ;; json) echo 2 ;; ingest) echo 3 ;; store) echo 4 ;;
    loop) echo 5 ;; net | discovery) echo 6 ;; rollout) echo 7 ;;
    server | cli | tui | sim) echo 8 ;;
    *) echo "" ;;
    esac
}

# outside headers and the layers that may include them
allowed_for() {
    case $1 in
    microhttpd.h) echo "server" ;;
    curses.h | ncurses.h | ncursesw/*) echo "tui" ;;
    sqlite3.h) echo "store" ;;
    curl/*) echo "net sim" ;;
    avahi-*) echo "discovery sim" ;;
    openssl/*) echo "util" ;;
    cjson/*) echo "json server cli tui sim" ;;
    ini.h) echo "server cli" ;;
    *) echo "*" ;;
    esac
}

fail=0
header_layer() {
    sed -n 's/.*Layer: \([a-z]*\).*/\1/p' "include/flota/$1" | head -n 1
}

# A quoted include that names a file next to the including one, or through ../: the layer
# directory it lands in (src/LAYER/...), "include" for include/flota, "" when it is not in the tree.
local_target() {
    file=$1 inc=$2
    dir=$(dirname "$file")
    [ -f "$dir/$inc" ] || { echo ""; return; }
    target=$(cd "$dir/$(dirname "$inc")" && pwd -P)
    case $target/ in
    "$root_abs"/src/*) rest=${target#"$root_abs"/src/}; echo "${rest%%/*}" ;;
    "$root_abs"/include/*) echo include ;;
    *) echo "" ;;
    esac
}

# Every message goes to stderr with an "x" on stdout: the caller runs this in a subshell
# (a pipeline), where a variable it set would be lost.
check_file() {
    file=$1 layer=$2
    own=$(rank "$layer")
    if [ -z "$own" ]; then
        echo "layering: $file: unknown layer '$layer' (not a directory of DESIGN.md section 2)" >&2; echo x
        return
    fi
    grep -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$file" |
        sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*(["<])([^>"]*)[>"].*/\1\2/' |
        while read -r quoted; do
            inc=${quoted#?}
            if [ "${quoted%"$inc"}" = '"' ] && [ "${inc#flota/}" = "$inc" ]; then
                # a private header: only its own layer's, never through ../ into another
                target=$(local_target "$file" "$inc")
                if [ "$target" = include ]; then
                    echo "layering: $file ($layer) includes \"$inc\" by its path: write \"flota/$(basename "$inc")\"" >&2; echo x
                elif [ -n "$target" ] && [ "$target" != "$layer" ]; then
                    echo "layering: $file ($layer) includes \"$inc\", a private header of $target" >&2; echo x
                elif [ -z "$target" ] && [ "${inc#*..}" != "$inc" ]; then
                    echo "layering: $file ($layer) includes \"$inc\" from outside the tree" >&2; echo x
                fi
                [ -n "$target" ] && continue
            fi
            case $inc in
            flota/*)
                h=${inc#flota/}
                if [ ! -f "include/flota/$h" ]; then
                    echo "layering: $file: includes missing header $inc" >&2; echo x
                    continue
                fi
                hl=$(header_layer "$h")
                hr=$(rank "$hl")
                if [ -z "$hr" ]; then
                    echo "layering: include/flota/$h: no 'Layer: NAME' comment" >&2; echo x
                elif [ "$hr" -gt "$own" ]; then
                    echo "layering: $file ($layer) includes $inc ($hl), a layer above it" >&2; echo x
                elif [ "$hr" -eq "$own" ] && [ "$hl" != "$layer" ]; then
                    echo "layering: $file ($layer) includes $inc of sibling layer $hl" >&2; echo x
                fi
                ;;
            libpq-fe.h | libpq/* | libpq-events.h)
                case $file in
                src/store/pg/*) ;;
                *) echo "layering: $file includes <$inc>: only src/store/pg/ may use libpq" >&2; echo x ;;
                esac
                ;;
            *)
                ok=$(allowed_for "$inc")
                [ "$ok" = "*" ] && continue
                case " $ok " in
                *" $layer "*) ;;
                *) echo "layering: $file ($layer) includes <$inc>, which only $ok may use" >&2; echo x ;;
                esac
                ;;
            esac
        done
}

# API answers are decoded in src/json and handed out by src/net/api.c as model types
check_no_json_parsing() {
    for dir in src/cli src/tui; do
        [ -d "$dir" ] || continue
        grep -n -E 'cJSON_Parse|json_scan_|flota/json-scan\.h' $(find "$dir" -name '*.[ch]' | sort) /dev/null |
            while IFS= read -r hit; do
                echo "layering: ${hit%%:*}: parses JSON itself (use the typed client, flota/api.h)" >&2; echo x
            done
    done
}

out=$(
    check_no_json_parsing
    for f in $(find src -name '*.[ch]' | sort); do
        layer=$(echo "$f" | cut -d/ -f2)
        check_file "$f" "$layer"
    done
    for f in $(find include/flota -name '*.h' | sort); do
        layer=$(header_layer "${f#include/flota/}")
        [ -n "$layer" ] || { echo "layering: $f: no 'Layer: NAME' comment" >&2; echo x; continue; }
        check_file "$f" "$layer"
    done
)
[ -z "$out" ] || fail=1
if [ "$fail" -ne 0 ]; then
    echo "layering: violations found" >&2
    exit 1
fi
echo "layering: ok ($(find src include -name '*.[ch]' | wc -l) files)"
