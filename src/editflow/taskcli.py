"""List the registered tasks: name, what each reads, what it asks of a model, example counts.

Every task is one module in editflow/tasks/ (or a plugin module named in
EDITFLOW_TASK_MODULES); docs/ARCHITECTURE.md ("Tasks") shows how to add one. When a dataset
has been built, the example counts per split come from its stats.json.

Example:
  editflow tasks
  editflow tasks --dataset results/default/dataset --json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="results/default/dataset",
                        help="dataset directory whose stats.json gives example counts (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _counts(dataset: Path) -> dict[str, dict[str, int]]:
    path = dataset / "stats.json"
    if not path.exists():
        return {}
    try:
        splits = json.loads(path.read_text("utf-8"))["splits"]
    except (ValueError, KeyError):
        return {}
    out: dict[str, dict[str, int]] = {}
    for split, entry in splits.items():
        for task, c in entry.get("by_task", {}).items():
            out.setdefault(task, {})[split] = c["examples"]
    return out


def run(args: argparse.Namespace) -> int:
    from editflow import tasks

    counts = _counts(Path(args.dataset))
    rows = []
    for name, spec in tasks.specs().items():
        rows.append({"task": name, "reads": f"{spec.reads} edits (editflow mine)", "description": spec.description,
                     "templates": list(spec.templates), "module": spec.view.__module__ if spec.view else spec.examples.__module__,
                     "examples": counts.get(name)})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["task"]) for r in rows)
    where = f"{args.dataset}/stats.json" if counts else f"no dataset at {args.dataset} yet (snakemake --cores 2 {args.dataset}/README.md)"
    print(f"{len(rows)} registered tasks; example counts from {where}\n")
    for r in rows:
        n = r["examples"]
        count = " / ".join(f"{s} {n.get(s, 0)}" for s in ("train", "val", "test")) if n else "-"
        print(f"{r['task']:<{width}}  {r['description']}")
        print(f"{'':<{width}}  reads {r['reads']}; examples: {count}; module {r['module']}")
    return 0
