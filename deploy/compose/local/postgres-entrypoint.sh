#!/bin/sh
# First start: a cluster owned by $POSTGRES_USER with $POSTGRES_PASSWORD and
# the database $POSTGRES_DB, as the official image makes; password logins
# over TCP from anywhere (the compose network), trust on the local socket.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    printf '%s\n' "$POSTGRES_PASSWORD" >/tmp/pwfile
    initdb --username="$POSTGRES_USER" --pwfile=/tmp/pwfile \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f /tmp/pwfile
    echo "host all all 0.0.0.0/0 scram-sha-256" >>"$PGDATA/pg_hba.conf"
    # Socket only while the database is made, so no client sees it half-done.
    pg_ctl -w -o "-c listen_addresses=''" start >/dev/null
    createdb --username="$POSTGRES_USER" "$POSTGRES_DB"
    pg_ctl -w stop >/dev/null
fi
exec postgres -c listen_addresses='*'
