#!/usr/bin/env bash
# Start the integration-tier services (all by default, or the ones named).
#
#   scripts/services/up.sh                      # kafka postgres s3 milvus prometheus
#   scripts/services/up.sh kafka postgres s3    # a subset
#
# Each service script is idempotent: already-running services are left alone.
# Exits non-zero (after printing the failing service's log tail) when any
# service fails to become ready. Prints per-service start times.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ALL=(kafka postgres s3 milvus prometheus)
if (($# == 0)); then
  set -- "${ALL[@]}"
fi
for svc in "$@"; do
  [[ -x "$HERE/$svc.sh" && " ${ALL[*]} " == *" $svc "* ]] || {
    echo "up.sh: unknown service '$svc' (known: ${ALL[*]})" >&2
    exit 2
  }
done
summary=()
for svc in "$@"; do
  t0=$(date +%s)
  if ! "$HERE/$svc.sh" start; then
    echo "up.sh: $svc failed to start" >&2
    exit 1
  fi
  summary+=("$svc: $(($(date +%s) - t0))s")
done
echo "up.sh: ready: ${summary[*]}" >&2
echo "up.sh: export the endpoints with: source scripts/services/env.sh" >&2
