"""Aggregation speed: `editflow aggregate` vs a per-metric index-gather bootstrap, same run.

Builds synthetic scores files at the paper's test-set size (8,255 examples; ipynb-edit) for
one model x task: base 0-, 1- and 5-shot and a fine-tuned model with 3 runs (6 files, 11
metrics). Times:
  baseline  the textbook bootstrap written here: per system and per metric, draw B x n row
            indices, gather, mean, percentiles; the same for the paired differences of each
            comparison (fine-tuned vs 0-shot, each pair of shots);
  editflow  `editflow.metrics.aggregate.aggregate` end to end (reading the files, every
            table, both plots), resampling counts shared by all metrics of a system.
Prints the seconds of each and the ratio baseline/editflow; the last line is one JSON object.

Example (about a minute on 2 cores):
    .venv/bin/python benchmarks/aggregate_bootstrap.py --examples 8255 --samples 1000
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from itertools import combinations
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

METRICS = ("em", "em_normalized", "bleu", "codebleu", "edit_sim", "rouge_l_p", "rouge_l_r",
           "rouge_l_f", "keystroke", "levenshtein", "lines_changed")
SYSTEMS = [(0, "base"), (1, "base"), (5, "base"), (0, "run1"), (0, "run2"), (0, "run3")]


def write_files(root: Path, n: int) -> list[str]:
    rng = np.random.default_rng(0)
    ids = [f"ex{i:05d}" for i in range(n)]
    paths = []
    for shots, checkpoint in SYSTEMS:
        shift = 20 if checkpoint != "base" else 3 * shots
        cols = {"example_id": ids, "model": ["m"] * n, "task": ["nb-file"] * n, "shots": [shots] * n,
                "checkpoint": [checkpoint] * n, "prompt": ["p"] * n, "prediction": ["x"] * n,
                "reference": ["y"] * n, "truncated": [False] * n, "sample": [0] * n}
        for m in METRICS:
            cols[m] = np.clip(rng.normal(30 + shift, 20, n), 0, 100)
        path = root / f"m/nb-file/{shots}shot/{checkpoint}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(cols), path)
        paths.append(str(path))
    return paths


def baseline(paths: list[str], samples: int) -> float:
    """Per-metric index-gather bootstrap of every system and comparison (reading included)."""
    start = time.perf_counter()
    rng = np.random.default_rng(0)
    tables = {Path(p).parent.name + "/" + Path(p).stem: pq.read_table(p).to_pydict() for p in paths}
    systems = {"0shot/base": [tables["0shot/base"]], "1shot/base": [tables["1shot/base"]],
               "5shot/base": [tables["5shot/base"]],
               "finetuned": [tables[f"0shot/run{k}"] for k in (1, 2, 3)]}
    per_example = {name: {m: np.mean([np.asarray(t[m]) for t in runs], axis=0) for m in METRICS}
                   for name, runs in systems.items()}

    def ci(values):
        idx = rng.integers(0, len(values), size=(samples, len(values)))
        return np.percentile(values[idx].mean(axis=1), [2.5, 97.5])

    for name in systems:
        for m in METRICS:
            ci(per_example[name][m])
    pairs = [("finetuned", "0shot/base")] + list(combinations(["5shot/base", "1shot/base", "0shot/base"], 2))
    for a, b in pairs:
        for m in METRICS:
            ci(per_example[a][m] - per_example[b][m])
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=8255)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args()
    from editflow.metrics.aggregate import aggregate

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = write_files(root / "scores", args.examples)
        base_s = baseline(paths, args.samples)
        start = time.perf_counter()
        result = aggregate(paths, root / "tables", root / "plots", n_samples=args.samples, seed=0)
        ours_s = time.perf_counter() - start
    print(f"baseline (per-metric gather bootstrap, no tables/plots): {base_s:.2f} s", file=sys.stderr)
    print(f"editflow aggregate (end to end): {ours_s:.2f} s; ratio baseline/editflow {base_s / ours_s:.2f}",
          file=sys.stderr)
    print(json.dumps({"benchmark": "aggregate_bootstrap", "examples": args.examples, "samples": args.samples,
                      "files": len(SYSTEMS), "metrics": len(METRICS), "cpus": os.cpu_count(),
                      "baseline_s": round(base_s, 3), "editflow_s": round(ours_s, 3),
                      "ratio_baseline_over_editflow": round(base_s / ours_s, 2),
                      "significance_rows": len(result["significance"])}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
