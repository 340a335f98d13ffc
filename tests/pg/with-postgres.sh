#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs CMD ARGS... against a throw-away PostgreSQL cluster of its own: initdb into a temporary
# directory, a server listening only on a unix socket in that directory, stopped and removed
# when CMD ends, whatever its outcome. PostgreSQL refuses to run as root: as root the cluster
# runs as the postgres user (runuser). CMD gets, in its environment:
#   FLOTA_TEST_PG          a libpq URL of the cluster's "postgres" database (user flota, superuser)
#   PGHOST PGPORT PGUSER   the same, for psql/createdb
#   FLOTA_TEST_PG_BINDIR   where initdb, psql, createdb... are
#   FLOTA_TEST_PG_CTL      a command prefix that runs pg_ctl on the cluster (append "stop -m fast"
#                          or "-w -t 30 start"), for tests of flotad while the database is down
# Exit status: CMD's; 77 (skipped) when the PostgreSQL server programs are not installed.
# Usage: with-postgres.sh CMD [ARGS...]
set -eu

bindir=${FLOTA_TEST_PG_BINDIR:-}
if [ -z "$bindir" ]; then
    if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
        bindir=$(pg_config --bindir)
    else
        for d in /usr/lib/postgresql/*/bin; do
            [ -x "$d/initdb" ] && bindir=$d
        done
    fi
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ] || [ ! -x "$bindir/pg_ctl" ]; then
    echo "SKIP: the PostgreSQL server (initdb, pg_ctl) is not installed (Debian: postgresql)" >&2
    exit 77
fi

as=""
dir=$(mktemp -d "${TMPDIR:-/tmp}/flota-pg.XXXXXX")
if [ "$(id -u)" = 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "SKIP: running as root and there is no postgres user to run the server as" >&2
        rm -rf "$dir"
        exit 77
    fi
    chown postgres: "$dir"
    as="runuser -u postgres --"
fi
chmod 0700 "$dir"
port=5432

stop() {
    $as "$bindir/pg_ctl" -D "$dir/data" -m immediate -t 20 stop >/dev/null 2>&1 || true
    rm -rf "$dir"
}
trap stop EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

$as "$bindir/initdb" -D "$dir/data" -A trust -U flota --no-sync --locale=C -E UTF8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}
# fsync off: a throw-away cluster, the tests are about behaviour, not durability; autovacuum off:
# its transactions would hold the check-in feed's horizon for a moment at random, and the tests
# that read the feed right after a write want it exact. In postgresql.conf, so that a test that
# stops and starts the server gets the same settings.
cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
fsync = off
autovacuum = off
max_connections = 60
EOF
ctl="$as $bindir/pg_ctl -D $dir/data -l $dir/server.log"
if ! $ctl -w -t 30 start >/dev/null; then
    echo "with-postgres: the server did not start:" >&2
    cat "$dir/server.log" >&2
    exit 1
fi

export FLOTA_TEST_PG="postgresql:///postgres?host=$dir&port=$port&user=flota"
export PGHOST="$dir" PGPORT="$port" PGUSER=flota PGDATABASE=postgres
export FLOTA_TEST_PG_BINDIR="$bindir"
export FLOTA_TEST_PG_DIR="$dir"
export FLOTA_TEST_PG_CTL="$ctl"
status=0
"$@" || status=$?
exit "$status"
