"""The languages the tree library reads, behind one interface.

A `Language` turns code into a `Node` tree and back, says whether code is grammatical, and
names the node types that hold statement lists (where EditCompletion fragments are cut).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from editflow.trees.node import Node


@dataclass(frozen=True)
class Language:
    name: str
    extensions: tuple[str, ...]
    parse: Callable[[str], Node]          # ValueError/SyntaxError on code that does not parse
    unparse: Callable[[Node], str]        # ValueError (TreeError) on a tree off the grammar
    is_valid: Callable[[str], bool]


def _python() -> Language:
    from editflow.trees import python_ast
    return Language("python", _EXTENSIONS["python"], python_ast.parse, python_ast.unparse, python_ast.is_valid)


def _csharp() -> Language:
    from editflow.trees import csharp
    return Language("csharp", _EXTENSIONS["csharp"], csharp.parse, csharp.unparse, csharp.is_valid)


_MAKERS = {"python": _python, "csharp": _csharp}
_EXTENSIONS = {"python": (".py",), "csharp": (".cs",)}
_CACHE: dict[str, Language] = {}


def get(name: str) -> Language:
    if name not in _MAKERS:
        raise ValueError(f"unknown tree language {name!r}; known: {', '.join(_MAKERS)}")
    if name not in _CACHE:
        _CACHE[name] = _MAKERS[name]()
    return _CACHE[name]


def for_path(path: str) -> Language | None:
    """The language of a file by its extension (None when no tree language reads it)."""
    for name, exts in _EXTENSIONS.items():
        if path.endswith(exts):
            return get(name)
    return None
