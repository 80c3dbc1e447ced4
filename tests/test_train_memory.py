"""gradient_checkpointing: auto decides from the model's shape, the micro-batch and the device budget."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from editflow.model_entry import ModelEntry  # noqa: E402
from editflow.train.memory import ACTIVATION_BUDGET_CPU, activation_bytes_per_token, needs_checkpointing  # noqa: E402
from editflow.train.settings import TrainSettings, resolve_runtime  # noqa: E402

pytest.importorskip("transformers")
import model_shapes  # noqa: E402


def test_activation_estimate_per_token():
    assert activation_bytes_per_token(model_shapes.shape_config("smollm2-135m"), 4) == 1_797_120
    assert activation_bytes_per_token(model_shapes.shape_config("ds-1.3b"), 2) == 2_568_192
    assert activation_bytes_per_token(model_shapes.shape_config("ds-6.7b"), 2) == 6_848_512


def test_checkpointing_only_where_activations_do_not_fit():
    smol, ds13, ds67 = (model_shapes.shape_config(n) for n in ("smollm2-135m", "ds-1.3b", "ds-6.7b"))
    h200_half = 68 * 2**30
    assert needs_checkpointing(smol, 2048, 4, "cpu")              # 3.7 GB > 1 GiB: the default CPU job
    assert not needs_checkpointing(smol, 512, 4, "cpu")           # 0.9 GB fits
    assert not needs_checkpointing(ds13, 16384, 2, "cuda", budget=h200_half)   # 42 GB of 68
    assert needs_checkpointing(ds67, 16384, 2, "cuda", budget=h200_half)       # 112 GB
    assert ACTIVATION_BUDGET_CPU == 2**30


def test_resolve_runtime_auto_uses_the_model_config():
    spec = ModelEntry(path="m")
    auto = TrainSettings(micro_batch_tokens=2048, max_length=1024)
    small = TrainSettings(micro_batch_tokens=256, max_length=256)
    smol = model_shapes.shape_config("smollm2-135m")
    assert resolve_runtime(auto, spec, "cpu", model_config=smol).gradient_checkpointing is True
    assert resolve_runtime(small, spec, "cpu", model_config=smol).gradient_checkpointing is False
    assert resolve_runtime(auto, spec, "cpu").gradient_checkpointing is False   # no config: off on a CPU
    forced = TrainSettings(micro_batch_tokens=2048, gradient_checkpointing=False)
    assert resolve_runtime(forced, spec, "cpu", model_config=smol).gradient_checkpointing is False
