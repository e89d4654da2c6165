#!/usr/bin/env bash
# Make Node >= 22.22 available without touching the system node (/usr/bin/node).
#
#   source scripts/setup-node.sh        # prepends Node 22's bin dir to PATH in this shell
#   eval "$(scripts/setup-node.sh)"     # same, from any shell
#   scripts/setup-node.sh --bin-dir     # print only the bin dir ("" when the current node is fine)
#
# When `node --version` is older than 22.22 (the Kafka producer, @platformatic/kafka,
# needs it), the latest Node 22 is installed from the npm
# registry (package `node@22`, which pulls the platform binary) into
# ~/.cache/slo-scout/node22 (`npm i -g node@22` would collide with /usr/bin/node).
# Idempotent and fast when already installed. Override the place with
# SLO_SCOUT_NODE_PREFIX.

_slo_setup_node() {
  local want=22
  local min=22022 # 22.22 as major*1000+minor
  local prefix="${SLO_SCOUT_NODE_PREFIX:-${HOME:-/root}/.cache/slo-scout/node$want}"
  local bin="$prefix/node_modules/node/bin"
  local ver
  _slo_ver() { "$1" --version 2>/dev/null | sed -E 's/^v([0-9]+)\.([0-9]+).*/\1 \2/' | awk '{ print $1 * 1000 + $2 }'; }

  # 1. the node already on PATH is new enough
  if command -v node >/dev/null 2>&1; then
    ver="$(_slo_ver node)"
    if [[ -n "$ver" && "$ver" -ge "$min" ]]; then
      _SLO_NODE_BIN=""
      return 0
    fi
  fi
  # 2. a cached install from an earlier run
  if [[ -x "$bin/node" ]] && [[ "$(_slo_ver "$bin/node")" -ge "$min" ]] 2>/dev/null; then
    _SLO_NODE_BIN="$bin"
    return 0
  fi
  # 3. install from the npm registry with whatever npm exists
  if ! command -v npm >/dev/null 2>&1; then
    if [[ "$(id -u)" == 0 ]]; then
      echo "setup-node: npm missing; installing Debian's nodejs/npm to bootstrap" >&2
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >&2 || return 1
    else
      echo "setup-node: npm is required to install Node $want" >&2
      return 1
    fi
  fi
  echo "setup-node: installing node@$want into $prefix (current: $(node --version 2>/dev/null || echo none))" >&2
  mkdir -p "$prefix"
  if ! npm i --prefix "$prefix" --no-audit --no-fund --loglevel=error "node@$want" >&2; then
    echo "setup-node: npm i --prefix $prefix node@$want failed" >&2
    return 1
  fi
  if ! [[ -x "$bin/node" ]] || [[ "$(_slo_ver "$bin/node")" -lt "$min" ]]; then
    echo "setup-node: $bin/node missing or older than 22.22 after install" >&2
    return 1
  fi
  _SLO_NODE_BIN="$bin"
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  # sourced
  if _slo_setup_node; then
    if [[ -n "$_SLO_NODE_BIN" ]]; then
      case ":$PATH:" in
        *":$_SLO_NODE_BIN:"*) ;;
        *) export PATH="$_SLO_NODE_BIN:$PATH" ;;
      esac
      echo "setup-node: using $(node --version) from $_SLO_NODE_BIN" >&2
    else
      echo "setup-node: using $(node --version) from $(command -v node)" >&2
    fi
    unset -f _slo_setup_node _slo_ver
    unset _SLO_NODE_BIN
  else
    unset -f _slo_setup_node _slo_ver
    return 1
  fi
else
  set -euo pipefail
  _slo_setup_node
  if [[ "${1:-}" == "--bin-dir" ]]; then
    echo "$_SLO_NODE_BIN"
  elif [[ -n "$_SLO_NODE_BIN" ]]; then
    # shellcheck disable=SC2016 # $PATH is expanded by the caller's eval
    printf 'export PATH="%s:$PATH"\n' "$_SLO_NODE_BIN"
  else
    echo "# $(node --version) on PATH is already >= 22"
  fi
fi
