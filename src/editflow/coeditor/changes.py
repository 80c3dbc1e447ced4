"""A commit's .py edits as ordered unit changes (PyCommits' additions, deletions, modifications).

Both sides of every changed file are split into units (editflow.coeditor.units) and matched by
unit key: a key on both sides with different text is a modification, one only on the new side
an addition, one only on the old side a deletion. Git does not record the order of a commit's
changes, so the paper's heuristic orders them: a module's changes come before those of the
modules that import it, and within a file from top to bottom.
"""
from __future__ import annotations

import ast
import heapq
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from editflow.coeditor.units import ImportSpec, Split, Unit, Unparseable, import_specs, split_module

CHANGE_KINDS = ("addition", "deletion", "modification")


@dataclass(frozen=True)
class UnitChange:
    path: str
    key: str
    unit_kind: str
    change: str               # addition | deletion | modification
    old: Unit | None
    new: Unit | None
    order: int = 0            # position in the commit's order (set by `commit_changes`)


@dataclass
class FileSides:
    """One changed file's units on both sides; `old_source` feeds the signature finder."""
    path: str
    old_path: str | None
    old_source: str | None
    new_source: str | None
    old_units: list[Unit]
    new_units: list[Unit]
    imports: set[str] = field(default_factory=set)   # of the newest side that parsed with ast


def module_name(path: str) -> str:
    """pkg/sub/mod.py -> pkg.sub.mod; pkg/__init__.py -> pkg."""
    name = path[:-3] if path.endswith(".py") else path
    parts = [p for p in name.split("/") if p]
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(source: str | tuple[ImportSpec, ...] | None, path: str) -> set[str]:
    """Dotted names a module imports (relative imports resolved against its package).

    `source` is the module's text or its `units.import_specs`."""
    if not source:
        return set()
    specs = source
    if isinstance(source, str):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                specs = import_specs(ast.parse(source))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return set()
    package = module_name(path).split(".")
    if not path.endswith("__init__.py"):
        package = package[:-1]
    out: set[str] = set()
    for module, level, names in specs:
        base = module or ""
        if level:
            up = package[: len(package) - (level - 1)] if level > 1 else package
            base = ".".join(up + ([base] if base else []))
        if base:
            out.add(base)
            out.update(f"{base}.{n}" for n in names)
    return out


def _provides(path_module: str, name: str) -> bool:
    """Whether importing `name` reaches the module at this path (src/ layouts included)."""
    return path_module == name or path_module.endswith("." + name)


def import_order(files: list[FileSides]) -> list[FileSides]:
    """Imported modules first (Kahn's algorithm, ties by path; cycles broken by path)."""
    by_path = {f.path: f for f in files}
    mods = {f.path: module_name(f.path) for f in files}
    deps: dict[str, set[str]] = {p: set() for p in by_path}
    for f in files:
        names = f.imports
        for other, mod in mods.items():
            if other != f.path and mod and any(_provides(mod, n) for n in names):
                deps[f.path].add(other)
    users: dict[str, set[str]] = {p: set() for p in by_path}
    for p, ds in deps.items():
        for d in ds:
            users[d].add(p)
    waiting = {p: len(ds) for p, ds in deps.items()}
    ready = [p for p, n in waiting.items() if n == 0]
    heapq.heapify(ready)
    order: list[str] = []
    done: set[str] = set()
    while len(order) < len(by_path):
        if not ready:  # a cycle: take its smallest path
            heapq.heappush(ready, min(p for p in by_path if p not in done))
        p = heapq.heappop(ready)
        if p in done:
            continue
        done.add(p)
        order.append(p)
        for u in sorted(users[p]):
            waiting[u] -= 1
            if waiting[u] == 0 and u not in done:
                heapq.heappush(ready, u)
    return [by_path[p] for p in order]


def _check_text(text: str | None) -> None:
    if text is None:
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Unparseable("not_utf8", "lone surrogates in the decoded text") from None
    if "\x00" in text:
        raise Unparseable("binary", "NUL character")


def file_sides(edit: dict[str, Any], max_file_lines: int) -> FileSides:
    """Both sides of one EDIT_SCHEMA row split into units; Unparseable is a counted skip."""
    splits: list[Split | None] = []
    for side in ("old_source", "new_source"):
        text = edit.get(side)
        _check_text(text)
        splits.append(split_module(text, max_file_lines) if text is not None else None)
    imports = next((s.imports for s in reversed(splits) if s is not None and s.imports is not None), None)
    return FileSides(edit["path"], edit.get("old_path"), edit.get("old_source"), edit.get("new_source"),
                     splits[0].units if splits[0] else [], splits[1].units if splits[1] else [],
                     imported_modules(imports, edit["path"]))


def unit_changes(f: FileSides) -> list[UnitChange]:
    """A file's unit changes, top to bottom (by the new side's position; deletions by the old)."""
    old = {u.key: u for u in f.old_units}
    new = {u.key: u for u in f.new_units}
    out: list[tuple[int, int, UnitChange]] = []
    for u in f.new_units:
        o = old.get(u.key)
        if o is None:
            out.append((u.start, 1, UnitChange(f.path, u.key, u.kind, "addition", None, u)))
        elif o.text != u.text:
            out.append((u.start, 1, UnitChange(f.path, u.key, u.kind, "modification", o, u)))
    # a deletion sits where the unit after it (on the old side) now starts
    next_new_start = len(f.new_units) and f.new_units[-1].end
    for i, u in enumerate(f.old_units):
        if u.key in new:
            continue
        after = next((new[v.key].start for v in f.old_units[i + 1:] if v.key in new), next_new_start)
        out.append((after, 0, UnitChange(f.path, u.key, u.kind, "deletion", u, None)))
    out.sort(key=lambda t: (t[0], t[1]))
    return [c for _, _, c in out if not _blank(c)]


def _blank(c: UnitChange) -> bool:
    """A change between blank-line regions (they shift as definitions come and go): no code."""
    return all(u is None or not u.text.strip() for u in (c.old, c.new))


def commit_changes(edits: Iterable[dict[str, Any]], max_file_lines: int = 5000,
                   skips: Counter | None = None) -> tuple[list[UnitChange], list[FileSides]]:
    """All unit changes of one commit's .py edits, in the paper's order.

    Files that cannot be split (see Unparseable reasons) are counted in `skips` and left out.
    """
    files = []
    for e in edits:
        if e.get("kind", "python") != "python":
            continue
        try:
            files.append(file_sides(e, max_file_lines))
        except Unparseable as exc:
            if skips is not None:
                skips[exc.reason] += 1
    ordered = import_order(files)
    changes: list[UnitChange] = []
    for f in ordered:
        changes.extend(unit_changes(f))
    changes = [UnitChange(c.path, c.key, c.unit_kind, c.change, c.old, c.new, i) for i, c in enumerate(changes)]
    return changes, ordered
