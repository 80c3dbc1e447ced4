"""C3PO's EditCompletion examples (editflow.trees.fragments): fragments, context edits and
the filters with their settings, on small file edits with known outcomes."""
from __future__ import annotations

from collections import Counter

from editflow.trees.fragments import EditCompletionSettings, build, model_input

OLD = '''import os


def area(w, h):
    return w * h


def main(argv):
    size = area(2, 3)
    print("size")
    total = size + 1
    log(total)
    return total


def big():
    table = {"a": [1, 2, 3], "b": [4, 5, 6], "c": [7, 8, 9], "d": [10, 11, 12], "e": [13, 14, 15]}
    return table
'''
NEW = '''import os
import sys


def area(w, h):
    return w * h * 1.0


def main(argv):
    sz = area(2, 3)
    print("size")
    total = sz + 1
    return total


def big():
    table = {"a": [1, 2, 3], "b": [4, 5, 6], "c": [7, 8, 9], "d": [10, 11, 12], "e": [13, 14, 16]}
    return table
'''


def test_c3po_settings_are_the_papers():
    s = EditCompletionSettings()
    assert (s.context_radius_lines, s.max_fragment_nodes, s.drop_delete_only, s.drop_rename_only) \
        == (10, 50, True, True)


def test_fragments_context_and_scripts():
    out = build(OLD, NEW)
    assert out.skips == Counter({"insert_only_region": 1})
    assert [(e.key, e.nodes, e.changed_lines, e.hunks) for e in out.examples] == [
        ("5-5", 4, 2, 1), ("9-9", 9, 2, 1), ("11-12", 12, 3, 1), ("17-17", 36, 2, 1)]
    first = out.examples[0]
    assert first.source == "return w * h"
    assert first.target_text == "return w * h * 1.0"
    assert first.script == ('INS r.0.0.^ (value=BinOp "Mult" (right=Constant "1.0"))\n'
                            "MOV r.0.0.1 r.0.0.0.^ as=left | BinOp[1] ↑ Return[0] ↓ BinOp[0] ^")
    assert first.actions == ('Add r.0.0.0 "BinOp" "Mult" as=value\nAdd r.0.0.0.0 "Constant" "1.0" as=right\n'
                             "Delete r.0.0.1\nCopy r.0.0.0 r.0.0.0.0 as=left\nStop")
    # context: the edits within 10 lines (lines 9 and 11-12), not the one at line 17
    assert [c["lines"] for c in first.context] == [[9, 9], [11, 12]]
    assert first.context[0] == {"lines": [9, 9], "diff": "-size = area(2, 3)\n+sz = area(2, 3)",
                                "script": 'UPD r.0.0.0.0 "sz"'}
    assert [c["lines"] for c in out.examples[3].context] == [[9, 9], [11, 12]]
    assert out.examples[2].script == 'UPD r.0.0.1.0 "sz"\nDEL r.0.1 | Expr[1] ↑ body[0] ↑ Module ↓ DEL'
    text = model_input(first)
    assert text.startswith("### Fragment\nreturn w * h\n### Fragment tree\nr Module\nr.0   body\n"
                           "r.0.0     Return\nr.0.0.0       value=BinOp \"Mult\"\n")
    assert "### Edits in its context\n# lines 9-9\n-size = area(2, 3)\n+sz = area(2, 3)\n# as tree edits\n" \
           'UPD r.0.0.0.0 "sz"\n' in text


def test_node_cap_and_context_requirement():
    out = build(OLD, NEW, settings=EditCompletionSettings(max_fragment_nodes=10))
    assert [e.key for e in out.examples] == ["5-5", "9-9"]
    assert out.skips == Counter({"insert_only_region": 1, "too_many_fragment_nodes": 2})
    alone = build("a = 1\nb = 2\n", "a = 1\nb = 3\n",
                  settings=EditCompletionSettings(require_context_edits=True))
    assert alone.examples == [] and alone.skips == Counter({"no_context_edits": 1})


def test_c3po_filters_delete_only_and_rename_only():
    renamed = build("a = size\nb = 2\nc = size\n", "a = sz\nb = 2\nc = sz\n")
    assert renamed.examples == [] and renamed.skips == Counter({"rename_only": 2})
    kept = build("a = size\nb = 2\nc = size\n", "a = sz\nb = 2\nc = sz\n",
                 settings=EditCompletionSettings(drop_rename_only=False))
    assert [e.script for e in kept.examples] == ['UPD r.0.0.1 "sz"', 'UPD r.0.0.1 "sz"']
    deleted = build("a = 1\nb = 2\nc = 3\n", "a = 1\nc = 3\n")
    assert deleted.skips == Counter({"delete_only": 1})


def test_bad_inputs_are_counted_skips():
    assert build("a = (1\n", "a = 2\n").skips == Counter({"file_parse_error": 1})
    assert build("a = 1\nb = 2\nc = 3\n", "a = 1\nb = (2\nc = 3\n").skips == Counter({"fragment_parse_error": 1})
    assert build("a = 1\nb = 2\n", "a = 1\nb = 2  # two\n").skips == Counter({"no_tree_change": 1})


def test_changed_compound_header_makes_the_whole_statement_the_fragment():
    out = build("if a:\n    x = 1\n    y = 2\n", "if b:\n    x = 1\n    y = 2\n")
    assert [(e.key, e.source, e.script) for e in out.examples] == [
        ("1-3", "if a:\n    x = 1\n    y = 2", 'UPD r.0.0.0 "b"')]
    nested = build("def f():\n    if a:\n        x = 1\n", "def f():\n    if a:\n        x = 2\n")
    assert [(e.key, e.source, e.script) for e in nested.examples] == [("3-3", "x = 1", 'UPD r.0.0.1 "2"')]


def test_insertions_at_the_edges_stay_out_of_the_fragment():
    out = build("def f():\n    a = 1\n    b = 2\n", "def f():\n    z = 0\n    a = 1\n    b = 3\n    c = 4\n")
    assert out.skips == Counter({"insert_only_region": 1})
    assert [(e.key, e.source, e.target_text) for e in out.examples] == [("3-3", "b = 2", "b = 3\nc = 4")]
    ins = build("x = 1\ny = 2\n", "w = 0\nx = 1\ny = 5\n")
    assert [(e.key, e.target_text) for e in ins.examples] == [("2-2", "y = 5")]


def test_pathological_inputs_are_counted_not_raised():
    deep_old = "y = 0\nx = " + " + ".join(f"a{i}" for i in range(3000)) + "\n"
    deep_new = "y = 1\nx = " + " + ".join(f"a{i}" for i in range(1, 3001)) + "\n"
    # ast's recursion limit or the fragment node cap, whichever the interpreter's stack meets first
    skips = build(deep_old, deep_new).skips
    assert sum(skips.values()) == 1 and set(skips) <= {"file_parse_error", "too_many_fragment_nodes"}
    big_old = "def f():\n" + "".join(f"    v{i} = g({i})\n" for i in range(40)) + "    return 1\n"
    big_new = big_old.replace("    return 1\n", "    return 2\n").replace("def f():", "def f(x):")
    out = build(big_old, big_new)
    assert out.skips == Counter({"too_many_fragment_nodes": 1})
    assert [(e.key, e.script) for e in out.examples] == [("42-42", 'UPD r.0.0.0 "2"')]
