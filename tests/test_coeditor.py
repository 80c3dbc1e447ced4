"""py-unit (Coeditor): unit splitting, change classification and order, the line-diff encoding
and its decoder, problems, OneLine, the multi-round simulation and the task registration."""
from __future__ import annotations

import json
from collections import Counter

import pyarrow as pa
import pytest

from editflow import tasks
from editflow.coeditor import encoding as enc
from editflow.coeditor.changes import commit_changes, import_order, imported_modules, file_sides
from editflow.coeditor.evaluation import gains_table, oneline_table, simulate, unit_em
from editflow.coeditor.problems import commit_problems, oneline_applied
from editflow.coeditor.pycommits import build_problems, limit_commits, table1
from editflow.coeditor.settings import UnitSettings
from editflow.coeditor.units import Unparseable, source_lines, split_units
from editflow.dataset.synthetic import edit_row, edits_table

MODULE = '''"""doc"""
import os


@decorate
class A(Base):
    x = 1

    def f(self, a):
        def inner():
            return a
        return inner()

    y = 2

    async def g(self):
        return 2


def h(y):
    return y
'''


def test_units_partition_the_module_with_stable_keys():
    units, parser = split_units(MODULE)
    assert parser == "ast"
    assert [(u.key, u.kind, u.start, u.end) for u in units] == [
        ("region @^", "module_region", 0, 4),
        ("region A@^", "class_region", 4, 8),
        ("def A.f", "function", 8, 12),
        ("region A@f", "class_region", 12, 15),
        ("def A.g", "function", 15, 17),
        ("region @A", "module_region", 17, 19),
        ("def h", "function", 19, 21),
    ]
    assert "".join(u.text for u in units) == MODULE
    assert units[2].text.startswith("    def f(self, a):\n        def inner():")


def test_a_new_function_moves_no_other_key_and_repeats_are_numbered():
    src = "@property\ndef x(self):\n    return 1\n@x.setter\ndef x(self, v):\n    pass\n"
    assert [u.key for u in split_units(src)[0]] == ["def x", "def x#2"]
    before = [u.key for u in split_units(MODULE)[0]]
    after = [u.key for u in split_units(MODULE.replace("def h(y):", "def new():\n    pass\n\n\ndef h(y):"))[0]]
    assert set(before) <= set(after) and set(after) - set(before) == {"def new", "region @new"}


def test_syntax_errors_fall_back_to_parso_and_keep_the_partition():
    broken = "def f(x):\n    return x +\n\n\ndef g():\n    return 1\n"
    units, parser = split_units(broken)
    assert parser == "parso"
    assert "".join(u.text for u in units) == broken
    assert [u.key for u in units] == ["def f", "region @f", "def g"]
    py2 = 'print "py2"\n\n@dec\nasync def a():\n    pass\n\nclass C(object):\n    @property\n    def p(self):\n' \
          '        print "x"\n    async def q(self):\n        pass\n    z = 1\n'
    units, parser = split_units(py2)
    assert parser == "parso" and "".join(u.text for u in units) == py2
    assert [(u.key, u.start, u.end) for u in units] == [
        ("region @^", 0, 2), ("def a", 2, 5), ("region @a", 5, 6), ("region C@^", 6, 7),
        ("def C.p", 7, 10), ("def C.q", 10, 12), ("region C@q", 12, 13)]


@pytest.mark.parametrize("text,reason", [
    ("x = " + "(" * 5000 + ")" * 5000 + "\n", "too_deeply_nested"),
    ("x = 1\n" * 10_000, "file_too_large"),
])
def test_hostile_sources_are_unparseable(text, reason):
    with pytest.raises(Unparseable) as err:
        split_units(text, max_lines=5000)
    assert err.value.reason == reason


def test_hostile_files_are_counted_skips_of_a_commit():
    rows = [
        edit_row(path="deep.py", old_source="x = " + "[" * 3000 + "]" * 3000 + "\n", new_source="x = 1\n"),
        edit_row(path="big.py", old_source="x = 1\n" * 10_000, new_source="x = 2\n" * 10_000,
                 lines_added=10_000, lines_deleted=10_000),
        edit_row(path="bad.py", old_source="s = '\udcff'\n", new_source="s = 1\n"),
        edit_row(path="nul.py", old_source="x = 1\x00\n", new_source="x = 2\n"),
        edit_row(path="ok.py"),
    ]
    cp = commit_problems(rows)
    assert dict(cp.skips) == {"too_deeply_nested": 1, "file_too_large": 1, "not_utf8": 1, "binary": 1}
    assert [p.key for _, p in cp.problems] == ["def f", "def f|multi1"]


def test_changes_are_classified_and_ordered_by_imports_then_position():
    a_old = "def keep():\n    return 0\n\n\ndef gone():\n    return 1\n\n\ndef mod(x):\n    return x\n"
    a_new = "def keep():\n    return 0\n\n\ndef mod(x, y):\n    return x + y\n\n\ndef fresh():\n    return 2\n"
    rows = [
        edit_row(path="app/main.py", old_source="from lib import a\n\n\ndef run():\n    return a.mod(1)\n",
                 new_source="from lib import a\n\n\ndef run():\n    return a.mod(1, 2)\n"),
        edit_row(path="lib/a.py", old_source=a_old, new_source=a_new),
    ]
    changes, files = commit_changes(rows)
    assert [f.path for f in files] == ["lib/a.py", "app/main.py"]
    assert [(c.path, c.key, c.change) for c in changes] == [
        ("lib/a.py", "def gone", "deletion"),
        ("lib/a.py", "def mod", "modification"),
        ("lib/a.py", "def fresh", "addition"),  # blank-line regions that moved are no change
        ("app/main.py", "def run", "modification"),
    ]
    assert [c.order for c in changes] == [0, 1, 2, 3]


def test_relative_imports_resolve_against_the_package():
    assert imported_modules("from . import b\nfrom ..c import d\nimport e.f\n", "pkg/sub/a.py") == {
        "pkg.sub", "pkg.sub.b", "pkg.c", "pkg.c.d", "e.f"}
    files = [file_sides(edit_row(path=p, old_source=s, new_source=s + "z = 1\n"), 100)
             for p, s in [("src/pkg/a.py", "from .b import x\n"), ("src/pkg/b.py", "x = 1\n")]]
    assert [f.path for f in import_order(files)] == ["src/pkg/b.py", "src/pkg/a.py"]


OLD_F = "def f(a):\n    x = a\n    y = 2\n    return x\n"
NEW_F = "def f(a, b):\n    x = a + b\n    y = 2\n    return x * y\n"


def test_encoding_of_a_problem_is_the_papers_format():
    diff = enc.line_diff(source_lines(OLD_F), source_lines(NEW_F))
    v = enc.view(diff, set())
    assert enc.encode_input(v) == ("<extra_id_0>def f(a):\n<extra_id_1>    x = a\n<extra_id_2>    y = 2\n"
                                   "<extra_id_3>    return x\n<extra_id_4>")
    assert enc.encode_output(v) == ("<extra_id_0><add>def f(a, b):\n<add>    x = a + b\n<del>"
                                    "<extra_id_1><del><extra_id_3><add>    return x * y\n<del>")
    # the first two added lines inlined: they carry <add>, get slots, and may not be deleted
    v2 = enc.view(diff, {0, 1})
    assert enc.encode_input(v2) == ("<extra_id_0><add>def f(a, b):\n<extra_id_1><add>    x = a + b\n"
                                    "<extra_id_2>def f(a):\n<extra_id_3>    x = a\n<extra_id_4>    y = 2\n"
                                    "<extra_id_5>    return x\n<extra_id_6>")
    assert v2.protected == {0, 1}
    with pytest.raises(enc.DecodeError, match="delete_added_line"):
        enc.decode_slots("<extra_id_0><del>", v2.n_slots, v2.protected)
    # applied deletions show as <del> lines without a slot
    v3 = enc.view(diff, {2, 3})
    assert enc.encode_input(v3).split("\n")[:2] == ["<del>def f(a):", "<del>    x = a"]
    assert enc.encode_context_change(enc.line_diff(["a", "b"], ["a", "c"], adds_first=False)) == "a\n<del>b\n<add>c"


@pytest.mark.parametrize("text,reason", [
    ("    return 1", "no_placeholder"),
    ("oops <extra_id_0><del>", "text_before_placeholder"),
    ("<extra_id_9><del>", "unknown_placeholder"),
    ("<extra_id_0><del><extra_id_0><del>", "repeated_placeholder"),
    ("<extra_id_0>junk", "stray_text"),
    ("<extra_id_4><del>", "delete_closing_slot"),
])
def test_malformed_outputs_decode_to_the_unchanged_unit(text, reason):
    d = enc.decode(text, OLD_F)
    assert (d.code, d.ok, d.reason) == (OLD_F, False, reason)


def test_decoder_is_lenient_about_missing_newlines_and_empty_outputs():
    assert enc.decode("", OLD_F).code == OLD_F
    d = enc.decode("<extra_id_4><add>    pass", OLD_F)
    assert d.ok and d.code == OLD_F + "    pass\n"
    assert enc.decode("<extra_id_1><add>    z = 0<del>", OLD_F).code == OLD_F.replace("x = a", "z = 0")


def test_marker_lookalikes_in_code_are_escaped_and_round_trip():
    old = "s = '<add>'\nt = '<\\del>'\n"
    new = "s = '<add><extra_id_3>'\nt = '<\\del>'\nu = '<del>'\n"
    cp = commit_problems([edit_row(path="m.py", old_source=old, new_source=new)])
    (_, p), = [x for x in cp.problems if not x[1].meta["synthetic"]]
    assert "<\\add><\\extra_id_3>" in p.target and "<\\\\del>" in p.old_code
    assert enc.decode(p.target, p.source).code == new


def test_problems_condition_on_prior_changes_only():
    rows = [edit_row(path="m.py", commit="c9", old_source=OLD_F + "\n\ndef g():\n    return f(1)\n",
                     new_source=NEW_F + "\n\ndef g():\n    return f(1, 2)\n")]
    cp = commit_problems(rows, UnitSettings(synthetic_per_change=0))
    assert [p.key for _, p in cp.problems] == ["def f", "def g"]
    first, second = (p for _, p in cp.problems)
    assert "# prior changes" not in first.old_code
    assert second.old_code.endswith("# prior changes\n# modification: m.py :: def f\n<del>def f(a):\n"
                                     "<del>    x = a\n<add>def f(a, b):\n<add>    x = a + b\n    y = 2\n"
                                     "<del>    return x\n<add>    return x * y")
    assert (second.meta["prior_changes"], second.meta["prior_shown"]) == (1, 1)
    assert (first.changed_lines, first.hunks) == (6, 2)
    # the budget drops the oldest prior changes first; the no-diffs ablation shows new code only
    tight = commit_problems(rows, UnitSettings(synthetic_per_change=0, context_tokens=5)).problems[1][1]
    assert "# prior changes" not in tight.old_code and tight.meta["context_truncated"] is True
    nod = commit_problems(rows, UnitSettings(synthetic_per_change=0, ablation="no_diffs")).problems[1][1]
    assert nod.old_code.endswith("# modification: m.py :: def f\n" + NEW_F.rstrip("\n"))


def test_synthetic_instances_are_seeded_and_decode_to_the_reference():
    rows = [edit_row(path="m.py", old_source=OLD_F, new_source=NEW_F)]
    a = commit_problems(rows, UnitSettings(synthetic_per_change=3)).problems
    b = commit_problems(rows, UnitSettings(synthetic_per_change=3)).problems
    c = commit_problems(rows, UnitSettings(synthetic_per_change=3, seed=1)).problems
    assert [p.key for _, p in a] == ["def f", "def f|multi1", "def f|multi2", "def f|multi3"]
    assert [p.target for _, p in a] == [p.target for _, p in b]
    assert [p.target for _, p in a] != [p.target for _, p in c]
    for _, p in a:
        assert 0 < p.changed_lines <= 6 and p.meta["inlined"] + p.changed_lines == 6
        assert enc.decode(p.target, p.source).code == NEW_F == p.reference


def test_oneline_targets_the_last_added_line():
    diff = enc.line_diff(source_lines(OLD_F), source_lines(NEW_F))
    applied, kind = oneline_applied(diff)
    assert kind == "replace" and len(applied) == 5
    add = enc.line_diff(["a", "b"], ["a", "b", "c"])
    assert oneline_applied(add) == (set(), "add")
    assert oneline_applied(enc.line_diff(["a", "b", "c"], ["x", "b"])) is None  # ends in a deletion
    cp = commit_problems([edit_row(path="m.py", old_source=OLD_F, new_source=NEW_F)], oneline=True)
    (_, p), = cp.problems
    assert p.target == "<extra_id_3><add>    return x * y\n" and p.meta["oneline"] == "replace"
    assert enc.decode(p.target, p.source).code == NEW_F


def test_multi_round_simulation_counts_gains_and_rounds():
    diff = enc.line_diff(source_lines(OLD_F), source_lines(NEW_F))
    oracle = simulate(diff, enc.encode_output)
    assert (oracle.rounds, oracle.accepted, oracle.manual) == (1, 6, 0)
    assert oracle.total_cost == {"lines": 6, "levenshtein": 11, "keystrokes": oracle.total_cost["keystrokes"]}
    assert oracle.gain("lines") == 6

    def first_slot_only(v):
        k = min(v.gold)
        return enc.encode_slots({k: v.gold[k]})

    multi = simulate(diff, first_slot_only)
    single = simulate(diff, first_slot_only, round_limit=1)
    assert (multi.rounds, multi.accepted, multi.manual) == (3, 6, 0)
    assert (single.rounds, single.accepted, single.manual) == (1, 3, 3)
    assert single.manual_cost["lines"] == 3
    silent = simulate(diff, lambda v: "not a diff")
    assert (silent.rounds, silent.manual, silent.failures) == (6, 6, {"no_placeholder": 6})
    rows = gains_table({"SingleRound": [single], "MultiRound": [multi]})
    assert rows[0]["lines_gain"] == 50.0 and rows[1]["lines_gain"] == 100.0
    assert (rows[0]["rounds"], rows[1]["rounds"]) == (1.0, 3.0)


def test_em_and_oneline_table():
    assert unit_em("    def f(self):\n        return g(a=1, b=2)\n",
                   "    def f(self):\n        # comment\n        return g(b=2, a=1)\n") == 100.0
    assert unit_em("x = 1\n", "x = 2\n") == 0.0
    assert oneline_table(["add", "replace", "replace"], [100.0, 0.0, 100.0]) == {
        "n_add": 1, "add_em": 100.0, "n_replace": 2, "replace_em": 50.0, "n": 3, "overall_em": 66.67}


def test_settings_and_ablations():
    assert UnitSettings.from_section({"ablation": "small_context"}).context_tokens == 2048
    assert UnitSettings.from_section({"ablation": "no_signatures"}).signatures is False
    with pytest.raises(ValueError, match="unknown py-unit settings"):
        UnitSettings.from_section({"budget": 3})
    with pytest.raises(ValueError, match="ablation"):
        UnitSettings.from_section({"ablation": "nope"})


def test_commit_cap_keeps_the_most_recent_commits():
    rows = [edit_row(repo="o/r", commit=f"c{i}", path="m.py", commit_time=100 + i) for i in range(5)]
    rows += [edit_row(repo="o/s", commit="d0", path="m.py")]
    kept = limit_commits(edits_table(rows), 2)
    assert kept["commit"].to_pylist() == ["c3", "c4", "d0"]


def test_task_view_decodes_every_gold_target_and_feeds_table1():
    rows = [edit_row(path="m.py", commit="c1", old_source=OLD_F, new_source=NEW_F),
            edit_row(path="n.py", commit="c1", old_source="x = 1\n", new_source="x = 2\n"),
            edit_row(path="a.ipynb", commit="c1")]
    view = tasks.get("py-unit").build_view(edits_table(rows))
    assert view["example_key"].to_pylist() == ["def f", "def f|multi1", "region @^", "region @^|multi1"]
    report = tasks.decode_table(view, "target")
    assert report.failures == {} and report.code == view["reference"].to_pylist()
    ex = view.append_column("split", pa.array(["test"] * 4))
    assert table1(ex)[2] == {"split": "test", "projects": 1, "used_commits": 1, "modified_files": 2,
                             "modified_functions": 1, "modified_lines": 8}
    meta = json.loads(view["meta"][0].as_py())
    assert meta["unit_kind"] == "function" and meta["synthetic"] is False
    one = tasks.get("py-unit-oneline").build_view(edits_table(rows))
    assert [json.loads(m)["oneline"] for m in one["meta"].to_pylist()] == ["replace", "replace"]


def test_build_problems_reports_counts():
    from editflow.coeditor.pycommits import BuildReport
    report = BuildReport()
    rows = [edit_row(path="m.py", old_source=OLD_F, new_source=NEW_F, change_type="modified"),
            edit_row(path="new.py", old_source=None, new_source="def z():\n    pass\n", change_type="added")]
    got = list(build_problems(rows, UnitSettings(synthetic_per_change=0), report=report))
    assert [p.key for _, p in got] == ["def f"]
    assert report.commits == 1 and report.changes == Counter({"modification": 1, "addition": 1})


def test_rounds_rebuild_the_input_and_fill_table4():
    from editflow.coeditor.rounds import input_for, rounds_table

    rows = [edit_row(path="m.py", old_source=OLD_F + "\n\ndef g():\n    return f(1)\n",
                     new_source=NEW_F + "\n\ndef g():\n    return f(1, 2)\n")]
    view = tasks.get("py-unit").build_view(edits_table(rows)).to_pylist()
    second = next(r for r in view if r["example_key"] == "def g")
    assert json.loads(second["meta"])["synthetic"] is False and "# prior changes" in second["old_code"]
    pristine = enc.view(enc.line_diff(source_lines(second["source"]), source_lines(second["reference"])), set())
    assert input_for(second, pristine) == second["old_code"]
    seen = []

    def echo_gold_of_g(inputs, messages):
        seen.append(inputs[0])
        return ["<extra_id_1><add>    return f(1, 2)\n<del>" if inputs[0].startswith("# edit: m.py :: def g") else ""]

    table = rounds_table(view, echo_gold_of_g)
    assert [r["setting"] for r in table] == ["SingleRound", "MultiRound"]
    assert table[0]["n_problems"] == 2 and table[0]["lines_gain"] == table[1]["lines_gain"] == 25.0
    assert (table[0]["rounds"], table[1]["rounds"]) == (1.0, 3.5)  # f: 6 rounds, g: 1
    assert seen[1].endswith("<add>    return x * y")  # the references follow the re-encoded unit


def test_tables_3_and_5_from_scores():
    from editflow.coeditor.tables import table3, table5, unit_scores

    scores = pa.table({"example_id": ["a", "b", "c"], "applied_code": ["x = 1\n", "y\n", "    z = 2\n"],
                       "reference": ["x = 1\n", "y = 0\n", "z = 2\n"]})
    assert unit_scores(scores)["unit_em"].tolist() == [100.0, 0.0, 100.0]
    meta = {"a": ("e1", {"unit": "def f", "oneline": "add"}), "b": ("e1", {"unit": "def g", "oneline": "replace"}),
            "c": ("e2", {"unit": "def h", "oneline": "replace"})}
    assert table3(scores, meta) == {"n_add": 1, "add_em": 100.0, "n_replace": 2, "replace_em": 50.0,
                                    "n": 3, "overall_em": 66.67}
    base = pa.table({"example_id": ["p1", "p2", "p3"], "unit_em": [100.0, 100.0, 0.0]})
    nosig = pa.table({"example_id": ["q1", "q2", "q3"], "unit_em": [0.0, 100.0, 0.0]})
    meta = {"p1": ("e1", {"unit": "u1"}), "p2": ("e2", {"unit": "u2"}), "p3": ("e3", {"unit": "u3"}),
            "q1": ("e1", {"unit": "u1"}), "q2": ("e2", {"unit": "u2"}), "q3": ("e3", {"unit": "u3", "synthetic": True})}
    rows = table5({"py-unit-no-signatures": nosig, "py-unit": base}, meta, n_samples=200)
    assert [(r["ablation"], r["n"], r["em"]) for r in rows] == [("No Ablation", 2, 100.0), ("No Signatures", 2, 50.0)]
    assert rows[1]["delta"] == -50.0 and 0 < rows[1]["p_value"] <= 1
