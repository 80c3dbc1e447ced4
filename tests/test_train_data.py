"""Packing plans, collation and the epoch order: exact values, no model needed."""
from __future__ import annotations

import pytest

from editflow.train import data
from editflow.train.data import Encoded
from editflow.train.loop import lr_lambda


def test_plan_packed_first_fit_decreasing():
    lengths = [5, 9, 3, 7, 2, 10]
    assert data.plan_packed(lengths, 10) == [[5], [1], [3, 2], [0, 4]]
    # An example longer than the budget gets a micro-batch of its own.
    assert data.plan_packed([12, 3], 10) == [[0], [1]]


def test_plan_padded_keeps_order_and_budget():
    # rows x longest <= 12: [4,3,4] -> 3x4, then [6,2] -> 2x6, then [5].
    assert data.plan_padded([4, 3, 4, 6, 2, 5], 12) == [[0, 1, 2], [3, 4], [5]]


def test_collate_packed_positions_and_labels():
    a = Encoded("a", (10, 11, 12, 13), n_prompt=2)
    b = Encoded("b", (20, 21, 22), n_prompt=1)
    batch = data.collate_packed([a, b])
    assert batch["input_ids"].tolist() == [[10, 11, 12, 13, 20, 21, 22]]
    assert batch["position_ids"].tolist() == [[0, 1, 2, 3, 0, 1, 2]]
    assert batch["labels"].tolist() == [[-100, -100, 12, 13, -100, 21, 22]]
    assert "attention_mask" not in batch and data.batch_tokens(batch) == 7


def test_collate_padded_masks_pads():
    a = Encoded("a", (10, 11, 12), n_prompt=1)
    b = Encoded("b", (20,), n_prompt=0)
    batch = data.collate_padded([a, b], pad_id=0)
    assert batch["input_ids"].tolist() == [[10, 11, 12], [20, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 11, 12], [20, -100, -100]]
    assert data.batch_tokens(batch) == 4


def test_epoch_order_is_a_pure_function_of_seed_and_epoch():
    assert data.epoch_order(6, seed=0, epoch=1) == data.epoch_order(6, seed=0, epoch=1)
    assert sorted(data.epoch_order(6, 0, 0)) == list(range(6))
    assert data.epoch_order(50, 0, 0) != data.epoch_order(50, 0, 1)
    assert data.steps_per_epoch(10, 4) == 3
    assert data.step_indices([5, 4, 3, 2, 1, 0], 1, 4) == [1, 0]


def test_lr_schedule_warmup_then_linear_decay():
    f = lr_lambda(total_steps=10, warmup_ratio=0.2)
    assert [round(f(s), 4) for s in range(10)] == [0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125]


def test_render_pair_uses_the_finetuned_template():
    prompt, target = data.render_pair("nb-cell", {"prompt_fields": {"message": "fix {old_code}", "old_code": "a=1"},
                                                  "target": "a = 2"})
    assert prompt.startswith("### Instruction\n[\nCommit Message:\" fix {old_code}\"")
    assert "Original Code Cells:\n'''\na=1\n'''" in prompt and prompt.endswith("### Response:\n")
    assert target == "a = 2\n### End\n"


class _Tok:
    """Whitespace stand-in for a tokenizer: one id per character."""
    eos_token_id = 2

    def __call__(self, texts, add_special_tokens=True):
        return {"input_ids": [[1] * add_special_tokens + [ord(c) for c in t] for t in texts]}


def test_encode_rows_refuses_or_skips_long_examples():
    rows = [{"example_id": "short", "prompt_fields": {"message": "m", "old_code": "a"}, "target": "b"},
            {"example_id": "long", "prompt_fields": {"message": "m", "old_code": "a" * 500}, "target": "b"}]
    with pytest.raises(data.ExampleTooLongError, match=r"train example long \(nb-cell\) has \d+ tokens"):
        data.encode_rows(rows, "nb-cell", _Tok(), max_length=200)
    kept, report = data.encode_rows(rows, "nb-cell", _Tok(), max_length=200, on_long="skip")
    assert [e.example_id for e in kept] == ["short"]
    assert report.n_skipped_long == 1 and report.skipped_ids == ["long"]
    short = kept[0]
    # BOS + prompt chars, then target chars "b\n### End\n" (10) + EOS.
    assert short.n_target == 11 and short.input_ids[0] == 1 and short.input_ids[-1] == 2
