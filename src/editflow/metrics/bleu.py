"""BLEU: teco's sentence BLEU per example, sacrebleu's corpus BLEU for the table.

Sentence BLEU is NLTK's `sentence_bleu([gold], pred)` with `SmoothingFunction().method2`
(add-one on n >= 2, Lin & Och) and `auto_reweigh=True` (short sequences use uniform
weights over the orders they have), x 100; 0 when either token list is empty.

Corpus BLEU is sacrebleu's `corpus_bleu` on the raw texts with its own standard tokenizer
(13a), so it is comparable across models whatever their tokenizers; its signature string
(version, tokenizer, smoothing) is recorded with the number.
"""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def _smoothing():
    from nltk.translate.bleu_score import SmoothingFunction

    return SmoothingFunction().method2


def sentence_bleu(gold_tokens: list[str], pred_tokens: list[str]) -> float:
    if not gold_tokens or not pred_tokens:
        return 0.0
    import warnings

    from nltk.translate.bleu_score import sentence_bleu as nltk_sentence_bleu

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return 100.0 * nltk_sentence_bleu([gold_tokens], pred_tokens,
                                          smoothing_function=_smoothing(), auto_reweigh=True)


def corpus_bleu(predictions: list[str], references: list[str]) -> tuple[float, str]:
    """(score 0-100, signature) of sacrebleu's corpus BLEU over raw texts."""
    from sacrebleu.metrics import BLEU

    metric = BLEU()
    if not predictions:  # nothing to score; still give the signature (needs one evaluation)
        metric.corpus_score([""], [[""]])
        return 0.0, str(metric.get_signature())
    result = metric.corpus_score(list(predictions), [list(references)])
    return float(result.score), str(metric.get_signature())
