"""Every per-example metric for many (prediction, reference) pairs, optionally in parallel.

Tokenization happens once in the calling process (a Hugging Face tokenizer is loaded
once); the pairs are then scored in chunks by a pool of worker processes, because CodeBLEU
(tree-sitter parsing plus pure-Python data-flow analysis) dominates the time. A pair that
carries its `source` (the pre-edit code) also gets the diff-level metrics (difflevel.py).
"""
from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Iterator

from editflow.metrics import DIFF_METRICS, EDIT_COSTS, METRIC_COLUMNS

# Quadratic edit-cost tables above this many cells (~2.5 s) are skipped (None) and counted.
KEYSTROKE_MAX_CELLS = 100_000_000


@dataclass
class Pair:
    prediction: str
    reference: str
    pred_tokens: list[str]
    gold_tokens: list[str]
    source: str | None = None       # the pre-edit code; None: no diff-level metrics


@dataclass
class BatchStats:
    """Counts the scores file's metadata reports."""

    n: int = 0
    codebleu_failures: int = 0
    keystroke_skipped: int = 0
    rouge_skipped: int = 0

    def add(self, other: "BatchStats") -> None:
        self.n += other.n
        self.codebleu_failures += other.codebleu_failures
        self.keystroke_skipped += other.keystroke_skipped
        self.rouge_skipped += other.rouge_skipped


@dataclass
class ScoredChunk:
    rows: list[dict[str, float | int | None]] = field(default_factory=list)
    stats: BatchStats = field(default_factory=BatchStats)


def score_pair(pair: Pair) -> dict[str, float | int | None]:
    """All metrics of one example (token metrics 0-100, edit costs as counts)."""
    from editflow.metrics.bleu import sentence_bleu
    from editflow.metrics.codebleu_metric import codebleu
    from editflow.metrics.difflevel import diff_scores
    from editflow.metrics.keystroke import (keystroke_distance, keystroke_distance_released,
                                            levenshtein, lines_changed)
    from editflow.metrics.match import exact_match, exact_match_normalized
    from editflow.metrics.rouge import rouge_l
    from editflow.metrics.similarity import edit_sim

    g, p = pair.gold_tokens, pair.pred_tokens
    rp, rr, rf = rouge_l(g, p)
    diff = diff_scores(pair.source, pair.prediction, pair.reference)
    return {
        "em": exact_match(g, p),
        "em_normalized": exact_match_normalized(pair.reference, pair.prediction),
        "bleu": sentence_bleu(g, p),
        "codebleu": codebleu(pair.reference, pair.prediction, g, p),
        "edit_sim": edit_sim(g, p),
        "rouge_l_p": rp,
        "rouge_l_r": rr,
        "rouge_l_f": rf,
        "diff_em": diff.diff_em,
        "diff_bleu": diff.diff_bleu,
        "changed": diff.changed,
        "keystroke": keystroke_distance(pair.prediction, pair.reference,
                                        max_cells=KEYSTROKE_MAX_CELLS),
        "keystroke_released": keystroke_distance_released(pair.prediction, pair.reference,
                                                          max_cells=KEYSTROKE_MAX_CELLS),
        "levenshtein": levenshtein(pair.prediction, pair.reference),
        "lines_changed": lines_changed(pair.prediction, pair.reference),
    }


def score_chunk(pairs: list[Pair]) -> ScoredChunk:
    out = ScoredChunk()
    for pair in pairs:
        row = score_pair(pair)
        out.stats.n += 1
        out.stats.codebleu_failures += row["codebleu"] is None
        out.stats.keystroke_skipped += row["keystroke"] is None
        out.stats.rouge_skipped += row["rouge_l_f"] is None
        out.rows.append(row)
    return out


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _chunks(pairs: list[Pair], size: int) -> Iterator[list[Pair]]:
    for start in range(0, len(pairs), size):
        yield pairs[start:start + size]


def warm_up() -> None:
    """Compile the numba kernels and load CodeBLEU's parser once, before forking workers."""
    score_pair(Pair("x = 1\n", "x = 2\n", ["x", "=", "1"], ["x", "=", "2"]))


def score_examples(pairs: list[Pair], workers: int = 1, chunk_size: int = 64,
                   progress: bool = False) -> tuple[list[dict[str, float | int | None]], BatchStats]:
    """Score every pair; results keep the input order."""
    stats = BatchStats()
    rows: list[dict[str, float | int | None]] = []
    chunks = list(_chunks(pairs, chunk_size))
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(pairs), unit="ex", desc="score", disable=None)
    if workers <= 1 or len(chunks) <= 1:
        results: Iterator[ScoredChunk] = map(score_chunk, chunks)
        pool = None
    else:
        import multiprocessing

        # The fork below follows any Hugging Face tokenization: say so, instead of a warning per worker.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        warm_up()
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork"))
        results = pool.map(score_chunk, chunks)
    done = 0
    try:
        try:
            for chunk in results:
                rows.extend(chunk.rows)
                stats.add(chunk.stats)
                done += 1
                if bar is not None:
                    bar.update(len(chunk.rows))
        except BrokenProcessPool:
            # A worker died (e.g. killed for memory): finish the rest here, one chunk at a time.
            import logging

            logging.getLogger(__name__).warning(
                "a scoring worker died after %d of %d chunks; scoring the rest in this process",
                done, len(chunks))
            for chunk in map(score_chunk, chunks[done:]):
                rows.extend(chunk.rows)
                stats.add(chunk.stats)
                if bar is not None:
                    bar.update(len(chunk.rows))
    finally:
        if pool is not None:
            pool.shutdown()
        if bar is not None:
            bar.close()
    return rows, stats


def column_type(name: str):
    """The Arrow type of a metric column: counts are int64, `changed` bool, the rest float64."""
    import pyarrow as pa

    if name in EDIT_COSTS:
        return pa.int64()
    return pa.bool_() if name == "changed" else pa.float64()


def column_values(rows: list[dict[str, float | int | None]], name: str) -> list[float | int | None]:
    """One metric as a column; NaN never leaks in (failed values are None -> null)."""
    values = [row[name] for row in rows]
    if name in EDIT_COSTS or name == "changed":
        return values
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v) for v in values]


__all__ = ["Pair", "BatchStats", "METRIC_COLUMNS", "DIFF_METRICS", "score_examples", "score_pair",
           "default_workers", "column_type", "column_values"]
