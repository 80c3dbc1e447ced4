"""Metrics for code edits: the teco definitions ipynb-edit used, Coeditor's, and pass@k.

One small module per metric family (match, bleu, codebleu_metric, similarity, rouge,
keystroke, passk, sandbox); `batch.score_examples` computes every per-example metric for many
(prediction, reference) pairs, in parallel; `score` is the `editflow score` verb. The local
Hugging Face `evaluate` module in `editflow/evaluate_module/` wraps the same code.
Definitions and the versions they were checked against: docs/metrics.md.
"""
from __future__ import annotations

# Column names of the scores file (a contract: docs/ARCHITECTURE.md).
TOKEN_METRICS = ("em", "em_normalized", "bleu", "codebleu", "edit_sim",
                 "rouge_l_p", "rouge_l_r", "rouge_l_f")
# Over the changed lines only (metrics/difflevel.py); null when a row has no `source`.
DIFF_METRICS = ("diff_em", "diff_bleu", "changed")
EDIT_COSTS = ("keystroke", "keystroke_released", "levenshtein", "lines_changed")
METRIC_COLUMNS = TOKEN_METRICS + DIFF_METRICS + EDIT_COSTS

# Packages whose versions define the numbers; recorded in every scores file.
METRIC_PACKAGES = ("nltk", "sacrebleu", "rapidfuzz", "rouge", "codebleu", "tree-sitter",
                   "tree-sitter-python", "numba", "transformers", "tokenizers")


def metric_versions() -> dict[str, str | None]:
    """Installed versions of the metric libraries (None when not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in METRIC_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out
