"""Batched generation with Hugging Face transformers (the default `hf` backend).

One call generates for a batch of prompts through one of two decode loops, chosen by device
(`choose_engine`): on a CPU engine.py's loop (each prompt prefilled alone, then decoded
together with a preallocated KV cache, finished rows dropped); on a CUDA device
gpu_engine.py's loop (one padded prefill, static KV slots, CUDA-graph decode steps). Both are
greedy
unless sampling is configured (temperature, top-p, n samples per prompt, seeded). Each row
ends on its own: at a template stop string in its newly generated text, at EOS, or at its own
new-token budget (the room its prompt leaves in the context window), so a row's output does
not depend on its neighbours. A backend takes prompts and budgets and returns `Generated` per
sample; vllm_backend.py implements the same interface.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

from editflow.infer.engine import Generated, StopCheck, decode_batch, enable_chunked_attention

__all__ = ["Generated", "HFBackend", "backend_for_model", "choose_engine", "load_hf_backend"]

ENGINES = ("slots", "graphs")


def choose_engine(device: str | None, requested: str = "auto") -> str:
    """`graphs` (gpu_engine) on a CUDA device, `slots` (engine.py, tuned for CPUs) elsewhere.

    An explicit `requested` engine wins; both run on either device (tests run `graphs` on a CPU).
    """
    if requested != "auto":
        if requested not in ENGINES:
            raise ValueError(f"unknown decode engine {requested!r}; choose one of {ENGINES} or 'auto'")
        return requested
    return "graphs" if str(device or "cpu").startswith("cuda") else "slots"


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
                 temperature: float = 0.2, top_p: float = 0.95, n_samples: int = 1, engine: str = "auto"):
        self.model, self.tokenizer = model, tokenizer
        self.engine = choose_engine(str(next(model.parameters()).device), engine)
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

    def batch_limits(self, batch_size: int, max_batch_tokens: int) -> tuple[int, int]:
        """The batch plan's limits on this backend's device: unchanged on a CPU, sized from free
        memory on a GPU (gpu_engine.fit_batches_to_gpu)."""
        device = next(self.model.parameters()).device
        if device.type != "cuda":
            return batch_size, max_batch_tokens
        import dataclasses

        from editflow.infer.gpu_engine import fit_batches_to_gpu
        from editflow.infer.settings import InferSettings

        defaults = {f.name: f.default for f in dataclasses.fields(InferSettings)}
        return fit_batches_to_gpu(self.model, batch_size, max_batch_tokens,
                                  (defaults.get("batch_size", 64), defaults.get("max_batch_tokens", 65536)))

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
        check = StopCheck(self.tokenizer, self.stop, self.eos_ids)
        with torch.inference_mode():
            if self.engine == "graphs":
                from editflow.infer.gpu_engine import decode_batch_graphs

                out = decode_batch_graphs(self.model, self.tokenizer, rows, row_budgets, check,
                                          None if pick is greedy else pick, self.tokenizer.pad_token_id)
            else:
                out = decode_batch(self.model, self.tokenizer, rows, row_budgets, check, pick,
                                   self.tokenizer.pad_token_id)
        return [out[i * self.n_samples:(i + 1) * self.n_samples] for i in range(len(prompts))]


def load_hf_backend(model_path: str, *, adapter: str | None, merge_adapter: bool, dtype: str,
                    quantization: str, stop: Sequence[str], device: str | None = None,
                    attn_implementation: str | None = None, tokenizer_path: str | None = None,
                    engine: str = "auto", **gen_kwargs: Any) -> HFBackend:
    """Load base model (+ LoRA adapter, merged or not) and tokenizer through editflow.modeling."""
    from editflow.modeling import load_model, load_tokenizer

    kwargs = {"attn_implementation": attn_implementation} if attn_implementation else {}
    model = load_model(model_path, dtype=dtype, quantization=quantization, device=device, **kwargs)
    if adapter:
        from peft import PeftModel

        prepare_attention(model, engine)  # before peft wraps it
        model = PeftModel.from_pretrained(model, adapter)
        if merge_adapter:
            model = model.merge_and_unload()
    tokenizer = load_tokenizer(tokenizer_path or model_path, padding_side="left")
    return backend_for_model(model, tokenizer, stop=stop, engine=engine, **gen_kwargs)


def prepare_attention(model, engine: str = "auto") -> str:
    """Set up the attention the chosen engine runs with; returns the engine's name."""
    chosen = choose_engine(str(next(model.parameters()).device), engine)
    if chosen == "slots":
        enable_chunked_attention(model)
    return chosen


def backend_for_model(model, tokenizer, *, stop: Sequence[str], engine: str = "auto", **gen_kwargs: Any) -> HFBackend:
    """An HFBackend around an already built model (benchmarks build random-init shapes in memory)."""
    prepare_attention(model, engine)
    model.eval()
    return HFBackend(model, tokenizer, stop=stop, engine=engine, **gen_kwargs)
