"""Whether a training job needs gradient checkpointing, from the model's shape and the device.

Checkpointing trades ~30% more compute for activations stored only at layer boundaries, so
`gradient_checkpointing: auto` turns it on only where the activations of one micro-batch
would not fit: over ACTIVATION_BUDGET_CPU on a CPU (the default LoRA job of SmolLM2-135M in
fp32 keeps ~3.7 GB of activations for 2,048 tokens without it, ~0.2 GB with it), over
GPU_ACTIVATION_SHARE of the free memory on a GPU (the 1.3B shape at 16,384 tokens in bf16
needs ~42 GB: no checkpointing on an H200; the 6.7B shape ~112 GB: checkpointing).

The estimate counts, per layer and token, the tensors a Llama-style block keeps for backward
(about 10 x hidden + 6 x intermediate values: norms, q/k/v/o inputs, attention output, MLP
gate/up/act/down inputs); calibrated on SmolLM2-135M (1.8 MB per token in fp32).
"""
from __future__ import annotations

ACTIVATION_BUDGET_CPU = 1 << 30   # bytes of activations a CPU job may keep for one micro-batch
GPU_ACTIVATION_SHARE = 0.5        # share of the free GPU memory activations may take


def activation_bytes_per_token(config, dtype_bytes: int) -> int:
    cfg = config.get_text_config() if hasattr(config, "get_text_config") else config
    per_layer = 10 * cfg.hidden_size + 6 * getattr(cfg, "intermediate_size", 4 * cfg.hidden_size)
    return cfg.num_hidden_layers * per_layer * dtype_bytes


def activation_budget(device: str) -> int:
    if device.startswith("cuda"):
        import torch

        return int(torch.cuda.mem_get_info(torch.device(device))[0] * GPU_ACTIVATION_SHARE)
    return ACTIVATION_BUDGET_CPU


def needs_checkpointing(config, tokens: int, dtype_bytes: int, device: str, budget: int | None = None) -> bool:
    """True when one micro-batch of `tokens` tokens would keep more activations than the budget."""
    budget = activation_budget(device) if budget is None else budget
    return tokens * activation_bytes_per_token(config, dtype_bytes) > budget
