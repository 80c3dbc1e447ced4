"""Varlen attention for packed rows without flash-attn: causal SDPA per packed example.

transformers turns packed position_ids into one dense block-diagonal mask over the whole row,
so attention costs (row length)^2 however short the examples are: on a CPU at 2048 tokens that
is as much compute as the linear layers, and it eats the gain of packing. This attention
function slices the row at the example boundaries (`cu_seq_lens_q`, the same keyword
flash-attn's varlen path reads) and runs causal SDPA on each example, so attention costs the
sum of the examples' squares, as flash-attn varlen does on a GPU. Without the boundaries (padded
batches, generation) it is plain SDPA.
"""
from __future__ import annotations

import importlib.util

NAME = "editflow_varlen"
_registered = False


def varlen_sdpa_forward(module, query, key, value, attention_mask, dropout: float = 0.0,
                        scaling: float | None = None, is_causal: bool | None = None, **kwargs):
    import torch
    import torch.nn.functional as F
    from transformers.integrations.sdpa_attention import repeat_kv, sdpa_attention_forward

    cu = kwargs.get("cu_seq_lens_q")
    if cu is None or query.shape[0] != 1 or query.shape[2] != key.shape[2]:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout,
                                      scaling=scaling, is_causal=is_causal, **kwargs)
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


def register() -> str:
    """Register the attention (and SDPA's mask builder under the same name); return the name."""
    global _registered
    if not _registered:
        from transformers import AttentionInterface
        from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

        AttentionInterface.register(NAME, varlen_sdpa_forward)
        ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)
        _registered = True
    return NAME


def choose(device: str, packing: bool) -> str:
    """flash-attn varlen on a GPU when installed; else our per-example SDPA for packed rows."""
    if not packing:
        return "sdpa"
    if device.startswith("cuda") and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return register()
