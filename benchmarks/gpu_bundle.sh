#!/usr/bin/env bash
# Prepare results/gpu_bundle for benchmarks/gpu_suite.sh on the lent GPU machine (no network there).
# It holds only what the tree copy lacks, well under the 64 MiB a run may carry:
#   whl/        wheels the machine does not have (Python 3.12, manylinux x86_64): jsonschema and its
#               dependencies (editflow.config), peft as tested here, liger-kernel (fused CE on CUDA)
#   tokenizer/  SmolLM2's tokenizer files (no weights): the vocabulary of every model shape
#   dataset/    train/val/test.parquet of the default run (the real prompt and length mix)
# Then, with a device:  run(command="bash benchmarks/gpu_suite.sh", carry=["results/gpu_bundle"], timeout_s=480)
#
#     bash benchmarks/gpu_bundle.sh [TOKENIZER_DIR] [DATASET_DIR]
# (defaults: resources/models/smollm2-135m-instruct from `editflow prepare-model`, results/dataset)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOK=${1:-$ROOT/resources/models/smollm2-135m-instruct}
DATA=${2:-$ROOT/results/dataset}
B=$ROOT/results/gpu_bundle
PIP=${PIP:-$ROOT/.venv/bin/pip}
rm -rf "$B"; mkdir -p "$B/whl" "$B/tokenizer" "$B/dataset"
"$PIP" download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_17_x86_64 -d "$B/whl" \
  jsonschema==4.26.0 referencing==0.37.0 rpds-py==2026.9.1 jsonschema-specifications==2025.9.1 attrs==26.1.0 \
  peft==0.21.2 liger-kernel==0.8.5
for f in "$TOK"/tokenizer.json "$TOK"/tokenizer_config.json "$TOK"/special_tokens_map.json "$TOK"/chat_template.jinja; do
  [[ -f $f ]] && cp "$f" "$B/tokenizer/"
done
[[ -f $B/tokenizer/tokenizer.json ]] || { echo "no tokenizer.json in $TOK (run editflow prepare-model first)" >&2; exit 1; }
cp "$DATA"/train.parquet "$DATA"/val.parquet "$DATA"/test.parquet "$B/dataset/"
du -sh "$B"; ls "$B"/*
