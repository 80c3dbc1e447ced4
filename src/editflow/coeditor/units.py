"""Split a Python module into Coeditor's code units.

A unit is a function or method (from its first decorator to its last line), or a *region*: a
maximal run of lines of a class body outside its methods, or of the module outside any
definition. Units partition the module's lines, so every changed line of a modified file lies
inside exactly one unit (the property the PyCommits problems rely on).

Units get keys that survive unrelated edits elsewhere in the file, so that the old and new
sides of a file can be matched unit by unit:
- `def Outer.name` for functions (nested classes are dotted; functions nested in functions stay
  inside their enclosing unit);
- `region Scope@after` for regions, where `after` is the name of the definition the region
  follows in its scope (`^` at the start of the scope). A definition is followed by at most one
  region, so the key is unique; inserting a function elsewhere moves no other region's key.
A repeated key (two `def x` for a property getter and setter) gets `#2`, `#3`, ...

`ast` parses first; when it fails, parso (tolerant, error-recovering) finds the definitions.
Sides neither parser can handle (deep nesting, recursion limits) are `Unparseable`.
"""
from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from functools import lru_cache


# CPython's parser limits; parso would recurse through the same structure without them
_TOO_DEEP = ("too many nested parentheses", "too many levels of indentation", "too complex")


class Unparseable(ValueError):
    """Neither ast nor parso could split this source; `reason` is the counted skip reason."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True)
class Unit:
    key: str          # stable identity within the file (see the module docstring)
    kind: str         # "function" | "class_region" | "module_region"
    start: int        # first line, 0-based, inclusive
    end: int          # last line + 1
    text: str         # the unit's lines, each ending with "\n"


@dataclass(frozen=True)
class _Def:
    name: str
    is_class: bool
    start: int        # 0-based first line (decorators included)
    end: int          # 0-based exclusive
    children: tuple["_Def", ...]


def source_lines(text: str) -> list[str]:
    """Lines without their "\\n" (a final newline does not open an empty line). Only "\\n"
    splits: form feeds and other Unicode line breaks stay inside their line, as in Python."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def join_lines(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


def _ast_defs(body: list[ast.stmt], in_class: bool) -> tuple[_Def, ...]:
    out = []
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            is_class = isinstance(node, ast.ClassDef)
            children = _ast_defs(node.body, True) if is_class else ()
            out.append(_Def(node.name, is_class, first - 1, node.end_lineno, children))
    return tuple(out)


def _parso_defs(node, in_class: bool) -> tuple[_Def, ...]:
    out = []
    for child in getattr(node, "children", ()):
        target = child
        if child.type == "decorated":
            target = child.children[-1]
        if target.type in ("async_stmt", "async_funcdef"):
            target = target.children[-1]
        if target.type in ("funcdef", "classdef"):
            is_class = target.type == "classdef"
            start = child.start_pos[0] - 1
            end = child.end_pos[0] if child.end_pos[1] > 0 else child.end_pos[0] - 1
            kids = ()
            if is_class:
                suite = target.children[-1]
                kids = _parso_defs(suite, True)
            out.append(_Def(target.name.value, is_class, start, end, kids))
        elif child.type in ("suite", "simple_stmt") or not hasattr(child, "children"):
            continue
    return tuple(out)


def parse_defs(text: str) -> tuple[tuple[_Def, ...], str, ast.Module | None]:
    """The module's top-level definitions (with class members), the parser that found them,
    and the ast tree (None when parso had to step in)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
        return _ast_defs(tree.body, False), "ast", tree
    except SyntaxError as exc:
        if any(m in str(exc.msg) for m in _TOO_DEEP):
            raise Unparseable("too_deeply_nested", str(exc.msg)) from None
    except ValueError:
        pass
    except (RecursionError, MemoryError) as exc:
        raise Unparseable("too_deeply_nested", type(exc).__name__) from None
    try:
        import parso
        module = parso.parse(text, version="3.11")
        return _parso_defs(module, False), "parso", None
    except (RecursionError, MemoryError) as exc:
        raise Unparseable("too_deeply_nested", type(exc).__name__) from None
    except Exception as exc:  # parso's own internal errors on hostile input
        raise Unparseable("unparseable", f"{type(exc).__name__}: {exc}") from None


def _split_scope(defs: tuple[_Def, ...], lo: int, hi: int, scope: str, region_kind: str,
                 lines: list[str], out: list[Unit]) -> None:
    """Units of lines [lo, hi) of one scope (module or class body)."""
    pos, after = lo, "^"
    for d in defs:
        start, end = max(d.start, pos), min(d.end, hi)
        if start >= end:  # a definition overlapping the previous one (parso recovery)
            continue
        if start > pos:
            out.append(Unit(f"region {scope}@{after}", region_kind, pos, start,
                            join_lines(lines[pos:start])))
        qual = f"{scope}.{d.name}" if scope else d.name
        if d.is_class:
            _split_scope(d.children, start, end, qual, "class_region", lines, out)
        else:
            out.append(Unit(f"def {qual}", "function", start, end, join_lines(lines[start:end])))
        pos, after = end, d.name
    if pos < hi:
        out.append(Unit(f"region {scope}@{after}", region_kind, pos, hi, join_lines(lines[pos:hi])))


ImportSpec = tuple[str | None, int, tuple[str, ...]]   # (module, relative level, imported names)


def _import_statements(body: list[ast.stmt]):
    """Imports at module level, including under if / try (TYPE_CHECKING, optional imports)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try)):
            for block in (node.body, node.orelse, getattr(node, "finalbody", []),
                          *[h.body for h in getattr(node, "handlers", [])]):
                yield from _import_statements(block)


def import_specs(tree: ast.Module) -> tuple[ImportSpec, ...]:
    out: list[ImportSpec] = []
    for node in _import_statements(tree.body):
        if isinstance(node, ast.Import):
            out.extend((a.name, 0, ()) for a in node.names)
        else:
            out.append((node.module, node.level, tuple(a.name for a in node.names)))
    return tuple(out)


@dataclass(frozen=True)
class Split:
    units: list[Unit]
    parser: str                               # "ast" | "parso"
    imports: tuple[ImportSpec, ...] | None    # from the ast tree (None when parso stepped in)


@lru_cache(maxsize=256)
def split_module(text: str, max_lines: int | None = None) -> Split:
    """The module's units in source order, the parser that found them and its imports.

    Cached: a file's old side is usually the new side of its previous edit. Raises Unparseable
    (a counted skip) for sources over `max_lines`, or that no parser handles.
    """
    lines = source_lines(text)
    if max_lines is not None and len(lines) > max_lines:
        raise Unparseable("file_too_large", f"{len(lines)} lines > {max_lines}")
    defs, parser, tree = parse_defs(text)
    units: list[Unit] = []
    _split_scope(defs, 0, len(lines), "", "module_region", lines, units)
    seen: dict[str, int] = {}
    keyed = []
    for u in units:
        n = seen.get(u.key, 0) + 1
        seen[u.key] = n
        keyed.append(u if n == 1 else Unit(f"{u.key}#{n}", u.kind, u.start, u.end, u.text))
    return Split(keyed, parser, import_specs(tree) if tree is not None else None)


def split_units(text: str, max_lines: int | None = None) -> tuple[list[Unit], str]:
    """`split_module` without the imports: (units, parser)."""
    s = split_module(text, max_lines)
    return s.units, s.parser
