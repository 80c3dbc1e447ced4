"""benchmarks/gpu_suite.sh's pieces that run anywhere: model shapes, MFU, the one-line summary."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import gpu_summary  # noqa: E402
import model_shapes  # noqa: E402


def test_shapes_ship_with_the_package():
    assert model_shapes.shape_names() == ["ds-1.3b", "ds-6.7b", "smollm2-135m", "tiny"]
    with pytest.raises(SystemExit, match="unknown --model-shape 'ds-33b'"):
        model_shapes.shape_config("ds-33b")


def test_shape_parameter_counts():
    pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM

    import torch

    assert model_shapes.param_count(model_shapes.build_model("tiny", "cpu", "float32")) == 6_365_504
    with torch.device("meta"):  # the real shapes, counted without memory
        counts = {name: model_shapes.param_count(AutoModelForCausalLM.from_config(model_shapes.shape_config(name)))
                  for name in ("ds-1.3b", "ds-6.7b", "smollm2-135m")}
    assert counts == {"ds-1.3b": 1_415_677_952, "ds-6.7b": 6_878_924_800, "smollm2-135m": 134_515_008}


def test_mfu_formula():
    # 6 * 1.3e9 * 30,000 tokens/s = 2.34e14 FLOP/s of 989e12
    assert model_shapes.mfu(1_300_000_000, 30_000, 6) == pytest.approx(0.236602, abs=1e-6)
    assert model_shapes.mfu(1_300_000_000, 10_000, 2) == pytest.approx(0.026289, abs=1e-6)


def test_summary_collects_each_steps_last_json_line(tmp_path):
    steps = [{"step": "env", "rc": 0, "seconds": 2.0}, {"step": "cli_train", "rc": 0, "seconds": 30.5},
             {"step": "infer_ds-1.3b", "rc": 0, "seconds": 60.0}, {"step": "train_ds-1.3b", "rc": 0, "seconds": 80.0},
             {"step": "infer_ds-6.7b", "rc": 124, "seconds": 120.0}]
    (tmp_path / "steps.jsonl").write_text("".join(json.dumps(s) + "\n" for s in steps))
    (tmp_path / "env.out").write_text('{"torch": "2.11.0"}\n')
    (tmp_path / "cli_train.out").write_text("[editflow train] done\n")
    (tmp_path / "infer_ds-1.3b.out").write_text("progress\n" + json.dumps(
        {"benchmark": "infer_batching", "batched_tokens_per_s": 9000.0, "hf_padded_tokens_per_s": 1000.0,
         "speedup_vs_hf_padded": 9.0, "same_as_hf_padded_share": 1.0, "prompt_source": "x"}) + "\n")
    (tmp_path / "train_ds-1.3b.out").write_text(json.dumps(
        {"benchmark": "train_throughput", "packed_tokens_per_s": 50000.0, "packed_vs_hf_padded": 1.5,
         "packed_mfu": 0.41, "threads": 16}) + "\n")
    (tmp_path / "infer_ds-6.7b.out").write_text('{"benchmark": "infer_batching", "batched_tok')  # killed mid-line
    out = gpu_summary.summarize(tmp_path, 300.0)
    assert out["env"] == {"torch": "2.11.0"}
    assert out["steps"]["infer_ds-6.7b"] == {"rc": 124, "seconds": 120.0}
    assert out["infer"] == {"ds-1.3b": {"batched_tokens_per_s": 9000.0, "hf_padded_tokens_per_s": 1000.0,
                                        "speedup_vs_hf_padded": 9.0, "same_as_hf_padded_share": 1.0}}
    assert out["train"] == {"ds-1.3b": {"packed_tokens_per_s": 50000.0, "packed_vs_hf_padded": 1.5, "packed_mfu": 0.41}}
    assert out["seconds"] == 300.0 and out["mfu_formula"]["train"] == "6 * params_total * tokens_per_s / 989e12"
