"""Summed target-token cross-entropy without materialising a [tokens, vocabulary] logits tensor.

The LM head of a small model with a 49k vocabulary is a large share of training memory: a
16k-token micro-batch of the 1.3B shape needs 16k x 49k logits (1.6 GB in bf16, 3.2 GB more
in fp32 for the loss, and the same again for their gradient). Here the decoder runs without its
head, only positions that predict a target token are kept, and the head + cross-entropy run
over them in chunks of CE_CHUNK_TOKENS:
- on a CUDA device with Liger Kernel installed (pure Python + Triton, optional), its fused
  linear cross-entropy computes loss and gradients chunk by chunk in one pass;
- otherwise each chunk is an activation-checkpointed `lm_head -> float -> cross_entropy`,
  so only one chunk's logits exist at a time, forward and backward.
Models whose logits need more than a linear head (soft-capping, scaled logits) or that do not
expose their decoder and head use the model's own forward (`loss_sum_full_logits`).
"""
from __future__ import annotations

import importlib.util
import logging
from typing import Any

log = logging.getLogger(__name__)

IGNORE_INDEX = -100
CE_CHUNK_TOKENS = 4096
_liger_failed: list[str] = []  # set once Liger's kernels failed to build here (e.g. no C compiler for Triton)


def decoder_and_head(model):
    """(decoder without head, LM head Linear) of a causal LM (peft-wrapped or not), or None."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    config = getattr(base, "config", None)
    if any(getattr(config, k, None) for k in ("final_logit_softcapping", "logit_scale", "logits_scaling")):
        return None
    try:
        decoder, head = base.get_decoder(), base.get_output_embeddings()
    except (AttributeError, NotImplementedError):
        return None
    if decoder is None or head is None or getattr(head, "bias", None) is not None:
        return None
    return decoder, head


def use_liger(device: str) -> bool:
    return device.startswith("cuda") and not _liger_failed and importlib.util.find_spec("liger_kernel") is not None


def ce_sum(hidden, weight, labels, device: str):
    """Summed CE of the head over `hidden`: Liger's fused kernel where usable, else chunked torch."""
    if use_liger(device):
        try:
            return liger_ce_sum(hidden, weight.to(hidden.dtype), labels)
        except Exception as exc:  # a Triton build failure must not stop training: fall back, once
            _liger_failed.append(f"{type(exc).__name__}: {exc}")
            log.warning("Liger fused cross-entropy failed (%s); using the chunked torch loss", _liger_failed[0])
    return chunked_ce_sum(hidden, weight, labels)


def kind(device: str) -> str:
    """Which cross-entropy `ce_sum` runs on `device` now (reported by the benchmark)."""
    return "liger" if use_liger(device) else "chunked" + (f" (liger failed: {_liger_failed[0]})" if _liger_failed else "")


def _chunk_ce(hidden, weight, labels):
    import torch.nn.functional as F

    logits = hidden @ weight.t()
    return F.cross_entropy(logits.float(), labels, ignore_index=IGNORE_INDEX, reduction="sum")


def chunked_ce_sum(hidden, weight, labels, chunk: int = CE_CHUNK_TOKENS):
    """sum CE(hidden @ weight.T, labels) over [N, H] hidden states, one checkpointed chunk at a time."""
    from torch.utils.checkpoint import checkpoint

    total = None
    for a in range(0, hidden.shape[0], chunk):
        part = checkpoint(_chunk_ce, hidden[a:a + chunk], weight, labels[a:a + chunk], use_reentrant=False)
        total = part if total is None else total + part
    return total


def liger_ce_sum(hidden, weight, labels):
    from liger_kernel.transformers import LigerFusedLinearCrossEntropyLoss

    return LigerFusedLinearCrossEntropyLoss(ignore_index=IGNORE_INDEX, reduction="sum")(weight, hidden, labels)


def target_hidden_states(decoder, inputs: dict[str, Any], labels):
    """Final hidden states of the positions that predict a target token, and those targets."""
    hidden = decoder(**inputs, use_cache=False).last_hidden_state[:, :-1]
    shift = labels[:, 1:]
    keep = shift != IGNORE_INDEX
    return hidden[keep], shift[keep]
