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
    """DP over suffixes src[i:], dst[j:], rolling over i (memory O(len(dst) * jump)).

    f*[j, c] / t*[j, c]: cost from (i, j) with cursor distance c, not deleting / deleting;
    *n = row i + 1 (already done), *c = row i. The (j, c) layout keeps one cell's states
    together in memory.
    """
    n_in = src.shape[0]
    n_out = dst.shape[0]
    big = np.int32(1 << 30)
    w = jump + 1
    fn = np.full((n_out + 1, w), big, dtype=np.int32)
    tn = np.full((n_out + 1, w), big, dtype=np.int32)
    fc = np.full((n_out + 1, w), big, dtype=np.int32)
    tc = np.full((n_out + 1, w), big, dtype=np.int32)
    t1 = 1 if jump >= 1 else 0
    for i in range(n_in, -1, -1):
        has_in = i < n_in
        si = src[i] if has_in else -1
        for j in range(n_out, -1, -1):
            if not has_in and j == n_out:          # both exhausted
                for c in range(w):
                    fc[j, c] = 0
                    tc[j, c] = c + 1               # still deleting: move back and end
                continue
            # deleting with the cursor at 0: only K (E there would be pointless)
            t0 = tn[j, t1] if has_in else big
            # not deleting: C (c) + one of D / A / S (1) ...
            best_edit = t0
            if has_in and fn[j, 0] < best_edit:
                best_edit = fn[j, 0]
            if j < n_out and fc[j + 1, 0] < best_edit:
                best_edit = fc[j + 1, 0]
            # ... or a free match, which moves the cursor one further away
            if has_in and j < n_out and si == dst[j]:
                for c in range(w):
                    nc = c + 1 if c < jump else jump
                    v = best_edit + 1 + c
                    m = fn[j + 1, nc]
                    fc[j, c] = m if m < v else v
            else:
                for c in range(w):
                    fc[j, c] = best_edit + 1 + c
            tc[j, 0] = t0
            f0 = fc[j, 0]
            for c in range(1, w):                  # K, or C (c) + E (1)
                end = 1 + c + f0
                if has_in:
                    nc = c + 1 if c < jump else jump
                    k = tn[j, nc]
                    tc[j, c] = k if k < end else end
                else:
                    tc[j, c] = end
        fn, fc = fc, fn
        tn, tc = tc, tn
    return fn[0, jump]


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
