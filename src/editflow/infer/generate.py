"""Batched generation with Hugging Face transformers (the default `hf` backend).

One call generates for a batch of prompts: left padding (positions come from the attention
mask, so a padded row sees what it would see alone), greedy unless sampling is configured,
n samples per prompt with sampling. `RowStops` ends each row on its own: at a template stop
string in the newly generated text, at EOS, or at the row's own new-token budget (the room
its prompt leaves in the context window), so a row's output does not depend on the length
of its neighbours. A backend takes prompts and budgets and returns `Generated` per sample;
vllm_backend.py implements the same interface.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

log = logging.getLogger(__name__)

STOP_WINDOW_TOKENS = 24  # decoded tail per row and step; longer than any stop string in tokens


@dataclass(frozen=True)
class Generated:
    text: str            # decoded new tokens, special tokens skipped, stop string kept
    n_tokens: int        # tokens the model produced for this row (including the one that ended it)
    finish_reason: str   # stop | eos | length


def _stopping_base():
    from transformers import StoppingCriteria

    return StoppingCriteria


class RowStops:
    """Per-row stopping: stop strings in the generated tail, EOS, and per-row budgets.

    Records for each row the number of generated tokens when it finished and why; generate()
    keeps padding finished rows, and those pad tokens are ignored.
    """

    def __init__(self, tokenizer, prompt_len: int, budgets: Sequence[int], stop: Sequence[str],
                 eos_ids: Sequence[int]):
        self.tokenizer, self.prompt_len = tokenizer, prompt_len
        self.budgets, self.stop, self.eos = list(budgets), tuple(stop), set(eos_ids)
        self.done_at: list[int | None] = [None] * len(self.budgets)
        self.reason: list[str] = ["length"] * len(self.budgets)

    def __call__(self, input_ids, scores=None, **kwargs):
        import torch

        n_new = input_ids.shape[1] - self.prompt_len
        flags = []
        for row, budget in enumerate(self.budgets):
            if self.done_at[row] is None and n_new > 0:
                last = int(input_ids[row, -1])
                if last in self.eos:
                    self.done_at[row], self.reason[row] = n_new, "eos"
                elif self.stop and self._has_stop(input_ids[row, max(self.prompt_len, input_ids.shape[1] - STOP_WINDOW_TOKENS):]):
                    self.done_at[row], self.reason[row] = n_new, "stop"
                elif n_new >= budget:
                    self.done_at[row], self.reason[row] = n_new, "length"
            flags.append(self.done_at[row] is not None)
        return torch.tensor(flags, dtype=torch.bool, device=input_ids.device)

    def _has_stop(self, tail) -> bool:
        text = self.tokenizer.decode(tail, skip_special_tokens=True)
        return any(s in text for s in self.stop)


def as_stopping_criteria(stops: RowStops):
    """Wrap RowStops in transformers' StoppingCriteria type (generate() checks the type)."""
    base = _stopping_base()

    class _Criteria(base):
        def __call__(self, input_ids, scores=None, **kwargs):
            return stops(input_ids, scores, **kwargs)

    return _Criteria()


class HFBackend:
    """Generation with a loaded transformers model (optionally wrapped by peft)."""

    name = "hf"

    def __init__(self, model, tokenizer, *, stop: Sequence[str], do_sample: bool = False,
                 temperature: float = 0.2, top_p: float = 0.95, n_samples: int = 1):
        self.model, self.tokenizer = model, tokenizer
        self.stop, self.do_sample = tuple(stop), do_sample
        self.temperature, self.top_p, self.n_samples = temperature, top_p, n_samples
        if tokenizer.padding_side != "left":
            tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        eos = getattr(model.generation_config, "eos_token_id", None)
        eos = eos if isinstance(eos, list) else [eos] if eos is not None else []
        if tokenizer.eos_token_id is not None:
            eos = sorted(set(eos) | {tokenizer.eos_token_id})
        self.eos_ids = eos

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text)["input_ids"])

    def context_window(self) -> int | None:
        """The model config's max_position_embeddings (models[].max_context overrides it)."""
        return getattr(self.model.config, "max_position_embeddings", None)

    def _generation_config(self, max_new_tokens: int):
        import copy

        from transformers import GenerationConfig

        base = getattr(self.model, "generation_config", None)
        cfg = copy.deepcopy(base) if base is not None else GenerationConfig()
        cfg.max_new_tokens = max_new_tokens
        cfg.max_length = None
        cfg.min_new_tokens = None
        cfg.do_sample = self.do_sample
        cfg.num_return_sequences = self.n_samples
        cfg.pad_token_id = self.tokenizer.pad_token_id
        cfg.eos_token_id = self.eos_ids or None
        if self.do_sample:
            cfg.temperature, cfg.top_p, cfg.top_k = self.temperature, self.top_p, None
        else:
            cfg.temperature, cfg.top_p, cfg.top_k = None, None, None
        return cfg

    def generate(self, prompts: Sequence[str], budgets: Sequence[int], seed: int = 0) -> list[list[Generated]]:
        """For each prompt, n_samples outputs; budgets[i] caps prompt i's new tokens."""
        import torch
        from transformers import StoppingCriteriaList

        enc = self.tokenizer(list(prompts), return_tensors="pt", padding=True)
        device = next(self.model.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        prompt_len = enc["input_ids"].shape[1]
        row_budgets = [b for b in budgets for _ in range(self.n_samples)]
        stops = RowStops(self.tokenizer, prompt_len, row_budgets, self.stop, self.eos_ids)
        torch.manual_seed(seed)
        with torch.inference_mode():
            out = self.model.generate(
                **enc, generation_config=self._generation_config(max(budgets)),
                stopping_criteria=StoppingCriteriaList([as_stopping_criteria(stops)]))
        results: list[list[Generated]] = []
        for i in range(len(prompts)):
            samples = []
            for j in range(self.n_samples):
                row = i * self.n_samples + j
                new = out[row, prompt_len:]
                n = stops.done_at[row] if stops.done_at[row] is not None else min(len(new), row_budgets[row])
                text = self.tokenizer.decode(new[:n], skip_special_tokens=True)
                samples.append(Generated(text=text, n_tokens=int(n), finish_reason=stops.reason[row]))
            results.append(samples)
        return results


def load_hf_backend(model_path: str, *, adapter: str | None, merge_adapter: bool, dtype: str,
                    quantization: str, stop: Sequence[str], device: str | None = None,
                    attn_implementation: str | None = None, tokenizer_path: str | None = None,
                    **gen_kwargs: Any) -> HFBackend:
    """Load base model (+ LoRA adapter, merged or not) and tokenizer through editflow.modeling."""
    from editflow.modeling import load_model, load_tokenizer

    kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
    model = load_model(model_path, dtype=dtype, quantization=quantization, device=device, **kwargs)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
        if merge_adapter:
            model = model.merge_and_unload()
    model.eval()
    tokenizer = load_tokenizer(tokenizer_path or model_path, padding_side="left")
    return HFBackend(model, tokenizer, stop=stop, **gen_kwargs)
