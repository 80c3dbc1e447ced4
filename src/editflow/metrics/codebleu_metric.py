"""CodeBLEU (Python) per example, from the pinned PyPI `codebleu` 0.7.0.

The score is the package's `calc_codebleu([gold], [pred], "python")` x 100, assembled from
the package's own four components so that (1) the n-gram parts use our tokens (the same
tokens as BLEU; the package's default tokenizer is `str.split`, which is what `whitespace`
gives) and (2) the keyword list and tree-sitter language are loaded once, not per call:
  0.25 ngram (BLEU) + 0.25 keyword-weighted ngram + 0.25 AST subtree match
  + 0.25 data-flow match
The syntax and data-flow parts parse the raw (stripped) texts with tree-sitter-python.
Known behaviour of 0.7.0 that we keep, so the numbers equal the package's: when the
reference has no data flow at all (e.g. `x`), the data-flow term counts as 1 (`score or 1`).
Edge cases: an empty prediction or reference (no tokens) scores 0; if the package raises
(e.g. RecursionError on deeply nested code), the example's codebleu is None (NaN) and is
counted in the scores file's metadata instead of failing the whole file.
"""
from __future__ import annotations

import functools
import logging
from typing import Any

_STATE: dict[str, Any] = {}


class _NoDataflowWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "no reference data-flows" not in record.getMessage()


def _sorted_parents(normalize):
    def normalize_dataflow(dataflow):
        return normalize([(d[0], d[1], d[2], sorted(d[3]), *d[4:]) for d in dataflow])
    normalize_dataflow._editflow_sorted = True
    return normalize_dataflow


def _setup() -> dict[str, Any]:
    if _STATE:
        return _STATE
    from codebleu import bleu, dataflow_match, syntax_match, weighted_ngram_match
    from codebleu.codebleu import PACKAGE_DIR
    from codebleu.utils import get_tree_sitter_language

    # remove_comments_and_docstrings is a pure function of (source, lang) that both the syntax
    # and the data-flow parts call on the same strings: memoize it (same numbers, less work).
    original = syntax_match.remove_comments_and_docstrings
    if not hasattr(original, "cache_info"):
        cached = functools.lru_cache(maxsize=4096)(original)
        syntax_match.remove_comments_and_docstrings = cached
        dataflow_match.remove_comments_and_docstrings = cached
    # The package merges each variable's parents with list(set(...)), so the order in which it
    # numbers variables (var_0, var_1, ...) follows Python's per-process string hash seed and the
    # data-flow score of some pairs changes from one process to the next. Sorting the parent
    # names first makes it a function of the code alone.
    if not getattr(dataflow_match.normalize_dataflow, "_editflow_sorted", False):
        dataflow_match.normalize_dataflow = _sorted_parents(dataflow_match.normalize_dataflow)
    logging.getLogger().addFilter(_NoDataflowWarning())
    with open(PACKAGE_DIR / "keywords" / "python.txt", encoding="utf-8") as fh:
        keywords = frozenset(x.strip() for x in fh)
    _STATE.update(
        bleu=bleu, weighted=weighted_ngram_match, syntax=syntax_match, dataflow=dataflow_match,
        language=get_tree_sitter_language("python"), keywords=keywords)
    return _STATE


def codebleu_components(gold: str, pred: str, gold_tokens: list[str], pred_tokens: list[str]) -> dict[str, float]:
    """The package's four components and their weighted sum, all in 0-1."""
    s = _setup()
    ref, hyp = gold.strip(), pred.strip()
    ngram = s["bleu"].corpus_bleu([[gold_tokens]], [pred_tokens])
    weights = {tok: 1 if tok in s["keywords"] else 0.2 for tok in gold_tokens}
    weighted = s["weighted"].corpus_bleu([[[gold_tokens, weights]]], [pred_tokens])
    syntax = s["syntax"].corpus_syntax_match([[ref]], [hyp], "python", tree_sitter_language=s["language"])
    dataflow = s["dataflow"].corpus_dataflow_match([[ref]], [hyp], "python",
                                                  tree_sitter_language=s["language"])
    total = 0.25 * ngram + 0.25 * weighted + 0.25 * syntax + 0.25 * (dataflow or 1)
    return {"codebleu": total, "ngram_match_score": ngram, "weighted_ngram_match_score": weighted,
            "syntax_match_score": syntax, "dataflow_match_score": dataflow}


def codebleu(gold: str, pred: str, gold_tokens: list[str], pred_tokens: list[str]) -> float | None:
    """CodeBLEU x 100; 0 for empty input; None when the package fails on this example."""
    if not gold_tokens or not pred_tokens:
        return 0.0
    try:
        return 100.0 * float(codebleu_components(gold, pred, gold_tokens, pred_tokens)["codebleu"])
    except (RecursionError, ValueError, ZeroDivisionError, IndexError, KeyError, TypeError,
            AttributeError, MemoryError):
        logging.getLogger(__name__).debug("codebleu failed", exc_info=True)
        return None
