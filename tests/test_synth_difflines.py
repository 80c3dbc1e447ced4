"""editflow.difflines: OpenCodeEdit's edit size, checked against counts worked out by hand.

Definition (the seed paper's diff filter): modified lines = sum over difflib SequenceMatcher
opcodes that are not `equal` of max(i2 - i1, j2 - j1); hunks = the groups of a unified diff
with 3 context lines (changes at most 6 unchanged lines apart share a hunk).
"""
from __future__ import annotations

import pytest

from editflow.difflines import DiffCount, count_changes, hunk_count, modified_lines

TEN = [f"line {i}" for i in range(10)]


def text(lines):
    return "\n".join(lines) + "\n"


def replaced(lines, at: dict[int, str]):
    return [at.get(i, line) for i, line in enumerate(lines)]


@pytest.mark.parametrize("old, new, expected", [
    # identical: no opcodes but equal, no hunk
    (TEN, TEN, DiffCount(0, 0)),
    # one line rewritten: replace 1 -> 1 is 1 modified line (numstat would say 2)
    (TEN, replaced(TEN, {4: "changed"}), DiffCount(1, 1)),
    # three consecutive lines rewritten as three: one replace block, max(3, 3) = 3
    (TEN, replaced(TEN, {3: "a", 4: "b", 5: "c"}), DiffCount(3, 1)),
    # two lines replaced by five: max(2, 5) = 5
    (TEN, TEN[:2] + ["n1", "n2", "n3", "n4", "n5"] + TEN[4:], DiffCount(5, 1)),
    # pure insertion of 2 lines after line 5: insert block, max(0, 2) = 2
    (TEN, TEN[:6] + ["x", "y"] + TEN[6:], DiffCount(2, 1)),
    # pure deletion of 4 lines: max(4, 0) = 4
    (TEN, TEN[:3] + TEN[7:], DiffCount(4, 1)),
    # changes at lines 0 and 7: 6 unchanged lines between (1..6) <= 2 * 3 context: one hunk
    (TEN, replaced(TEN, {0: "a", 7: "b"}), DiffCount(2, 1)),
    # changes at lines 0 and 8: 7 unchanged lines between > 6: two hunks
    (TEN, replaced(TEN, {0: "a", 8: "b"}), DiffCount(2, 2)),
    # everything from the empty text: an insert of 10 lines
    ([], TEN, DiffCount(10, 1)),
])
def test_counts_match_the_hand_computed_definition(old, new, expected):
    assert count_changes(text(old), text(new)) == expected
    assert modified_lines(old, new) == expected.modified_lines
    assert hunk_count(old, new) == expected.hunks


def test_hunks_on_a_long_file_and_the_seed_thresholds():
    old = [f"value_{i} = {i}" for i in range(100)]
    every_10th = replaced(old, {i: f"value_{i} = -{i}" for i in range(0, 100, 10)})
    assert count_changes(text(old), text(every_10th)) == DiffCount(10, 10)   # 9 unchanged between: 10 hunks
    rewrite = [f"other_{i} = {i}" for i in range(71)] + old[71:]
    assert count_changes(text(old), text(rewrite)) == DiffCount(71, 1)       # > 70: the seed drops it


def test_final_newline_and_none_are_not_changes():
    assert count_changes("a\nb", "a\nb\n") == DiffCount(0, 0)
    assert count_changes(None, "") == DiffCount(0, 0)
    assert count_changes(None, "x = 1\n") == DiffCount(1, 1)
