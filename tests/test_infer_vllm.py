"""The vLLM backend's request/response mapping, against a fake `vllm` module (vllm itself needs
a GPU and cannot be installed on the CPU machines or the lent GPU machine)."""
from __future__ import annotations

import sys
import types
from dataclasses import dataclass, field

import pytest

from editflow.infer.generate import Generated


@dataclass
class FakeParams:
    n: int = 1
    max_tokens: int = 16
    stop: list = field(default_factory=list)
    seed: int | None = None
    temperature: float = 1.0
    top_p: float = 1.0


@dataclass
class FakeCompletion:
    text: str
    token_ids: list
    finish_reason: str
    stop_reason: object = None


class FakeLLM:
    """Records what the backend asks for; answers with scripted completions."""
    calls: list = []

    def __init__(self, model, **kwargs):
        self.model, self.kwargs = model, kwargs
        self.llm_engine = types.SimpleNamespace(model_config=types.SimpleNamespace(max_model_len=4096))

    def get_tokenizer(self):
        return lambda text: {"input_ids": text.split()}

    def generate(self, prompts, params, lora_request=None, use_tqdm=True):
        FakeLLM.calls.append((prompts, params, lora_request))
        scripted = [
            [FakeCompletion("x = 1\n", [5, 6, 7], "stop", "### End")],          # stopped at a stop string
            [FakeCompletion("y = 2", [8, 9], "stop", 2)],                        # stopped at EOS (token id)
            [FakeCompletion("z", [1] * params[-1].max_tokens, "length")],          # ran to its budget
        ]
        return [types.SimpleNamespace(outputs=scripted[i] * params[i].n) for i in range(len(prompts))]


@pytest.fixture
def fake_vllm(monkeypatch):
    vllm = types.ModuleType("vllm")
    vllm.LLM, vllm.SamplingParams = FakeLLM, FakeParams
    lora = types.ModuleType("vllm.lora")
    request = types.ModuleType("vllm.lora.request")
    request.LoRARequest = lambda name, idx, path: ("lora", name, idx, path)
    for name, mod in (("vllm", vllm), ("vllm.lora", lora), ("vllm.lora.request", request)):
        monkeypatch.setitem(sys.modules, name, mod)
    FakeLLM.calls = []
    return vllm


def test_greedy_requests_and_responses(fake_vllm):
    from editflow.infer.vllm_backend import VLLMBackend

    be = VLLMBackend("m", adapter=None, stop=("### End",), dtype="bfloat16", max_context=2048, quantization="4bit")
    assert be.llm.kwargs == {"dtype": "bfloat16", "enable_lora": False, "tokenizer": "m", "max_model_len": 2048,
                             "quantization": "bitsandbytes"}
    assert be.context_window() == 4096 and be.count_tokens("a b c") == 3
    out = be.generate(["p0", "p1", "p2"], [10, 20, 3], seed=7)
    prompts, params, lora = FakeLLM.calls[0]
    assert prompts == ["p0", "p1", "p2"] and lora is None
    assert [(p.n, p.max_tokens, p.stop, p.seed, p.temperature, p.top_p) for p in params] == [
        (1, 10, ["### End"], 7, 0.0, 1.0), (1, 20, ["### End"], 8, 0.0, 1.0), (1, 3, ["### End"], 9, 0.0, 1.0)]
    assert out == [[Generated("x = 1\n### End", 3, "stop")], [Generated("y = 2", 2, "eos")],
                   [Generated("z", 3, "length")]]


def test_sampling_and_adapter(fake_vllm):
    from editflow.infer.vllm_backend import VLLMBackend

    be = VLLMBackend("m", adapter="/runs/run1/adapter", stop=(), do_sample=True, temperature=0.2, top_p=0.95,
                     n_samples=2, tokenizer_path="/runs/run1/adapter")
    assert be.llm.kwargs["enable_lora"] is True and be.llm.kwargs["tokenizer"] == "/runs/run1/adapter"
    out = be.generate(["p0"], [5], seed=0)
    _, params, lora = FakeLLM.calls[0]
    assert lora == ("lora", "adapter", 1, "/runs/run1/adapter")
    assert (params[0].n, params[0].temperature, params[0].top_p, params[0].stop) == (2, 0.2, 0.95, [])
    assert out == [[Generated("x = 1\n### End", 3, "stop")] * 2]


def test_missing_vllm_is_a_clear_error(monkeypatch):
    from editflow.infer.vllm_backend import VLLMBackend

    monkeypatch.setitem(sys.modules, "vllm", None)
    with pytest.raises(ImportError, match="infer.backend is 'vllm' but vllm is not installed"):
        VLLMBackend("m", adapter=None, stop=())
