"""Edit costs between a prediction and its reference, on the raw text.

These count how much work a user still has to do to turn the model's output into the
reference, so they are computed on the raw strings (not on model tokens): a keystroke or a
changed line costs the same whatever tokenizer the model had.

- `keystroke_distance`: Coeditor's keystroke distance (appendix A.1), cursor_jump_cost = 4.
- `levenshtein`: character edit distance (insertions, deletions, substitutions).
- `lines_changed`: lines only in the prediction + lines only in the reference, under the
  longest common subsequence of the two line lists (i.e. `-` plus `+` lines of a minimal
  line diff; a modified line counts 2).

Keystroke distance, as Coeditor defines it: a state is (i, j, cursor_dis, deleting) with
i / j characters of input / output left. Operations:
  M match (0): input char == output char, not deleting; cursor_dis += 1 (capped at the jump cost)
  D delete (1), A add (1), S start deleting (1): need cursor_dis == 0 and not deleting
  C move the cursor here (min(cursor_dis, jump cost)): cursor_dis = 0
  K keep deleting (0): needs deleting; one more input char gone, cursor_dis += 1
  E end deleting (1): needs cursor_dis == 0
The start state has cursor_dis = jump cost (the cursor is somewhere else). The conventions
that the paper leaves open (K moves the cursor away, the end state needs no cursor move) follow
the authors' released implementation; `keystroke_distance_reference` below is a direct,
slow transcription of the rules that the tests compare the fast kernel against.
"""
from __future__ import annotations

import numpy as np

from editflow.metrics._jit import jit

CURSOR_JUMP_COST = 4
_BIG = 1 << 40


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


@jit
def _keystroke_kernel(src, dst, jump):  # pragma: no cover - compiled
    """DP over suffixes src[i:], dst[j:], rolling over i (memory O(len(dst) * jump))."""
    n_in = src.shape[0]
    n_out = dst.shape[0]
    big = 1 << 40
    # F[c, j] / T[c, j]: not deleting / deleting, for the current row i; *_next for row i + 1.
    f_next = np.full((jump + 1, n_out + 1), big, dtype=np.int64)
    t_next = np.full((jump + 1, n_out + 1), big, dtype=np.int64)
    f_cur = np.full((jump + 1, n_out + 1), big, dtype=np.int64)
    t_cur = np.full((jump + 1, n_out + 1), big, dtype=np.int64)
    for i in range(n_in, -1, -1):
        for j in range(n_out, -1, -1):
            if i == n_in and j == n_out:
                for c in range(jump + 1):
                    f_cur[c, j] = 0
                    t_cur[c, j] = c + 1
                continue
            # deleting, cursor at 0: the only move is K (E needs cursor_dis > 0 to matter)
            t0 = t_next[1 if jump >= 1 else 0, j] if i < n_in else big
            t_cur[0, j] = t0
            # not deleting: C (cursor_dis) + D / A / S (1), or a free match
            best_edit = t0
            if i < n_in and f_next[0, j] < best_edit:
                best_edit = f_next[0, j]
            if j < n_out and f_cur[0, j + 1] < best_edit:
                best_edit = f_cur[0, j + 1]
            match = i < n_in and j < n_out and src[i] == dst[j]
            for c in range(jump + 1):
                best = best_edit + 1 + c
                if match:
                    nc = c + 1 if c < jump else jump
                    if f_next[nc, j + 1] < best:
                        best = f_next[nc, j + 1]
                f_cur[c, j] = best
            for c in range(1, jump + 1):
                best = big
                if i < n_in:
                    nc = c + 1 if c < jump else jump
                    best = t_next[nc, j]
                end = 1 + c + f_cur[0, j]
                if end < best:
                    best = end
                t_cur[c, j] = best
        f_next, f_cur = f_cur, f_next
        t_next, t_cur = t_cur, t_next
    return f_next[jump, 0]


def keystroke_distance(src: str, dst: str, cursor_jump_cost: int = CURSOR_JUMP_COST,
                       max_cells: int | None = None) -> int | None:
    """Keystrokes to turn `src` (the prediction) into `dst` (the reference).

    A common prefix and a common suffix are matched up front (starting with the cursor away
    and matching leaves it away, and the end state costs nothing whatever the cursor): the
    tests check on thousands of random pairs that this equals the full dynamic program.
    Returns None when the remaining table would exceed `max_cells` (len(src) * len(dst)).
    """
    k = 0
    limit = min(len(src), len(dst))
    while k < limit and src[k] == dst[k]:
        k += 1
    e = 0
    while e < limit - k and src[len(src) - 1 - e] == dst[len(dst) - 1 - e]:
        e += 1
    a, b = src[k:len(src) - e], dst[k:len(dst) - e]
    if not a and not b:
        return 0
    if max_cells is not None and (len(a) + 1) * (len(b) + 1) > max_cells:
        return None
    return int(_keystroke_kernel(_codepoints(a), _codepoints(b), cursor_jump_cost))


def keystroke_distance_reference(src: str, dst: str, cursor_jump_cost: int = CURSOR_JUMP_COST) -> int:
    """The rules of the module docstring as a memoized recursion (small inputs only)."""
    import functools
    import sys

    jump = cursor_jump_cost
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * (len(src) + len(dst)) + 1000))

    @functools.lru_cache(maxsize=None)
    def cost(i: int, j: int, c: int, deleting: bool) -> int:
        if i == len(src) and j == len(dst):
            return c + 1 if deleting else 0
        options = []
        if deleting:
            if i < len(src):                              # K
                options.append(cost(i + 1, j, min(c + 1, jump), True))
            if c > 0:                                     # C then E
                options.append(c + 1 + cost(i, j, 0, False))
        else:
            if i < len(src) and j < len(dst) and src[i] == dst[j]:   # M
                options.append(cost(i + 1, j + 1, min(c + 1, jump), False))
            if i < len(src):                              # C then D
                options.append(c + 1 + cost(i + 1, j, 0, False))
            if j < len(dst):                              # C then A
                options.append(c + 1 + cost(i, j + 1, 0, False))
            options.append(c + 1 + cost(i, j, 0, True))   # C then S
        return min(options) if options else _BIG

    return cost(0, 0, jump, False)


def levenshtein(a: str, b: str) -> int:
    """Character edit distance (unit-cost insert, delete, substitute)."""
    from rapidfuzz.distance import Levenshtein

    return int(Levenshtein.distance(a, b))


def lines_changed(src: str, dst: str) -> int:
    """Lines deleted + lines added by a minimal (LCS) line diff of src -> dst.

    Lines are compared exactly (trailing whitespace counts); text is split with
    str.splitlines(), so a missing final newline is not a change.
    """
    from rapidfuzz.distance import Indel

    return int(Indel.distance(src.splitlines(), dst.splitlines()))
