"""Batched generation with Hugging Face transformers (the default `hf` backend).

One call generates for a batch of prompts through editflow.infer.engine's decode loop:
each prompt prefilled alone, then decoded together with a preallocated KV cache; greedy
unless sampling is configured (temperature, top-p, n samples per prompt, seeded). Each row
ends on its own: at a template stop string in its newly generated text, at EOS, or at its own
new-token budget (the room its prompt leaves in the context window), so a row's output does
not depend on its neighbours. A backend takes prompts and budgets and returns `Generated` per
sample; vllm_backend.py implements the same interface.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from editflow.infer.engine import Generated, StopCheck, decode_batch, enable_chunked_attention

__all__ = ["Generated", "HFBackend", "load_hf_backend"]


def greedy(logits):
    return logits.argmax(-1)


def top_p_sampler(temperature: float, top_p: float, generator) -> Callable:
    """Temperature, then nucleus (top-p) filtering, then one draw per row from `generator`."""
    import torch

    def pick(logits):
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        ranked, order = probs.sort(dim=-1, descending=True)
        ranked[(ranked.cumsum(-1) - ranked) > top_p] = 0  # keep the smallest prefix reaching top_p
        choice = torch.multinomial(ranked, 1, generator=generator)
        return order.gather(-1, choice)[:, 0]

    return pick


class HFBackend:
    """Generation with a loaded transformers model (optionally wrapped by peft)."""

    name = "hf"

    def __init__(self, model, tokenizer, *, stop: Sequence[str], do_sample: bool = False,
                 temperature: float = 0.2, top_p: float = 0.95, n_samples: int = 1):
        self.model, self.tokenizer = model, tokenizer
        self.stop, self.do_sample = tuple(stop), do_sample
        self.temperature, self.top_p, self.n_samples = temperature, top_p, n_samples
        if tokenizer.pad_token_id is None:  # fed to rows that finished before their batch
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

    def generate(self, prompts: Sequence[str], budgets: Sequence[int], seed: int = 0) -> list[list[Generated]]:
        """For each prompt, n_samples outputs; budgets[i] caps prompt i's new tokens."""
        import torch

        ids = [self.tokenizer(p)["input_ids"] for p in prompts]
        rows = [x for x in ids for _ in range(self.n_samples)]
        row_budgets = [b for b in budgets for _ in range(self.n_samples)]
        if self.do_sample:
            device = next(self.model.parameters()).device
            generator = torch.Generator(device=device).manual_seed(seed)
            pick = top_p_sampler(self.temperature, self.top_p, generator)
        else:
            pick = greedy
        with torch.inference_mode():
            out = decode_batch(self.model, self.tokenizer, rows, row_budgets,
                               StopCheck(self.tokenizer, self.stop, self.eos_ids), pick, self.tokenizer.pad_token_id)
        return [out[i * self.n_samples:(i + 1) * self.n_samples] for i in range(len(prompts))]


def load_hf_backend(model_path: str, *, adapter: str | None, merge_adapter: bool, dtype: str,
                    quantization: str, stop: Sequence[str], device: str | None = None,
                    attn_implementation: str | None = None, tokenizer_path: str | None = None,
                    **gen_kwargs: Any) -> HFBackend:
    """Load base model (+ LoRA adapter, merged or not) and tokenizer through editflow.modeling."""
    from editflow.modeling import load_model, load_tokenizer

    kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
    model = load_model(model_path, dtype=dtype, quantization=quantization, device=device, **kwargs)
    enable_chunked_attention(model)
    if adapter:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, adapter)
        if merge_adapter:
            model = model.merge_and_unload()
    model.eval()
    tokenizer = load_tokenizer(tokenizer_path or model_path, padding_side="left")
    return HFBackend(model, tokenizer, stop=stop, **gen_kwargs)
