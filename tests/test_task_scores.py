"""A task's own scores (TaskSpec.extra_scores) reach the results tables beside the shared metrics."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq

from test_aggregate import make_scores, read_csv

from editflow.metrics.aggregate import aggregate


def _with_task_scores(path, values):
    table = pq.read_table(path)
    meta = dict(table.schema.metadata or {})
    meta[b"editflow.score"] = json.dumps({"task_scores": ["tree_em"]}).encode()
    table = table.append_column("tree_em", pa.array(values, pa.float64())).replace_schema_metadata(meta)
    pq.write_table(table, path)
    return path


def test_extra_score_columns_are_aggregated_per_task(tmp_path):
    d = tmp_path / "metrics" / "m"
    plain = make_scores(d / "nb-cell" / "0shot" / "base.parquet", n=4)
    tree = _with_task_scores(make_scores(d / "py-ast" / "0shot" / "base.parquet", task="py-ast", n=4),
                             [100.0, 0.0, None, 100.0])   # null: the score does not apply to that row
    aggregate([str(plain), str(tree)], tmp_path / "tables", None, n_samples=20, seed=0)
    rows = {r["task"]: r for r in read_csv(tmp_path / "tables" / "main.csv") if r["system"] == "base"}
    assert abs(float(rows["py-ast"]["tree_em_mean"]) - 200.0 / 3) < 1e-3   # nulls left out
    assert rows["nb-cell"]["tree_em_mean"] in ("", "nan")


def test_codebleu_dataflow_does_not_depend_on_the_hash_seed():
    """codebleu numbers variables in the order of a set; editflow sorts first (same code, same score)."""
    from editflow.metrics.codebleu_metric import _setup

    normalize = _setup()["dataflow"].normalize_dataflow
    a = [("y", 3, "computedFrom", ["b", "a", "c"], [1, 2, 0])]
    b = [("y", 3, "computedFrom", ["c", "a", "b"], [0, 2, 1])]
    assert normalize(a) == normalize(b)
