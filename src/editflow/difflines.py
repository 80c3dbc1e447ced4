"""How big an edit is, counted the way OpenCodeEdit counts it (its diff filter).

Two numbers describe an edit of a text, both from difflib's SequenceMatcher over lines:

- modified lines: for every non-equal opcode (replace, delete, insert) the larger of its two
  sides, max(i2 - i1, j2 - j1). A block of 3 lines rewritten as 3 lines is 3 modified lines,
  not 6 as `lines_added + lines_deleted` (the mined edits' git numstat) would count it.
- hunks: the groups of changes a unified diff with 3 context lines shows, i.e.
  `SequenceMatcher.get_grouped_opcodes(3)`: changes whose gap is at most 6 unchanged lines
  share one hunk. An unchanged text has 0 hunks.

The matcher runs with difflib's defaults (autojunk on), as OpenCodeEdit's filter does; it
only matters for texts over 200 lines. Lines are `str.splitlines()`, so a missing final
newline is not a change.

Used by `editflow synth`'s diff filter; the dataset stage's DT filter can call
`count_changes(old, new)` on the same terms.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass

CONTEXT_LINES = 3  # context lines around a change that make two changes one hunk


@dataclass(frozen=True)
class DiffCount:
    """Size of one edit: modified lines and hunks (see the module docstring)."""
    modified_lines: int
    hunks: int


def _matcher(old_lines: list[str], new_lines: list[str]) -> difflib.SequenceMatcher:
    return difflib.SequenceMatcher(None, old_lines, new_lines)


def _modified(sm: difflib.SequenceMatcher) -> int:
    return sum(max(i2 - i1, j2 - j1) for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal")


def _hunks(sm: difflib.SequenceMatcher, context: int) -> int:
    return sum(1 for _ in sm.get_grouped_opcodes(context))


def modified_lines(old_lines: list[str], new_lines: list[str]) -> int:
    """Sum over non-equal opcodes of max(i2 - i1, j2 - j1)."""
    return _modified(_matcher(old_lines, new_lines))


def hunk_count(old_lines: list[str], new_lines: list[str], context: int = CONTEXT_LINES) -> int:
    """Hunks of a unified diff with `context` lines of context (0 when nothing changed)."""
    return _hunks(_matcher(old_lines, new_lines), context)


def count_changes(old: str | None, new: str | None) -> DiffCount:
    """Modified lines and hunks between two texts (None counts as the empty text)."""
    sm = _matcher((old or "").splitlines(), (new or "").splitlines())
    return DiffCount(modified_lines=_modified(sm), hunks=_hunks(sm, CONTEXT_LINES))
