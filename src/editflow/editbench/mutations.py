"""Seeded AST mutations that plant one small, realistic bug in a working function.

A mutation replaces the source span of one AST node (positions from `ast`) with the
`ast.unparse` of the changed node, or deletes whole statement lines. Everything else in the
program keeps its exact text, so `before` (mutant) and `after` (original) differ only where the
bug is, as a real bug-fix commit would. Only nodes at or after `first_line` (the solution,
not the prompt's signature and docstring) are mutated.

Operators (the `kind` of a Mutation):
- swap_operator: an arithmetic operator of a BinOp / augmented assignment (+ -> -, * -> +, ...)
- flip_comparison: a single comparison operator (< -> <=, == -> !=, in -> not in, ...)
- off_by_one: the stop of a `range(...)` call or a slice bound moved by one
- wrong_constant: an integer constant moved by one, or True <-> False
- drop_branch: an `if` statement without `else` removed from a block of several statements
- swap_boolean: `and` <-> `or`
- negate_condition: the test of an `if` / `while` negated
"""
from __future__ import annotations

import ast
import copy
from dataclasses import dataclass

KINDS = ("swap_operator", "flip_comparison", "off_by_one", "wrong_constant", "drop_branch",
         "swap_boolean", "negate_condition")

_BINOP_SWAPS = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Add, ast.Div: ast.Mult,
                ast.FloorDiv: ast.Mult, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult}
_COMPARE_FLIPS = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
                  ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
                  ast.Is: ast.IsNot, ast.IsNot: ast.Is}
_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.FloorDiv: 2, ast.Mod: 2, ast.Pow: 3}
OPERATOR_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
                 ast.Mod: "%", ast.Pow: "**", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
                 ast.Eq: "==", ast.NotEq: "!=", ast.In: "in", ast.NotIn: "not in", ast.Is: "is",
                 ast.IsNot: "is not", ast.And: "and", ast.Or: "or"}


@dataclass(frozen=True)
class Mutation:
    """One planted bug. `bad` / `good` are the changed snippet in the mutant / the original."""
    kind: str
    line: int          # 1-based line of the change in the mutant
    bad: str
    good: str
    bad_op: str = ""   # operator text where the kind has one (e.g. "<=" for a flipped "<")
    good_op: str = ""
    mutant: str = ""   # the whole mutated program


class _Source:
    """Byte-offset arithmetic for AST positions (col_offset counts UTF-8 bytes)."""

    def __init__(self, text: str):
        self.text = text
        self.data = text.encode("utf-8")
        self.starts = [0]
        for line in self.data.splitlines(keepends=True):
            self.starts.append(self.starts[-1] + len(line))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.starts[node.lineno - 1] + node.col_offset,
                self.starts[node.end_lineno - 1] + node.end_col_offset)

    def segment(self, node: ast.AST) -> str:
        a, b = self.span(node)
        return self.data[a:b].decode("utf-8")

    def replace(self, node: ast.AST, new_text: str) -> str:
        a, b = self.span(node)
        return (self.data[:a] + new_text.encode("utf-8") + self.data[b:]).decode("utf-8")

    def delete_lines(self, first: int, last: int) -> str:
        return (self.data[:self.starts[first - 1]] + self.data[self.starts[last]:]).decode("utf-8")


def _shift(expr: ast.expr, delta: int) -> ast.expr:
    """`expr + delta`, folded into a trailing integer constant where there is one."""
    if isinstance(expr, ast.Constant) and type(expr.value) is int:
        return ast.Constant(expr.value + delta)
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, (ast.Add, ast.Sub)) \
            and isinstance(expr.right, ast.Constant) and type(expr.right.value) is int:
        k = expr.right.value if isinstance(expr.op, ast.Add) else -expr.right.value
        k += delta
        if k == 0:
            return expr.left
        return ast.BinOp(expr.left, ast.Add() if k > 0 else ast.Sub(), ast.Constant(abs(k)))
    return ast.BinOp(expr, ast.Add() if delta > 0 else ast.Sub(), ast.Constant(abs(delta)))


def _docstring_nodes(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                found.add(id(body[0].value))
    return found


def _node_swaps(node: ast.AST) -> list[tuple[str, ast.AST, str, str]]:
    """(kind, replacement node, bad operator, good operator) for a node replaced in place."""
    out = []
    if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BINOP_SWAPS:
        new = copy.deepcopy(node)
        new.op = _BINOP_SWAPS[type(node.op)]()
        out.append(("swap_operator", new, OPERATOR_TEXT[type(new.op)], OPERATOR_TEXT[type(node.op)]))
    elif isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE_FLIPS:
        new = copy.deepcopy(node)
        new.ops = [_COMPARE_FLIPS[type(node.ops[0])]()]
        out.append(("flip_comparison", new, OPERATOR_TEXT[type(new.ops[0])], OPERATOR_TEXT[type(node.ops[0])]))
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        out.append(("swap_boolean", new, OPERATOR_TEXT[type(new.op)], OPERATOR_TEXT[type(node.op)]))
    elif isinstance(node, ast.Constant) and type(node.value) is bool:
        out.append(("wrong_constant", ast.Constant(not node.value), "", ""))
    elif isinstance(node, ast.Constant) and type(node.value) is int:
        for delta in (1, -1):
            if node.value + delta >= 0:
                out.append(("wrong_constant", ast.Constant(node.value + delta), "", ""))
    return out


def _bound_targets(node: ast.AST) -> list[ast.expr]:
    """The expressions an off-by-one moves: a range() stop, the bounds of a slice."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" \
            and 1 <= len(node.args) <= 3 and not node.keywords:
        return [node.args[0] if len(node.args) == 1 else node.args[1]]
    if isinstance(node, ast.Slice):
        return [b for b in (node.lower, node.upper) if b is not None]
    return []


def candidate_mutations(program: str, first_line: int = 1) -> list[Mutation]:
    """Every single-site mutation of `program` at or after `first_line`, in source order.

    Mutants that do not compile, or equal the original text, are left out.
    """
    tree = ast.parse(program)
    src = _Source(program)
    skip = _docstring_nodes(tree)
    found: list[Mutation] = []

    def add(kind: str, node: ast.AST, new_node: ast.AST | None, bad_op: str = "", good_op: str = ""):
        good = src.segment(node)
        if new_node is None:  # drop the statement's lines
            mutant, bad, line = src.delete_lines(node.lineno, node.end_lineno), "", node.lineno
        else:
            bad = ast.unparse(new_node)
            if kind == "swap_operator" and isinstance(node, ast.BinOp) \
                    and _PRECEDENCE[type(new_node.op)] < _PRECEDENCE[type(node.op)]:
                bad = f"({bad})"  # `a * b` -> `(a + b)`: the new operator binds as the old one did
            mutant, line = src.replace(node, bad), node.lineno
        if mutant == program:
            return
        try:
            compile(mutant, "<mutant>", "exec")
        except (SyntaxError, ValueError):
            return
        found.append(Mutation(kind, line, bad, good, bad_op, good_op, mutant))

    for node in ast.walk(tree):
        if getattr(node, "lineno", 0) < first_line or id(node) in skip:
            continue
        for kind, new_node, bad_op, good_op in _node_swaps(node):
            add(kind, node, new_node, bad_op, good_op)
        for bound in _bound_targets(node):
            if bound.lineno >= first_line:
                for delta in (1, -1):
                    add("off_by_one", bound, _shift(copy.deepcopy(bound), delta), "+1" if delta > 0 else "-1")
        if isinstance(node, (ast.If, ast.While)):
            test = node.test
            negated = test.operand if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) \
                else ast.UnaryOp(ast.Not(), copy.deepcopy(test))
            add("negate_condition", test, negated)
        for field_name in ("body", "orelse"):
            block = getattr(node, field_name, None)
            if not isinstance(block, list) or len(block) < 2:
                continue
            for stmt in block:
                if isinstance(stmt, ast.If) and not stmt.orelse and stmt.lineno >= first_line \
                        and _owns_lines(src, stmt):
                    add("drop_branch", stmt, None)
    found.sort(key=lambda m: (m.line, KINDS.index(m.kind), m.bad))
    return found


def _owns_lines(src: _Source, stmt: ast.stmt) -> bool:
    """The statement starts its first line and ends its last one (no `a; if b: c`)."""
    lines = src.text.splitlines()
    return (not lines[stmt.lineno - 1][:stmt.col_offset].strip()
            and not lines[stmt.end_lineno - 1].encode()[stmt.end_col_offset:].strip())
