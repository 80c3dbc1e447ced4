"""C# trees through tree-sitter (C3PO's language): round trip, scripts, EditCompletion."""
from __future__ import annotations

from collections import Counter

import pytest

pytest.importorskip("tree_sitter_c_sharp")

from editflow.trees import csharp  # noqa: E402
from editflow.trees.fragments import build  # noqa: E402
from editflow.trees.languages import for_path  # noqa: E402
from editflow.trees.linearize import apply_text, render_script  # noqa: E402
from editflow.trees.script import apply_script, edit_script  # noqa: E402

OLD = '''// a comment
using System;

namespace Demo
{
    public class Shop
    {
        public int Price(int count)
        {
            var unit = Lookup("base");
            return unit * count;
        }

        public string Name => "shop";
    }
}
'''
NEW = '''// a comment
using System;

namespace Demo
{
    public class Shop
    {
        public int Price(int count, int discount)
        {
            var unit = Lookup("base price");
            return unit * count - discount;
        }

        public string Name => "shop";
    }
}
'''


def test_language_by_extension():
    assert for_path("a/b.cs").name == "csharp" and for_path("x.py").name == "python"
    assert for_path("notes.txt") is None


def test_round_trip_keeps_literals_and_comments():
    tree = csharp.parse(OLD)
    text = csharp.unparse(tree)
    assert '"base"' in text and text.startswith("// a comment\nusing System ;")
    assert csharp.parse(text).same_tree(tree)
    assert csharp.is_valid(text) and not csharp.is_valid("class {")
    with pytest.raises(ValueError, match="syntax error"):
        csharp.parse("class {")


def test_preprocessor_directives_keep_their_lines():
    src = ("#if NET6\nusing A;\n#elif NET5\nusing B;\n#else\nusing C;\n#endif\n#region Parts\n"
           "class K { int x = @\"a b\"; } // done\n#endregion\n#pragma warning disable CS1\n")
    text = csharp.unparse(csharp.parse(src))
    assert text == ("#if NET6\nusing A ;\n#elif NET5\nusing B ;\n#else\nusing C ;\n#endif\n#region Parts\n"
                    'class K { int x = @"a b" ; } // done\n#endregion\n#pragma warning disable CS1\n')
    assert csharp.parse(text).same_tree(csharp.parse(src))


def test_class_members_parse_inside_a_class():
    tree = csharp.parse("public int Count { get; set; }\npublic Shop(int n) { Count = n; }")
    assert tree.label == csharp.MEMBERS
    assert [c.label for c in tree.children] == ["property_declaration", "constructor_declaration"]
    text = csharp.unparse(tree)
    assert text == "public int Count { get ; set ; } public Shop ( int n ) { Count = n ; }"
    assert csharp.parse(text).same_tree(tree)


def test_script_reproduces_the_post_edit_tree():
    a, b = csharp.parse(OLD), csharp.parse(NEW)
    ops = edit_script(a, b)
    assert Counter(o.kind for o in ops) == Counter({"INS": 3, "UPD": 1, "MOV": 1})
    assert apply_script(a, ops).same_tree(b)
    assert apply_text(a, render_script(a, ops)).same_tree(b)


def test_edit_completion_on_csharp():
    out = build(OLD, NEW, "csharp")
    assert out.skips == Counter()
    assert [(e.key, e.nodes) for e in out.examples] == [("8-12", 37), ("10-11", 24)]
    # the changed method header makes the whole method P; its two changed body lines are P too
    small = out.examples[1]
    assert small.source == 'var unit = Lookup("base");\nreturn unit * count;'
    assert small.script == (
        'INS r.1.0.0 (binary_expression ("-" "-") (identifier "discount"))\n'
        "MOV r.1.0.2 r.1.0.1.^ | binary_expression[2] ↑ return_statement[0] ↓ binary_expression[1] ^\n"
        'UPD r.0.0.0.1.2.1.1.0 "\\"base price\\""')
    assert [c["lines"] for c in small.context] == [[8, 12]]
    assert csharp.unparse(apply_script(small.pre, small.ops)) == \
        'var unit = Lookup ( "base price" ) ; return unit * count - discount ;'
