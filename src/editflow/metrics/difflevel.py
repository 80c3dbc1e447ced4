"""Diff-level metrics: score what an edit changed, not the code it left alone.

Whole-code metrics (BLEU, CodeBLEU, EditSim) reward copying the input: when a commit changes
three lines of a 200-line notebook, the unchanged pre-edit code already shares almost every
n-gram with the reference. These metrics look at the changed lines only, so they need the
pre-edit code (`source`) beside the prediction and the reference:

- `diff_em` (0 or 100): the prediction's line diff against the source equals the reference's
  line diff against the source (same hunks at the same source lines, same removed and added
  lines).
- `diff_bleu` (0-100): NoFunEval's DiffBLEU: BLEU between the two diffs' changed lines.
  As NoFunEval does it: the diff lines carry their `-` / `+` marker, texts are cut with
  nltk's `wordpunct_tokenize`, scored with nltk `sentence_bleu` (4-gram, uniform weights,
  `SmoothingFunction().method1`), and a prediction with no non-blank line scores 0.
  Where we differ (on purpose): the diff is computed in-process (an LCS line diff, not
  `git diff`), hunk headers (`@@ -3,2 +3,2 @@`, i.e. line numbers) are not scored, comments
  are kept (NoFunEval strips them; a changed comment is part of a notebook edit), and
  whitespace inside a line counts (NoFunEval ignores all whitespace; indentation is code in
  Python). When neither text changes the source, the prediction is right: 100.
- `changed` (bool): the prediction differs from the source, i.e. its diff is not empty.

Lines are compared with trailing whitespace removed and blank lines dropped (NoFunEval's
`remove_blank_lines`, git's `--ignore-blank-lines`), so a model that only adds a blank line
has not changed anything.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

# One hunk of a line diff: where it starts in the source, what it removes, what it adds.
Hunk = tuple[int, tuple[str, ...], tuple[str, ...]]


@dataclass(frozen=True)
class DiffScores:
    """The diff-level metrics of one prediction (None when the row has no source)."""

    diff_em: float | None
    diff_bleu: float | None
    changed: bool | None


NO_SOURCE = DiffScores(None, None, None)


def diff_lines(text: str) -> tuple[str, ...]:
    """The lines a diff compares: trailing whitespace removed, blank lines dropped."""
    return tuple(line for line in (raw.rstrip() for raw in text.splitlines()) if line)


def line_diff(source: tuple[str, ...], target: tuple[str, ...]) -> tuple[Hunk, ...]:
    """Hunks of a minimal (longest common subsequence) line diff source -> target."""
    if source == target:
        return ()
    from rapidfuzz.distance import Indel

    hunks: list[Hunk] = []
    start = removed = added = None
    for op in Indel.opcodes(source, target):
        if op.tag == "equal":
            if start is not None:
                hunks.append((start, tuple(removed), tuple(added)))
                start = None
            continue
        if start is None:
            start, removed, added = op.src_start, [], []
        removed.extend(source[op.src_start:op.src_end])
        added.extend(target[op.dest_start:op.dest_end])
    if start is not None:
        hunks.append((start, tuple(removed), tuple(added)))
    return tuple(hunks)


def diff_text(hunks: tuple[Hunk, ...]) -> str:
    """The changed lines as a diff shows them: per hunk, `-` removed lines, then `+` added."""
    out: list[str] = []
    for _, removed, added in hunks:
        out += ["-" + line for line in removed]
        out += ["+" + line for line in added]
    return "\n".join(out)


@lru_cache(maxsize=1)
def _bleu_parts():
    from nltk.tokenize import wordpunct_tokenize
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    return wordpunct_tokenize, sentence_bleu, SmoothingFunction().method1


def diff_bleu_of(pred_hunks: tuple[Hunk, ...], ref_hunks: tuple[Hunk, ...]) -> float:
    """DiffBLEU x 100 of two diffs against the same source."""
    if not pred_hunks and not ref_hunks:
        return 100.0
    if not pred_hunks or not ref_hunks:
        return 0.0
    import warnings

    tokenize, bleu, smoothing = _bleu_parts()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return 100.0 * float(bleu([tokenize(diff_text(ref_hunks))], tokenize(diff_text(pred_hunks)),
                                  smoothing_function=smoothing))


@lru_cache(maxsize=256)
def _reference_diff(source: str, reference: str) -> tuple[tuple[str, ...], tuple[Hunk, ...]]:
    """(source lines, source -> reference hunks): the same for every model and sample of an
    example, so it is computed once per worker."""
    lines = diff_lines(source)
    return lines, line_diff(lines, diff_lines(reference))


def diff_scores(source: str | None, prediction: str, reference: str) -> DiffScores:
    """`diff_em`, `diff_bleu` and `changed` of one prediction (NO_SOURCE without a source)."""
    if source is None:
        return NO_SOURCE
    src_lines, ref_hunks = _reference_diff(source, reference)
    pred_lines = diff_lines(prediction)
    pred_hunks = line_diff(src_lines, pred_lines)
    em = 100.0 if pred_hunks == ref_hunks else 0.0
    bleu = 0.0 if not pred_lines else diff_bleu_of(pred_hunks, ref_hunks)
    return DiffScores(diff_em=em, diff_bleu=bleu, changed=bool(pred_hunks))
