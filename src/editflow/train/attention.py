"""Varlen attention for packed rows without flash-attn: causal SDPA per packed example.

transformers turns packed position_ids into one dense block-diagonal mask over the whole row,
so attention costs (row length)^2 however short the examples are: on a CPU at 2048 tokens that
is as much compute as the linear layers, and it eats the gain of packing. This attention
function slices the row at the example boundaries (`cu_seq_lens_q`, the same keyword
flash-attn's varlen path reads) and runs causal SDPA on each example, so attention costs the
sum of the examples' squares, as flash-attn varlen does on a GPU. Without the boundaries (padded
batches, generation) it is plain SDPA.

On a CUDA device (bf16/fp16) the same boundaries go to PyTorch's own flash-attention varlen
kernel (`torch.nn.attention.varlen.varlen_attn`, torch >= 2.10): one call per layer, the
boundaries already on the device, no host sync — the per-example loop reads the boundaries on
the host (`tolist`) in every layer and launches one SDPA per example, which on an H200 made
packing slower than padding. And the mask builder registered under this name returns no mask
when there is no padding mask: transformers would otherwise build a dense (row length)^2
block-diagonal mask for every packed forward that this attention never reads.
"""
from __future__ import annotations

import importlib.util
import inspect
from functools import lru_cache

NAME = "editflow_varlen"
_registered = False


@lru_cache(maxsize=1)
def _varlen_kernel():
    """(varlen_attn, its keyword parameters) when this torch has it, else None."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    return varlen_attn, frozenset(inspect.signature(varlen_attn).parameters)


def flash_varlen(module, query, key, value, cu, max_len: int, scaling: float | None):
    """Causal attention per packed example with torch's flash varlen kernel; [1, T, H, D] out."""
    import torch
    from transformers.integrations.sdpa_attention import repeat_kv

    fn, params = _varlen_kernel()
    groups = getattr(module, "num_key_value_groups", 1)
    kwargs = {"scale": scaling} if "scale" in params else {}
    if groups > 1 and "enable_gqa" in params:
        kwargs["enable_gqa"] = True
    elif groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    if "is_causal" in params:   # torch 2.10
        kwargs["is_causal"] = True
    else:                       # torch >= 2.11: causal is a (-1, 0) window
        kwargs["window_size"] = (-1, 0)
    cu = cu.to(device=query.device, dtype=torch.int32)
    q, k, v = (t[0].transpose(0, 1).contiguous() for t in (query, key, value))  # [T, H, D]
    out = fn(q, k, v, cu, cu, max_len, max_len, **kwargs)
    return out[None], None


def uses_flash_varlen(query, kwargs) -> bool:
    import torch

    return (query.is_cuda and query.dtype in (torch.bfloat16, torch.float16) and _varlen_kernel() is not None
            and kwargs.get("max_length_q") is not None)


def varlen_sdpa_forward(module, query, key, value, attention_mask, dropout: float = 0.0,
                        scaling: float | None = None, is_causal: bool | None = None, **kwargs):
    import torch
    import torch.nn.functional as F
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    cu = kwargs.get("cu_seq_lens_q")
    if cu is None or query.shape[0] != 1 or query.shape[2] != key.shape[2]:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, is_causal=is_causal, **kwargs)
    if uses_flash_varlen(query, kwargs):
        if scaling is None:
            scaling = getattr(module, "scaling", None)
        return flash_varlen(module, query, key, value, cu, int(kwargs["max_length_q"]), scaling)
    groups = getattr(module, "num_key_value_groups", 1)
    if groups > 1:
        key, value = repeat_kv(key, groups), repeat_kv(value, groups)
    bounds = cu.tolist()
    p = dropout if module.training else 0.0
    outs = [F.scaled_dot_product_attention(query[:, :, s:e], key[:, :, s:e], value[:, :, s:e],
                                           dropout_p=p, is_causal=True, scale=scaling)
            for s, e in zip(bounds[:-1], bounds[1:]) if e > s]
    out = torch.cat(outs, dim=2) if len(outs) > 1 else outs[0]
    return out.transpose(1, 2).contiguous(), None


def padding_only_mask(*args, attention_mask=None, **kwargs):
    """SDPA's mask where a padding mask exists (padded batches); None otherwise: a plain row is
    causal (SDPA's is_causal) and a packed row is split by its boundaries, so neither needs one."""
    from transformers.masking_utils import sdpa_mask

    if attention_mask is None:
        return None
    return sdpa_mask(*args, attention_mask=attention_mask, **kwargs)


def register() -> str:
    """Register the attention and its mask builder under NAME; return the name."""
    global _registered
    if not _registered:
        from transformers import AttentionInterface
        from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS

        AttentionInterface.register(NAME, varlen_sdpa_forward)
        ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, padding_only_mask)
        _registered = True
    return NAME


def choose(device: str, packing: bool) -> str:
    """flash-attn's package on a GPU when installed; else ours (torch's flash varlen kernel on
    a GPU, per-example SDPA on a CPU) for packed rows; plain SDPA without packing."""
    if not packing:
        return "sdpa"
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return register()
