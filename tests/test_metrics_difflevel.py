"""Diff-level metrics (diff_em, diff_bleu, changed) pinned to hand-computed values, and their
columns in `editflow score` output when the predictions carry `source`."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow.cli import main
from editflow.metrics.batch import Pair, score_examples
from editflow.metrics.difflevel import NO_SOURCE, diff_lines, diff_scores, diff_text, line_diff

SOURCE = "a = 1\nb = 2\nc = 3\n"
REFERENCE = "a = 1\nb = 20\nc = 3\n"


def test_line_diff_hunks_and_text():
    src = diff_lines("x\n\ny  \nz\n")               # blank line dropped, trailing spaces cut
    assert src == ("x", "y", "z")
    hunks = line_diff(src, ("x", "Y", "z", "w"))
    assert hunks == ((1, ("y",), ("Y",)), (3, (), ("w",)))
    assert diff_text(hunks) == "-y\n+Y\n+w"
    assert line_diff(src, src) == ()


def test_the_reference_edit_scores_full_marks():
    s = diff_scores(SOURCE, REFERENCE, REFERENCE)
    assert (s.diff_em, s.diff_bleu, s.changed) == (100.0, 100.0, True)


def test_copying_the_input_scores_zero():
    s = diff_scores(SOURCE, SOURCE, REFERENCE)
    assert (s.diff_em, s.diff_bleu, s.changed) == (0.0, 0.0, False)
    # blank lines and trailing whitespace are not a change
    s = diff_scores(SOURCE, "a = 1\n\nb = 2   \nc = 3", REFERENCE)
    assert (s.diff_em, s.diff_bleu, s.changed) == (0.0, 0.0, False)


def test_diff_bleu_hand_computed():
    # prediction diff "-b = 2 / +b = 21", reference diff "-b = 2 / +b = 20"; wordpunct tokens
    # - b = 2 + b = 21 vs - b = 2 + b = 20 (8 each): clipped n-gram precisions 7/8, 6/7, 5/6,
    # 4/5 (only the n-grams ending in 21 miss), BP = 1: BLEU = (7/8 * 6/7 * 5/6 * 4/5) ** 0.25
    s = diff_scores(SOURCE, "a = 1\nb = 21\nc = 3\n", REFERENCE)
    assert s.diff_bleu == pytest.approx(100 * 0.5 ** 0.25)
    assert s.diff_em == 0.0 and s.changed is True
    # an unrelated change: no 4-gram in common, method1 smoothing (epsilon 0.1 on empty orders)
    # keeps it just above 0; the diff is still a change
    s = diff_scores(SOURCE, "a = 1\nb = 2\nc = 3\nprint(a)\n", REFERENCE)
    assert 0.0 < s.diff_bleu < 10.0 and s.changed is True and s.diff_em == 0.0


def test_the_same_change_at_another_place_is_not_an_exact_match():
    src = "x = 0\ny = 0\n"
    ref = "import os\nx = 0\ny = 0\n"
    moved = "x = 0\nimport os\ny = 0\n"
    s = diff_scores(src, moved, ref)
    assert s.diff_em == 0.0
    # the changed lines are the same ("+import os": tokens + import os), so DiffBLEU (no line
    # numbers) has p1 = p2 = p3 = 1; a 3-token text has no 4-gram: method1 puts 0.1 there
    assert s.diff_bleu == pytest.approx(100 * 0.1 ** 0.25)


def test_edge_cases():
    assert diff_scores(None, "x", "y") == NO_SOURCE           # no source: null columns
    # no change needed and none made: right
    s = diff_scores("x = 1\n", "x = 1\n", "x = 1\n")
    assert (s.diff_em, s.diff_bleu, s.changed) == (100.0, 100.0, False)
    # an empty prediction (NoFunEval: 0) deletes everything: a change, not the right one
    s = diff_scores(SOURCE, "", REFERENCE)
    assert (s.diff_em, s.diff_bleu, s.changed) == (0.0, 0.0, True)
    # unicode lines
    s = diff_scores("s = 'é'\n", "s = 'ü'\n", "s = 'ü'\n")
    assert (s.diff_em, s.diff_bleu, s.changed) == (100.0, 100.0, True)


def test_batch_rows_carry_the_diff_metrics():
    pairs = [Pair(REFERENCE, REFERENCE, REFERENCE.split(), REFERENCE.split(), SOURCE),
             Pair(SOURCE, REFERENCE, SOURCE.split(), REFERENCE.split(), SOURCE),
             Pair(SOURCE, REFERENCE, SOURCE.split(), REFERENCE.split())]
    rows, _ = score_examples(pairs, workers=1)
    assert [(r["diff_em"], r["diff_bleu"], r["changed"]) for r in rows] == [
        (100.0, 100.0, True), (0.0, 0.0, False), (None, None, None)]


def test_score_files_get_the_columns(tmp_path):
    rows = {"example_id": ["e1", "e2"], "prediction": [REFERENCE, SOURCE],
            "reference": [REFERENCE, REFERENCE], "source": [SOURCE, SOURCE]}
    inp, out = tmp_path / "pred.parquet", tmp_path / "scores.parquet"
    pq.write_table(pa.table(rows), inp)
    assert main(["score", "--in", str(inp), "--out", str(out), "--workers", "1",
                 "--tokenizer", "whitespace"]) == 0
    table = pq.read_table(out)
    assert table.schema.field("changed").type == pa.bool_()
    assert table.schema.field("keystroke_released").type == pa.int64()
    assert table.column("diff_em").to_pylist() == [100.0, 0.0]
    assert table.column("diff_bleu").to_pylist() == [100.0, 0.0]
    assert table.column("changed").to_pylist() == [True, False]
    # whole-code metrics still reward the copy: BLEU of the unchanged source is far above 0
    assert table.column("bleu").to_pylist()[1] > 50
