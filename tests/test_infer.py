"""End-to-end inference on a tiny random Llama built here (no downloads, no converted model)."""
from __future__ import annotations

import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow.infer.exemplars import Shots, load_split
from editflow.infer.engine import RowState, StopCheck
from editflow.infer.generate import HFBackend, load_hf_backend
from editflow.infer.job import JobSpec, run_job
from editflow.infer.settings import InferSettings
from editflow.prompts import Exemplar, render_prompt, task_template
from editflow.records import EXAMPLE_SCHEMA, PREDICTION_SCHEMA

STOP = ("### End", "### Instruction")
CORPUS = ("### Instruction\n[\nCommit Message: \"fix the plot\"\nOriginal Code:\n'''\nimport numpy as np\n"
          "x = np.arange(10)\n# %%\nprint(x)\n'''\n]\n### Response:\n### End\n")


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny matrices run fastest on one thread, and a shared CI CPU punishes more."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 2-layer Llama (width 32) with a byte-level BPE tokenizer trained on a few lines."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out = tmp_path_factory.mktemp("tiny-llama")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator([CORPUS] * 4, trainers.BpeTrainer(
        vocab_size=320, special_tokens=["<pad>", "<eos>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>", pad_token="<pad>")
    fast.save_pretrained(out)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id, bos_token_id=None)
    LlamaForCausalLM(config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tiny_adapter(tiny_model, tmp_path_factory):
    """A LoRA adapter with non-zero B matrices, so it changes the outputs."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("run1") / "adapter"
    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                                  init_lora_weights=False))
    peft_model.save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """7 nb-cell test examples (one far too long for the 1024-token context), 5 train examples."""
    out = tmp_path_factory.mktemp("dataset")

    def write(split, rows):
        pq.write_table(pa.Table.from_pylist([{
            "example_id": eid, "edit_id": eid, "task": "nb-cell", "split": split,
            "prompt_fields": {"message": msg, "old_code": old}, "target": tgt, "repo": "r", "commit": "c",
            "path": "nb.ipynb", "license": "mit", "commit_time": 0} for eid, msg, old, tgt in rows],
            schema=EXAMPLE_SCHEMA), out / f"{split}.parquet")

    write("test", [(f"e{i}", f"fix {i}", "# %%\nx = 1\n" * (i + 1), f"# %%\nx = {i}") for i in range(6)]
          + [("long", "too long", "print('a long line of code')\n" * 80, "x")])
    write("train", [(f"t{i}", f"tr {i}", "y = 2", f"y = {i}") for i in range(5)])
    return out


SETTINGS = InferSettings(batch_size=3, max_new_tokens=10, min_new_tokens_room=8)


def _spec(tiny_model, dataset, out, **kw):
    return JobSpec(model_path=str(tiny_model), model_name="tiny", task="nb-cell", shots=kw.pop("shots", 0),
                   dataset=str(dataset), out=str(out), dtype="float32", **kw)


@pytest.fixture(scope="module")
def backend(tiny_model):
    return load_hf_backend(str(tiny_model), adapter=None, merge_adapter=False, dtype="float32",
                           quantization="none", stop=STOP, device="cpu")


def test_predictions_file_contract(tiny_model, dataset, backend, tmp_path):
    out = tmp_path / "base.parquet"
    stats = run_job(_spec(tiny_model, dataset, out, shots=1), SETTINGS, backend)
    table = pq.read_table(out)
    assert table.schema.equals(PREDICTION_SCHEMA)
    rows = table.to_pylist()
    assert [r["example_id"] for r in rows] == ["e0", "e1", "e2", "e3", "e4", "e5", "long"]
    assert stats["truncated"] == 1 and stats["examples"] == 7 and stats["batches"] == 2
    long = rows[-1]
    assert long["truncated"] and long["finish_reason"] == "no_room" and long["raw_output"] == ""
    assert long["prompt_tokens"] > 1024 - 8 and long["output_tokens"] == 0
    template = task_template("nb-cell", finetuned=False, shots=1)  # infer.kshot_template
    for r in rows[:-1]:
        assert not r["truncated"] and r["sample"] == 0 and r["shots"] == 1 and r["checkpoint"] == "base"
        assert r["prompt"].startswith(template.system.split("{")[0]) and r["prompt"].count("### Response:") == 2
        i = int(r["example_id"][1])
        drawn = [e.exemplar() for e in Shots(load_split(dataset, "train", "nb-cell"), 1, seed=0).draw(r["example_id"])]
        assert r["prompt"] == render_prompt(template, "nb-cell", Exemplar(f"fix {i}", "# %%\nx = 1\n" * (i + 1)), drawn)
        assert r["reference"] == f"# %%\nx = {r['example_id'][1]}"
        assert 1 <= r["output_tokens"] <= 10 and r["prompt_tokens"] == backend.count_tokens(r["prompt"])
        assert "'''\ny = 2\n'''" in r["prompt"]  # the exemplar comes from train
    gen = json.loads(rows[0]["generation"])
    assert gen["template"] == "ipynb-edit-kshot" and gen["shots"] == 1 and gen["max_context"] == 1024
    assert gen["do_sample"] is False and "temperature" not in gen and gen["max_new_tokens"] == 10
    assert not (tmp_path / ".base.parquet.parts").exists()


def test_batched_outputs_equal_batch_one(tiny_model, dataset, backend, tmp_path):
    batched, single = tmp_path / "b.parquet", tmp_path / "s.parquet"
    run_job(_spec(tiny_model, dataset, batched), SETTINGS, backend)
    run_job(_spec(tiny_model, dataset, single), InferSettings(batch_size=1, max_new_tokens=10, min_new_tokens_room=8),
            backend)
    a, b = pq.read_table(batched).to_pylist(), pq.read_table(single).to_pylist()
    assert [r["raw_output"] for r in a] == [r["raw_output"] for r in b]
    assert [r["output_tokens"] for r in a] == [r["output_tokens"] for r in b]


def test_killed_job_resumes_to_identical_file(tiny_model, dataset, backend, tmp_path):
    whole, resumed = tmp_path / "whole.parquet", tmp_path / "resumed.parquet"
    run_job(_spec(tiny_model, dataset, whole), SETTINGS, backend)

    def crash(batch):
        if batch == 0:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        run_job(_spec(tiny_model, dataset, resumed), SETTINGS, backend, on_batch=crash)
    parts = tmp_path / ".resumed.parquet.parts"
    assert not resumed.exists() and sorted(p.name for p in parts.iterdir()) == ["batch-00000.parquet", "manifest.json"]
    generated = []
    stats = run_job(_spec(tiny_model, dataset, resumed), SETTINGS, backend, on_batch=generated.append)
    assert generated == [1] and stats["resumed_batches"] == 1
    assert resumed.read_bytes() == whole.read_bytes()
    # other settings invalidate the parts instead of mixing them in
    with pytest.raises(RuntimeError):
        run_job(_spec(tiny_model, dataset, resumed), SETTINGS, backend, on_batch=crash)
    other = InferSettings(batch_size=3, max_new_tokens=6, min_new_tokens_room=8)
    done = []
    run_job(_spec(tiny_model, dataset, resumed), other, backend, on_batch=done.append)
    assert done == [0, 1]


def test_merged_adapter_gives_the_same_greedy_outputs(tiny_model, tiny_adapter, dataset, backend, tmp_path):
    outs = {}
    for merge in (False, True):
        b = load_hf_backend(str(tiny_model), adapter=str(tiny_adapter), merge_adapter=merge, dtype="float32",
                            quantization="none", stop=STOP, device="cpu")
        out = tmp_path / f"merge{merge}.parquet"
        run_job(_spec(tiny_model, dataset, out, adapter=str(tiny_adapter), checkpoint="run1"), SETTINGS, b)
        outs[merge] = pq.read_table(out).to_pylist()
    base_out = tmp_path / "base.parquet"
    run_job(_spec(tiny_model, dataset, base_out), SETTINGS, backend)
    base = pq.read_table(base_out).to_pylist()
    assert [r["raw_output"] for r in outs[False]] == [r["raw_output"] for r in outs[True]]
    assert [r["raw_output"] for r in outs[False]] != [r["raw_output"] for r in base]  # the adapter acts
    first = outs[False][0]
    assert first["checkpoint"] == "run1" and first["prompt"].startswith("### Instruction\n[\nCommit Message:\" fix 0\"")
    assert json.loads(first["generation"])["template"] == "finetuned"


def test_sampling_gives_n_samples_per_example_reproducibly(tiny_model, dataset, backend, tmp_path):
    settings = InferSettings(batch_size=4, max_new_tokens=6, min_new_tokens_room=4, do_sample=True,
                             temperature=1.0, top_p=0.9, n_samples=2, seed=3, max_test_examples=3)
    sampler = HFBackend(backend.model, backend.tokenizer, stop=STOP, do_sample=True, temperature=1.0,
                        top_p=0.9, n_samples=2)
    first, second = tmp_path / "a.parquet", tmp_path / "b.parquet"
    run_job(_spec(tiny_model, dataset, first), settings, sampler)
    run_job(_spec(tiny_model, dataset, second), settings, sampler)
    rows = pq.read_table(first).to_pylist()
    assert [(r["example_id"], r["sample"]) for r in rows] == [(e, s) for e in ("e0", "e1", "e2") for s in (0, 1)]
    assert first.read_bytes() == second.read_bytes()
    gen = json.loads(rows[0]["generation"])
    assert gen["temperature"] == 1.0 and gen["n_samples"] == 2


def stop_one_by_one(check: StopCheck, tokens, budget: int) -> RowState:
    """The row StopCheck ends when its tokens arrive one at a time (the CPU loop's way)."""
    row = RowState(budget)
    for t in tokens:
        row.tokens.append(t)
        if reason := check(row):
            row.reason = reason
            break
    return row


def test_stop_check_ends_rows_at_stop_strings_eos_and_budgets(backend):
    tok = backend.tokenizer
    check = StopCheck(tok, STOP, [tok.eos_token_id])
    gen_stop = tok("x = 1\n### End")["input_ids"]

    def first_end(tokens, budget):
        row = stop_one_by_one(check, tokens, budget)
        return row.reason, len(row.tokens)

    assert first_end(gen_stop, 99) == ("stop", len(gen_stop))
    assert first_end(gen_stop[:2] + [tok.eos_token_id] + gen_stop[3:], 99) == ("eos", 3)
    assert first_end(gen_stop, 2) == ("length", 2)
    # only the row's own new tokens are checked: "### End" split across them still counts once whole
    plain = tok("y = 2\n")["input_ids"]
    assert first_end(plain, 99) == (None, len(plain))


@pytest.mark.parametrize("shared", ["", "You are a skilled developer. ### Instruction\n"])
def test_engine_matches_model_generate_per_prompt(backend, shared, monkeypatch):
    """Mixed prompt lengths and budgets (rows finish and are dropped mid-batch), with and
    without a shared prompt prefix (prefilled once): every row's greedy tokens equal what
    model.generate gives that prompt alone."""
    import torch

    from editflow.infer import engine

    monkeypatch.setattr(engine, "MIN_SHARED_PREFIX", 4)
    monkeypatch.setattr(engine, "CHUNK_ROWS", 2)  # attention in chunks of 2 rows, each from its own first slot
    tok, model = backend.tokenizer, backend.model
    assert model.config._attn_implementation == engine.CHUNKED_ATTENTION
    if shared:
        assert engine.shared_prefix([tok(shared + p)["input_ids"] for p in ("x = 1\n", "print(x)\n")]) >= 4
    prompts = [shared + p for p in ["### Instruction\n[\nCommit Message: \"fix\"\n", "x = 1\n", "import numpy as np\nx = np.arange(10)\n# %%\n",
               "print(x)\n", "]\n### Response:\n"]]
    budgets = [12, 2, 9, 3, 12]
    plain = HFBackend(model, tok, stop=(), n_samples=1)  # no stop strings: rows end at EOS or budget
    batched = plain.generate(prompts, budgets)
    with torch.inference_mode():
        for prompt, budget, got in zip(prompts, budgets, batched):
            ids = tok(prompt)["input_ids"]
            out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                 max_new_tokens=budget, do_sample=False, eos_token_id=plain.eos_ids,
                                 pad_token_id=tok.pad_token_id)[0, len(ids):]
            assert got[0].n_tokens == len(out) and got[0].text == tok.decode(out, skip_special_tokens=True)
            assert got[0].finish_reason == ("eos" if out[-1].item() in plain.eos_ids else "length")


def test_cli_writes_the_conventional_path_and_never_imports_vllm(tiny_model, dataset, tmp_path, monkeypatch):
    from editflow.cli import main

    monkeypatch.chdir(tmp_path)
    settings = json.dumps({"batch_size": 4, "max_new_tokens": 4, "max_test_examples": 2})
    assert main(["infer", "--model", str(tiny_model), "--task", "nb-cell", "--shots", "0", "--dataset", str(dataset),
                 "--settings", settings, "--device", "cpu"]) == 0
    out = tmp_path / "results/default/predictions" / tiny_model.name / "nb-cell/0shot/base.parquet"
    assert pq.read_table(out).column("example_id").to_pylist() == ["e0", "e1"]
    assert "vllm" not in sys.modules
    assert main(["infer", "--model", str(tiny_model), "--task", "nb-cell", "--shots", "0", "--dataset", str(dataset),
                 "--checkpoint", "run2", "--settings", settings]) == 2  # a run without an adapter


def test_too_few_train_examples_is_a_clear_cli_error(tiny_model, dataset, tmp_path, capsys):
    from editflow.cli import main

    code = main(["infer", "--model", str(tiny_model), "--task", "nb-cell", "--shots", "9", "--dataset", str(dataset),
                 "--out", str(tmp_path / "p.parquet"), "--settings", "{}", "--device", "cpu"])
    assert code == 2 and "9-shot prompts need at least 9 train examples" in capsys.readouterr().err
    assert not (tmp_path / "p.parquet").exists()


@pytest.mark.parametrize("arch", ["qwen2", "gpt_neox"])
def test_engine_matches_model_generate_on_other_architectures(tiny_model, arch, monkeypatch):
    """The decode loop relies only on the Cache API, position ids and the 2-D attention mask,
    so other decoder families give model.generate's tokens too."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    from editflow.infer import engine

    monkeypatch.setattr(engine, "CHUNK_ROWS", 1)
    tok = AutoTokenizer.from_pretrained(tiny_model)
    torch.manual_seed(0)
    config = AutoConfig.for_model(arch, vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
                                  eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="sdpa").eval()
    assert engine.enable_chunked_attention(model)
    backend = HFBackend(model, tok, stop=())
    prompts = ["x = 1\n", "import numpy as np\nx = np.arange(10)\n# %%\n", "print(x)\n"]
    got = backend.generate(prompts, [6, 3, 8])
    with torch.inference_mode():
        for prompt, budget, (g,) in zip(prompts, [6, 3, 8], got):
            ids = torch.tensor([tok(prompt)["input_ids"]])
            out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=budget, do_sample=False,
                                 eos_token_id=backend.eos_ids, pad_token_id=tok.pad_token_id)[0, ids.shape[1]:]
            assert g.text == tok.decode(out, skip_special_tokens=True) and g.n_tokens == len(out)
