"""Typed training settings: the config's `train` section plus the model entry, resolved once.

The resolved object is written to the run's config.json, so a run directory says exactly
how it was made (and a checkpoint from other settings is never resumed).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from editflow.config import schema_defaults
from editflow.model_entry import ModelEntry


@dataclass(frozen=True)
@schema_defaults("train.lora")
class LoraSettings:
    r: int
    alpha: int
    dropout: float
    target_modules: tuple[str, ...]


@dataclass(frozen=True)
@schema_defaults("train")
class TrainSettings:
    """The `train` config section (workflow/schemas/config.schema.yaml has each key's meaning
    and every default)."""
    lora: LoraSettings = field(default_factory=LoraSettings)
    learning_rate: float
    epochs: float
    effective_batch: int
    micro_batch_tokens: int
    max_length: int
    packing: bool
    gradient_checkpointing: str | bool
    precision: str
    warmup_ratio: float
    checkpoint_every_steps: int
    eval_every_steps: int | None
    max_steps: int | None
    max_train_examples: int | None
    max_val_examples: int | None
    on_long_example: str
    max_grad_norm: float
    weight_decay: float

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> "TrainSettings":
        """Keep the keys that shape training; tasks/runs/resources are the DAG's business."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in section.items() if k in known and k != "lora"}
        lora = dict(section.get("lora") or {})
        if "target_modules" in lora:
            lora["target_modules"] = tuple(lora["target_modules"])
        return cls(lora=LoraSettings(**lora), **values)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["lora"]["target_modules"] = list(self.lora.target_modules)
        return d


@dataclass(frozen=True)
class Runtime:
    """Decisions that depend on the machine: device, compute dtype, checkpointing, ranks."""
    device: str
    precision: str            # fp32 | bf16
    load_dtype: str           # float32 | bfloat16 | float16
    gradient_checkpointing: bool
    world_size: int = 1
    rank: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def resolve_runtime(settings: TrainSettings, spec: ModelEntry, device: str,
                    world_size: int = 1, rank: int = 0, model_config=None) -> Runtime:
    """`auto` precision means bf16 on a GPU, fp32 on a CPU; `auto` gradient checkpointing means
    on where one micro-batch's activations would not fit (editflow.train.memory; without a
    model config: on a GPU, off on a CPU)."""
    import torch

    on_gpu = device.startswith("cuda")
    precision = settings.precision
    if precision == "auto":
        precision = "bf16" if on_gpu and torch.cuda.is_bf16_supported() else "fp32"
    load_dtype = spec.dtype
    if load_dtype == "auto":
        load_dtype = "bfloat16" if precision == "bf16" else "float32"
    gc = settings.gradient_checkpointing
    if gc == "auto" and model_config is not None:
        from editflow.train.memory import needs_checkpointing

        tokens = max(settings.micro_batch_tokens, settings.max_length)  # a long example is a micro-batch alone
        gc = needs_checkpointing(model_config, tokens, 2 if load_dtype in ("bfloat16", "float16") else 4, device)
    elif gc == "auto":
        gc = on_gpu
    return Runtime(device=device, precision=precision, load_dtype=load_dtype,
                   gradient_checkpointing=bool(gc), world_size=world_size, rank=rank)


def fingerprint(obj: Any) -> str:
    """A short hash of a JSON-able object (settings, dataset files) to recognise a run."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]
