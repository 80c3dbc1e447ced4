#!/usr/bin/env bash
# Runs once, inside the freshly created conda env (Snakemake's post-deploy hook): installs
# editflow itself from the workflow's checkout, without touching the env's conda packages.
# EDITFLOW_ROOT is set by workflow/rules/common.smk to the Snakefile's directory.
set -euo pipefail
python -m pip install --no-deps "${EDITFLOW_ROOT:-.}"
