"""A batched decode loop for Hugging Face causal LMs, built for CPU throughput.

Why not `model.generate` on a padded batch: profiling SmolLM2-135M on 2 CPU cores showed
four costs that generate() cannot avoid and this loop does:
- Padded prefill. A left-padded batch runs its prompt pass over rows x longest prompt; on the
  dataset's mix (111-427 tokens) that was 60% more prompt tokens than the prompts have. Here
  each prompt is prefilled alone (as the batch-1 loop does) and its keys/values are copied
  into the batch's cache; a prefix all prompts share (the template's system text) is
  prefilled once.
- A KV cache that grows by `torch.cat`, copying every layer's whole cache on every step.
  `SlotLayer` preallocates the cache for the batch's longest prompt + budget and writes each
  step's keys/values in place.
- Finished rows that keep decoding until the last row of the batch ends. Rows that finish are
  dropped from the batch (cache rows, mask, positions) once a quarter of the batch has.
- Reading the left padding. At batch 64 a decode step reads more KV cache than weights, and a
  batch whose prompts span 111-465 tokens pads most rows by hundreds of slots. Rows are
  ordered longest prompt first and attention runs in chunks of CHUNK_ROWS rows, each reading
  the cache only from its longest row's first slot (`chunked_sdpa`; the MLPs and projections
  still see the whole batch).

Layout: row r's prompt occupies cache slots [start_r, T0) with T0 the longest prompt; slots
before start_r are masked out (zeros, so masked slots can never produce NaN). Positions
count each row's own tokens, so a row sees exactly what it would see alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from transformers.cache_utils import Cache, DynamicLayer

STOP_WINDOW_TOKENS = 24  # decoded tail per row and step; longer than any stop string in tokens
COMPACT_SHARE = 0.25     # drop finished rows once this share of the live batch has finished
MIN_SHARED_PREFIX = 16   # prefill a common prompt prefix once when it is at least this long
CHUNK_ROWS = 16          # rows per attention call in chunked attention
CHUNKED_ATTENTION = "editflow_chunked_sdpa"


@dataclass(frozen=True)
class Generated:
    text: str            # decoded new tokens, special tokens skipped, stop string kept
    n_tokens: int        # tokens the model produced for this row (including the one that ended it)
    finish_reason: str   # stop | eos | length


class SlotLayer(DynamicLayer):
    """One layer's KV cache, preallocated to `capacity` slots and written in place."""

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, length: int):
        super().__init__()
        self._k, self._v, self.length = keys, values, length
        self.dtype, self.device = keys.dtype, keys.device
        self.is_initialized = True
        self._views()

    def _views(self) -> None:
        self.keys, self.values = self._k[:, :, :self.length], self._v[:, :, :self.length]

    def update(self, key_states, value_states, *args, **kwargs):
        end = self.length + key_states.shape[-2]
        self._k[:, :, self.length:end] = key_states
        self._v[:, :, self.length:end] = value_states
        self.length = end
        self._views()
        return self.keys, self.values

    def put(self, row: int, first: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Place one prompt's prefilled keys/values ([1, heads, tokens, dim]) at slots first.."""
        self._k[row, :, first:first + keys.shape[-2]] = keys[0]
        self._v[row, :, first:first + values.shape[-2]] = values[0]

    def get_seq_length(self) -> int:
        return self.length

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        self._k, self._v = self._k[indices], self._v[indices]
        self._views()


class RowState:
    """Generated tokens of one row and, once it ended, why and after how many tokens."""

    __slots__ = ("budget", "tokens", "reason")

    def __init__(self, budget: int):
        self.budget, self.tokens, self.reason = budget, [], None


class StopCheck:
    """Ends a row at EOS, at a stop string in its decoded tail, or at its token budget."""

    def __init__(self, tokenizer, stop: Sequence[str], eos_ids: Sequence[int]):
        self.tokenizer, self.stop, self.eos = tokenizer, tuple(stop), set(eos_ids)

    def __call__(self, row: RowState) -> str | None:
        if row.tokens[-1] in self.eos:
            return "eos"
        if self.stop:
            tail = self.tokenizer.decode(row.tokens[-STOP_WINDOW_TOKENS:], skip_special_tokens=True)
            if any(s in tail for s in self.stop):
                return "stop"
        if len(row.tokens) >= row.budget:
            return "length"
        return None


def chunked_sdpa(module, query, key, value, attention_mask, kv_chunks=None, **kwargs):
    """SDPA per chunk of rows, each over the cache slots from its first live slot on.

    Without `kv_chunks` (prefill, any other caller) this is transformers' sdpa attention.
    Slots cut off were masked for every row of the chunk, so each row's attention is unchanged.
    """
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if not kv_chunks:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    outs = []
    for a, b, first in kv_chunks:
        mask = attention_mask[a:b, ..., first:] if attention_mask is not None else None
        outs.append(sdpa_attention_forward(module, query[a:b], key[a:b, :, first:], value[a:b, :, first:],
                                           mask, **kwargs)[0])
    return torch.cat(outs, dim=0), None


def enable_chunked_attention(model) -> bool:
    """Switch an sdpa model to `chunked_sdpa` (identical wherever no chunks are passed)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        return False
    AttentionInterface.register(CHUNKED_ATTENTION, chunked_sdpa)
    ALL_MASK_ATTENTION_FUNCTIONS.register(CHUNKED_ATTENTION, sdpa_mask)
    model.set_attn_implementation(CHUNKED_ATTENTION)
    return model.config._attn_implementation == CHUNKED_ATTENTION


def _kv_chunks(starts: list[int]) -> list[tuple[int, int, int]]:
    """(first row, end row, first slot) per CHUNK_ROWS rows; starts ascend (longest prompt first)."""
    return [(a, min(a + CHUNK_ROWS, len(starts)), starts[a]) for a in range(0, len(starts), CHUNK_ROWS)]


def _check_layers(layers) -> None:
    if any(type(layer) is not DynamicLayer for layer in layers):
        kinds = sorted({type(layer).__name__ for layer in layers})
        raise NotImplementedError(f"the hf backend's batched decoding supports full-attention KV caches only, "
                                  f"not {kinds}; use infer.backend: vllm for this model")


def _forward(model, ids: Sequence[int], past: list[tuple[torch.Tensor, torch.Tensor]] | None):
    """Prompt tokens after an optional cached prefix: last-position logits and the KV cache."""
    from transformers import DynamicCache

    device = next(model.parameters()).device
    cache = DynamicCache(past) if past else DynamicCache()  # a prefix's tensors are copied, never extended
    out = model(input_ids=torch.tensor([list(ids)], device=device), past_key_values=cache,
                use_cache=True, logits_to_keep=1)
    _check_layers(out.past_key_values.layers)
    return out.logits[0, -1], [(layer.keys, layer.values) for layer in out.past_key_values.layers]


def shared_prefix(prompts: Sequence[Sequence[int]]) -> int:
    """Tokens every prompt starts with, leaving each at least one token of its own."""
    n = min(len(p) for p in prompts) - 1
    first = prompts[0]
    for p in prompts[1:]:
        n = next((i for i in range(n) if p[i] != first[i]), n)
    return max(n, 0)


def prefill(model, prompts: Sequence[Sequence[int]]):
    """Yield (prompt, last logits, KV cache) per distinct prompt, each run alone as the batch-1
    loop runs it; one at a time, so only one prompt's cache exists besides the batch's.

    When the prompts share a prefix of at least MIN_SHARED_PREFIX tokens (the template's system
    text: ~70 of a median 201 tokens on the demo mix), it is run once and each prompt continues
    from a copy of its cache.
    """
    distinct = list(dict.fromkeys(tuple(p) for p in prompts))
    n = shared_prefix(distinct) if len(distinct) > 1 else 0
    past = _forward(model, distinct[0][:n], None)[1] if n >= MIN_SHARED_PREFIX else None
    start = n if past else 0
    for p in distinct:
        yield (p, *_forward(model, p[start:], past))


def decode_batch(model, tokenizer, prompts: Sequence[list[int]], budgets: Sequence[int],
                 stop_check: StopCheck, pick: Callable[[torch.Tensor], torch.Tensor],
                 pad_id: int) -> list[Generated]:
    """Greedy or sampled generation for token-id prompts; one `Generated` per prompt.

    `pick` turns a [rows, vocab] logits tensor into next-token ids (argmax, or a sampler).
    Rows that share a prompt (n samples) share one prefill.
    """
    n = len(prompts)
    if len(budgets) != n or min(budgets, default=1) < 1:
        raise ValueError(f"decode_batch needs one positive budget per prompt, got {list(budgets)} for {n} prompts")
    longest = max(len(p) for p in prompts)
    capacity = longest + max(budgets)
    rows = [RowState(b) for b in budgets]

    live = sorted(range(n), key=lambda i: -len(prompts[i]))  # prompt index of each batch row
    start = {i: longest - len(prompts[i]) for i in range(n)}   # the row's first cache slot
    rows_of: dict[tuple[int, ...], list[int]] = {}
    for b, i in enumerate(live):
        rows_of.setdefault(tuple(prompts[i]), []).append(b)
    logits: torch.Tensor | None = None
    layers: list[SlotLayer] = []
    for prompt, last, kv in prefill(model, [prompts[i] for i in live]):
        if not layers:
            logits = last.new_empty((n, last.shape[-1]))
            layers = [SlotLayer(torch.zeros((n, k.shape[1], capacity, k.shape[3]), dtype=k.dtype, device=k.device),
                                torch.zeros((n, v.shape[1], capacity, v.shape[3]), dtype=v.dtype, device=v.device),
                                longest) for k, v in kv]
        for b in rows_of[prompt]:
            logits[b] = last
            for layer, (k, v) in zip(layers, kv):
                layer.put(b, longest - len(prompt), k, v)
    cache = Cache(layers=layers)
    chunked = getattr(getattr(model, "config", None), "_attn_implementation", None) == CHUNKED_ATTENTION

    mask = torch.zeros((n, capacity), dtype=torch.long, device=logits.device)
    for b, i in enumerate(live):
        mask[b, start[i]:longest] = 1
    positions = torch.tensor([[len(prompts[i])] for i in live], device=logits.device)
    step = 0
    while live:
        next_ids = pick(logits)
        finished = []
        for b, tok in enumerate(next_ids.tolist()):
            row = rows[live[b]]
            if row.reason is None:
                row.tokens.append(tok)
                row.reason = stop_check(row)
            if row.reason is not None:
                finished.append(b)
        if len(finished) == len(live):
            break
        if len(finished) >= max(1, int(COMPACT_SHARE * len(live))):
            gone = set(finished)
            keep = torch.tensor([b for b in range(len(live)) if b not in gone], device=logits.device)
            cache.batch_select_indices(keep)
            mask, positions, next_ids = mask[keep], positions[keep], next_ids[keep]
            live = [live[b] for b in keep.tolist()]
        # finished rows still in the batch are fed a pad token; their outputs are ignored
        feed = next_ids.clone()
        for b, p in enumerate(live):
            if rows[p].reason is not None:
                feed[b] = pad_id
        slot = longest + step
        mask[:, slot] = 1
        extra = {"kv_chunks": _kv_chunks([start[i] for i in live])} if chunked and len(live) > CHUNK_ROWS else {}
        out = model(input_ids=feed[:, None], attention_mask=mask[:, :slot + 1], position_ids=positions,
                    past_key_values=cache, use_cache=True, **extra)
        logits = out.logits[:, -1]
        positions = positions + 1
        step += 1
    return [Generated(text=tokenizer.decode(r.tokens, skip_special_tokens=True), n_tokens=len(r.tokens),
                      finish_reason=r.reason or "length") for r in rows]
