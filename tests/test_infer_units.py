"""Postprocessing of raw model outputs, batching plans and exemplar draws (no model needed)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow.infer.batching import Request, batch_cost, plan_batches
from editflow.infer.exemplars import DatasetError, Shots, load_split, test_examples as read_test_examples
from editflow.infer.postprocess import clean_output, cut_at_stop, strip_echo, strip_fences
from editflow.records import EXAMPLE_SCHEMA


@pytest.mark.parametrize("raw, expected", [
    ("x = 1\n### End\nmore", "x = 1"),
    ("x = 1\n### Instruction\n[ next", "x = 1"),
    ("```python\nx = 1\ny = 2\n```\nThis sets x.", "x = 1\ny = 2"),
    ("Here is the code:\n```py\nx = 1\n```", "x = 1"),
    ("```python\nx = 1\n", "x = 1\n".rstrip()),                      # unclosed fence (budget ran out)
    ("x = 1\n```\n", "x = 1"),                                         # stray closing fence
    ("Sure:\n```python\nx = 1", "x = 1"),                              # prose, then an unclosed block
    ("### Response:\n\n\n    return x\n\n", "    return x"),             # indentation of the first line kept
    ("### Instruction\n[\nCommit Message: \"m\"\n]\n### Response:\nx = 2\n### End", "x = 2"),  # echoed prompt
    ("'''\nx = 1\n'''\n", "x = 1"),
    ("# %%\nimport os\n\n# %%\nprint(os.sep)\n### End", "# %%\nimport os\n\n# %%\nprint(os.sep)"),  # cell markers kept
    ("", ""),
    ("\n\n   \n", ""),
])
def test_clean_output(raw, expected):
    assert clean_output(raw) == expected


def test_cleaning_steps_are_separate_functions():
    assert cut_at_stop("a### Endb### Instructionc", ("### Instruction", "### End")) == "a"
    assert strip_echo("  ### Response:x") == "x"
    assert strip_echo("print('### Response:')") == "print('### Response:')"
    assert strip_fences("no fence here") == "no fence here"


def test_plan_batches_sorts_by_length_and_respects_the_token_budget():
    reqs = [Request(i, n, 10) for i, n in enumerate([5, 50, 20, 21, 200, 6])]
    batches = plan_batches(reqs, batch_size=2, max_batch_tokens=1000)
    assert [[r.index for r in b] for b in batches] == [[4, 1], [3, 2], [5, 0]]
    # 200+10 = 210 per row: with the 50-token prompt the pair would cost 420 > 400
    batches = plan_batches(reqs, batch_size=8, max_batch_tokens=400)
    assert [[r.index for r in b] for b in batches] == [[4], [1, 3, 2, 5, 0]]
    assert batch_cost(batches[1]) == 5 * 60
    # n samples multiply the cost
    assert [[r.index for r in b] for b in plan_batches(reqs, 8, 400, n_samples=2)] == [[4], [1, 3, 2], [5, 0]]


def _write_split(path, split, rows):
    table = pa.Table.from_pylist([{
        "example_id": eid, "edit_id": eid, "task": task, "split": split,
        "prompt_fields": {"message": msg, "old_code": old}, "target": tgt, "repo": "r", "commit": "c",
        "path": "p.ipynb", "license": "mit", "commit_time": 0} for eid, task, msg, old, tgt in rows],
        schema=EXAMPLE_SCHEMA)
    pq.write_table(table, path / f"{split}.parquet")


def test_exemplars_come_from_train_deterministically(tmp_path):
    _write_split(tmp_path, "train", [(f"t{i}", "nb-cell", f"msg {i}", "x" * (10 - i), f"y{i}") for i in range(6)]
                 + [("tf", "nb-file", "other task", "x", "y")])
    _write_split(tmp_path, "test", [("b", "nb-cell", "m", "o", "t"), ("a", "nb-cell", "m", "o", "t"),
                                    ("c", "py-file", "m", "o", "t")])
    pool = load_split(tmp_path, "train", "nb-cell")
    assert [e.example_id for e in pool] == [f"t{i}" for i in range(6)]
    assert [e.example_id for e in read_test_examples(tmp_path, "nb-cell")] == ["a", "b"]
    assert [e.example_id for e in read_test_examples(tmp_path, "nb-cell", limit=1)] == ["a"]
    shots = Shots(pool, 2, seed=0)
    first = [e.example_id for e in shots.draw("a")]
    assert first == [e.example_id for e in Shots(pool, 2, seed=0).draw("a")]
    assert len(set(first)) == 2 and all(x.startswith("t") for x in first)
    draws = {tuple(e.example_id for e in Shots(pool, 2, seed=s).draw("a")) for s in range(10)}
    assert len(draws) > 1  # the seed matters
    assert [e.example_id for e in shots.shortest()] == ["t5", "t4"]
    assert Shots(pool, 0, seed=0).draw("a") == []
    with pytest.raises(DatasetError, match="need at least 9 train examples"):
        Shots(pool, 9, seed=0)
    with pytest.raises(DatasetError, match="val.parquet not found"):
        load_split(tmp_path, "val", "nb-cell")


def test_model_entry_and_checkpoint_resolution(caplog):
    """Train and infer resolve models the same way (editflow.model_entry)."""
    from editflow.config import ConfigError
    from editflow.infer.cli import resolve_checkpoint
    from editflow.model_entry import ModelEntry, resolve_model_entry as entry

    assert entry(None, "x", "some/dir", '{"dtype": "bfloat16", "quantization": "4bit"}') == ModelEntry(
        name="x", path="some/dir", dtype="bfloat16", quantization="4bit")
    assert entry(None, "smollm2-135m", None).path == "resources/models/smollm2-135m-instruct"
    assert entry(None, "smollm2-135m", "p").path == "p"          # --model is what gets loaded
    assert entry(None, None, "resources/models/smollm2-135m-instruct").name == "smollm2-135m"
    assert entry(None, "unknown", "a/b/") == ModelEntry(name="unknown", path="a/b/")
    assert "not in the config" in caplog.text
    assert entry(None, None, "a/b/") == ModelEntry(name="b", path="a/b/")
    with pytest.raises(ConfigError, match="no model named 'unknown'"):
        entry(None, "unknown", None)
    with pytest.raises(ConfigError, match="unknown key"):
        entry(None, None, None, '{"path": "p", "quantisation": "4bit"}')
    assert resolve_checkpoint(None, None) == "base"
    assert resolve_checkpoint(None, "results/models/m/nb-cell/run3/adapter") == "run3"
    assert resolve_checkpoint("run1", "x/adapter") == "run1"
    with pytest.raises(ConfigError, match="pass --checkpoint"):
        resolve_checkpoint(None, "x/adapter")
    with pytest.raises(ConfigError, match="base model is checkpoint 'base'"):
        resolve_checkpoint("run1", None)


def test_settings_from_section_ignores_rule_keys_and_rejects_greedy_samples():
    from editflow.config import ConfigError
    from editflow.infer.settings import InferSettings

    s = InferSettings.from_section({"tasks": ["nb-cell"], "shots": [0], "batch_size": 4, "resources": {}})
    assert s.batch_size == 4 and s.max_new_tokens == 512 and s.do_sample is False
    with pytest.raises(ConfigError, match="do_sample is false"):
        InferSettings.from_section({"n_samples": 3})
    with pytest.raises(ConfigError, match="temperature must be > 0"):
        InferSettings.from_section({"do_sample": True, "temperature": 0})


def test_build_prompts_falls_back_to_the_shortest_exemplars_and_marks_truncation():
    from editflow.infer.exemplars import Example
    from editflow.infer.job import build_prompts
    from editflow.infer.settings import InferSettings
    from editflow.prompts import load_template

    long, short = Example("t-long", "long", "x" * 400, "y" * 400), Example("t-short", "s", "a", "b")
    shots = Shots([long, short], 1, seed=0)
    queries = [Example(f"q{i}", "m", "old", "new") for i in range(8)] + [Example("huge", "m", "z" * 2000, "")]
    template = load_template("finetuned")
    settings = InferSettings(max_new_tokens=100, min_new_tokens_room=10)
    rows = build_prompts(queries, shots, template, "nb-cell", len, 1000, settings)  # tokens = characters
    drew_long = [shots.draw(q.example_id)[0] is long for q in queries]
    assert any(drew_long[:8]) and not all(drew_long[:8])
    for row, long_draw in zip(rows, drew_long):
        assert row.shortest_exemplars == long_draw  # the long exemplar leaves < 100 of 1000 "tokens"
        assert "x" * 400 not in row.prompt and "'''\na\n'''" in row.prompt
        assert row.prompt_tokens == len(row.prompt) and row.room == 1000 - len(row.prompt)
    assert [r.truncated for r in rows] == [False] * 8 + [True]
