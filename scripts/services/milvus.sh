#!/usr/bin/env bash
# Milvus (Milvus Lite 3.x gRPC server) for the integration tier.
#
#   scripts/services/milvus.sh start|stop|status|restart
#
# Milvus Lite 3 is a pure-Python engine that ships a gRPC server speaking the
# Milvus protocol: `python -m milvus_lite server --data-dir D --host H --port P`
# (console script `milvus-lite server`). It is pip-installed into the tools
# venv (~/.cache/slo-scout/venv) when missing. Serves 127.0.0.1:19530, data in
# .services/milvus/data.
#
# Readiness: the port accepts connections and, when the repo's node_modules
# are installed, @zilliz/milvus2-sdk-node can list collections.
#
# Files: .services/milvus/{data/,milvus.log,milvus.pid}
# Knob: SLO_SCOUT_MILVUS_LITE_VERSION (default 3.2.2)
# shellcheck disable=SC2034 # read by lib.sh
SVC=milvus
# shellcheck source=scripts/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

MILVUS_LITE_VERSION="${SLO_SCOUT_MILVUS_LITE_VERSION:-3.2.2}"
DIR="$STATE_DIR/milvus"
LOGFILE="$DIR/milvus.log"
PIDFILE="$DIR/milvus.pid"
TIMEOUT="${SLO_SCOUT_START_TIMEOUT:-90}"
ADDR="127.0.0.1:$MILVUS_PORT"

ensure_milvus_lite() {
  local py have
  py="$(venv_python)"
  have="$("$py" -c 'import importlib.metadata as m; print(m.version("milvus-lite"))' 2>/dev/null || true)"
  # the gRPC adapter imports pymilvus' generated stubs, which milvus-lite does
  # not declare as a dependency
  if [[ "$have" != 3.* ]] || ! "$py" -c 'import pymilvus.grpc_gen' >/dev/null 2>&1; then
    log "pip install milvus-lite==$MILVUS_LITE_VERSION pymilvus (found milvus-lite: ${have:-none})"
    "$py" -m pip install -q "milvus-lite==$MILVUS_LITE_VERSION" pymilvus >&2 ||
      die "pip install milvus-lite==$MILVUS_LITE_VERSION pymilvus failed"
  fi
  "$py" -c 'import milvus_lite.adapter.grpc.server' >&2 || die "milvus_lite gRPC server module not importable"
}

ready() {
  tcp_open 127.0.0.1 "$MILVUS_PORT" || return 1
  if node_has_module @zilliz/milvus2-sdk-node; then
    (cd "$SLO_ROOT" && timeout 20 node -e '
      const { MilvusClient } = require("@zilliz/milvus2-sdk-node");
      const c = new MilvusClient({ address: process.argv[1], timeout: 5000 });
      c.listCollections().then((r) => {
        if (r.status && r.status.error_code && r.status.error_code !== "Success") process.exit(1);
        return c.closeConnection();
      }).then(() => process.exit(0)).catch(() => process.exit(1));
    ' "$ADDR")
  else
    grep -q "gRPC server listening" "$LOGFILE"
  fi
}

start() {
  mkdir -p "$DIR/data"
  if pid_alive "$PIDFILE"; then
    log "pid $(cat "$PIDFILE") already running; checking it answers"
  else
    ensure_port_free "$MILVUS_PORT"
    ensure_milvus_lite
    : >"$LOGFILE"
    log "starting Milvus Lite on $ADDR (data: $DIR/data, log: $LOGFILE)"
    # SIGTERM/SIGINT -> KeyboardInterrupt so the server shuts down gracefully
    # (a background job starts with SIGINT ignored, hence the explicit handlers).
    start_daemon "$PIDFILE" "$LOGFILE" env PYTHONUNBUFFERED=1 "$(venv_python)" -c '
import signal, sys
signal.signal(signal.SIGTERM, signal.default_int_handler)
signal.signal(signal.SIGINT, signal.default_int_handler)
from milvus_lite.cmdline import main
sys.exit(main(sys.argv[1:]))
' server --data-dir "$DIR/data" --host 127.0.0.1 --port "$MILVUS_PORT"
  fi
  wait_until "$TIMEOUT" "$LOGFILE" "$PIDFILE" "Milvus to list collections on $ADDR" ready
}

# SIGTERM -> KeyboardInterrupt: Milvus Lite drains requests and closes its DB.
stop() { stop_pidfile "$PIDFILE" 15 TERM; }

status() {
  if pid_alive "$PIDFILE" && ready; then
    echo "milvus: running (pid $(cat "$PIDFILE")) at $ADDR"
  elif pid_alive "$PIDFILE"; then
    echo "milvus: starting or unhealthy (pid $(cat "$PIDFILE")), log: $LOGFILE"
    return 3
  else
    echo "milvus: stopped"
    return 3
  fi
}

service_main start stop status "$@"
