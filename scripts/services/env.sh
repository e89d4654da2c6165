#!/usr/bin/env bash
# Endpoints of the integration-tier services started by scripts/services/up.sh.
#
#   source scripts/services/env.sh     # export into the current shell
#   eval "$(scripts/services/env.sh)"  # same, from any shell
#   scripts/services/env.sh            # print the export lines
#
# Also sets SLO_SCOUT_MODEL_DIR when scripts/fetch-model.sh has laid out the
# embedding model, and AWS_* defaults (test/test, us-east-1) for SDK clients
# unless they are already set. SLO_SCOUT_PORT_OFFSET shifts every port (as in
# scripts/services/lib.sh) for a second stack running side by side.
_slo_env_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
_slo_env_lines() {
  local o="${SLO_SCOUT_PORT_OFFSET:-0}"
  cat <<EOT
export SLO_SCOUT_KAFKA_BROKERS=127.0.0.1:$((19092 + o))
export SLO_SCOUT_DATABASE_URL=postgres://slo_scout:slo_scout@127.0.0.1:$((15432 + o))/slo_scout
export SLO_SCOUT_S3_ENDPOINT=http://127.0.0.1:$((19000 + o))
export SLO_SCOUT_S3_BUCKET=slo-scout-test
export SLO_SCOUT_S3_REGION=us-east-1
export SLO_SCOUT_S3_ACCESS_KEY_ID=test
export SLO_SCOUT_S3_SECRET_ACCESS_KEY=test
export SLO_SCOUT_MILVUS_ADDRESS=127.0.0.1:$((19530 + o))
export SLO_SCOUT_PROMETHEUS_URL=http://127.0.0.1:$((19090 + o))
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_REGION=${AWS_REGION:-us-east-1}
EOT
  local model_dir="${SLO_SCOUT_MODEL_DIR:-$_slo_env_root/.services/models}"
  if [[ -f "$model_dir/Xenova/all-MiniLM-L6-v2/onnx/model_quantized.onnx" ]]; then
    echo "export SLO_SCOUT_MODEL_DIR=$model_dir"
  fi
}
if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  eval "$(_slo_env_lines)"
  unset -f _slo_env_lines
  unset _slo_env_root
else
  _slo_env_lines
fi
