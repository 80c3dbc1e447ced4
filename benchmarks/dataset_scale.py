"""Benchmark: build the dataset from N synthetic edits; wall time and peak RSS.

Generates N edits (editflow.dataset.synthetic.random_edits, ~70% notebooks, cached in
--workdir as 50k-row Parquet files), then runs `editflow dataset` in a child process with
the default filters/dedup and `--tokenizer whitespace`, once on N/10 edits (the baseline)
and once on N. Prints the ratio of per-edit time (N vs baseline; 1.0 = linear scaling)
and ends with one JSON object. The target (issue 3): 1,000,000 edits in < 600 s on
2 cores with peak RSS < 4 GB.

Example:
    .venv/bin/python benchmarks/dataset_scale.py --edits 200000 --workdir /tmp/dsbench
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

FILE_ROWS = 50_000


def generate(workdir: Path, n: int, n_repos: int) -> list[Path]:
    from editflow.dataset.synthetic import random_edits
    files = []
    for start in range(0, n, FILE_ROWS):
        rows = min(FILE_ROWS, n - start)
        path = workdir / f"edits-{n_repos}-{start:08d}-{rows}.parquet"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            pq.write_table(random_edits(rows, n_repos, seed=0, start=start), tmp, compression="zstd")
            os.replace(tmp, path)
        files.append(path)
    return files


def build(files: list[Path], out: Path, tokenizer: str) -> dict:
    """Run `editflow dataset` as a child; wall seconds and the child's peak RSS."""
    cmd = [sys.executable, "-m", "editflow", "dataset", "--edits", *map(str, files), "--out", str(out),
           "--tokenizer", tokenizer]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"editflow dataset failed with {proc.returncode}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    stats = json.loads((out / "stats.json").read_text())
    for line in proc.stderr.splitlines():
        if "editflow.dataset" in line:
            print("   ", line.split(": ", 1)[-1], flush=True)
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(max(peak_kb, before) / 1024, 1),
            "examples": stats["funnel"]["all_tasks"]["kept"],
            "candidates": stats["funnel"]["all_tasks"]["candidates"], "split_method": stats["split_method"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--edits", type=int, default=1_000_000)
    ap.add_argument("--repos", type=int, default=2000)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/editflow-dataset-bench"))
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--tokenizer", default="whitespace",
                    help="whitespace (default) or a tokenizer directory, e.g. resources/models/smollm2-135m-instruct")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    files = generate(args.workdir, args.edits, args.repos)
    print(f"inputs: {args.edits} edits in {len(files)} files ({time.perf_counter() - t0:.0f} s to generate/check)", flush=True)
    result = {"edits": args.edits, "repos": args.repos, "cpus": os.cpu_count(), "tokenizer": args.tokenizer}
    if not args.no_baseline:
        small = max(FILE_ROWS, args.edits // 10)
        base_files = generate(args.workdir, small, args.repos)
        base = build(base_files, args.workdir / "out-baseline", args.tokenizer)
        print(f"baseline {small} edits: {base}", flush=True)
        result["baseline"] = {"edits": small, **base}
    big = build(files, args.workdir / "out", args.tokenizer)
    print(f"{args.edits} edits: {big}", flush=True)
    result.update(big)
    result["edits_per_s"] = round(args.edits / big["wall_s"], 1)
    result["projected_1m_s"] = round(1_000_000 / result["edits_per_s"], 1)
    if "baseline" in result:
        b = result["baseline"]
        result["per_edit_time_ratio_vs_baseline"] = round((big["wall_s"] / args.edits) / (b["wall_s"] / b["edits"]), 3)
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
