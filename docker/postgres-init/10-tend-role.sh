#!/bin/sh
# Runs once, when the postgres container starts on an empty volume (docker-compose.yml).
# Tend connects as "tend": it owns the tend database and nothing else, and is no superuser,
# so no query run as Tend can read the server's files or another database. The superuser
# may connect only inside the container: docker compose exec postgres psql -U postgres
set -eu

psql --username "$POSTGRES_USER" --dbname postgres -v ON_ERROR_STOP=1 \
     --set tend_password="${TEND_DB_PASSWORD:?set TEND_DB_PASSWORD}" <<'SQL'
CREATE ROLE tend LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'tend_password';
CREATE DATABASE tend OWNER tend;
SQL

# First matching line wins: the superuser is refused over the network.
sed -i "1i host all $POSTGRES_USER all reject" "$PGDATA/pg_hba.conf"
