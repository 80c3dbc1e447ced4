"""Print what the workflow has produced so far under results/{run_name}/.

`make run` ends with this, so a user sees at once where the dataset, the adapters, the
predictions and the tables are, and the main table itself.

Example:
    editflow summary                 # the default run: results/default/
    editflow summary --run cluster   # results/cluster/ (a config with run_name: cluster)
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def summarize(results: Path) -> str:
    lines = [f"editflow results in {results}/"]
    repos = results / "repos.parquet"
    if repos.exists():
        lines.append(f"  repositories: {_rows(repos)} (repos.parquet)")
    edits = sorted(p for p in (results / "edits").glob("*.parquet") if not p.name.endswith(".skips.parquet"))
    if edits:
        skips = sum(_rows(p) for p in (results / "edits").glob("*.skips.parquet"))
        lines.append(f"  edits: {sum(_rows(p) for p in edits)} from {len(edits)} repositories, {skips} counted skips (edits/)")
    stats = results / "dataset" / "stats.json"
    for split in ("train", "val", "test"):
        f = results / "dataset" / f"{split}.parquet"
        if f.exists():
            lines.append(f"  dataset/{split}.parquet: {_rows(f)} examples")
    if stats.exists():
        method = json.loads(stats.read_text()).get("split_method")
        if method:
            lines.append(f"  split method: {method}")
    adapters = sorted((results / "models").glob("*/*/run*/adapter"))
    for a in adapters:
        lines.append(f"  adapter: {a.relative_to(results)}")
    preds = sorted((results / "predictions").rglob("*.parquet"))
    for p in preds:
        lines.append(f"  predictions: {p.relative_to(results)} ({_rows(p)} rows)")
    table = results / "tables" / "main.md"
    if table.exists():
        lines += ["", f"{table}:", table.read_text(encoding="utf-8")]
    report = results / "report" / "examples.html"
    if report.exists():
        lines.append(f"Example diffs: {report}; full report: snakemake --report report.html")
    if len(lines) == 1:
        lines.append("  nothing yet: run `make run` or `snakemake --cores 2`")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from editflow.layout import DEFAULT_RUN

    parser.add_argument("--run", default=DEFAULT_RUN, help="the config's run_name (default: %(default)s)")
    parser.add_argument("--results", type=Path, help="a run's results folder (default: results/RUN)")


def run(args: argparse.Namespace) -> int:
    from editflow.layout import Layout

    results = args.results or Path(Layout.for_run(args.run).root)
    print(summarize(results))
    others = sorted(p.name for p in results.parent.glob("*") if p.is_dir() and p != results) \
        if results.parent.exists() else []
    if others:
        print(f"other runs under {results.parent}/: {', '.join(others)} (editflow summary --run NAME)")
    return 0
