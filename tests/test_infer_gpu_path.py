"""The GPU decode path (infer/gpu_engine.py) run eagerly on the CPU, and device selection.

CUDA graphs need a GPU; everything around them (static KV slots, the padded prefill, the slot
mask, host-side stop checks every CHECK_EVERY steps, batch sizing from free memory) is the
same code on a CPU, so these tests pin it against engine.py's loop and model.generate.
"""
from __future__ import annotations

import pytest

from editflow.infer import gpu_engine
from editflow.infer.engine import RowState, StopCheck
from editflow.infer.generate import HFBackend, choose_engine

from test_infer import STOP, backend, one_thread, stop_one_by_one, tiny_adapter, tiny_model  # noqa: F401

PROMPTS = ["### Instruction\n[\nCommit Message: \"fix\"\n", "x = 1\n", "import numpy as np\nx = np.arange(10)\n# %%\n",
           "print(x)\n", "]\n### Response:\n"]


def test_choose_engine_by_device():
    assert [choose_engine(d) for d in ("cpu", None, "cuda", "cuda:1", "mps")] == \
        ["slots", "slots", "graphs", "graphs", "slots"]
    assert choose_engine("cpu", "graphs") == "graphs" and choose_engine("cuda", "slots") == "slots"
    with pytest.raises(ValueError, match="unknown decode engine 'paged'"):
        choose_engine("cuda", "paged")


def test_cpu_backend_keeps_the_cpu_loop_and_batch_limits(backend):  # noqa: F811
    assert backend.engine == "slots"
    assert backend.model.config._attn_implementation == "editflow_chunked_sdpa"
    assert backend.batch_limits(64, 65536) == (64, 65536)
    assert backend.batch_limits(3, 100) == (3, 100)


@pytest.mark.parametrize("check_every", [16, 3])
@pytest.mark.parametrize("stop_kind", ["none", "template", "from_output"])
def test_graph_loop_gives_the_cpu_loops_outputs(backend, check_every, stop_kind, monkeypatch):  # noqa: F811
    """Mixed prompt lengths and budgets, stop strings or none, host checks every step-block:
    row for row the same text, token count and finish reason as engine.py's loop."""
    monkeypatch.setattr(gpu_engine, "CHECK_EVERY", check_every)
    monkeypatch.setattr(gpu_engine, "PREFILL_TOKENS", 40)  # prefill in row groups
    budgets = [12, 2, 9, 3, 30]
    model, tok = backend.model, backend.tokenizer
    stop = {"none": (), "template": STOP}.get(stop_kind)
    if stop is None:  # a string the model writes mid-row (row 2), so that row ends at a stop
        free = HFBackend(model, tok, stop=(), engine="slots").generate(PROMPTS, budgets)
        stop = (free[2][0].text[4:8],)
    slots = HFBackend(model, tok, stop=stop, engine="slots").generate(PROMPTS, budgets)
    graphs = HFBackend(model, tok, stop=stop, engine="graphs")
    got = graphs.generate(PROMPTS, budgets)
    assert graphs.engine == "graphs"
    assert got == slots
    reasons = [g[0].finish_reason for g in got]
    assert reasons[:2] == ["eos", "length"] and reasons[4] == "eos"
    assert reasons[2] == ("stop" if stop_kind == "from_output" else "length")
    assert [g[0].n_tokens <= b for g, b in zip(got, budgets)] == [True] * 5
    # the model's attention is restored after the batch
    assert model.config._attn_implementation == "editflow_chunked_sdpa"


def test_graph_loop_sampling_is_seeded(backend):  # noqa: F811
    sampler = HFBackend(backend.model, backend.tokenizer, stop=STOP, engine="graphs", do_sample=True,
                        temperature=1.0, top_p=0.9, n_samples=2)
    a, b = sampler.generate(PROMPTS[:3], [8, 8, 8], seed=5), sampler.generate(PROMPTS[:3], [8, 8, 8], seed=5)
    assert a == b and [len(x) for x in a] == [2, 2, 2]


def test_row_checker_ends_rows_where_stop_check_does(backend):  # noqa: F811
    tok = backend.tokenizer
    check = StopCheck(tok, STOP, [tok.eos_token_id])
    checker = gpu_engine.RowChecker(check)
    ids = tok("x = 1\nprint(x)\n### End\ny = 2")["input_ids"]
    for budget in (99, 4):
        expected = stop_one_by_one(check, ids, budget)
        for block in (1, 2, 5, len(ids)):
            row = RowState(budget)
            for i in range(0, len(ids), block):
                checker.extend(row, ids[i:i + block])
            assert (row.reason, row.tokens) == (expected.reason, expected.tokens)
    eos_row = RowState(99)
    checker.extend(eos_row, ids[:2] + [tok.eos_token_id] + ids[2:])
    assert (eos_row.reason, len(eos_row.tokens)) == ("eos", 3)


def test_gpu_batch_limits_come_from_free_memory(backend):  # noqa: F811
    model = backend.model
    per_slot = gpu_engine.kv_bytes_per_slot(model)
    assert per_slot == 2 * 2 * 2 * 8 * 4  # k+v, 2 layers, 2 kv heads, head dim 8, float32
    free = 1000 * per_slot * 2  # KV_MEMORY_SHARE 0.5 of it holds 1000 slots
    defaults = (64, 65536)
    assert gpu_engine.fit_batches_to_gpu(model, 64, 65536, defaults, free_bytes=free) == (256, 1000)
    assert gpu_engine.fit_batches_to_gpu(model, 8, 500, defaults, free_bytes=free) == (8, 500)
    assert gpu_engine.fit_batches_to_gpu(model, 8, 5000, defaults, free_bytes=free) == (8, 1000)


def test_graph_loop_with_an_unmerged_adapter(tiny_model, tiny_adapter):  # noqa: F811
    from editflow.infer.generate import load_hf_backend

    kw = dict(adapter=str(tiny_adapter), merge_adapter=False, dtype="float32", quantization="none", stop=STOP,
              device="cpu")
    slots = load_hf_backend(str(tiny_model), **kw).generate(PROMPTS, [10] * 5)
    graphs = load_hf_backend(str(tiny_model), engine="graphs", **kw)
    assert graphs.model.config._attn_implementation == "sdpa"  # the CPU loop's chunked attention is not set
    got = graphs.generate(PROMPTS, [10] * 5)
    assert got == slots
    assert {g[0].finish_reason for g in got} == {"eos", "length"}
