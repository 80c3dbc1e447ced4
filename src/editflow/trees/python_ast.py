"""Python's `ast` (an ASDL grammar) as `Node` trees, and back.

Each AST object becomes a node labelled with its class (`Call`, `Name`); its identifier,
literal and operator fields are folded into the node's `value` (so renaming a variable or
turning `+` into `-` is one UPD, as in GumTree); each AST-valued field becomes a child whose
`role` is the field name; each list field becomes a list node labelled with the field name
(`body`, `args`), so that insertions into an empty list have a parent to point at. `ctx`,
`type_comment` and Constant's `kind` are dropped: `ast.unparse` does not need them.
"""
from __future__ import annotations

import ast
import textwrap

from editflow.trees.node import Node

# Fields that hold identifiers, numbers or operators rather than AST children.
_PRIMITIVE = frozenset({"name", "module", "level", "asname", "attr", "id", "arg",
                        "conversion", "simple", "op", "ops", "kwd_attrs", "rest", "tag", "lineno"})
_DROPPED = frozenset({"ctx", "type_comment", "kind", "type_ignores"})
_OPERATOR = (ast.operator, ast.unaryop, ast.cmpop, ast.boolop)
NULL = "Null"                     # a None inside a list (Dict.keys for `**d`)
ROOT = "Module"


class TreeError(ValueError):
    """A tree that is no Python AST (wrong label, missing field): a grammar violation."""


def _fields(cls: type) -> tuple[list[str], list[str]]:
    """(primitive fields, child fields) of an AST class, in declaration order."""
    prim, kids = [], []
    for f in cls._fields:
        if f in _DROPPED:
            continue
        literal_value = f == "value" and cls in (ast.Constant, ast.MatchSingleton)
        ast_name = f == "name" and cls.__name__ == "TypeAlias"
        str_names = f == "names" and cls in (ast.Global, ast.Nonlocal)
        if (f in _PRIMITIVE and not ast_name) or literal_value or str_names:
            prim.append(f)
        else:
            kids.append(f)
    return prim, kids


_FIELD_CACHE: dict[type, tuple[list[str], list[str]]] = {}


def fields_of(cls: type) -> tuple[list[str], list[str]]:
    got = _FIELD_CACHE.get(cls)
    if got is None:
        got = _FIELD_CACHE[cls] = _fields(cls)
    return got


def _encode_primitive(v):
    if isinstance(v, _OPERATOR):
        return type(v).__name__
    if isinstance(v, list):
        return [_encode_primitive(x) for x in v]
    return v


def _value(node: ast.AST) -> str | None:
    """Identifier, literal and operator fields as one string (what UPD changes)."""
    cls = type(node)
    if cls is ast.Constant:
        return ast.unparse(ast.Constant(node.value)) if node.value is not Ellipsis else "..."
    prim, _ = fields_of(cls)
    if not prim:
        return None
    vals = [_encode_primitive(getattr(node, f, None)) for f in prim]
    if len(vals) == 1:
        v = vals[0]
        return v if isinstance(v, str) or v is None else repr(v)
    return repr(vals)


def to_tree(node: ast.AST, role: str = "") -> Node:
    out = Node(type(node).__name__, _value(node), role)
    _, kids = fields_of(type(node))
    for f in kids:
        v = getattr(node, f, None)
        if isinstance(v, list):
            lst = out.add(Node(f, None, f))
            for item in v:
                lst.add(Node(NULL) if item is None else to_tree(item))
        elif isinstance(v, ast.AST):
            out.add(to_tree(v, f))
    return out


def parse(code: str) -> Node:
    """Source text -> tree (the code is dedented first, so a nested fragment parses)."""
    return to_tree(ast.parse(textwrap.dedent(code)))


_INT_FIELDS = frozenset({"level", "conversion", "simple", "lineno"})
_LIST_FIELDS = frozenset({"ops", "names", "kwd_attrs"})


def _decode_primitive(field: str, v):
    if field == "op":
        return getattr(ast, v)()
    if field == "ops":
        return [getattr(ast, x)() for x in v]
    return v


def _decode_single(cls: type, field: str, value: str | None):
    if value is None:
        return None
    if field in _INT_FIELDS or field in _LIST_FIELDS or cls is ast.MatchSingleton:
        v = ast.literal_eval(value)
        ok = isinstance(v, list) if field in _LIST_FIELDS else (
            v in (True, False, None) if cls is ast.MatchSingleton else isinstance(v, int))
        if not ok:
            raise TypeError(f"{field} cannot be {value!r}")
        return _decode_primitive(field, v)
    return _decode_primitive(field, value)


def from_tree(tree: Node) -> ast.AST:
    """Tree -> AST object; raises TreeError where the tree breaks the grammar."""
    cls = getattr(ast, tree.label, None)
    if not (isinstance(cls, type) and issubclass(cls, ast.AST)) or tree.label in (NULL,):
        raise TreeError(f"unknown node type {tree.label!r}")
    prim, kids = fields_of(cls)
    if not prim and cls is not ast.Constant and tree.value is not None:
        raise TreeError(f"{tree.label} has no value (got {tree.value!r})")
    kw = {}
    try:
        if cls is ast.Constant:
            kw["value"] = ast.literal_eval(tree.value) if tree.value != "..." else Ellipsis
        elif prim:
            if len(prim) == 1:
                kw[prim[0]] = _decode_single(cls, prim[0], tree.value)
            else:
                vals = ast.literal_eval(tree.value) if tree.value is not None else None
                if not isinstance(vals, list) or len(vals) != len(prim):
                    raise TreeError(f"{tree.label}: value {tree.value!r} does not fit {prim}")
                kw.update({f: _decode_primitive(f, v) for f, v in zip(prim, vals)})
    except (ValueError, SyntaxError, TypeError, AttributeError) as exc:
        raise TreeError(f"{tree.label}: bad value {tree.value!r} ({exc})") from None
    for c in tree.children:
        if c.role not in kids:
            raise TreeError(f"{tree.label} has no field {c.role!r}")
        if c.role in kw:
            raise TreeError(f"{tree.label}.{c.role} given twice")
        if c.label == c.role and c.value is None and not _is_ast_class(c.label):
            kw[c.role] = [None if x.label == NULL else from_tree(x) for x in c.children]
        else:
            kw[c.role] = from_tree(c)
    for f in kids:
        kw.setdefault(f, None)
    node = cls(**kw)
    if hasattr(cls, "ctx") or "ctx" in cls._fields:
        node.ctx = ast.Load()
    return node


def _is_ast_class(label: str) -> bool:
    cls = getattr(ast, label, None)
    return isinstance(cls, type) and issubclass(cls, ast.AST)


def unparse(tree: Node) -> str:
    """Tree -> code; TreeError for a tree that breaks the grammar or does not unparse."""
    node = from_tree(tree)
    if isinstance(node, ast.Module):
        node.type_ignores = []
    try:
        return ast.unparse(ast.fix_missing_locations(node))
    except Exception as exc:  # ast.unparse raises assorted errors on malformed trees
        raise TreeError(f"does not unparse: {type(exc).__name__}: {exc}") from None


def is_valid(code: str) -> bool:
    """Whether the code parses as Python (the grammar-valid share of decoded predictions)."""
    try:
        ast.parse(code)
        return True
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False
