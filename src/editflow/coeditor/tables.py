"""Coeditor's result tables from score files: Table 3 (OneLine) and Table 5 (ablations).

Score files carry `example_id`, `applied_code` (the decoded unit) and `reference`; the dataset
split files carry each example's `edit_id` and `meta` (unit, synthetic, oneline kind). EM is
`unit_em` on the decoded unit. Table 5 pairs the ablation tasks' examples with py-unit's by
(edit, unit) — example ids differ per task — and tests each difference with the project's
paired bootstrap (editflow.metrics.bootstrap). Table 4 needs model calls per round:
editflow.coeditor.rounds.rounds_table. Table 1: editflow.coeditor.pycommits.table1.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from editflow.coeditor.evaluation import oneline_table, unit_em

ABLATION_TASKS = {"py-unit": "No Ablation", "py-unit-no-diffs": "No Diffs",
                  "py-unit-no-signatures": "No Signatures", "py-unit-small-context": "Small Context"}


def unit_scores(table: pa.Table) -> dict[str, np.ndarray]:
    """TaskSpec.extra_scores of the py-unit tasks: `unit_em`, Coeditor's EM on the decoded unit."""
    code = table["applied_code"].to_pylist() if "applied_code" in table.column_names else \
        table["prediction"].to_pylist()
    refs = table["reference"].to_pylist()
    return {"unit_em": np.array([unit_em(r or "", c or "") for c, r in zip(code, refs)], dtype=float)}


def example_meta(dataset_dir: str | Path) -> dict[str, tuple[str, dict[str, Any]]]:
    """example_id -> (edit_id, meta) over the dataset's split files."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    for split in ("train", "val", "test"):
        p = Path(dataset_dir) / f"{split}.parquet"
        if not p.exists():
            continue
        t = pq.read_table(p, columns=["example_id", "edit_id", "meta"])
        for eid, edit, meta in zip(*(t[c].to_pylist() for c in ("example_id", "edit_id", "meta"))):
            out[eid] = (edit, json.loads(meta) if meta else {})
    return out


def _ems(scores: pa.Table) -> list[tuple[str, float]]:
    ems = scores["unit_em"].to_pylist() if "unit_em" in scores.column_names else \
        unit_scores(scores)["unit_em"].tolist()
    return list(zip(scores["example_id"].to_pylist(), ems))


def table3(scores: pa.Table, meta: Mapping[str, tuple[str, dict[str, Any]]]) -> dict[str, object]:
    """Add / Replace / overall EM of py-unit-oneline scores (first sample of each example)."""
    seen, kinds, ems = set(), [], []
    for eid, em in _ems(scores):
        kind = meta.get(eid, ("", {}))[1].get("oneline")
        if kind and eid not in seen:
            seen.add(eid)
            kinds.append(kind)
            ems.append(em)
    return oneline_table(kinds, ems)


def table5(scores_by_task: Mapping[str, pa.Table], meta: Mapping[str, tuple[str, dict[str, Any]]],
           n_samples: int = 1000, seed: int = 0) -> list[dict[str, object]]:
    """EM per ablation on the examples every given task has, each against py-unit (paired)."""
    from editflow.metrics.bootstrap import paired_bootstrap, rng_for

    by_task: dict[str, dict[tuple[str, str], float]] = {}
    for task, scores in scores_by_task.items():
        rows: dict[tuple[str, str], float] = {}
        for eid, em in _ems(scores):
            edit, m = meta.get(eid, (None, {}))
            if edit is not None and not m.get("synthetic") and "oneline" not in m:
                rows.setdefault((edit, m.get("unit", "")), em)
        by_task[task] = rows
    common = sorted(set.intersection(*(set(r) for r in by_task.values()))) if by_task else []
    base = np.array([by_task["py-unit"][k] for k in common]) if "py-unit" in by_task else None
    out = []
    for task in sorted(by_task, key=lambda t: list(ABLATION_TASKS).index(t) if t in ABLATION_TASKS else 99):
        vals = np.array([by_task[task][k] for k in common], dtype=float)
        row: dict[str, object] = {"ablation": ABLATION_TASKS.get(task, task), "task": task, "n": len(common),
                                  "em": round(float(vals.mean()), 2) if len(vals) else float("nan")}
        if base is not None and task != "py-unit" and len(vals):
            r = paired_bootstrap(vals, base, n_samples, rng_for(seed, "coeditor-table5", task))[0]
            row.update(delta=round(r.delta, 2), delta_ci_low=round(r.ci_low, 2),
                       delta_ci_high=round(r.ci_high, 2), p_value=round(r.p_value, 4))
        out.append(row)
    return out
