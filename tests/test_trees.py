"""editflow.trees core: Python trees, GumTree matching, MOV/DEL/UPD/INS scripts, interpreter,
linearisation and incremental actions, on small sources with known scripts."""
from __future__ import annotations

import pytest

from editflow.trees import python_ast
from editflow.trees.incremental import apply_actions, derive, parse_actions, render_actions
from editflow.trees.linearize import apply_text, parse_script, render_script
from editflow.trees.matching import match
from editflow.trees.node import Node, parse_sexp
from editflow.trees.script import ApplyError, Op, Target, apply_script, edit_script


def script_text(old: str, new: str) -> str:
    a, b = python_ast.parse(old), python_ast.parse(new)
    return render_script(a, edit_script(a, b))


def test_python_tree_shape_and_values():
    tree = python_ast.parse("a < b <= c\nfrom . import x as y\nglobal q\nz = -1.5")
    assert tree.sexp() == (
        '(Module (body=body (Expr (value=Compare "[\'Lt\', \'LtE\']" (left=Name "a") '
        '(comparators=comparators (Name "b") (Name "c")))) (ImportFrom "[None, 1]" '
        '(names=names (alias "[\'x\', \'y\']"))) (Global "[\'q\']") (Assign (targets=targets '
        '(Name "z")) (value=UnaryOp "USub" (operand=Constant "1.5")))))')


@pytest.mark.parametrize("code", [
    "def f(a, /, b=1, *c, d, **e) -> int:\n    return {**e, 'k': [x async for x in c]}",
    "class A(B, metaclass=M):\n    @dec\n    async def g(self):\n        await x\n        yield\n",
    "try:\n    pass\nexcept (E, F) as e:\n    raise\nelse:\n    del a[1:2, ::3]\nfinally:\n    ...",
    "match p:\n    case [1, *rest] | {'k': v, **kw} if v:\n        pass\n    case Point(x=0) as pt:\n        f'{pt!r:>{w}}'",
    "with a as (b, c), d:\n    x: int = 1\n    y += 2 ** -3j\n    lambda *a, k=1: (yield from z)",
    "s = u'abc' 'x'; bb = b'\\x00'\nt = 1e309\nimport os.path as p, sys\nnonlocal_ = not a or b and c",
])
def test_python_round_trip(code):
    tree = python_ast.parse(code)
    again = python_ast.parse(python_ast.unparse(tree))
    assert again.same_tree(tree)


def test_tree_errors_are_typed():
    with pytest.raises(python_ast.TreeError, match="unknown node type"):
        python_ast.unparse(Node("Module", children=[Node("Nope", role="body")]))
    bad = python_ast.parse("x = 1")
    bad.at((0, 0)).value = None
    bad.at((0, 0, 1)).value = "not a literal ("
    with pytest.raises(python_ast.TreeError, match="bad value"):
        python_ast.unparse(bad)


@pytest.mark.parametrize("old,new,expected", [
    ("x = 1", "y = 1", 'UPD r.0.0.0.0 "y"'),
    ("x = a + b", "x = a - b", 'UPD r.0.0.1 "Sub"'),
    ("f(a)\ng(b)", "g(b)\nf(a)", "MOV r.0.0 r.0.1 | Expr[0] ↑ body[0] ↓ Expr[1]"),
    ("if c:\n    a = 1\n    b = 2", "if c:\n    a = 1",
     "DEL r.0.0.1.1 | Assign[1] ↑ body[1] ↑ If[0] ↑ body[0] ↑ Module ↓ DEL"),
    ("print(x)", "print(x, y)", 'INS r.0.0.0.1.0 (Name "y")'),
    ("print(x)", "print(y, x)", 'INS r.0.0.0.1.^ (Name "y")'),
    ("a[1:2]", "a[:2]", "DEL r.0.0.0.1.0 | Constant[0] ↑ Slice[1] ↑ Subscript[0] ↑ Expr[0] ↑ body[0] ↑ Module ↓ DEL"),
    ("a[1:]", "a[:1]", "MOV r.0.0.0.1.0 r.0.0.0.1.^ as=upper | Constant[0] ↑ Slice[1] ^"),
])
def test_known_scripts(old, new, expected):
    assert script_text(old, new) == expected


def test_wrapping_moves_the_old_subtree_into_the_inserted_node():
    text = script_text("x = f(a)\ny = 2", "x = g(f(a))\ny = 2")
    assert text == ('INS r.0.0.0 (value=Call (func=Name "g") (args=args) (keywords=keywords))\n'
                    "MOV r.0.0.2 r.0.0.1.1.^ | Call[2] ↑ Assign[0] ↓ Call[1] ↓ args[1] ^")


def test_gold_scripts_reproduce_the_post_edit_tree():
    old = ("import os\n\ndef f(a, b):\n    x = a + b\n    if x:\n        print(x)\n    return x\n\n"
           "class K:\n    def m(self):\n        return f(1, 2)\nk = 1\n")
    new = ("import os, sys\n\ndef f(a, b, c=0):\n    x = a + b + c\n    print(x)\n    return -x\n\n"
           "class K(object):\n    def m(self, z):\n        return f(z, 2, c=1)\nk = 2\n")
    a, b = python_ast.parse(old), python_ast.parse(new)
    ops = edit_script(a, b)
    assert sorted({o.kind for o in ops}) == ["DEL", "INS", "MOV", "UPD"]
    assert apply_script(a, ops).same_tree(b)
    assert apply_text(a, render_script(a, ops)).same_tree(b)
    assert apply_actions(a, derive(a, ops)).same_tree(b)
    assert python_ast.unparse(apply_script(a, ops)) == python_ast.unparse(b)


def test_mapping_keeps_labels_and_maps_isomorphic_subtrees():
    a = python_ast.parse("def f():\n    return g(1, 2)\nh = 3")
    b = python_ast.parse("h = 3\ndef f():\n    return g(1, 2)")
    m = match(a, b)
    assert len(m) == a.size() == b.size()
    for x in a.preorder():
        assert m.src_to_dst[id(x)].label == x.label
    assert script_text("def f():\n    return g(1, 2)\nh = 3", "h = 3\ndef f():\n    return g(1, 2)") \
        == "MOV r.0.0 r.0.1 | FunctionDef[0] ↑ body[0] ↓ Assign[1]"


def test_linearised_script_round_trips_and_checks_paths():
    a = python_ast.parse("f(a)\ng(b)")
    text = "MOV r.0.0 r.0.1 | Expr[0] ↑ body[0] ↓ Expr[1]"
    ops, paths = parse_script(text)
    assert ops == [Op("MOV", node=(0, 0), target=Target((0, 1)))]
    assert paths == ["Expr[0] ↑ body[0] ↓ Expr[1]"]
    assert python_ast.unparse(apply_text(a, text)) == "g(b)\nf(a)"
    with pytest.raises(ApplyError) as err:
        apply_text(a, "MOV r.0.0 r.0.1 | Name[0] ↑ body[0] ↓ Expr[1]")
    assert err.value.reason == "path_mismatch"


@pytest.mark.parametrize("text,reason", [
    ("MOV r.0.7 r.0.1", "bad_address"),
    ("MOV r.0 r.0.0.0", "bad_target"),
    ("DEL r", "bad_target"),
    ("frobnicate r.0", "unparsable_script"),
    ("INS r.0.^ (Name", "unparsable_script"),
    ("", "empty_script"),
])
def test_scripts_that_do_not_apply_give_a_reason(text, reason):
    with pytest.raises(ApplyError) as err:
        apply_text(python_ast.parse("f(a)\ng(b)"), text)
    assert err.value.reason == reason


def test_incremental_actions_text():
    a, b = python_ast.parse("x = f(a)\nz = 1"), python_ast.parse("x = f(a, 2)\ny = x")
    actions = derive(a, edit_script(a, b))
    text = render_actions(actions)
    assert script_text("x = f(a)\nz = 1", "x = f(a, 2)\ny = x") == (
        'INS r.0.1.0 (value=Name "x")\nUPD r.0.1.0.0 "y"\nINS r.0.0.1.1.0 (Constant "2")\n'
        "DEL r.0.1.2 | Constant[2] ↑ Assign[1] ↑ body[0] ↑ Module ↓ DEL")
    assert text == ('Copy r.0.0.0.0 r.0.1.1 as=value\nDelete r.0.1.0.0\nAdd r.0.1.0.0 "Name" "y"\n'
                    'Add r.0.0.1.1.1 "Constant" "2"\nDelete r.0.1.2\nStop')
    assert apply_actions(a, parse_actions(text)).same_tree(b)
    with pytest.raises(ApplyError) as err:
        apply_actions(a, parse_actions("Delete r.0.0"))
    assert err.value.reason == "no_stop"


def test_sexp_round_trip_with_odd_labels():
    n = Node("x", children=[Node("(", "(", "r"), Node("a b", 'q"', "")])
    assert parse_sexp(n.sexp()).key() == n.key()
