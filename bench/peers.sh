#!/usr/bin/env bash
# Side-by-side run of our bench and the peer harness (onnxruntime-web native WebGPU EP, TensorFlow.js)
# on the shared float32 cases, in Node, one after the other. Run it under the GPU lock:
#   flock /tmp/webgpu-fia-gpu.lock bench/peers.sh [OUT_DIR]
# Env: PEERS_SRC (default ../shared/peers beside the repo), PEERS_DIR (a writable copy, default /tmp/peers),
#      ITERS (default 10), WARMUP (default 2). See bench/peers.md.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/bench/results/peers}" && cd "${1:-$ROOT/bench/results/peers}" && pwd)"
PEERS_SRC="${PEERS_SRC:-$ROOT/../shared/peers}"
PEERS_DIR="${PEERS_DIR:-/tmp/peers}"
ITERS="${ITERS:-10}"
WARMUP="${WARMUP:-2}"
CASES=prefill_noncausal,prefill_causal,decode_gqa,decode_mha

if [ ! -d "$PEERS_DIR/node_modules" ]; then
  [ -d "$PEERS_DIR" ] || cp -r "$PEERS_SRC" "$PEERS_DIR"
  (cd "$PEERS_DIR" && npm ci --no-audit --no-fund)
fi
(cd "$ROOT" && npm run build --silent)

export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"
echo "[1/3] ours (npm run bench, cases $CASES)"
# Exit status 1 = some row failed its reference check (kept in the table); anything else aborts.
status=0
(cd "$ROOT" && node dist/bench/cli.js --cases "$CASES" --iters "$ITERS" --gpu-iters 5 --warmup "$WARMUP" --out "$OUT/ours.json") \
  > "$OUT/ours.log" 2>&1 || status=$?
if [ "$status" -gt 1 ]; then tail -20 "$OUT/ours.log"; exit "$status"; fi
[ "$status" -eq 0 ] || echo "  some of our rows failed their check: see $OUT/ours.log"
echo "[2/3] onnxruntime-web native WebGPU EP, subgroups hidden (MHA, GQA)"
(cd "$PEERS_DIR" && PEERS_HIDE_FEATURES=subgroups node run_ort_node.mjs --backend native --variants MHA,GQA \
  --dtypes float32 --cases "$CASES" --iters "$ITERS" --warmup "$WARMUP" --trace --out "$OUT/ort-native.json") \
  > "$OUT/ort-native.log" 2>&1
echo "[3/3] tfjs + tfjs-backend-webgpu"
(cd "$PEERS_DIR" && node run_tf_node.mjs --dtypes float32 --cases "$CASES" --iters "$ITERS" --warmup "$WARMUP" --trace \
  --out "$OUT/tfjs.json") > "$OUT/tfjs.log" 2>&1
node "$ROOT/dist/bench/peers.js" "$OUT" | tee "$OUT/SIDE_BY_SIDE.md"
