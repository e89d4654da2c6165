#!/usr/bin/env bash
# Private PostgreSQL cluster for the integration tier.
#
#   scripts/services/postgres.sh start|stop|status|restart
#
# Installs Debian's `postgresql` when initdb/pg_ctl are missing, then runs its
# own cluster (never the distro's service) as the `postgres` OS user:
#   127.0.0.1:15432, role slo_scout / password slo_scout, database slo_scout
#   (DATABASE_URL postgres://slo_scout:slo_scout@127.0.0.1:15432/slo_scout).
# TimescaleDB and pgvector are installed from apt when Debian has a package for
# the installed major version, preloaded/created in the database; otherwise
# plain PostgreSQL is used (the project supports both).
#
# Files: .services/pg/{data/,postgres.log}. If the postgres user cannot reach
# .services (e.g. the clone lives under /root), the cluster lives in
# /var/lib/slo-scout/pg-<hash> and .services/pg is a symlink to it.
# shellcheck disable=SC2034 # read by lib.sh
SVC=postgres
# shellcheck source=scripts/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_USER_OS=postgres
DB_NAME=slo_scout
DB_USER=slo_scout
DB_PASS=slo_scout
SOCKET_DIR=/tmp
TIMEOUT="${SLO_SCOUT_START_TIMEOUT:-60}"
LINK="$STATE_DIR/pg"

# Newest /usr/lib/postgresql/<major>/bin that has initdb, else initdb on PATH.
find_pg_bin() {
  local d best="" bestv=0 v
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x "$d/initdb" && -x "$d/pg_ctl" ]] || continue
    v="$(basename "$(dirname "$d")")"
    [[ "$v" =~ ^[0-9]+$ ]] || continue
    if ((v > bestv)); then
      bestv=$v
      best=$d
    fi
  done
  if [[ -z "$best" ]] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    best="$(dirname "$(readlink -f "$(command -v initdb)")")"
  fi
  [[ -n "$best" ]] && echo "$best"
}

PG_BIN="$(find_pg_bin || true)"

ensure_postgres() {
  if [[ -z "$PG_BIN" ]]; then
    apt_install postgresql postgresql-contrib
    PG_BIN="$(find_pg_bin || true)"
    [[ -n "$PG_BIN" ]] || die "postgresql installed but initdb/pg_ctl not found under /usr/lib/postgresql/*/bin"
  fi
  id "$PG_USER_OS" >/dev/null 2>&1 || die "OS user '$PG_USER_OS' does not exist (normally created by the postgresql package)"
}

pg_major() { "$PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/'; }

pkglibdir() { "$PG_BIN/pg_config" --pkglibdir 2>/dev/null || echo "/usr/lib/postgresql/$(pg_major)/lib"; }
sharedir() { "$PG_BIN/pg_config" --sharedir 2>/dev/null || echo "/usr/share/postgresql/$(pg_major)"; }

has_extension() { [[ -f "$(sharedir)/extension/$1.control" ]]; }

# Install TimescaleDB / pgvector when Debian packages exist for this major.
ensure_extensions() {
  local major pkg
  major="$(pg_major)"
  if ! has_extension timescaledb; then
    for pkg in "timescaledb-2-postgresql-$major" "postgresql-$major-timescaledb"; do
      if apt_available "$pkg"; then
        apt_install "$pkg"
        break
      fi
    done
  fi
  if has_extension timescaledb; then
    log "TimescaleDB available"
  else
    log "no TimescaleDB package for PostgreSQL $major in apt: using plain PostgreSQL"
  fi
  if ! has_extension vector && apt_available "postgresql-$major-pgvector"; then
    apt_install "postgresql-$major-pgvector"
  fi
  if has_extension vector; then
    log "pgvector available"
  else
    log "no pgvector package for PostgreSQL $major in apt: plain PostgreSQL without vectors"
  fi
}

# Where the cluster lives: .services/pg when the postgres user can traverse
# there, else a root-owned-parent dir it can use.
resolve_dir() {
  if [[ -L "$LINK" ]]; then
    DIR="$(readlink -f "$LINK")"
    return 0
  fi
  mkdir -p "$LINK"
  chown "$PG_USER_OS:$PG_USER_OS" "$LINK"
  if runuser -u "$PG_USER_OS" -- test -w "$LINK"; then
    DIR="$LINK"
  else
    local hash
    hash="$(printf '%s' "$SLO_ROOT" | sha1sum | cut -c1-10)"
    DIR="/var/lib/slo-scout/pg-$hash"
    log "postgres user cannot access $LINK; using $DIR (symlinked)"
    mkdir -p "$DIR"
    chmod 755 /var/lib/slo-scout
    rmdir "$LINK"
    ln -sfn "$DIR" "$LINK"
  fi
  chown "$PG_USER_OS:$PG_USER_OS" "$DIR"
}

DATA=""
LOGFILE=""
set_paths() {
  DATA="$DIR/data"
  LOGFILE="$DIR/postgres.log"
}
if [[ -e "$LINK" ]]; then
  DIR="$(readlink -f "$LINK")"
else
  DIR="$LINK"
fi
set_paths

# 9>&- : the server must not inherit the service lock (see lock_service in lib.sh)
# (cd /: the postgres user may not be allowed into the caller's cwd)
as_pg() { (cd / && runuser -u "$PG_USER_OS" -- "$@" 9>&-); }

psql_admin() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PG_PORT" -U postgres "$@"
}

running() {
  [[ -n "$PG_BIN" && -f "$DATA/PG_VERSION" ]] && as_pg "$PG_BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

ready() {
  as_pg "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -d postgres -U postgres
}

init_cluster() {
  [[ -f "$DATA/PG_VERSION" ]] && return 0
  log "initdb $DATA (PostgreSQL $(pg_major))"
  mkdir -p "$DATA"
  chown "$PG_USER_OS:$PG_USER_OS" "$DATA"
  chmod 700 "$DATA"
  if ! as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$DIR/initdb.log" 2>&1; then
    # older initdb/locales: retry with the C locale
    rm -rf "${DATA:?}"/*
    as_pg "$PG_BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C \
      --auth-local=trust --auth-host=scram-sha-256 >>"$DIR/initdb.log" 2>&1 ||
      fail_with_log "initdb failed" "$DIR/initdb.log"
  fi
}

write_config() {
  local preload=""
  has_extension timescaledb && preload="timescaledb"
  # conf.d-style override appended once; rewritten on every start.
  as_pg bash -c "cat >'$DATA/slo_scout.conf'" <<EOF
# generated by scripts/services/postgres.sh
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$SOCKET_DIR'
max_connections = 200
shared_buffers = 128MB
fsync = off
synchronous_commit = off
full_page_writes = off
shared_preload_libraries = '$preload'
timescaledb.telemetry_level = off
EOF
  if [[ -z "$preload" ]]; then
    as_pg sed -i '/^timescaledb\./d' "$DATA/slo_scout.conf"
  fi
  if ! grep -q "^include_if_exists = 'slo_scout.conf'" "$DATA/postgresql.conf"; then
    echo "include_if_exists = 'slo_scout.conf'" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
  fi
}

bootstrap_db() {
  psql_admin -d postgres <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER LOGIN PASSWORD '$DB_PASS' CREATEDB;
  ELSE
    ALTER ROLE $DB_USER LOGIN PASSWORD '$DB_PASS';
  END IF;
END \$\$;
EOF
  if [[ "$(psql_admin -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != "1" ]]; then
    psql_admin -d postgres -c "CREATE DATABASE $DB_NAME OWNER $DB_USER"
  fi
  psql_admin -d "$DB_NAME" -c "GRANT ALL ON SCHEMA public TO $DB_USER"
  if has_extension timescaledb; then
    psql_admin -d "$DB_NAME" -c "CREATE EXTENSION IF NOT EXISTS timescaledb" ||
      log "warning: CREATE EXTENSION timescaledb failed; continuing with plain PostgreSQL"
  fi
  if has_extension vector; then
    psql_admin -d "$DB_NAME" -c "CREATE EXTENSION IF NOT EXISTS vector"
  fi
  # the real check: log in over TCP exactly as the tests will
  PGPASSWORD="$DB_PASS" "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U "$DB_USER" -d "$DB_NAME" \
    -tAc "SELECT 1" >/dev/null || fail_with_log "cannot log in as $DB_USER over TCP" "$LOGFILE"
}

start() {
  ensure_postgres
  resolve_dir
  set_paths
  if running && ready; then
    log "already running at 127.0.0.1:$PG_PORT (data: $DATA)"
    bootstrap_db
    return 0
  fi
  if ! running; then
    ensure_port_free "$PG_PORT"
    ensure_extensions
    init_cluster
    write_config
    log "starting PostgreSQL $(pg_major) on 127.0.0.1:$PG_PORT (log: $LOGFILE)"
    touch "$LOGFILE"
    chown "$PG_USER_OS:$PG_USER_OS" "$LOGFILE"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA" -l "$LOGFILE" -w -t "$TIMEOUT" start >/dev/null; then
      fail_with_log "pg_ctl start failed" "$LOGFILE"
    fi
  fi
  wait_until "$TIMEOUT" "$LOGFILE" "" "PostgreSQL to accept connections on 127.0.0.1:$PG_PORT" ready
  bootstrap_db
}

stop() {
  if [[ -z "$PG_BIN" ]] || ! running; then
    log "not running"
    return 0
  fi
  log "stopping (pg_ctl -m fast)"
  as_pg "$PG_BIN/pg_ctl" -D "$DATA" -m fast -w -t 60 stop >/dev/null
  log "stopped"
}

status() {
  if running && ready; then
    echo "postgres: running at 127.0.0.1:$PG_PORT (data: $DATA)"
  elif running; then
    echo "postgres: starting or unhealthy, log: $LOGFILE"
    return 3
  else
    echo "postgres: stopped"
    return 3
  fi
}

service_main start stop status "$@"
