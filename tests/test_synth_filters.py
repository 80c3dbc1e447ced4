"""The synth diff filter's verdicts, duplicate removal (exact, near, against mined data) and
the `instruct` task's examples from mined and synthetic edits."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow import tasks
from editflow.difflines import DiffCount
from editflow.records import EDIT_SCHEMA, EXAMPLE_SCHEMA
from editflow.synth.filters import DuplicateIndex, Pair, diff_reason, read_mined_pairs

PROGRAM = "\n".join(f"def handler_{i}(request, session):\n    return session.get(request.user_{i})"
                    for i in range(12)) + "\n"


@pytest.mark.parametrize("count, reason", [
    (DiffCount(0, 0), "diff_no_change"),
    (DiffCount(1, 1), None),
    (DiffCount(70, 7), None),                 # the paper drops *more than* 70 lines or 7 hunks
    (DiffCount(71, 1), "diff_too_many_lines"),
    (DiffCount(10, 8), "diff_too_many_hunks"),
])
def test_diff_filter_thresholds(count, reason):
    assert diff_reason(count, 70, 7) == reason


def test_exact_near_and_mined_duplicates():
    index = DuplicateIndex(threshold=0.8)
    assert index.add_mined([Pair("x = 1\n", "x = 2\n")]) == 1
    assert index.check_and_add(Pair("  x = 1\n\n", "x = 2")) == "duplicate_of_mined_exact"   # whitespace only
    assert index.check_and_add(Pair(PROGRAM, PROGRAM + "LIMIT = 3\n")) is None
    assert index.check_and_add(Pair(PROGRAM, PROGRAM + "LIMIT = 3\n")) == "duplicate_exact"
    near = PROGRAM.replace("handler_11", "handler_eleven")
    assert index.check_and_add(Pair(near, near + "LIMIT = 3\n")) == "duplicate_near"
    assert index.check_and_add(Pair("import os\nprint(os.sep)\n", "import os\nprint(os.getcwd())\n")) is None


def test_mined_pairs_from_edit_and_dataset_files(tmp_path):
    edits = [{**{f: None for f in EDIT_SCHEMA.names}, "kind": "python", "old_source": "a = 1\n", "new_source": "a = 2\n"},
             {**{f: None for f in EDIT_SCHEMA.names}, "kind": "notebook", "old_cells": ["x = 1"], "new_cells": ["x = 2"]}]
    pq.write_table(pa.Table.from_pylist(edits, schema=EDIT_SCHEMA), tmp_path / "edits.parquet")
    example = {**{f: None for f in EXAMPLE_SCHEMA.names}, "prompt_fields": {"message": "m", "old_code": "b = 1"},
               "target": "b = 2"}
    pq.write_table(pa.Table.from_pylist([example], schema=EXAMPLE_SCHEMA), tmp_path / "train.parquet")
    pairs = read_mined_pairs([tmp_path / "edits.parquet", tmp_path / "train.parquet"])
    assert pairs[0] == Pair("a = 1\n", "a = 2\n") and pairs[2] == Pair("b = 1", "b = 2")
    assert "x = 1" in pairs[1].pre and "x = 2" in pairs[1].post
    pq.write_table(pa.table({"other": [1]}), tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match="neither an edits file"):
        read_mined_pairs([tmp_path / "bad.parquet"])


def edit(commit: str, message: str, old: str, new: str) -> dict:
    return {**{f: None for f in EDIT_SCHEMA.names}, "edit_id": f"e-{commit}", "repo": "acme/x", "commit": commit,
            "path": "m.py", "kind": "python", "message": message, "old_source": old, "new_source": new,
            "change_type": "modified", "commit_time": 1, "lines_added": 2, "lines_deleted": 2, "hunks": 1}


def test_instruct_examples_one_per_style():
    spec = tasks.get("instruct")
    old, new = "a = 1\nb = 2\n", "a = 10\nb = 20\n"
    mined = list(spec.examples(edit("c" * 40, "Scale the constants\n\nBy ten.", old, new)))
    assert [(e.key, e.message, e.meta["style"]) for e in mined] == [("", "Scale the constants\n\nBy ten.", "commit")]
    assert (mined[0].changed_lines, mined[0].hunks) == (2, 1)      # numstat would say 4
    synthetic = list(spec.examples(edit("synth:gen:p1", "scale it\n\nMultiply both constants by ten.", old, new)))
    assert [(e.key, e.message, e.meta) for e in synthetic] == [
        ("lazy", "scale it", {"style": "lazy", "origin": "synthetic"}),
        ("descriptive", "Multiply both constants by ten.", {"style": "descriptive", "origin": "synthetic"})]
    assert all((e.old_code, e.target, e.source, e.reference) == (old, new, old, new) for e in synthetic)


def test_instruct_prompt_and_decoder():
    from editflow.prompts import Exemplar, render_prompt, render_target, task_template

    template = task_template("instruct", finetuned=True)
    prompt = render_prompt(template, "instruct", Exemplar("make it {old_code} safe", "x = 1"))
    assert prompt == "## Code Before:\nx = 1\n\n## Instruction:\nmake it {old_code} safe\n\n## Code After:\n"
    assert render_target(template, "x = 2") == "x = 2\n## End\n"
    decode = tasks.get("instruct").decode
    assert decode("```python\nx = 2\n```", "x = 1").code == "x = 2\n"
    assert decode("x = 2\n", "x = 1").code == "x = 2\n"


def test_synthetic_rows_become_edit_rows():
    from editflow.synth.editrows import to_edits

    row = {"synth_id": "s1", "generator": "gen", "pair_id": "p1", "repo": "acme/x", "license": "mit", "kept": True,
           "pre_edit": "a = 1\n", "post_edit": "a = 2\n", "instruction_lazy": "bump a",
           "instruction_descriptive": "Set a to 2."}
    table = pa.Table.from_pylist([row, {**row, "synth_id": "s2", "kept": False}])
    edits = to_edits(table)
    assert edits.schema == EDIT_SCHEMA and edits.num_rows == 1
    out = edits.to_pylist()[0]
    assert out["commit"] == "synth:gen:p1" and out["message"] == "bump a\n\nSet a to 2." and out["license"] == "mit"
    assert (out["lines_added"], out["lines_deleted"], out["hunks"]) == (1, 0, 1)
    view = tasks.get("instruct").build_view(edits)
    assert [json.loads(m)["style"] for m in view["meta"].to_pylist()] == ["lazy", "descriptive"]
