"""Turn a benchmark file (`editflow benchmark`) into a test split of the `instruct` task.

  editflow bench-split --benchmark results/default/benchmarks/humaneval-edit.parquet \\
      --out results/default/benchmarks/humaneval-edit

Writes OUT/test.parquet: records.EXAMPLE_SCHEMA plus `tests`, one row per problem and
instruction style (lazy, descriptive), so that `editflow infer --task instruct --dataset OUT`
prompts exactly as the instruct task is trained (`## Code Before:` the buggy program,
`## Instruction:` one instruction, `## Code After:`), carries `tests` into the predictions,
and `editflow score` runs every sample with its tests (`passed`, `pass@k`). The example id
is "<problem_id>#<style>", as editflow.metrics.passk reads it back.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pyarrow as pa

log = logging.getLogger(__name__)

TASK = "instruct"
SPLIT_SCHEMA_EXTRA = pa.field("tests", pa.string())


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--benchmark", required=True, help="a benchmark file written by `editflow benchmark`")
    parser.add_argument("--out", required=True, help="output directory (gets test.parquet)")


def split_table(benchmark: pa.Table) -> pa.Table:
    """The test split of a benchmark table (editbench.schema.BENCHMARK_SCHEMA columns)."""
    from editflow.editbench.schema import style_rows
    from editflow.records import EXAMPLE_SCHEMA

    rows = style_rows(benchmark).to_pylist()
    by_problem = {r["problem_id"]: r for r in benchmark.select(["problem_id", "source", "license"]).to_pylist()}
    out = []
    for r in sorted(rows, key=lambda r: r["example_id"]):
        origin = by_problem[r["problem_id"]]
        out.append({
            "example_id": r["example_id"], "edit_id": r["problem_id"], "task": TASK, "split": "test",
            "prompt_fields": {"message": r["instruction"], "old_code": r["before"]},
            "target": r["reference"], "repo": origin["source"], "commit": None, "path": None,
            "license": origin["license"], "commit_time": None, "source": r["before"], "reference": r["reference"],
            "meta": json.dumps({"style": r["instruction_style"], "problem_id": r["problem_id"]}, sort_keys=True),
            "tests": r["tests"]})
    return pa.Table.from_pylist(out, schema=EXAMPLE_SCHEMA.append(SPLIT_SCHEMA_EXTRA))


def run(args: argparse.Namespace) -> int:
    from editflow.atomic import write_parquet
    from editflow.editbench.schema import CONTRACT_COLUMNS
    from editflow.inputs import InputError, read_parquet

    try:
        table = read_parquet(args.benchmark, "benchmark file", "editflow benchmark")
        missing = [c for c in (*CONTRACT_COLUMNS, "source", "license") if c not in table.column_names]
        if missing:
            raise InputError(f"{args.benchmark}: missing column(s) {missing} (docs/editbench.md)")
    except InputError as exc:
        log.error("%s", exc)
        return 2
    split = split_table(table)
    out = Path(args.out) / "test.parquet"
    write_parquet(split, out)
    print(f"{args.benchmark}: {table.num_rows} problems -> {split.num_rows} {TASK} examples in {out}")
    return 0
