"""pass@k per instruction style from n samples per problem, and the OpenCodeEdit-shaped table."""
from __future__ import annotations

import json

import pyarrow as pa
import pytest

from editflow.metrics.passk import (PROTOCOL, benchmark_example_id, edit_passk_markdown, edit_passk_table,
                                    pass_at_k_by_style, scores_passk, split_example_id)

# problem A: lazy 1 of 4 pass, descriptive 0 of 4; problem B: lazy 4 of 4, descriptive 2 of 4
OUTCOMES = {("A", "lazy"): [True, False, False, False], ("A", "descriptive"): [False] * 4,
            ("B", "lazy"): [True] * 4, ("B", "descriptive"): [True, False, True, False]}


def _rows():
    ids, passed = [], []
    for (problem, style), results in OUTCOMES.items():
        ids += [benchmark_example_id(problem, style)] * len(results)
        passed += results
    return ids, passed


def test_pass_at_k_per_style_by_hand():
    ids, passed = _rows()
    result = pass_at_k_by_style(ids + ["A#lazy"], passed + [None], ks=(1, 2, 10))
    # lazy: pass@1 = (1/4 + 4/4) / 2 = 62.5; pass@2: A = 1 - C(3,2)/C(4,2) = 1 - 3/6 = 50, B = 100 -> 75
    assert result["lazy"] == {"pass@1": 62.5, "pass@2": 75.0, "pass@10": None, "n_problems": 2, "n_samples_min": 4}
    # descriptive: pass@1 = (0 + 2/4) / 2 = 25; pass@2: A = 0, B = 1 - C(2,2)/C(4,2) = 5/6 -> 41.67
    d = result["descriptive"]
    assert d["pass@1"] == 25.0 and d["pass@2"] == pytest.approx(250 / 6) and d["pass@10"] is None
    assert list(result) == ["lazy", "descriptive"]


def test_styles_from_a_column_and_bad_ids():
    result = pass_at_k_by_style(["A", "A", "B"], [True, False, True], ks=(1,),
                                styles=["lazy", "lazy", "descriptive"])
    assert result["lazy"]["pass@1"] == 50.0 and result["descriptive"]["pass@1"] == 100.0
    assert split_example_id("humaneval-edit/3#descriptive") == ("humaneval-edit/3", "descriptive")
    with pytest.raises(ValueError, match="not '<problem_id>#<lazy|descriptive>'"):
        pass_at_k_by_style(["humaneval-edit/3"], [True])
    with pytest.raises(ValueError):
        benchmark_example_id("x", "verbose")


def test_table_from_scores_files_states_isolation():
    ids, passed = _rows()
    meta = {b"editflow.score": json.dumps({"sandbox": {"isolation": "namespaces+seccomp"}}).encode()}
    base = pa.table({"example_id": ids, "passed": passed}).replace_schema_metadata(meta)
    tuned = pa.table({"example_id": ids, "passed": [True] * len(ids)}).replace_schema_metadata(meta)
    rows = edit_passk_table({"base": scores_passk(base), "finetuned-mined": scores_passk(tuned)}, k=1)
    assert rows == [
        {"system": "base", "lazy": 62.5, "descriptive": 25.0, "n_problems": 2, "isolation": "namespaces+seccomp"},
        {"system": "finetuned-mined", "lazy": 100.0, "descriptive": 100.0, "n_problems": 2,
         "isolation": "namespaces+seccomp"}]
    assert edit_passk_markdown(rows, k=1) == (
        "| system | lazy pass@1 | descriptive pass@1 | problems |\n|---|---|---|---|\n"
        "| base | 62.5 | 25.0 | 2 |\n| finetuned-mined | 100.0 | 100.0 | 2 |\n\n"
        "Tests ran in the editflow sandbox, isolation: namespaces+seccomp.\n")
    assert edit_passk_table({"base": scores_passk(base)}, k=10)[0]["lazy"] is None  # n = 4 < 10
    assert PROTOCOL == {"n_samples": 20, "temperature": 0.2, "top_p": 0.95, "max_new_tokens": 2048, "pass_k": [1, 10]}
