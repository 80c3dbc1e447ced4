"""Optional vLLM backend for GPU clusters, behind the same interface as generate.HFBackend.

Imported only when `infer.backend: vllm` is chosen (vllm is not a dependency of the default
install and is never imported otherwise). LoRA adapters are served unmerged through
vllm's LoRARequest. Stop strings are passed to vllm's SamplingParams; vllm returns text
without the stop string, so it is appended back to keep `raw_output` comparable with the
hf backend's (whose raw output keeps it). Not exercised on the CPU machines of the default run.
"""
from __future__ import annotations

from typing import Sequence

from editflow.infer.generate import Generated


class VLLMBackend:
    name = "vllm"

    def __init__(self, model_path: str, *, adapter: str | None, stop: Sequence[str], dtype: str = "auto",
                 do_sample: bool = False, temperature: float = 0.2, top_p: float = 0.95, n_samples: int = 1,
                 max_context: int | None = None, quantization: str = "none", tokenizer_path: str | None = None):
        try:
            from vllm import LLM
        except ImportError as exc:  # pragma: no cover - depends on the cluster env
            raise ImportError("infer.backend is 'vllm' but vllm is not installed; "
                              "`pip install vllm` on a GPU node or use backend: hf") from exc
        kwargs = {"dtype": "auto" if dtype == "auto" else dtype, "enable_lora": bool(adapter),
                  "tokenizer": tokenizer_path or model_path}
        if max_context:
            kwargs["max_model_len"] = max_context
        if quantization == "4bit":
            kwargs["quantization"] = "bitsandbytes"
        self.llm = LLM(model=model_path, **kwargs)
        self.tokenizer = self.llm.get_tokenizer()
        self.adapter, self.stop = adapter, tuple(stop)
        self.do_sample, self.temperature, self.top_p, self.n_samples = do_sample, temperature, top_p, n_samples

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text)["input_ids"])

    def context_window(self) -> int | None:
        return self.llm.llm_engine.model_config.max_model_len

    def generate(self, prompts: Sequence[str], budgets: Sequence[int], seed: int = 0) -> list[list[Generated]]:
        from vllm import SamplingParams

        lora = None
        if self.adapter:
            from vllm.lora.request import LoRARequest

            lora = LoRARequest("adapter", 1, self.adapter)
        params = [SamplingParams(n=self.n_samples, max_tokens=b, stop=list(self.stop), seed=seed + i,
                                 temperature=self.temperature if self.do_sample else 0.0,
                                 top_p=self.top_p if self.do_sample else 1.0)
                  for i, b in enumerate(budgets)]
        outs = self.llm.generate(list(prompts), params, lora_request=lora, use_tqdm=False)
        results = []
        for out in outs:
            samples = []
            for comp in out.outputs:
                reason = comp.finish_reason
                text = comp.text
                if reason == "stop" and isinstance(comp.stop_reason, str):
                    text += comp.stop_reason
                elif reason == "stop":
                    reason = "eos"
                samples.append(Generated(text=text, n_tokens=len(comp.token_ids), finish_reason=reason))
            results.append(samples)
        return results
