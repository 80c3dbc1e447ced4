#!/usr/bin/env bash
# The GPU figures of issue #19 in one run (< 7 minutes on an H200), from the repository root:
#
#     bash benchmarks/gpu_bundle.sh            # here, once: wheels, tokenizer, dataset -> results/gpu_bundle
#     bash benchmarks/gpu_suite.sh             # on the GPU machine (carry results/gpu_bundle)
#     GPU_DRYRUN=1 SKIP_WHEELS=1 PY=.venv/bin/python TIMEOUT_SCALE=4 BUDGET_S=2000 bash benchmarks/gpu_suite.sh
#                                              # on a CPU: the same steps, tiny shape, tiny sizes
#
# Models are random-init DeepSeek-Coder-1.3B / 6.7B shapes with SmolLM2's vocabulary
# (src/editflow/resources/model_shapes), built on the GPU in bf16: no weights, no network.
# Prompts are the default dataset's (results/gpu_bundle/dataset: 111-465 tokens).
# Steps (each under `timeout`; a failure does not stop the rest; budget BUDGET_S, default 400 s):
#   env           nvidia-smi, python/torch/transformers/peft/liger versions
#   cli_train     `editflow train` 5 steps on a SmolLM2-135M-shape model dir (cuda, bf16, packed)
#   cli_infer     `editflow infer` with that adapter (cuda: the CUDA-graph decode loop)
#   infer_ds-1.3b benchmarks/infer_batching.py: editflow vs HF padded-batch generate vs batch-1 loop,
#                 64 prompts x 256 new tokens, batch limits from GPU memory
#   train_ds-1.3b benchmarks/train_throughput.py: packed vs padded vs Trainer-style padded (HF loss),
#                 nb-file lengths, effective batch 64, 16,384 tokens per micro-batch, no checkpointing
#   infer_ds-6.7b as infer_ds-1.3b for the 6.7B shape
#   train_ds-1.3b-gc  packed only, with gradient checkpointing (what memory would cost), if time is left
# Writes $OUT/log.txt, $OUT/steps.jsonl, $OUT/<step>.out/.err, and prints one JSON summary
# (benchmarks/gpu_summary.py) as the last line. MFU = 6 (train) or 2 (infer) * N_total * tokens/s / 989e12.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${OUT:-/tmp/gpu_out}
BUNDLE=${BUNDLE:-$ROOT/results/gpu_bundle}
SITE=${SITE:-/tmp/editflow_site}
WORK=${WORK_DIR:-/tmp/editflow_gpu_work}
PY=${PY:-python3}
BUDGET=${BUDGET_S:-400}
DRY=${GPU_DRYRUN:-0}
mkdir -p "$OUT" "$WORK"
: > "$OUT/steps.jsonl"
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }

# step NAME CAP_S RESERVE_S CMD...: CMD under timeout min(CAP, budget left - RESERVE);
# stdout -> $OUT/NAME.out, stderr -> $OUT/NAME.err (tail shown), one line in steps.jsonl
step() {
  local name=$1 cap=$(( $2 * ${TIMEOUT_SCALE:-1} )) reserve=$3; shift 3
  local left=$(( BUDGET - $(elapsed) - reserve )) t=$cap
  (( t > left )) && t=$left
  if (( t < 15 )); then
    echo "=== $name: skipped (${left}s of budget left after reserving ${reserve}s)"
    printf '{"step": "%s", "rc": -1, "seconds": 0}\n' "$name" >> "$OUT/steps.jsonl"
    return 0
  fi
  echo; echo "=== $name [+$(elapsed)s, timeout ${t}s]"; echo "\$ $*"
  local s=$(date +%s.%N)
  timeout -k 10 "$t" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
  local rc=$?
  local sec=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')
  grep -v "Loading weights\|Writing model\|it/s\]" "$OUT/$name.err" | tail -n 15
  tail -n 3 "$OUT/$name.out"
  echo "--- $name: rc=$rc in ${sec}s"
  printf '{"step": "%s", "rc": %d, "seconds": %s}\n' "$name" "$rc" "$sec" >> "$OUT/steps.jsonl"
}

main() {
  echo "editflow gpu_suite: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null) dry=$DRY budget=${BUDGET}s $(date -Is)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version --format=csv
  export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1 MPLBACKEND=Agg
  export HF_HOME="$WORK/hf" TRANSFORMERS_NO_ADVISORY_WARNINGS=1

  # Wheels the machine lacks (jsonschema & deps, peft as tested here, liger-kernel), installed
  # beside its own packages; editflow itself runs from src/.
  rm -rf "$SITE"; mkdir -p "$SITE"
  if [[ ${SKIP_WHEELS:-0} != 1 ]] && ls "$BUNDLE"/whl/*.whl >/dev/null 2>&1; then
    $PY -m pip install -q --no-index --no-deps --no-compile --target "$SITE" "$BUNDLE"/whl/*.whl \
      || $PY -c "import sys, zipfile; [zipfile.ZipFile(w).extractall(sys.argv[1]) for w in sys.argv[2:]]" "$SITE" "$BUNDLE"/whl/*.whl
  fi
  export PYTHONPATH="$SITE:$ROOT/src:$ROOT/benchmarks${EXTRA_PYTHONPATH:+:$EXTRA_PYTHONPATH}"
  cd "$ROOT" || exit 1

  local dev dtype prec big bigger n bn newtok teb tmbt tmax tsteps threads cli_train cli_infer
  if [[ $DRY == 1 ]]; then
    dev=cpu; dtype=float32; prec=fp32; big=tiny; bigger=tiny; n=6; bn=1; newtok=8
    teb=8; tmbt=2048; tmax=1024; tsteps=1; threads="--threads 2 --engine graphs"  # the GPU loop, eagerly
    cli_train='{"max_steps": 2, "effective_batch": 4, "micro_batch_tokens": 1024, "max_length": 1024, "max_train_examples": 8, "max_val_examples": 2, "checkpoint_every_steps": 2, "epochs": 1}'
    cli_infer='{"max_test_examples": 3, "max_new_tokens": 8}'
  else
    dev=cuda; dtype=bfloat16; prec=bf16; big=ds-1.3b; bigger=ds-6.7b; n=64; bn=2; newtok=256
    teb=64; tmbt=16384; tmax=2048; tsteps=4; threads=
    cli_train='{"max_steps": 5, "effective_batch": 16, "micro_batch_tokens": 8192, "max_length": 1024, "max_train_examples": 86, "max_val_examples": 16, "checkpoint_every_steps": 5, "epochs": 1}'
    cli_infer='{"max_test_examples": 8, "max_new_tokens": 64}'
  fi
  local tok="$BUNDLE/tokenizer" data="$BUNDLE/dataset" smol="$WORK/models/smollm2-135m"

  step env 60 330 $PY -c "import json, sys, torch, transformers, peft, importlib.util as u
print(json.dumps({'python': sys.version.split()[0], 'torch': torch.__version__, 'cuda': torch.version.cuda,
  'transformers': transformers.__version__, 'peft': peft.__version__,
  'liger_kernel': bool(u.find_spec('liger_kernel')), 'varlen_attn': bool(u.find_spec('torch.nn.attention.varlen')),
  'gpu': torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}))"

  step cli_model 60 320 $PY benchmarks/model_shapes.py smollm2-135m "$smol" --tokenizer "$tok" --device "$dev" --dtype "$dtype"
  step cli_train 90 300 $PY -m editflow train --model "$smol" --model-name smollm2-135m --dtype auto --task nb-cell \
    --run 0 --dataset "$data" --out "$WORK/cli/run0" --device "$dev" --settings "$cli_train" ${threads%% --engine*}
  step cli_infer 75 280 $PY -m editflow infer --model "$smol" --model-name smollm2-135m \
    --model-spec '{"dtype": "auto", "quantization": "none"}' --adapter "$WORK/cli/run0/adapter" --checkpoint run0 \
    --task nb-cell --shots 0 --dataset "$data" --out "$WORK/cli/pred/run0.parquet" --device "$dev" \
    --settings "$cli_infer" ${threads%% --engine*}

  local infer=(benchmarks/infer_batching.py --device "$dev" --dtype "$dtype" --tokenizer "$tok" --dataset "$data"
               --n "$n" --max-new-tokens "$newtok" --hf-padded-peer --gpu-batch-limits $threads)
  step "infer_$big" 130 160 $PY "${infer[@]}" --model-shape "$big" --baseline-n "$bn"
  step "train_$big" 110 90 $PY benchmarks/train_throughput.py --model-shape "$big" --tokenizer "$tok" --device "$dev" \
    --precision "$prec" --dataset "$data" --task nb-file --effective-batch "$teb" --micro-batch-tokens "$tmbt" \
    --max-length "$tmax" --max-steps "$tsteps" --warmup-steps 1 --modes hf_padded,padded,packed ${threads%% --engine*}
  step "infer_$bigger" 120 20 $PY "${infer[@]}" --model-shape "$bigger" --baseline-n 1
  step "train_$big-gc" 60 0 $PY benchmarks/train_throughput.py --model-shape "$big" --tokenizer "$tok" --device "$dev" \
    --precision "$prec" --dataset "$data" --task nb-file --effective-batch "$teb" --micro-batch-tokens "$tmbt" \
    --max-length "$tmax" --max-steps 2 --warmup-steps 1 --modes packed --gradient-checkpointing ${threads%% --engine*}

  echo; echo "=== summary (+$(elapsed)s)"
  $PY benchmarks/gpu_summary.py "$OUT" "$(elapsed)" | tee "$OUT/summary.json"
}

main 2>&1 | tee "$OUT/log.txt"
exit "${PIPESTATUS[0]}"
