"""PyCommits problems: one per unit modification, conditioned on the commit's earlier changes.

For the k-th change of a commit (editflow.coeditor.changes order) that is a modification, the
model input holds the unit in EncInput form, then the references: changes 0..k-1 of the same
commit (never later ones) with an empty edit region, newest first until the token budget is
spent, and the Jedi signatures of what the pre-edit unit uses. The target is EncOutput.

Synthetic multi-round instances (the paper's section 3.4): for a change of at least two changed
lines, a seeded random, non-empty proper subset of its changed lines is inlined into the input
and the rest is the target. Their `source` is the code as it stands after the inlined lines, so
`decode(target, source)` is the post-edit unit for every instance.

PyCommits-OneLine (section 4.1): the last changed line of a change is the target when it is an
added line, everything before it inlined; `meta["oneline"]` says `add` or `replace` (the line
replaces deleted lines of the same block). Changes whose last changed line is a deletion give
no OneLine instance.
"""
from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from editflow.coeditor import encoding as enc
from editflow.coeditor.changes import FileSides, UnitChange, commit_changes
from editflow.coeditor.settings import UnitSettings
from editflow.coeditor.units import join_lines, source_lines
from editflow.records import stable_id

# (path, pre-edit module source, unit start line, unit end line) -> signature lines
SignatureFn = Callable[[str, str, int, int], list[str]]
_TOKENS = re.compile(r"\w+|[^\w\s]")


def approx_tokens(text: str) -> int:
    """Tokens as words and punctuation: a tokenizer-free budget measure (BPE gives ~1-1.5x)."""
    return len(_TOKENS.findall(text))


@dataclass
class UnitProblem:
    """One example of py-unit (fields as the task registry's Example)."""
    old_code: str
    target: str
    source: str
    reference: str
    key: str
    changed_lines: int
    hunks: int
    meta: dict[str, Any] = field(default_factory=dict)


def hunks_of(diff: list[enc.Entry]) -> int:
    return len(enc.blocks(diff))


def context_block(c: UnitChange, diffs: bool) -> str:
    head = f"# {c.change}: {c.path} :: {c.key}"
    if not diffs:  # ablation "no diffs": the post-edit code alone
        body = "" if c.new is None else c.new.text.rstrip("\n")
        return f"{head}\n{body}" if body else head
    old = source_lines(c.old.text) if c.old else []
    new = source_lines(c.new.text) if c.new else []
    return f"{head}\n{enc.encode_context_change(enc.line_diff(old, new, adds_first=False))}"


def _within(blocks: Iterable[tuple[str, int]], budget: int) -> tuple[list[str], int, bool]:
    """Blocks (text, tokens) in order while they fit the budget; whether any was left out."""
    kept, used = [], 0
    for b, n in blocks:
        if used + n > budget:
            return kept, used, True
        kept.append(b)
        used += n
    return kept, used, False


BlockCache = dict[int, tuple[str, int]]   # change order -> (context block, its tokens)


def _block(c: UnitChange, diffs: bool, cache: BlockCache) -> tuple[str, int]:
    got = cache.get(c.order)
    if got is None:
        text = context_block(c, diffs)
        got = cache[c.order] = (text, approx_tokens(text))
    return got


def references(prior: list[UnitChange], signatures: list[str], s: UnitSettings,
               cache: BlockCache | None = None) -> tuple[str, dict[str, Any]]:
    """The references after the query: newest prior changes first, then signatures, in budget.

    `cache` keeps each change's block across the problems of a commit (each problem sees all
    earlier changes, so without it a commit of k changes would diff k^2 / 2 blocks)."""
    cache = {} if cache is None else cache
    sig_budget = min(s.signature_tokens, s.context_tokens) if s.signatures else 0
    sigs, sig_used, sig_cut = _within(((t, approx_tokens(t)) for t in (signatures if s.signatures else [])),
                                      sig_budget)
    blocks, used, cut = _within((_block(c, s.diffs, cache) for c in reversed(prior)),
                                s.context_tokens - sig_used)
    parts = []
    if blocks:
        parts.append("# prior changes\n" + "\n".join(reversed(blocks)))
    if sigs:
        parts.append("# signatures\n" + "\n".join(sigs))
    meta = {"prior_changes": len(prior), "prior_shown": len(blocks), "signatures": len(sigs),
            "reference_tokens": used + sig_used, "context_truncated": cut or sig_cut}
    return "\n".join(parts), meta


def render_input(c: UnitChange, v: enc.View, refs: str) -> str:
    query = f"# edit: {c.path} :: {c.key}\n{enc.encode_input(v)}"
    return f"{query}\n{refs}" if refs else query


def _problem(c: UnitChange, diff, applied: set[int], refs: str, rmeta: dict, key: str, extra: dict) -> UnitProblem:
    v = enc.view(diff, applied)
    target_atoms = [i for i in enc.atoms(diff) if i not in applied]
    meta = {"unit": c.key, "unit_kind": c.unit_kind, "order": c.order, "inlined": len(applied),
            "query_lines": len(v.lines) + 2,  # the header, the unit's lines, the closing slot
            "n_slots": v.n_slots, "changed_lines": len(target_atoms), **rmeta, **extra}
    return UnitProblem(render_input(c, v, refs), enc.encode_output(v), join_lines(v.current_lines()),
                       c.new.text, key, len(target_atoms), hunks_of(diff), meta)


def oneline_applied(diff: list[enc.Entry]) -> tuple[set[int], str] | None:
    """Atoms inlined for the OneLine instance, and `add` | `replace`; None when not eligible.

    The target is the last added line of the last changed block; a block that also deletes
    lines is a replacement (its deleted lines are inlined: "delete the modified line").
    """
    bl = enc.blocks(diff)
    if not bl:
        return None
    adds = [i for i in bl[-1] if diff[i].op == "+"]
    if not adds:
        return None
    target = adds[-1]
    kind = "replace" if len(adds) < len(bl[-1]) else "add"
    return set(enc.atoms(diff)) - {target}, kind


def change_problems(c: UnitChange, prior: list[UnitChange], signatures: list[str], s: UnitSettings,
                    edit_key: str, skips: Counter, oneline: bool = False,
                    cache: BlockCache | None = None) -> list[UnitProblem]:
    """The problems of one modification: the plain one, synthetic multi-round ones, OneLine."""
    diff = enc.line_diff(source_lines(c.old.text), source_lines(c.new.text))
    changed = enc.atoms(diff)
    if len(source_lines(c.old.text)) + len([i for i in changed if diff[i].op == "+"]) + 1 > s.max_placeholders:
        skips["unit_too_large"] += 1
        return []
    refs, rmeta = references(prior, signatures, s, cache)
    if oneline:
        got = oneline_applied(diff)
        if got is None:
            skips["oneline_ends_in_deletion"] += 1
            return []
        applied, kind = got
        return [_problem(c, diff, applied, refs, rmeta, c.key, {"oneline": kind, "synthetic": False})]
    out = [_problem(c, diff, set(), refs, rmeta, c.key, {"synthetic": False})]
    if len(changed) >= 2:
        rng = random.Random(stable_id(str(s.seed), edit_key, c.key))
        for r in range(s.synthetic_per_change):
            k = rng.randint(1, len(changed) - 1)
            applied = set(rng.sample(changed, k))
            out.append(_problem(c, diff, applied, refs, rmeta, f"{c.key}|multi{r + 1}", {"synthetic": True}))
    return out


@dataclass
class CommitProblems:
    problems: list[tuple[str, UnitProblem]]   # (path, problem) in the commit's order
    changes: Counter                          # addition / deletion / modification counts
    skips: Counter
    files: list[FileSides]


def commit_problems(edits: list[dict[str, Any]], settings: UnitSettings | None = None,
                    signature_fn: SignatureFn | None = None, oneline: bool = False) -> CommitProblems:
    """Every py-unit problem of one commit (all its .py EDIT_SCHEMA rows, as dicts)."""
    s = (settings or UnitSettings()).resolved()
    skips: Counter = Counter()
    changes, files = commit_changes(edits, s.max_file_lines, skips)
    sources = {f.path: f.old_source for f in files}
    commit = next((e.get("commit") or "" for e in edits), "")
    out: list[tuple[str, UnitProblem]] = []
    cache: BlockCache = {}
    for i, c in enumerate(changes):
        if c.change != "modification":
            continue
        sigs: list[str] = []
        if s.signatures and signature_fn is not None and sources.get(c.path):
            try:
                sigs = signature_fn(c.path, sources[c.path], c.old.start, c.old.end)
            except Exception:  # Jedi on hostile code: the problem keeps going without signatures
                skips["signatures_failed"] += 1
        for p in change_problems(c, changes[:i], sigs, s, f"{commit}:{c.path}", skips, oneline, cache):
            out.append((c.path, p))
    return CommitProblems(out, Counter(c.change for c in changes), skips, files)
