"""`editflow score` -> `editflow aggregate`: the tables carry what the scores files record."""
from __future__ import annotations

import csv
import json

import pyarrow as pa
import pyarrow.parquet as pq

from editflow.cli import main


def test_aggregate_reads_the_provenance_that_score_writes(tmp_path):
    n = 4
    pq.write_table(pa.table({
        "example_id": [f"e{i}" for i in range(n)], "task": ["nb-cell"] * n, "model": ["m"] * n,
        "checkpoint": ["base"] * n, "shots": [0] * n, "prompt": ['Commit Message: "fix"\n'] * n,
        "raw_output": ["x"] * n, "prediction": ["x = 1", "y = 2\nz = 3", "", "def f(a):\n    return a"],
        "reference": ["x = 1", "y = 2\nz = 4", "q = 1", "def f(a):\n    return a + 1"],
        "prompt_tokens": [1] * n, "output_tokens": [1] * n, "truncated": [False, True, False, False],
        "generation": ["{}"] * n, "sample": [0] * n}), tmp_path / "pred.parquet")
    scores = tmp_path / "metrics/m/nb-cell/0shot/base.parquet"
    assert main(["score", "--in", str(tmp_path / "pred.parquet"), "--out", str(scores),
                 "--tokenizer", "whitespace", "--workers", "1"]) == 0
    assert main(["aggregate", "--scores", str(scores), "--out-dir", str(tmp_path / "tables"),
                 "--plots-dir", str(tmp_path / "plots"), "--settings", json.dumps({"bootstrap_samples": 50})]) == 0

    table = pq.read_table(scores)
    meta = table.schema.metadata
    with open(tmp_path / "tables/main.csv", newline="") as fh:
        row = next(csv.DictReader(fh))
    for metric in ("em", "bleu", "edit_sim", "rouge_l_f", "keystroke"):
        values = table.column(metric).to_pylist()
        assert row[f"{metric}_mean"] == f"{sum(values) / len(values):.4f}"
    assert row["em_mean"] == "25.0000" and row["truncated"] == "1"
    assert row["corpus_bleu"] == f"{float(meta[b'corpus_bleu']):.4f}"
    md = (tmp_path / "tables/main.md").read_text()
    versions = json.loads(meta[b"versions"])
    assert f"tree-sitter-python {versions['tree-sitter-python']}" in md and f"codebleu {versions['codebleu']}" in md
    assert f"`{meta[b'sacrebleu_signature'].decode()}`" in md and "Tokenizer: whitespace" in md
