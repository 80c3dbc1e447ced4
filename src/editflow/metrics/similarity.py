"""Edit similarity: character-level similarity ratio of the space-joined tokens (teco).

`fuzz.ratio` of rapidfuzz is 100 * (1 - Indel distance / (len(a) + len(b))), the float
version of fuzzywuzzy's ratio that teco used; 0 when either token list is empty.
"""
from __future__ import annotations


def edit_sim(gold_tokens: list[str], pred_tokens: list[str]) -> float:
    if not gold_tokens or not pred_tokens:
        return 0.0
    from rapidfuzz import fuzz

    return float(fuzz.ratio(" ".join(gold_tokens), " ".join(pred_tokens)))
