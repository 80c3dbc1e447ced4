"""Tasks py-ast (edit script) and py-ast-text (one pass): examples from a mined edit, decoders
(gold targets give the reference; bad scripts give the unchanged source and a reason), the
structural scores, and `editflow apply` on the gold targets."""
from __future__ import annotations

import json
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow import tasks
from editflow.trees.scores import op_counts, tree_distance
from editflow.trees.python_ast import parse
from editflow.trees.linearize import parse_script

OLD = "def f(a):\n    x = g(a)\n    return x\n\n\ndef h(b):\n    y = g(b)\n    return y\n"
NEW = "def f(a):\n    x = g(a, 2)\n    return x\n\n\ndef h(b):\n    y = g(b, 2)\n    return y\n"
EDIT = {"old_source": OLD, "new_source": NEW}


def test_registered_with_decoders_and_scores():
    assert {"py-ast", "py-ast-text"} <= set(tasks.names())
    spec = tasks.get("py-ast")
    assert spec.reads == "python" and spec.extra_scores is not None


def test_examples_share_inputs_and_references():
    script = tasks.get("py-ast").examples(EDIT)
    text = tasks.get("py-ast-text").examples(EDIT)
    assert [e.key for e in script] == [e.key for e in text] == ["2-2", "7-7"]
    assert [e.target for e in script] == ['INS r.0.0.1.1.0 (Constant "2")'] * 2
    assert [e.target for e in text] == ["x = g(a, 2)", "y = g(b, 2)"]
    for a, b in zip(script, text):
        assert (a.old_code, a.source, a.reference) == (b.old_code, b.source, b.reference)
    assert script[0].meta == {"nodes": 8, "ops": {"MOV": 0, "DEL": 0, "UPD": 0, "INS": 1},
                              "context_edits": 1, "actions": 'Add r.0.0.1.1.1 "Constant" "2"\nStop'}
    assert tasks.get("py-ast").examples({"old_source": None, "new_source": NEW}) == []


@pytest.mark.parametrize("name", ["py-ast", "py-ast-text"])
def test_gold_targets_decode_to_the_reference(name):
    spec = tasks.get(name)
    for ex in spec.examples(EDIT):
        got = spec.decode(ex.target, ex.source)
        assert (got.ok, got.code) == (True, ex.reference)


@pytest.mark.parametrize("text,reason", [
    ("INS r.0.9.^ (Name \"z\")", "bad_address"),
    ("MOV r.0.0.1 r.0.0.0 | Name[0] ↑ Assign[0] ↓ targets[0]", "path_mismatch"),
    ("garbage", "unparsable_script"),
    ("INS r.0.0.^ (Bogus)", "grammar_violation"),
    ("UPD r.0.0.1 \"Nope\"", "grammar_violation"),
])
def test_bad_scripts_decode_to_the_source(text, reason):
    got = tasks.get("py-ast").decode(text, "x = g(a)")
    assert (got.code, got.ok, got.reason) == ("x = g(a)", False, reason)
    assert tasks.get("py-ast-text").decode("x = (", "x = g(a)").reason == "syntax_error"


def scored(name: str, preds: list[str], src: str, ref: str) -> dict:
    """The task's structural scores of predictions, decoded as `editflow score` does."""
    spec = tasks.get(name)
    decoded = [spec.decode(p, src) for p in preds]
    n = len(preds)
    return spec.extra_scores(pa.table({
        "prediction": preds, "source": [src] * n, "reference": [ref] * n,
        "applied_code": [d.code for d in decoded], "decode_ok": [d.ok for d in decoded]}))


def test_structural_scores_exact():
    src, ref = "x = g(a)", "x = g(a, 2)"
    gold = 'INS r.0.0.1.1.0 (Constant "2")'
    preds = [gold, 'INS r.0.0.1.1.0 (Constant "3")', "garbage", 'UPD r.0.0.1.0 "k"\n' + gold]
    s = scored("py-ast", preds, src, ref)
    assert s["script_em"].tolist() == [100, 0, 0, 0]
    assert s["tree_em"].tolist() == [100, 0, 0, 0]
    assert s["apply_clean"].tolist() == [100, 100, 0, 100]
    assert s["grammar_valid"].tolist() == [100, 100, 0, 100]
    assert s["tree_distance"].tolist() == [0, 1, 1, 1]
    assert s["op_precision"].tolist()[:2] == [100, 0] and math.isnan(s["op_precision"][2])
    assert s["op_recall"].tolist() == [100, 0, 0, 100]
    assert s["op_precision"][3] == 50
    assert s["op_upd_recall"].tolist()[0] != s["op_upd_recall"].tolist()[0]  # NaN: no gold UPD
    outs = ["x = g(a, 2)", "x = g(a,   2)  # same tree", "x = (", "x = g(2, a)"]
    s2 = scored("py-ast-text", outs, src, ref)
    assert s2["tree_em"].tolist() == [100, 100, 0, 0]
    assert s2["script_em"].tolist() == [100, 100, 0, 0]
    assert s2["grammar_valid"].tolist() == [100, 100, 0, 100]
    assert s2["tree_distance"].tolist() == [0, 0, 1, 2]


def test_op_counts_and_distance():
    gold = parse_script('INS r.0.^ (Name "a")\nDEL r.0.1')[0]
    pred = parse_script('INS r.0.^ (Name "a")\nINS r.0.^ (Name "b")')[0]
    counts = op_counts(pred, gold)
    assert counts["INS"] == (1, 2, 1) and counts["DEL"] == (0, 0, 1) and counts["all"] == (1, 2, 2)
    assert tree_distance(parse("x = 1"), parse("y = 2")) == 2


def test_editflow_apply_decodes_gold_targets(tmp_path):
    from editflow.cli import main

    exs = tasks.get("py-ast").examples(EDIT)
    pq.write_table(pa.table({"task": ["py-ast"] * len(exs), "target": [e.target for e in exs],
                             "source": [e.source for e in exs],
                             "reference": [e.reference for e in exs]}), tmp_path / "in.parquet")
    assert main(["apply", "--task", "py-ast", "--in", str(tmp_path / "in.parquet"), "--column", "target",
                 "--out", str(tmp_path / "out.parquet")]) == 0
    out = pq.read_table(tmp_path / "out.parquet")
    assert out["applied_code"].to_pylist() == ["x = g(a, 2)", "y = g(b, 2)"]
    assert out["decode_ok"].to_pylist() == [True, True]
