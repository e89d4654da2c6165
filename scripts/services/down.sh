#!/usr/bin/env bash
# Stop integration-tier services (all by default, or the ones named).
# Data dirs and download caches are kept; `rm -rf .services` wipes local state.
#
#   scripts/services/down.sh [kafka|postgres|s3|milvus|prometheus]...
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ALL=(prometheus milvus s3 postgres kafka)
if (($# == 0)); then
  set -- "${ALL[@]}"
fi
rc=0
for svc in "$@"; do
  if [[ ! -x "$HERE/$svc.sh" || " ${ALL[*]} " != *" $svc "* ]]; then
    echo "down.sh: unknown service '$svc' (known: ${ALL[*]})" >&2
    rc=2
    continue
  fi
  "$HERE/$svc.sh" stop || rc=1
done
exit "$rc"
