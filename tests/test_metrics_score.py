"""`editflow score` end to end: columns carried through, metric columns, provenance metadata,
a local Hugging Face tokenizer, pass@k from a tests column, clear errors, and the local
`evaluate` module giving the same numbers."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow.cli import main
from editflow.metrics import METRIC_COLUMNS

ROWS = {
    "example_id": ["e1", "e2", "e3", "e3"],
    "model": ["tiny"] * 4,
    "sample": [0, 0, 0, 1],
    "prediction": ["x = 1\ny = 2\n", "def f(a, b=1):\n    return a\n", "def g(x):\n    return x * 2\n",
                   "def g(x):\n    return x + 3\n"],
    "reference": ["x = 1\ny = 3\n", "def f(a, b=1):\n    return a\n", "def g(x):\n    return 2 * x\n",
                  "def g(x):\n    return 2 * x\n"],
}


def _write(path, rows) -> str:
    pq.write_table(pa.table(rows), path)
    return str(path)


def _score(tmp_path, rows, *extra: str) -> pa.Table:
    inp = _write(tmp_path / "pred.parquet", rows)
    out = tmp_path / "scores.parquet"
    assert main(["score", "--in", inp, "--out", str(out), "--workers", "1", *extra]) == 0
    return pq.read_table(out)


def test_score_whitespace_columns_and_metadata(tmp_path):
    table = _score(tmp_path, ROWS, "--tokenizer", "whitespace")
    for name in ROWS:
        assert table.column(name).to_pylist() == ROWS[name]           # carried through unchanged
    for name in METRIC_COLUMNS:
        assert name in table.column_names
    assert "passed" not in table.column_names                         # no tests column
    rows = table.to_pylist()
    # e1: one token differs ("2" vs "3"); keystrokes: cursor jump 4 + delete 1 + add 1
    assert rows[0]["em"] == 0.0 and rows[0]["keystroke"] == 6
    assert rows[0]["levenshtein"] == 1 and rows[0]["lines_changed"] == 2
    assert rows[1]["em"] == 100.0 and rows[1]["bleu"] == pytest.approx(100.0)
    assert rows[1]["codebleu"] == pytest.approx(100.0) and rows[1]["keystroke"] == 0
    # e3 sample 0: "def g(x): return x * 2" vs "... return 2 * x" (22 chars each): the LCS
    # keeps " * " of the last five, so 20 common chars, indel distance 4, ratio 1 - 4 / 44
    assert rows[2]["edit_sim"] == pytest.approx(100 * (1 - 4 / 44))
    meta = {k.decode(): v.decode() for k, v in table.schema.metadata.items()}
    assert meta["tokenizer"] == "whitespace"
    assert "tok:13a" in meta["sacrebleu_signature"]
    assert 0 < float(meta["corpus_bleu"]) <= 100
    versions = json.loads(meta["versions"])
    for lib in ("nltk", "sacrebleu", "rapidfuzz", "rouge", "codebleu", "tree-sitter", "tree-sitter-python"):
        assert versions[lib]
    details = json.loads(meta["editflow.score"])
    assert details["n_rows"] == 4 and details["codebleu_failures"] == 0


def test_rerun_is_byte_identical(tmp_path):
    inp = _write(tmp_path / "pred.parquet", ROWS)
    outs = []
    for name in ("a.parquet", "b.parquet"):
        assert main(["score", "--in", inp, "--out", str(tmp_path / name), "--workers", "1",
                     "--tokenizer", "whitespace"]) == 0
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]


def test_default_tokenizer_falls_back_to_whitespace_with_a_warning(tmp_path, caplog):
    table = _score(tmp_path, ROWS, "--settings", json.dumps({"tokenizer": "model"}))
    assert table.schema.metadata[b"tokenizer"] == b"whitespace"
    assert any("falling back to whitespace" in r.getMessage() for r in caplog.records)


def test_hugging_face_tokenizer_from_a_local_directory(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    corpus = ROWS["prediction"] + ROWS["reference"]
    tok = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Split(" ", behavior="isolated")
    tok.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=["[UNK]"]))
    tok_dir = tmp_path / "tok"
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]").save_pretrained(tok_dir)

    table = _score(tmp_path, ROWS, "--tokenizer", str(tok_dir))
    assert table.schema.metadata[b"tokenizer"].decode() == f"hf:{tok_dir}"
    rows = table.to_pylist()
    assert rows[1]["em"] == 100.0
    # spaces are tokens here: "x = 1\ny = 2\n" -> x, ' ', =, ' ', 1\ny, ' ', =, ' ', 2\n, so the
    # space-joined strings are "x   =   1\ny   =   2\n" vs "... 3\n" (12 token chars + 8
    # separators = 20 chars): one substitution is indel distance 2, ratio 1 - 2 / 40
    assert rows[0]["edit_sim"] == pytest.approx(100 * (1 - 2 / 40))


def test_missing_tokenizer_and_columns_are_clear_errors(tmp_path, caplog):
    inp = _write(tmp_path / "pred.parquet", ROWS)
    assert main(["score", "--in", inp, "--out", str(tmp_path / "s.parquet"),
                 "--tokenizer", str(tmp_path / "no-such-tokenizer")]) == 2
    assert "cannot load tokenizer" in caplog.text and "--tokenizer whitespace" in caplog.text
    bad = _write(tmp_path / "bad.parquet", {"example_id": ["a"], "prediction": ["x"]})
    assert main(["score", "--in", bad, "--out", str(tmp_path / "s.parquet"), "--tokenizer", "whitespace"]) == 2
    assert "missing column(s) ['reference']" in caplog.text
    assert not (tmp_path / "s.parquet").exists()


def test_null_and_empty_predictions_score_zero(tmp_path):
    rows = {"example_id": ["a", "b"], "prediction": [None, "   "], "reference": ["x = 1", "x = 1"]}
    table = _score(tmp_path, rows, "--tokenizer", "whitespace")
    for row in table.to_pylist():
        for name in ("em", "em_normalized", "bleu", "codebleu", "edit_sim", "rouge_l_f"):
            assert row[name] == 0.0
        assert row["levenshtein"] == len("x = 1") if row["example_id"] == "a" else True
    details = json.loads(table.schema.metadata[b"editflow.score"])
    assert details["null_predictions"] == 1 and details["empty_predictions"] == 2


def test_pass_at_k_from_a_tests_column(tmp_path):
    rows = dict(ROWS, tests=[None, "assert f(1) == 1", "assert g(2) == 4", "assert g(2) == 4"])
    table = _score(tmp_path, rows, "--tokenizer", "whitespace",
                   "--settings", json.dumps({"pass_k": [1, 2], "sandbox": {"timeout_s": 5}}))
    got = table.select(["example_id", "passed", "pass@1", "pass@2"]).to_pylist()
    assert got[0] == {"example_id": "e1", "passed": None, "pass@1": None, "pass@2": None}
    assert got[1] == {"example_id": "e2", "passed": True, "pass@1": 100.0, "pass@2": None}  # n=1 < k=2
    assert [r["passed"] for r in got[2:]] == [True, False]
    assert got[2]["pass@1"] == pytest.approx(50.0) and got[3]["pass@2"] == pytest.approx(100.0)
    sandbox = json.loads(table.schema.metadata[b"editflow.score"])["sandbox"]
    assert sandbox["n_tested"] == 3 and sandbox["statuses"] == {"passed": 2, "failed": 1}


def test_local_evaluate_module_gives_the_same_numbers(tmp_path, monkeypatch):
    import evaluate

    from editflow.evaluate_module import MODULE_DIR

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    metric = evaluate.load(MODULE_DIR)
    result = metric.compute(predictions=ROWS["prediction"], references=ROWS["reference"],
                            tokenizer="whitespace", per_example=True)
    table = _score(tmp_path, ROWS, "--tokenizer", "whitespace")
    for name in METRIC_COLUMNS:
        assert result[name] == pytest.approx(table.column(name).to_pylist())
    assert result["corpus_bleu"] == pytest.approx(float(table.schema.metadata[b"corpus_bleu"]), abs=1e-5)
