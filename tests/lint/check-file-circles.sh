#!/bin/sh
# SPDX-License-Identifier: MIT
# Finds circles between the files of one directory under src/ (STYLE.md: no circular headers,
# small files by concept). File A.c depends on B.c when A.c names a function B.c defines
# (calls it, or passes it as a callback), whichever header declares it. A circle is a set of
# files that depend on each other around; it is refused unless every file of it is in one of
# the known circles below, which have not been cut yet (issue 13) and may only shrink.
# Usage: check-file-circles.sh [SOURCE_ROOT]   (exit 0 clean, 1 a circle)
set -eu
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"

# Circles known and not cut yet: "dir: file file ...". A circle found must lie inside one.
# src/server: server.c holds the shared state every handler calls (the catalog, image paths)
# and also installs http.c's callbacks; api.c's route table names the handlers, which call
# api.c's helpers back.
known='
src/rollout: actions reconcile tick
src/server: api api-devices api-products api-releases device http metrics server
src/tui: command tui view-device view-events view-fleet view-releases
'

fail=0
for dir in src/*/; do
    dir=${dir%/}
    set -- "$dir"/*.c
    [ -e "$1" ] || continue
    found=$(awk '
        FNR == 1 {
            file = FILENAME; sub(".*/", "", file); mod = file; sub(/\.[ch]$/, "", mod)
            in_comment = 0
        }
        # function definitions: a line at the margin that is not static, not a prototype
        pass == 1 && /^[A-Za-z_][A-Za-z0-9_ *]*[ *][a-z_][a-z0-9_]*\(/ && !/^static/ && !/^(typedef|extern|return)/ \
            && !/;[ \t]*$/ && FILENAME ~ /\.c$/ {
            name = $0; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
            if (name != "main") def[name] = mod
            next
        }
        pass == 1 { next }
        # pass 2: the names of functions other files define, in each .c
        {
            line = $0
            # drop comments and strings, roughly: enough not to see names in prose
            if (in_comment) { if (sub(/.*\*\//, "", line)) in_comment = 0; else next }
            gsub(/\/\*([^*]|\*[^\/])*\*\//, "", line)
            if (sub(/\/\*.*/, "", line)) in_comment = 1
            gsub(/"([^"\\]|\\.)*"/, "\"\"", line)
            n = split(line, w, /[^A-Za-z0-9_]+/)
            for (i = 1; i <= n; i++)
                if ((w[i] in def) && def[w[i]] != mod) edge[mod " " def[w[i]]] = 1
        }
        END {
            for (e in edge) { split(e, ab, " "); adj[ab[1]] = adj[ab[1]] " " ab[2]; nodes[ab[1]] = 1; nodes[ab[2]] = 1 }
            # Tarjan: strongly connected components of more than one module
            idx = 0; sp = 0
            for (v in nodes) if (!(v in index_of)) scc(v)
        }
        function scc(v,    ws, k, m, u, comp) {
            index_of[v] = idx; low[v] = idx; idx++
            stack[++sp] = v; on[v] = 1
            m = split(adj[v], ws, " ")
            for (k = 1; k <= m; k++) {
                u = ws[k]
                if (!(u in index_of)) { scc(u); if (low[u] < low[v]) low[v] = low[u] }
                else if (on[u] && index_of[u] < low[v]) low[v] = index_of[u]
            }
            if (low[v] == index_of[v]) {
                comp = ""; k = 0
                do { u = stack[sp--]; on[u] = 0; comp = comp " " u; k++ } while (u != v)
                if (k > 1) print comp
            }
        }
    ' pass=1 "$dir"/*.c pass=2 "$dir"/*.c) \
        || { echo "circles: cannot read $dir" >&2; exit 1; }
    [ -n "$found" ] || continue
    allowed=$(printf '%s\n' "$known" | sed -n "s|^$dir: ||p")
    echo "$found" | while read -r circle; do
        ok=0
        if [ -n "$allowed" ]; then
            ok=1
            for m in $circle; do
                case " $allowed " in *" $m "*) ;; *) ok=0 ;; esac
            done
        fi
        if [ $ok = 0 ]; then
            sorted=$(printf '%s\n' $circle | sort | tr '\n' ' ')
            echo "circles: $dir: these files depend on each other around: ${sorted% }" >&2
            echo "FAIL"
        fi
    done | grep -q FAIL && fail=1 || true
done

if [ $fail = 0 ]; then
    echo "circles: ok"
fi
exit $fail
