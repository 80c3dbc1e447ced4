"""ROUGE-L exactly as the PyPI `rouge` package (pltrdy, 1.0.1) computes it, as teco used it.

teco called `Rouge().get_scores(hyps=" ".join(pred), refs=" ".join(gold), avg=True)`. That
package's ROUGE-L is the *summary-level* variant, with quirks that matter on code:
- the text is cut into "sentences" at every "." (so `np.array` is two sentences), each
  sentence whitespace-normalized; empty pieces are dropped;
- words are the pieces of `sentence.split(" ")`, and counts are of *distinct* words
  (`exclusive=True` makes every n-gram collection a set): m = distinct reference words,
  n = distinct prediction words;
- for every reference sentence and every prediction sentence it reconstructs one LCS (with a
  fixed tie-break) and takes the union of the LCS *words as a set*; llcs = its size;
- r = llcs / m, p = llcs / n, f = 2pr / (p + r + 1e-8); a ValueError (no sentence at all)
  gives 0 in teco.
The package's own implementation uses a dict-based O(nm) table and a recursive
reconstruction, which needs gigabytes and deep recursion on whole files. This module
computes the same numbers with an array LCS (compiled with numba when available);
tests/test_metrics*.py checks equality with the package on thousands of pairs.
"""
from __future__ import annotations

import numpy as np

from editflow.metrics._jit import jit


@jit
def _union_lcs_words(ref_ids, ref_offsets, hyp_ids, hyp_offsets, n_words):  # pragma: no cover
    """Mark every word id that appears in the reconstructed LCS of some (ref, hyp) sentence pair.

    Reconstruction follows the package: from (len(x), len(y)) back, take x[i-1] if it equals
    y[j-1], else go up when table[i-1, j] > table[i, j-1], else left. x = reference words.
    """
    seen = np.zeros(n_words, dtype=np.bool_)
    for r in range(ref_offsets.shape[0] - 1):
        x = ref_ids[ref_offsets[r]:ref_offsets[r + 1]]
        n = x.shape[0]
        for h in range(hyp_offsets.shape[0] - 1):
            y = hyp_ids[hyp_offsets[h]:hyp_offsets[h + 1]]
            m = y.shape[0]
            table = np.zeros((n + 1, m + 1), dtype=np.int32)
            for i in range(1, n + 1):
                xi = x[i - 1]
                for j in range(1, m + 1):
                    if xi == y[j - 1]:
                        table[i, j] = table[i - 1, j - 1] + 1
                    else:
                        up = table[i - 1, j]
                        left = table[i, j - 1]
                        table[i, j] = up if up > left else left
            i = n
            j = m
            while i > 0 and j > 0:
                if x[i - 1] == y[j - 1]:
                    seen[x[i - 1]] = True
                    i -= 1
                    j -= 1
                elif table[i - 1, j] > table[i, j - 1]:
                    i -= 1
                else:
                    j -= 1
    return seen


def _sentences(text: str) -> list[list[str]]:
    return [" ".join(piece.split()).split(" ") for piece in text.split(".") if len(piece) > 0]


def _encode(sentences: list[list[str]], vocab: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    ids: list[int] = []
    offsets = [0]
    for words in sentences:
        ids.extend(vocab.setdefault(w, len(vocab)) for w in words)
        offsets.append(len(ids))
    return np.asarray(ids, dtype=np.int64), np.asarray(offsets, dtype=np.int64)


# One LCS table (int32) above this many cells (400 MB) is not built: the scores are None.
MAX_TABLE_CELLS = 100_000_000


def rouge_l(gold_tokens: list[str], pred_tokens: list[str]) -> tuple[float, float, float] | tuple[None, None, None]:
    """(precision, recall, F1) x 100 of teco's ROUGE-L on the space-joined tokens.

    (None, None, None) when one (reference sentence, prediction sentence) table would exceed
    MAX_TABLE_CELLS (the package itself would need tens of gigabytes there).
    """
    if not gold_tokens or not pred_tokens:
        return 0.0, 0.0, 0.0
    ref = _sentences(" ".join(gold_tokens))
    hyp = _sentences(" ".join(pred_tokens))
    if not ref or not hyp:
        return 0.0, 0.0, 0.0
    if (max(map(len, ref)) + 1) * (max(map(len, hyp)) + 1) > MAX_TABLE_CELLS:
        return None, None, None
    vocab: dict[str, int] = {}
    ref_ids, ref_off = _encode(ref, vocab)
    hyp_ids, hyp_off = _encode(hyp, vocab)
    m = len(set(w for s in ref for w in s))
    n = len(set(w for s in hyp for w in s))
    llcs = int(_union_lcs_words(ref_ids, ref_off, hyp_ids, hyp_off, len(vocab)).sum())
    r = llcs / m
    p = llcs / n
    f = 2.0 * ((p * r) / (p + r + 1e-8))
    return 100.0 * p, 100.0 * r, 100.0 * f


def rouge_l_package(gold_tokens: list[str], pred_tokens: list[str]) -> tuple[float, float, float]:
    """The same through the `rouge` package itself (slow; for tests and small inputs)."""
    import sys

    from rouge import Rouge

    if not gold_tokens or not pred_tokens:
        return 0.0, 0.0, 0.0
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    try:
        s = Rouge(metrics=["rouge-l"]).get_scores(
            hyps=" ".join(pred_tokens), refs=" ".join(gold_tokens), avg=True)["rouge-l"]
    except ValueError:
        return 0.0, 0.0, 0.0
    return 100.0 * s["p"], 100.0 * s["r"], 100.0 * s["f"]
