"""`editflow task-tables`: Coeditor Tables 1, 3, 5 and the structural comparison on hand-made
dataset and scores files with known values, and the DAG's task_tables job (default and cluster)."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from editflow.cli import main
from editflow.tasktables import structural_metrics

from test_dag import ROOT, dry_run, write_config
from test_infer import tiny_model  # noqa: F401  (a fixture: a 2-layer random Llama)

MODEL = "m"


def _dataset(root: Path) -> Path:
    """py-unit rows (two test problems, one synthetic, one train), OneLine and ablation rows, py-ast*."""
    rows = [
        # example_id, edit_id, task, split, repo, commit, path, meta, changed_lines
        ("u1", "e1", "py-unit", "test", "r1", "c1", "a.py", {"unit": "f", "unit_kind": "function"}, 3),
        ("u2", "e2", "py-unit", "test", "r1", "c2", "b.py", {"unit": "g", "unit_kind": "class"}, 4),
        ("u3", "e2", "py-unit", "test", "r1", "c2", "b.py", {"unit": "g", "synthetic": True}, 2),
        ("u4", "e3", "py-unit", "train", "r2", "c3", "c.py", {"unit": "h", "unit_kind": "function"}, 5),
        ("o1", "e1", "py-unit-oneline", "test", "r1", "c1", "a.py", {"unit": "f", "oneline": "add"}, 1),
        ("o2", "e2", "py-unit-oneline", "test", "r1", "c2", "b.py", {"unit": "g", "oneline": "add"}, 1),
        ("o3", "e4", "py-unit-oneline", "test", "r1", "c4", "d.py", {"unit": "k", "oneline": "replace"}, 1),
        ("s1", "e1", "py-unit-no-signatures", "test", "r1", "c1", "a.py", {"unit": "f"}, 3),
        ("s2", "e2", "py-unit-no-signatures", "test", "r1", "c2", "b.py", {"unit": "g"}, 4),
        ("t1", "e5", "py-ast", "test", "r1", "c5", "e.py", {}, 1),
        ("t2", "e6", "py-ast", "test", "r1", "c6", "e.py", {}, 1),
        ("x1", "e5", "py-ast-text", "test", "r1", "c5", "e.py", {}, 1),
        ("x2", "e6", "py-ast-text", "test", "r1", "c6", "e.py", {}, 1),
    ]
    out = root / "dataset"
    out.mkdir()
    names = ("example_id", "edit_id", "task", "split", "repo", "commit", "path", "meta", "changed_lines")
    for split in ("train", "val", "test"):
        part = [r for r in rows if r[3] == split]
        cols = {n: [r[i] for r in part] for i, n in enumerate(names)}
        cols["meta"] = [json.dumps(m) for m in cols["meta"]]
        pq.write_table(pa.table({**cols, "changed_lines": pa.array(cols["changed_lines"], pa.int64())}),
                       out / f"{split}.parquet")
    return out


def _scores(root: Path, task: str, ids: list[str], extra: dict[str, list], code=None) -> str:
    n = len(ids)
    path = root / "metrics" / MODEL / task / "0shot" / "base.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    code = code or [f"code {i}" for i in ids]
    table = pa.table({"example_id": ids, "task": [task] * n, "model": [MODEL] * n, "shots": [0] * n,
                      "checkpoint": ["base"] * n, "em": [0.0] * n, "source": code, "reference": code,
                      "applied_code": code, **extra})
    meta = {b"editflow.score": json.dumps({"task_scores": list(extra)}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)
    return str(path)


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def built(tmp_path):
    dataset = _dataset(tmp_path)
    nan = math.nan
    structural = {m: [nan, nan] for m in structural_metrics()}
    script = {**structural, "tree_em": [100.0, 100.0], "script_em": [100.0, 0.0], "apply_clean": [100.0, 100.0],
              "grammar_valid": [100.0, 100.0], "tree_distance": [0.0, 2.0], "op_precision": [100.0, 50.0],
              "op_recall": [100.0, 100.0]}
    text = {**structural, "tree_em": [100.0, 0.0], "script_em": [100.0, 0.0], "apply_clean": [100.0, 0.0],
            "grammar_valid": [100.0, 0.0], "tree_distance": [0.0, 4.0], "op_precision": [100.0, nan],
            "op_recall": [100.0, 0.0]}
    pairs = ["p = 1", "q = 2"]
    scores = [
        _scores(tmp_path, "py-unit", ["u1", "u2", "u3"], {"unit_em": [100.0, 100.0, 0.0]}),
        _scores(tmp_path, "py-unit-oneline", ["o1", "o2", "o3"], {"unit_em": [100.0, 0.0, 100.0]}),
        _scores(tmp_path, "py-unit-no-signatures", ["s1", "s2"], {"unit_em": [100.0, 0.0]}),
        _scores(tmp_path, "py-ast", ["t1", "t2"], script, code=pairs),
        _scores(tmp_path, "py-ast-text", ["x1", "x2"], text, code=pairs),
        _scores(tmp_path, "nb-cell", ["n1"], {}),            # another task: ignored
    ]
    out = tmp_path / "tables"
    assert main(["task-tables", "--dataset", str(dataset), "--scores", *scores, "--out-dir", str(out),
                 "--bootstrap-samples", "200"]) == 0
    return out


def test_coeditor_table1_counts_single_round_problems(built):
    rows = {r["split"]: r for r in _csv(built / "coeditor_table1.csv")}
    assert rows["test"] == {"split": "test", "projects": "1", "used_commits": "2", "modified_files": "2",
                            "modified_functions": "1", "modified_lines": "7"}
    assert rows["train"]["modified_lines"] == "5" and rows["val"]["used_commits"] == "0"
    assert "| test | 1 | 2 | 2 | 1 | 7 |" in (built / "coeditor_table1.md").read_text()


def test_coeditor_table3_add_and_replace_em(built):
    (row,) = _csv(built / "coeditor_table3.csv")
    assert row == {"model": MODEL, "shots": "0", "checkpoint": "base", "n_add": "2", "add_em": "50.0000",
                   "n_replace": "1", "replace_em": "100.0000", "n": "3", "overall_em": "66.6700"}
    assert "| m | 0 | base | 50.00 | 2 | 100.00 | 1 | 66.67 | 3 |" in (built / "coeditor_table3.md").read_text()


def test_coeditor_table5_pairs_ablation_with_py_unit(built):
    rows = {r["task"]: r for r in _csv(built / "coeditor_table5.csv")}
    assert rows["py-unit"]["em"] == "100.0000" and rows["py-unit"]["n"] == "2"   # u3 is synthetic: left out
    ablation = rows["py-unit-no-signatures"]
    assert (ablation["ablation"], ablation["em"], ablation["delta"]) == ("No Signatures", "50.0000", "-50.0000")
    assert float(ablation["delta_ci_low"]) <= -50.0 <= float(ablation["delta_ci_high"])


def test_structural_rows_cis_and_paired_difference(built):
    rows = {r["task"]: r for r in _csv(built / "structural.csv")}
    assert list(rows) == ["py-ast", "py-ast-text", "py-ast - py-ast-text"]
    script, text, diff = rows["py-ast"], rows["py-ast-text"], rows["py-ast - py-ast-text"]
    assert (script["tree_em"], script["script_em"], script["tree_distance"], script["op_precision"]) == \
        ("100.0000", "50.0000", "1.0000", "75.0000")
    assert (script["tree_em_ci_low"], script["tree_em_ci_high"]) == ("100.0000", "100.0000")
    assert (text["tree_em"], text["apply_clean"], text["op_precision"], text["op_mov_recall"]) == \
        ("50.0000", "50.0000", "100.0000", "")
    assert 0.0 <= float(text["tree_em_ci_low"]) <= 50.0 <= float(text["tree_em_ci_high"]) <= 100.0
    # paired on (edit, source, reference): script - text per example = [0, 100] tree EM, [0, -2] distance
    assert (diff["n"], diff["tree_em"], diff["tree_distance"], diff["representation"]) == \
        ("2", "50.0000", "-1.0000", "difference (paired)")
    md = (built / "structural.md").read_text()
    assert "| m | 0 | base | edit script (incremental) | 2 | 100.00 [100.00, 100.00] | 50.00 [" in md
    assert "## Per operation" in md


def test_no_inputs_say_so(tmp_path):
    dataset = tmp_path / "dataset"
    dataset.mkdir()
    out = tmp_path / "tables"
    assert main(["task-tables", "--dataset", str(dataset), "--scores", "--out-dir", str(out)]) == 0
    assert "No py-unit examples in" in (out / "coeditor_table1.md").read_text()
    assert "No py-unit-oneline scores" in (out / "coeditor_table3.md").read_text()
    assert "No py-unit ablation scores" in (out / "coeditor_table5.md").read_text()
    assert "No py-ast or py-ast-text scores" in (out / "structural.md").read_text()
    assert (out / "structural.csv").read_text().startswith("model,shots,checkpoint,task,representation,n,tree_em,")


def test_missing_dataset_and_bad_scores_are_clear_errors(tmp_path, caplog):
    out = str(tmp_path / "tables")
    assert main(["task-tables", "--dataset", str(tmp_path / "nope"), "--out-dir", out]) == 2
    assert "no such directory" in caplog.text
    (tmp_path / "dataset").mkdir()
    assert main(["task-tables", "--dataset", str(tmp_path / "dataset"), "--scores", str(tmp_path / "x.parquet"),
                 "--out-dir", out]) == 2
    assert "scores file not found" in caplog.text


def _jobs(proc) -> list[str]:
    return [line for line in proc.stdout.splitlines() if "tables/coeditor_table" in line or "structural.md" in line]


def test_default_dag_plans_task_tables_from_zero_shot_rows(tmp_path):
    proc, counts = dry_run(tmp_path, "--configfile", str(ROOT / "config" / "config.yaml"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert counts["task_tables"] == 1
    for task in ("py-unit", "py-ast", "py-ast-text"):
        assert f"results/default/metrics/smollm2-135m/{task}/0shot/base.parquet" in proc.stdout
        assert f"results/default/metrics/smollm2-135m/{task}/1shot/base.parquet" not in proc.stdout  # task_shots
    assert "results/default/tables/structural.md" in proc.stdout
    assert "coeditor_table4" not in counts   # py-unit is not trained here


def test_cluster_dag_plans_every_variant_trained_and_inferred(tmp_path):
    from test_dag import REPO_SCHEMA

    frozen = tmp_path / "frozen.parquet"
    cols = {f.name: [None] for f in REPO_SCHEMA}
    cols.update(full_name=["o/r"], slug=["o__r"], clone_url=["https://github.com/o/r.git"], stars=[1])
    pq.write_table(pa.table(cols, schema=REPO_SCHEMA), frozen)
    cluster = yaml.safe_load((ROOT / "config" / "cluster.yaml").read_text())
    cfg = write_config(tmp_path, {**cluster, "crawl": {**cluster["crawl"], "frozen_list": str(frozen)}})
    proc, counts = dry_run(tmp_path, "--configfile", str(cfg))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert counts["task_tables"] == 1
    assert counts["coeditor_table4"] == 2    # one per model, with its py-unit run1 adapter
    assert "results/default/models/deepseek-coder-6.7b/py-unit/run1/adapter/adapter_config.json" in proc.stdout
    for task in ("py-unit", "py-unit-oneline", "py-unit-no-signatures", "py-unit-small-context",
                 "py-unit-no-diffs", "py-ast", "py-ast-text"):
        assert f"results/default/metrics/deepseek-coder-6.7b/{task}/0shot/run3.parquet" in proc.stdout
        assert f"results/default/metrics/deepseek-coder-1.3b/{task}/0shot/base.parquet" in proc.stdout
        assert f"results/default/metrics/deepseek-coder-1.3b/{task}/5shot/base.parquet" not in proc.stdout


def _unit_dataset(root: Path) -> Path:
    """A test split of real py-unit problems (one single-round, one synthetic) from one edit."""
    from editflow.coeditor.pycommits import build_problems

    old = "def f(x):\n    a = 1\n    return x\n\n\ndef g():\n    return 2\n"
    new = "def f(x):\n    a = 2\n    b = 3\n    return x\n\n\ndef g():\n    return 2\n"
    edit = {"kind": "python", "repo": "o/r", "commit": "c1", "path": "m.py", "old_source": old,
            "new_source": new, "message": "fix f", "edit_id": "e1", "commit_time": 1}
    rows = [{"example_id": f"u{i}", "edit_id": "e1", "task": "py-unit", "split": "test", "repo": "o/r",
             "commit": "c1", "path": "m.py",
             "prompt_fields": {"message": "fix f", "old_code": p.old_code}, "target": p.target,
             "source": p.source, "reference": p.reference, "meta": json.dumps(p.meta)}
            for i, (_, p) in enumerate(build_problems([edit]))]
    assert [json.loads(r["meta"])["synthetic"] for r in rows] == [False, True]
    out = root / "units"
    out.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), out / "test.parquet")
    return out


def test_coeditor_table4_gains_of_an_oracle_and_of_a_silent_model(tmp_path):
    from editflow.tasktables import table4_rows

    dataset = _unit_dataset(tmp_path)
    target = pq.read_table(dataset / "test.parquet")["target"][0].as_py()
    oracle = table4_rows(dataset, lambda inputs, messages: [target] * len(inputs))
    assert [(r["setting"], r["n_problems"], r["lines_gain"], r["keystrokes_gain"], r["rounds"]) for r in oracle] == \
        [("SingleRound", 1, 100.0, 100.0, 1.0), ("MultiRound", 1, 100.0, 100.0, 1.0)]
    silent = table4_rows(dataset, lambda inputs, messages: [""] * len(inputs))
    # MultiRound with a silent model: the user makes each of the 3 line changes by hand (10
    # characters each) where the whole change is 11 characters apart: (11 - 30) / 11 = -172.73 %
    assert [(r["lines_gain"], r["levenshtein_gain"], r["keystrokes_gain"], r["rounds"]) for r in silent] == \
        [(0.0, -9.09, -56.25, 1.0), (0.0, -172.73, -112.5, 3.0)]
    assert table4_rows(tmp_path, lambda i, m: []) == []   # no test split: no rows


def test_task_tables_runs_table4_with_a_model(tmp_path, tiny_model):
    dataset = _unit_dataset(tmp_path)
    out = tmp_path / "tables"
    assert main(["task-tables", "--dataset", str(dataset), "--out-dir", str(out), "--rounds-model", str(tiny_model),
                 "--rounds-max-new-tokens", "4", "--rounds-dtype", "float32"]) == 0
    assert main(["task-tables", "--dataset", str(dataset), "--out-dir", str(out), "--rounds-model", str(tiny_model),
                 "--rounds-max-new-tokens", "4", "--rounds-only", "--rounds-out", str(tmp_path / "t4" / "x.md")]) == 0
    assert sorted(p.name for p in (tmp_path / "t4").iterdir()) == ["x.csv", "x.md"]
    rows = _csv(out / "coeditor_table4.csv")
    assert [(r["setting"], r["n_problems"]) for r in rows] == [("SingleRound", "1"), ("MultiRound", "1")]
    assert f"Model {tiny_model}" in (out / "coeditor_table4.md").read_text()
    assert "| test | 1 | 1 | 1 | 1 | 3 |" in (out / "coeditor_table1.md").read_text()
