#!/usr/bin/env bash
# S3-compatible object store (moto's server) for the integration tier.
#
#   scripts/services/s3.sh start|stop|status|restart
#
# Runs `moto_server` (PyPI moto[server], pip-installed into the tools venv in
# ~/.cache/slo-scout/venv when the interpreter lacks it) on 127.0.0.1:19000 and
# creates bucket slo-scout-test. Credentials: any (tests use test/test,
# region us-east-1). moto keeps everything in memory: a restart empties it.
#
# Files: .services/s3/{s3.log,s3.pid}
# shellcheck disable=SC2034 # read by lib.sh
SVC=s3
# shellcheck source=scripts/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DIR="$STATE_DIR/s3"
LOGFILE="$DIR/s3.log"
PIDFILE="$DIR/s3.pid"
TIMEOUT="${SLO_SCOUT_START_TIMEOUT:-60}"
ENDPOINT="http://127.0.0.1:$S3_PORT"

# Python one-liner HTTP helper: METHOD URL -> exits 0 on 2xx.
http_ok() {
  "$VENV_DIR/bin/python" - "$1" "$2" <<'EOF'
import sys, urllib.request
req = urllib.request.Request(sys.argv[2], method=sys.argv[1], data=b"" if sys.argv[1] == "PUT" else None)
try:
    with urllib.request.urlopen(req, timeout=5) as r:
        sys.exit(0 if 200 <= r.status < 300 else 1)
except Exception as e:
    print(e, file=sys.stderr)
    sys.exit(1)
EOF
}

ready() { tcp_open 127.0.0.1 "$S3_PORT" && http_ok GET "$ENDPOINT/moto-api/"; }

bucket_exists() { http_ok HEAD "$ENDPOINT/$S3_BUCKET"; }

ensure_bucket() {
  if bucket_exists 2>/dev/null; then
    return 0
  fi
  http_ok PUT "$ENDPOINT/$S3_BUCKET" || fail_with_log "could not create bucket $S3_BUCKET" "$LOGFILE"
  bucket_exists || fail_with_log "bucket $S3_BUCKET missing after create" "$LOGFILE"
  log "created bucket $S3_BUCKET"
}

start() {
  mkdir -p "$DIR"
  local py
  py="$(venv_python)"
  if pid_alive "$PIDFILE"; then
    log "already running (pid $(cat "$PIDFILE")) at $ENDPOINT"
  else
    ensure_port_free "$S3_PORT"
    ensure_py moto.server 'moto[server]'
    : >"$LOGFILE"
    log "starting moto server on $ENDPOINT (log: $LOGFILE)"
    start_daemon "$PIDFILE" "$LOGFILE" "$py" -m moto.server -H 127.0.0.1 -p "$S3_PORT"
  fi
  wait_until "$TIMEOUT" "$LOGFILE" "$PIDFILE" "moto to answer on $ENDPOINT" ready
  ensure_bucket
}

stop() { stop_pidfile "$PIDFILE" 10 TERM; }

status() {
  if pid_alive "$PIDFILE" && ready 2>/dev/null; then
    echo "s3: running (pid $(cat "$PIDFILE")) at $ENDPOINT"
  elif pid_alive "$PIDFILE"; then
    echo "s3: starting or unhealthy (pid $(cat "$PIDFILE")), log: $LOGFILE"
    return 3
  else
    echo "s3: stopped"
    return 3
  fi
}

service_main start stop status "$@"
