# shellcheck shell=bash disable=SC2034  # the port/bucket variables are read by the sourcing scripts
# Shared helpers for scripts/services/*.sh. Source it; do not run it.
#
# Layout (all under the repo root, gitignored):
#   .services/<svc>/          data, config, <svc>.log and <svc>.pid of one service
# Downloads that survive a fresh clone are cached in ~/.cache/slo-scout
# (override with SLO_SCOUT_CACHE_DIR); Maven artifacts also land in ~/.m2.
#
# Environment knobs (all optional):
#   SLO_SCOUT_STATE_DIR     state dir (default <repo>/.services)
#   SLO_SCOUT_CACHE_DIR     download cache (default ~/.cache/slo-scout)
#   SLO_SCOUT_START_TIMEOUT seconds to wait for a service to be ready (default per service)
#   SLO_SCOUT_PYTHON        python used to create the tools venv (default python3)
#   SLO_SCOUT_PORT_OFFSET   added to every port below, to run a second stack side by
#                           side (env.sh honours it too); default 0

set -euo pipefail

SLO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE_DIR="${SLO_SCOUT_STATE_DIR:-$SLO_ROOT/.services}"
CACHE_DIR="${SLO_SCOUT_CACHE_DIR:-${HOME:-/root}/.cache/slo-scout}"
SVC="${SVC:-services}"

# Fixed endpoints (see docs/integration.md). Changing them means changing env.sh too.
PORT_OFFSET="${SLO_SCOUT_PORT_OFFSET:-0}"
[[ "$PORT_OFFSET" =~ ^[0-9]+$ ]] || { echo "SLO_SCOUT_PORT_OFFSET must be a number" >&2; exit 2; }
KAFKA_PORT=$((19092 + PORT_OFFSET))
KAFKA_CONTROLLER_PORT=$((19093 + PORT_OFFSET))
PG_PORT=$((15432 + PORT_OFFSET))
S3_PORT=$((19000 + PORT_OFFSET))
MILVUS_PORT=$((19530 + PORT_OFFSET))
PROMETHEUS_PORT=$((19090 + PORT_OFFSET))
S3_BUCKET=slo-scout-test

mkdir -p "$STATE_DIR" "$CACHE_DIR"

log() { printf '[%s] %s\n' "$SVC" "$*" >&2; }

die() {
  printf '[%s] ERROR: %s\n' "$SVC" "$*" >&2
  exit 1
}

# Print the last lines of a log file to stderr (used on failures).
tail_log() {
  local file="$1" n="${2:-40}"
  if [[ -f "$file" ]]; then
    printf '[%s] ---- last %s lines of %s ----\n' "$SVC" "$n" "$file" >&2
    tail -n "$n" "$file" >&2 || true
    printf '[%s] ---- end of log ----\n' "$SVC" >&2
  else
    printf '[%s] (no log file at %s)\n' "$SVC" "$file" >&2
  fi
}

# Fail with a message and the tail of the service log.
fail_with_log() {
  local msg="$1" file="$2"
  printf '[%s] ERROR: %s\n' "$SVC" "$msg" >&2
  tail_log "$file"
  exit 1
}

# tcp_open HOST PORT -> 0 when something accepts a TCP connection.
tcp_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

# pid_alive PIDFILE -> 0 when the pid in the file is a live process.
pid_alive() {
  local pidfile="$1" pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null
}

# start_daemon PIDFILE LOGFILE CMD... : run CMD detached (own session, no stdin),
# output appended to LOGFILE, pid written to PIDFILE.
start_daemon() {
  local pidfile="$1" logfile="$2"
  shift 2
  mkdir -p "$(dirname "$pidfile")" "$(dirname "$logfile")"
  printf '\n==== %s starting: %s\n' "$(date -u +%FT%TZ)" "$*" >>"$logfile"
  # 9>&- : the daemon must not inherit the service lock (see lock_service)
  setsid "$@" >>"$logfile" 2>&1 </dev/null 9>&- &
  echo $! >"$pidfile"
}

# wait_until TIMEOUT_S LOGFILE PIDFILE DESCRIPTION CHECK_CMD...
# Polls CHECK_CMD every second until it succeeds. Fails (with the log tail) on
# timeout or when the process behind PIDFILE dies (PIDFILE may be "").
wait_until() {
  local timeout_s="$1" logfile="$2" pidfile="$3" desc="$4"
  shift 4
  local start now
  start=$(date +%s)
  while true; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if [[ -n "$pidfile" ]] && ! pid_alive "$pidfile"; then
      fail_with_log "process exited before $desc" "$logfile"
    fi
    now=$(date +%s)
    if ((now - start >= timeout_s)); then
      fail_with_log "timed out after ${timeout_s}s waiting for $desc" "$logfile"
    fi
    sleep 1
  done
}

# stop_pidfile PIDFILE [GRACE_S] [FIRST_SIGNAL]: signal, wait, then SIGKILL.
stop_pidfile() {
  local pidfile="$1" grace="${2:-30}" sig="${3:-TERM}" pid i
  if ! pid_alive "$pidfile"; then
    rm -f "$pidfile"
    log "not running"
    return 0
  fi
  pid="$(cat "$pidfile")"
  log "stopping pid $pid (SIG$sig)"
  kill "-$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 2; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "pid $pid still alive after ${grace}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$pidfile"
  log "stopped"
}

# Refuse to start when a foreign process already owns our port.
ensure_port_free() {
  local port="$1"
  if tcp_open 127.0.0.1 "$port"; then
    die "port 127.0.0.1:$port is already in use by a process this script did not start (check 'ss -ltnp | grep :$port')"
  fi
}

as_root_check() {
  [[ "$(id -u)" == "0" ]] || die "must run as root to install system packages ($*); install them yourself or rerun as root"
}

_APT_UPDATED=0
# apt_install PKG... : apt-get update (once per process) + non-interactive install.
# Output goes to $STATE_DIR/apt.log (shown on failure); waits for the dpkg lock.
apt_install() {
  as_root_check "$@"
  export DEBIAN_FRONTEND=noninteractive
  local aptlog="$STATE_DIR/apt.log"
  if [[ "$_APT_UPDATED" == 0 ]]; then
    log "apt-get update"
    apt-get -o DPkg::Lock::Timeout=600 update -qq >>"$aptlog" 2>&1 || fail_with_log "apt-get update failed" "$aptlog"
    _APT_UPDATED=1
  fi
  log "apt-get install $* (log: $aptlog)"
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >>"$aptlog" 2>&1 ||
    fail_with_log "apt-get install $* failed" "$aptlog"
}

# apt_available PKG -> 0 when apt has an installation candidate for PKG.
apt_available() {
  local cand
  cand="$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2}')"
  [[ -n "$cand" && "$cand" != "(none)" ]]
}

# Python tools (moto, milvus-lite) live in a venv in the cache that can see the
# base interpreter's packages, so already-installed packages are reused and
# missing ones are installed without touching the system interpreter.
VENV_DIR="$CACHE_DIR/venv"
export PIP_CACHE_DIR="$CACHE_DIR/pip"
export PIP_DISABLE_PIP_VERSION_CHECK=1

venv_python() {
  if [[ ! -x "$VENV_DIR/bin/python" ]]; then
    local base="${SLO_SCOUT_PYTHON:-python3}"
    command -v "$base" >/dev/null || die "$base not found; install python3"
    log "creating python venv $VENV_DIR (from $(command -v "$base"))"
    if ! "$base" -m venv --system-site-packages "$VENV_DIR" >&2; then
      rm -rf "$VENV_DIR"
      apt_install python3-venv
      "$base" -m venv --system-site-packages "$VENV_DIR" >&2 || die "could not create venv $VENV_DIR"
    fi
  fi
  echo "$VENV_DIR/bin/python"
}

# ensure_py MODULE PIP_SPEC... : pip-install PIP_SPEC into the venv unless MODULE imports.
ensure_py() {
  local module="$1" py
  shift
  py="$(venv_python)"
  if "$py" -c "import $module" >/dev/null 2>&1; then
    return 0
  fi
  log "pip install $* (into $VENV_DIR)"
  "$py" -m pip install -q "$@" >&2 || die "pip install $* failed"
  "$py" -c "import $module" >&2 || die "module $module still not importable after pip install $*"
}

# Node is used for protocol-level readiness checks with the repo's own client
# libraries (kafkajs, milvus sdk). Returns 1 when node or the module is missing.
node_has_module() {
  command -v node >/dev/null 2>&1 && [[ -d "$SLO_ROOT/node_modules/$1" ]]
}

# Serialise start/stop of one service across concurrent callers.
lock_service() {
  exec 9>"$STATE_DIR/.$SVC.lock"
  if ! flock -w 600 9; then
    die "another start/stop of $SVC has held $STATE_DIR/.$SVC.lock for 600s"
  fi
}

# service_main START_FN STOP_FN STATUS_FN "$@" : dispatch start|stop|status|restart.
service_main() {
  local start_fn="$1" stop_fn="$2" status_fn="$3" cmd="${4:-}"
  case "$cmd" in
    start | stop | restart) lock_service ;;
  esac
  case "$cmd" in
    start)
      local t0 t1
      t0=$(date +%s)
      "$start_fn"
      t1=$(date +%s)
      log "ready ($((t1 - t0))s)"
      ;;
    stop) "$stop_fn" ;;
    status) "$status_fn" ;;
    restart)
      "$stop_fn"
      "$start_fn"
      ;;
    *)
      echo "usage: $0 start|stop|status|restart" >&2
      exit 2
      ;;
  esac
}
