"""Edit costs between a prediction and its reference, on the raw text.

These count how much work a user still has to do to turn the model's output into the
reference, so they are computed on the raw strings (not on model tokens): a keystroke or a
changed line costs the same whatever tokenizer the model had.

- `keystroke_distance`: Coeditor's keystroke distance as its paper defines it (appendix A.1),
  cursor_jump_cost = 4.
- `keystroke_distance_released`: the same operations with the conventions of the authors'
  released implementation (it differs from A.1 in one rule, below).
- `levenshtein`: character edit distance (insertions, deletions, substitutions).
- `lines_changed`: lines only in the prediction + lines only in the reference, under the
  longest common subsequence of the two line lists (i.e. `-` plus `+` lines of a minimal
  line diff; a modified line counts 2).

Keystroke distance: a state is (i, j, cursor_dis, deleting) with i / j characters of input /
output done. Operations (appendix A.1):
  M match (0): input char == output char, not deleting; cursor_dis += 1
  D delete (1), A add (1), S start deleting (1): need cursor_dis == 0 and not deleting
  C move the cursor here (min(cursor_dis, jump cost)): cursor_dis = 0, any state
  K keep deleting (0): needs deleting; one more input char gone
  E end deleting (1): needs cursor_dis == 0 and deleting
The start state has cursor_dis = jump cost (the cursor is somewhere else); the end state is
all input and output done, not deleting (the cursor may be anywhere).

The paper's K leaves the cursor where it is, so a selection of any length is deleted for
S + E = 2 keys. The released code's K moves the cursor one further away (capped at the jump
cost), so ending a deletion of n characters costs C(min(n, 4)) + E: 2 + min(n, 4) keys. That
is the only difference (both start with the cursor away and need no cursor move at the end);
`a0123456789b` -> `ab` costs 4 + 2 = 6 under A.1 and 4 + 1 + 4 + 1 = 10 released.

`keystroke_distance_rules` below is a direct search over the states with the operations as
written (either K convention), and `keystroke_distance_reference` a transcription of the
released recursion: the tests compare the fast kernels with both.
"""
from __future__ import annotations

import numpy as np

from editflow.metrics._jit import jit

CURSOR_JUMP_COST = 4
_BIG = 1 << 40


def _codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)


@jit
def _keystroke_kernel(src, dst, jump, k_moves_cursor, lo, hi):  # pragma: no cover - compiled
    """DP over suffixes src[i:], dst[j:], rolling over i (memory O(len(dst) * jump)).

    f*[j, c] / t*[j, c]: cost from (i, j) with cursor distance c, not deleting / deleting;
    *n = row i + 1 (already done), *c = row i. The (j, c) layout keeps one cell's states
    together in memory. Row i is computed for lo[i] <= j <= hi[i] only, every other cell is
    unreachable: the result is the cheapest path inside that region (the whole table when
    lo = 0 and hi = len(dst) everywhere), which the caller proves optimal (`_distance`).
    `k_moves_cursor`: K adds 1 to the cursor distance (released code) or keeps it (A.1).
    """
    n_in = src.shape[0]
    n_out = dst.shape[0]
    big = np.int32(1 << 30)
    w = jump + 1
    fn = np.full((n_out + 2, w), big, dtype=np.int32)
    tn = np.full((n_out + 2, w), big, dtype=np.int32)
    fc = np.full((n_out + 2, w), big, dtype=np.int32)
    tc = np.full((n_out + 2, w), big, dtype=np.int32)
    k0 = 1 if (k_moves_cursor and jump >= 1) else 0   # cursor distance after S then K
    t_states = w if k_moves_cursor else 1              # A.1: deleting keeps the cursor at 0
    for i in range(n_in, -1, -1):
        has_in = i < n_in
        si = src[i] if has_in else -1
        row_lo = lo[i]
        row_hi = hi[i]
        # cells this row reads outside its own range and outside row i + 1's are unreachable
        for c in range(w):
            fc[row_hi + 1, c] = big
            tc[row_hi + 1, c] = big
        if has_in:
            for j in range(row_lo, min(lo[i + 1], row_hi + 2)):
                for c in range(w):
                    fn[j, c] = big
                    tn[j, c] = big
            for j in range(max(hi[i + 1] + 1, row_lo), row_hi + 2):
                for c in range(w):
                    fn[j, c] = big
                    tn[j, c] = big
        for j in range(row_hi, row_lo - 1, -1):
            if not has_in and j == n_out:          # both done: nothing left, cursor anywhere
                for c in range(w):
                    fc[j, c] = 0
            else:
                # not deleting: C (c) + one of D / A / S-then-K (1) ...
                best_edit = big
                if has_in:
                    best_edit = fn[j, 0]
                    if tn[j, k0] < best_edit:
                        best_edit = tn[j, k0]
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
            # deleting: K, or C (c) + E (1)
            f0 = fc[j, 0]
            for c in range(t_states):
                end = 1 + c + f0
                if k_moves_cursor and c == 0 and (has_in or j < n_out):
                    end = big                      # released: E only after a move (or at the end)
                if has_in:
                    if k_moves_cursor:
                        nc = c + 1 if c < jump else jump
                    else:
                        nc = c
                    k = tn[j, nc]
                    tc[j, c] = k if k < end else end
                else:
                    tc[j, c] = end
        fn, fc = fc, fn
        tn, tc = tc, tn
    return fn[0, jump]


@jit
def _popcount(x):  # pragma: no cover - compiled
    x = x - ((x >> np.uint64(1)) & np.uint64(0x5555555555555555))
    x = (x & np.uint64(0x3333333333333333)) + ((x >> np.uint64(2)) & np.uint64(0x3333333333333333))
    x = (x + (x >> np.uint64(4))) & np.uint64(0x0F0F0F0F0F0F0F0F)
    return np.int64((x * np.uint64(0x0101010101010101)) >> np.uint64(56))


@jit
def _lcs_zero_counts(a_ids, masks, n_words):  # pragma: no cover - compiled
    """Bit-parallel LCS (Hyyro's row update) of a against the text behind `masks`.

    masks[x, w]: bit t of word w is set where the text's character t is a's character id x.
    Returns counts[i, k] = LCS(a[:i], text[:64 k]) for k < n_words and
    counts[i, n_words] = LCS(a[:i], text): the zero bits of the row vector up to there.
    """
    n = a_ids.shape[0]
    v = np.full(n_words, np.uint64(0xFFFFFFFFFFFFFFFF), dtype=np.uint64)
    counts = np.zeros((n + 1, n_words + 1), dtype=np.int32)
    for i in range(n):
        x = a_ids[i]
        carry = np.uint64(0)
        for word in range(n_words):
            old = v[word]
            p = masks[x, word]
            u = old & p
            t = old + u
            c1 = np.uint64(1) if t < old else np.uint64(0)
            total = t + carry
            c2 = np.uint64(1) if total < t else np.uint64(0)
            carry = c1 | c2
            v[word] = total | (old & ~p)
        acc = 0
        for word in range(n_words):
            counts[i + 1, word] = acc
            acc += 64 - _popcount(v[word])
        counts[i + 1, n_words] = acc
    return counts


@jit
def _allowed_ranges(fwd, bwd, n, m, q, need, lo, hi):  # pragma: no cover - compiled
    """Per row i, the hull of the 64-wide column blocks where some cell (i, j) can still lie
    on a cheap enough path: the LCS of a's and b's q-grams before the cell plus after it is
    >= `need`, both terms bounded from above at block granularity (fwd / bwd count q-grams:
    a has n - q + 1 of them, b m - q + 1). False when a row has no such block."""
    n_words = fwd.shape[1] - 1
    rows = n - q + 1
    length = m - q + 1
    last_block = m >> 6
    for i in range(n + 1):
        first = -1
        final = -1
        for k in range(last_block + 1):
            pre = fwd[min(i, rows), min(k + 1, n_words)]      # q-grams of a[:i], b[:j], j < 64 (k + 1)
            rest = max(0, length - 64 * k)                    # q-grams of b[j:], j >= 64 k
            suf = bwd[max(0, rows - i), min((rest + 63) >> 6, n_words)]
            if pre + suf >= need:
                if first < 0:
                    first = k
                final = k
        if first < 0:
            return False
        lo[i] = 64 * first
        hi[i] = min(m, 64 * final + 63)
    lo[0] = 0
    hi[n] = m
    return True


def _char_masks(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(a's character ids, masks[id, word] of b's positions holding that character, words)."""
    alphabet, a_ids = np.unique(a, return_inverse=True)
    n_words = (len(b) + 63) >> 6
    masks = np.zeros((len(alphabet), n_words), dtype=np.uint64)
    at = np.minimum(np.searchsorted(alphabet, b), len(alphabet) - 1)
    pos = np.flatnonzero(alphabet[at] == b)
    np.bitwise_or.at(masks, (at[pos], pos >> 6), np.left_shift(np.uint64(1), (pos & 63).astype(np.uint64)))
    return a_ids.astype(np.int64), masks, n_words


# Tables up to this many cells are computed whole; larger ones in the region the LCS allows.
_FULL_TABLE_CELLS = 60_000
_SLACK = 24
_WHOLE_TABLE_SHARE = 0.6   # a region above this share of the table: compute the whole table


def _trim(src: str, dst: str) -> tuple[str, str]:
    """Drop the common prefix and suffix (exact: see keystroke_distance)."""
    k = 0
    limit = min(len(src), len(dst))
    if src[:limit] == dst[:limit]:
        k = limit
    else:
        while k < limit and src[k] == dst[k]:
            k += 1
    e = 0
    while e < limit - k and src[len(src) - 1 - e] == dst[len(dst) - 1 - e]:
        e += 1
    return src[k:len(src) - e], dst[k:len(dst) - e]


def _whole_table(x: np.ndarray, y: np.ndarray, jump: int, k_moves_cursor: bool) -> int:
    n, m = len(x), len(y)
    return int(_keystroke_kernel(x, y, jump, k_moves_cursor, np.zeros(n + 1, dtype=np.int64),
                                 np.full(n + 1, m, dtype=np.int64)))


def whole_table_distance(src: str, dst: str, cursor_jump_cost: int = CURSOR_JUMP_COST,
                         k_moves_cursor: bool = False) -> int:
    """The same distance with the DP over the whole table after trimming (no LCS region):
    what editflow computed before the region, kept for the tests and the benchmark."""
    a, b = _trim(src, dst)
    return _whole_table(_codepoints(a), _codepoints(b), cursor_jump_cost, k_moves_cursor) if a or b else 0


def _distance(src: str, dst: str, jump: int, k_moves_cursor: bool, max_cells: int | None) -> int | None:
    a, b = _trim(src, dst)
    if not a and not b:
        return 0
    n, m = len(a), len(b)
    if max_cells is not None and (n + 1) * (m + 1) > max_cells:
        return None
    x, y = _codepoints(a), _codepoints(b)
    if (n + 1) * (m + 1) <= _FULL_TABLE_CELLS or n == 0:
        return _whole_table(x, y, jump, k_moves_cursor)
    # Every add (A) costs 1, in both conventions, and every character of b that a path does
    # not match is added; and every run of matches but the last is followed by an edit,
    # which first needs C (>= 1 when the jump cost is): a path costs at least
    # m - #matches + #runs - 1 = m - 1 - (its matched bigrams). Its matched bigrams before
    # cell (i, j), after it, and at most one across it are common subsequences of the two
    # texts' bigrams, so a path through (i, j) costs at least
    # m - 2 - LCS2(a[:i], b[:j]) - LCS2(a[i:], b[j:]) (LCS2: over bigrams; with a jump cost
    # of 0, characters: m - LCS(a[:i], b[:j]) - LCS(a[i:], b[j:])). With a bound U, the
    # cells where that is <= U hold every path of cost <= U; the DP over them gives the
    # cheapest path there, R. If R <= U it is the optimum (the optimal path costs <= R <= U,
    # so it is in the region); else the region of U = R holds the optimum: exact.
    q = 2 if jump >= 1 and n >= 2 and m >= 2 else 1
    gx, gy = (x, y) if q == 1 else ((x[:-1] << 21) | x[1:], (y[:-1] << 21) | y[1:])
    a_ids, masks, words = _char_masks(gx, gy)
    fwd = _lcs_zero_counts(a_ids, masks, words)
    r_ids, r_masks, _ = _char_masks(gx[::-1].copy(), gy[::-1].copy())
    bwd = _lcs_zero_counts(r_ids, r_masks, words)
    length = len(gy)
    lo, hi = np.empty(n + 1, dtype=np.int64), np.empty(n + 1, dtype=np.int64)
    whole = (n + 1) * (m + 1)

    def region_dp(bound: int) -> tuple[int | None, bool]:
        """(cheapest path in the region of `bound`, exact?); None: no path costs <= bound."""
        if not _allowed_ranges(fwd, bwd, n, m, q, length - (q - 1) - bound, lo, hi):
            return None, False
        if int((hi - lo + 1).sum()) > _WHOLE_TABLE_SHARE * whole:   # as dear as the whole
            return _whole_table(x, y, jump, k_moves_cursor), True
        return int(_keystroke_kernel(x, y, jump, k_moves_cursor, lo, hi)), False

    upper = _line_diff_cost(a, b, jump, k_moves_cursor)   # a real path: OPT <= upper
    guess = length - int(fwd[len(gx), words]) + _SLACK
    if guess < upper:
        best, exact = region_dp(guess)
        if best is not None and (exact or best <= guess):
            return best
        if best is not None:
            upper = min(upper, best)
    best, _ = region_dp(upper)                             # holds an optimal path: exact
    return best


def _line_diff_cost(a: str, b: str, jump: int, k_moves_cursor: bool) -> int:
    """The cost of one real edit sequence, an upper bound of the distance: keep the lines a
    minimal line diff keeps; per hunk, move the cursor there (<= jump), delete its old lines
    (one D per character, or S, K..., [C,] E) and type its new ones."""
    from rapidfuzz.distance import Indel

    old, new = a.splitlines(keepends=True), b.splitlines(keepends=True)
    hunks: list[list[int]] = []             # [removed characters, added characters]
    in_hunk = False
    for op in Indel.opcodes(old, new):
        if op.tag == "equal":
            in_hunk = False
            continue
        if not in_hunk:
            hunks.append([0, 0])
            in_hunk = True
        hunks[-1][0] += sum(len(line) for line in old[op.src_start:op.src_end])
        hunks[-1][1] += sum(len(line) for line in new[op.dest_start:op.dest_end])
    total = 0
    for removed, added in hunks:
        selection = 2 + (min(removed, jump) if k_moves_cursor else 0)
        total += jump + min(removed, selection) + added
    return total


def keystroke_distance(src: str, dst: str, cursor_jump_cost: int = CURSOR_JUMP_COST,
                       max_cells: int | None = None) -> int | None:
    """Keystrokes to turn `src` (the prediction) into `dst` (the reference), appendix A.1.

    A common prefix and a common suffix are matched up front (starting with the cursor away
    and matching leaves it away, and the end state costs nothing whatever the cursor), and
    long tables are computed only where an LCS bound allows an optimal path (see
    `_distance`): the tests check both against a search over the rules on random pairs.
    Returns None when the table after trimming would exceed `max_cells` (len(src) * len(dst)).
    """
    return _distance(src, dst, cursor_jump_cost, False, max_cells)


def keystroke_distance_released(src: str, dst: str, cursor_jump_cost: int = CURSOR_JUMP_COST,
                                max_cells: int | None = None) -> int | None:
    """The same with the released code's K (deleting moves the cursor away); as fast."""
    return _distance(src, dst, cursor_jump_cost, True, max_cells)


def keystroke_distance_reference(src: str, dst: str, cursor_jump_cost: int = CURSOR_JUMP_COST) -> int:
    """The released implementation's recursion, transcribed (small inputs only)."""
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


def keystroke_distance_rules(src: str, dst: str, cursor_jump_cost: int = CURSOR_JUMP_COST,
                             k_moves_cursor: bool = False) -> int:
    """Cheapest sequence of the operations as written (M D A C S K E), by uniform-cost search
    over (i, j, cursor_dis, deleting) from the start to any finished, not-deleting state.
    K keeps the cursor (appendix A.1) or moves it one away (`k_moves_cursor`, released).
    Small inputs only; the cursor distance is capped at the jump cost (C costs no more)."""
    import heapq

    jump = cursor_jump_cost
    n, m = len(src), len(dst)
    start = (0, 0, jump, False)
    best = {start: 0}
    heap = [(0, start)]
    while heap:
        d, state = heapq.heappop(heap)
        if d > best[state]:
            continue
        i, j, c, deleting = state
        if i == n and j == m and not deleting:
            return d
        moves = [(min(c, jump), (i, j, 0, deleting))]                          # C
        if deleting:
            if i < n:                                                          # K
                moves.append((0, (i + 1, j, min(c + 1, jump) if k_moves_cursor else c, True)))
            if c == 0:                                                         # E
                moves.append((1, (i, j, 0, False)))
        else:
            if i < n and j < m and src[i] == dst[j]:                           # M
                moves.append((0, (i + 1, j + 1, min(c + 1, jump), False)))
            if c == 0:
                if i < n:
                    moves.append((1, (i + 1, j, 0, False)))                    # D
                if j < m:
                    moves.append((1, (i, j + 1, 0, False)))                    # A
                moves.append((1, (i, j, 0, True)))                             # S
        for cost, nxt in moves:
            if d + cost < best.get(nxt, _BIG):
                best[nxt] = d + cost
                heapq.heappush(heap, (d + cost, nxt))
    raise AssertionError("the finished state is always reachable")


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
