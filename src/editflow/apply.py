"""Turn a column of model outputs (or gold targets) into code with the task's decoder.

For tasks whose target is code the decoder is the identity; for tasks whose target is an
encoded edit (a line diff, an edit script) it applies the edit to the row's `source`. The
result goes to column `applied_code`, next to `reference`, with `decode_ok` and
`decode_reason`; `editflow score` uses the same decoder, so every task is scored on code.
A decoded gold `target` must equal `reference`: the summary printed last says how often it does.

Example:
  editflow apply --task py-file --in results/default/dataset/test.parquet --column target --out /tmp/applied.parquet
  editflow apply --task nb-cell --in results/default/predictions/m/nb-cell/0shot/base.parquet --column prediction --out x.parquet
"""
from __future__ import annotations

import argparse
import json
import logging
import sys

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from editflow import tasks

    parser.add_argument("--task", required=True, choices=tasks.names(), help="the task whose decoder to use")
    parser.add_argument("--in", dest="inp", required=True, help="examples (dataset split) or predictions Parquet file")
    parser.add_argument("--column", required=True, help="the column to decode, e.g. target or prediction")
    parser.add_argument("--out", required=True, help="Parquet file to write (the input rows of the task + applied_code)")


def run(args: argparse.Namespace) -> int:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from editflow import tasks
    from editflow.atomic import write_parquet

    try:
        table = pq.read_table(args.inp)
    except FileNotFoundError:
        print(f"editflow apply: {args.inp}: no such file", file=sys.stderr)
        return 2
    except (pa.ArrowInvalid, OSError) as exc:
        print(f"editflow apply: {args.inp}: not a readable Parquet file ({exc})", file=sys.stderr)
        return 2
    missing = [c for c in (args.column, "source") if c not in table.column_names]
    if missing:
        print(f"editflow apply: {args.inp} has no column(s) {missing}; columns: {table.column_names}",
              file=sys.stderr)
        return 2
    if "task" in table.column_names:
        table = table.filter(pc.equal(table["task"], args.task))
    else:
        table = table.append_column("task", pa.array([args.task] * table.num_rows, pa.string()))
    if not pa.types.is_string(table.schema.field(args.column).type) and not pa.types.is_large_string(
            table.schema.field(args.column).type):
        print(f"editflow apply: {args.inp}: column {args.column!r} has type {table.schema.field(args.column).type}, "
              f"expected text", file=sys.stderr)
        return 2
    report = tasks.decode_table(table, args.column)
    for name in ("applied_code", "decode_ok", "decode_reason"):
        if name in table.column_names:
            table = table.drop_columns([name])
    table = table.append_column("applied_code", pa.array(report.code, pa.string()))
    table = table.append_column("decode_ok", pa.array(report.ok, pa.bool_()))
    table = table.append_column("decode_reason", pa.array(report.reasons, pa.string()))
    write_parquet(table, args.out)
    summary = {"task": args.task, "rows": table.num_rows, "decoded": sum(report.ok),
               "failures": dict(sorted(report.failures.items()))}
    if "reference" in table.column_names:
        refs = table["reference"].to_pylist()
        summary["equal_to_reference"] = sum(c == (r or "") for c, r in zip(report.code, refs))
    log.info("applied %s's decoder to %s[%s] -> %s", args.task, args.inp, args.column, args.out)
    print(json.dumps(summary, sort_keys=True))
    return 0
