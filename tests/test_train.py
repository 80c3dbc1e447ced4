"""The real training loop on a tiny random Llama and a tokenizer built here (no downloads).

Covers: packed loss == unpacked loss, a full run whose adapter beats the base model on val
loss, resume after a crash ending at the same step and val loss, QLoRA 4-bit on the CPU,
the CLI, and the clear refusal of an example longer than max_length.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pyarrow as pa
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from editflow.atomic import write_parquet  # noqa: E402
from editflow.records import EXAMPLE_SCHEMA  # noqa: E402
from editflow.train import data  # noqa: E402
from editflow.train.loop import TrainJob, train  # noqa: E402
from editflow.model_entry import ModelEntry  # noqa: E402
from editflow.train.settings import LoraSettings, TrainSettings  # noqa: E402
from train_hooks import SimulatedCrash, crash_after  # noqa: E402

TASK = "nb-cell"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny matrices: OpenMP threads only add sync cost (10x slower on a busy 2-core box)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _example(i: int, split: str) -> dict:
    n = i % 5 + 1
    old = "\n".join(f"x{j} = load({j})" for j in range(n))
    new = "\n".join(f"x{j} = load({j})\nprint(x{j})" for j in range(n))
    return {"example_id": f"{split}-{i:03d}", "edit_id": f"e{i}", "task": TASK, "split": split,
            "prompt_fields": {"message": f"print the loaded values {i % 3}", "old_code": old},
            "target": new, "repo": "demo/r", "commit": "c" * 40, "path": "a.ipynb",
            "license": "mit", "commit_time": 0}


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("dataset")
    for split, n in (("train", 24), ("val", 8), ("test", 2)):
        rows = [_example(i, split) for i in range(n)]
        rows.append({**_example(99, split), "task": "nb-file", "example_id": f"{split}-other-task"})
        write_parquet(pa.Table.from_pylist(rows, schema=EXAMPLE_SCHEMA), d / f"{split}.parquet")
    return d


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, dataset_dir) -> Path:
    """A 2-layer Llama (hidden 64) with a byte-level BPE tokenizer trained on the fixture texts."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    texts = []
    for split in ("train", "val"):
        for row in data.load_task_rows(dataset_dir, split, TASK):
            p, t = data.render_pair(TASK, row)
            texts += [p, t]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<pad>", "<bos>", "<eos>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>")
    d = tmp_path_factory.mktemp("tiny-llama")
    fast.save_pretrained(d)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      bos_token_id=1, eos_token_id=2, pad_token_id=0, tie_word_embeddings=True)
    LlamaForCausalLM(cfg).save_pretrained(d)
    return d


def _settings(**kw) -> TrainSettings:
    base = dict(lora=LoraSettings(r=8, alpha=16, dropout=0.0), learning_rate=1e-2, epochs=2,
                effective_batch=4, micro_batch_tokens=256, max_length=256, warmup_ratio=0.0,
                checkpoint_every_steps=4, max_val_examples=8)
    base.update(kw)
    return TrainSettings(**base)


@pytest.mark.parametrize("attn", ["sdpa", "editflow_varlen"])
def test_packed_loss_equals_unpacked_loss(tiny_model, dataset_dir, attn):
    """Packing changes nothing but speed: dense block mask (sdpa) and per-example varlen SDPA."""
    from editflow.modeling import load_model, load_tokenizer
    from editflow.train import attention
    from editflow.train.loop import loss_sum
    from editflow.train.settings import Runtime

    if attn == "editflow_varlen":
        attention.register()
    tok = load_tokenizer(tiny_model, padding_side="right")
    rows = data.load_task_rows(dataset_dir, "train", TASK, limit=5)
    ex, _ = data.encode_rows(rows, TASK, tok, 256)
    model = load_model(tiny_model, dtype="float32", device="cpu", attn_implementation=attn).eval()
    assert model.config._attn_implementation == attn
    rt = Runtime(device="cpu", precision="fp32", load_dtype="float32", gradient_checkpointing=False)
    with torch.no_grad():
        singles = [loss_sum(model, data.collate_padded([e], tok.pad_token_id), rt) for e in ex]
        packed_sum, packed_n = loss_sum(model, data.collate_packed(ex), rt)
        padded_sum, padded_n = loss_sum(model, data.collate_padded(ex, tok.pad_token_id), rt)
    single_sum = sum(float(s) for s, _ in singles)
    assert packed_n == padded_n == sum(n for _, n in singles) == sum(e.n_target for e in ex)
    assert float(packed_sum) == pytest.approx(single_sum, rel=1e-5)
    assert float(padded_sum) == pytest.approx(single_sum, rel=1e-5)


def test_varlen_attention_matches_block_diagonal_mask():
    import torch.nn.functional as F

    from editflow.train.attention import varlen_sdpa_forward

    torch.manual_seed(0)
    q, k, v = torch.randn(1, 4, 9, 8), torch.randn(1, 2, 9, 8), torch.randn(1, 2, 9, 8)
    module = torch.nn.Module()
    module.num_key_value_groups, module.training = 2, False
    out, _ = varlen_sdpa_forward(module, q, k, v, None, cu_seq_lens_q=torch.tensor([0, 4, 9]))
    seg = torch.tensor([0] * 4 + [1] * 5)
    mask = (seg[:, None] == seg[None, :]) & torch.ones(9, 9, dtype=torch.bool).tril()
    ref = F.scaled_dot_product_attention(q, k.repeat_interleave(2, 1), v.repeat_interleave(2, 1), attn_mask=mask)
    assert out.shape == (1, 9, 4, 8)
    assert torch.allclose(out, ref.transpose(1, 2), atol=1e-6)


def _read_log(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "train_log.jsonl").read_text().splitlines()]


def test_train_beats_base_and_publishes_outputs(tiny_model, dataset_dir, tmp_path):
    out = tmp_path / "run0"
    summary = train(TrainJob(model=ModelEntry(path=str(tiny_model), name="tiny"), task=TASK, run=0,
                             dataset=dataset_dir, out=out, settings=_settings(), device="cpu"))
    # 24 train examples / effective batch 4 = 6 steps per epoch, 2 epochs.
    assert summary["final_step"] == 12
    assert sorted(p.name for p in out.iterdir()) == ["adapter", "config.json", "loss.png", "train_log.jsonl"]
    assert (out / "adapter" / "adapter_config.json").exists()
    assert (out / "adapter" / "tokenizer.json").exists()
    entries = _read_log(out)
    assert [e["step"] for e in entries if e["kind"] == "train"] == list(range(1, 13))
    base = [e for e in entries if e["kind"] == "val" and e["model"] == "base"]
    final = [e for e in entries if e["kind"] == "val" and e["model"] == "adapter"]
    assert len(base) == 1 and base[0]["step"] == 0 and base[0]["n_examples"] == 8
    assert final[-1]["step"] == 12
    assert final[-1]["val_loss"] < base[0]["val_loss"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["plan"]["n_train"] == 24 and cfg["plan"]["steps_per_epoch"] == 6
    assert cfg["plan"]["train_target_tokens"] == sum(e["target_tokens"] for e in entries if e["kind"] == "train") / 2
    assert cfg["settings"]["lora"]["r"] == 8 and cfg["model"]["name"] == "tiny"
    assert set(cfg["dataset"]["files"]) == {str(dataset_dir / "train.parquet"), str(dataset_dir / "val.parquet")}
    assert summary["tokens_per_s"] > 0 and summary["peak_rss_mb"] > 0
    # The adapter loads back with PEFT and reproduces the logged validation loss.
    from peft import PeftModel

    from editflow.modeling import load_model, load_tokenizer
    from editflow.train.loop import evaluate
    from editflow.train.settings import Runtime

    tok = load_tokenizer(out / "adapter", padding_side="right")
    model = PeftModel.from_pretrained(load_model(tiny_model, dtype="float32", device="cpu"), out / "adapter")
    val, _ = data.encode_rows(data.load_task_rows(dataset_dir, "val", TASK, 8), TASK, tok, 256)
    rt = Runtime(device="cpu", precision="fp32", load_dtype="float32", gradient_checkpointing=False)
    assert evaluate(model, val, _settings(), rt, tok.pad_token_id) == pytest.approx(final[-1]["val_loss"], rel=1e-5)


def test_resume_after_crash_matches_uninterrupted_run(tiny_model, dataset_dir, tmp_path):
    spec = ModelEntry(path=str(tiny_model))
    s = _settings(epochs=1, checkpoint_every_steps=2)
    ref = train(TrainJob(model=spec, task=TASK, run=1, dataset=dataset_dir, out=tmp_path / "ref",
                         settings=s, device="cpu"))
    out = tmp_path / "crash"
    with pytest.raises(SimulatedCrash):
        train(TrainJob(model=spec, task=TASK, run=1, dataset=dataset_dir, out=out, settings=s,
                       device="cpu", on_step=crash_after(5)))
    # Killed after step 5: the step-4 checkpoint is there, no final output is.
    assert [p.name for p in (out / "checkpoints").glob("step_*")] == ["step_000004"]
    assert not (out / "adapter").exists() and not (out / "train_log.jsonl").exists()
    resumed = train(TrainJob(model=spec, task=TASK, run=1, dataset=dataset_dir, out=out, settings=s, device="cpu"))
    assert resumed["resumed_from_step"] == 4
    assert resumed["final_step"] == ref["final_step"] == 6
    assert resumed["final_val_loss"] == pytest.approx(ref["final_val_loss"], abs=1e-4)
    steps = [e["step"] for e in _read_log(out) if e["kind"] == "train"]
    assert steps == [1, 2, 3, 4, 5, 6]
    ref_losses = [e["loss"] for e in _read_log(tmp_path / "ref") if e["kind"] == "train"]
    losses = [e["loss"] for e in _read_log(out) if e["kind"] == "train"]
    assert losses == pytest.approx(ref_losses, rel=1e-4)
    assert not (out / "checkpoints").exists()


def test_qlora_4bit_on_cpu(tiny_model, dataset_dir, tmp_path):
    pytest.importorskip("bitsandbytes")
    out = tmp_path / "q"
    summary = train(TrainJob(model=ModelEntry(path=str(tiny_model), quantization="4bit"), task=TASK, run=0,
                             dataset=dataset_dir, out=out, settings=_settings(max_steps=3), device="cpu"))
    assert summary["final_step"] == 3
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["quantization"] == "4bit"
    assert all(math.isfinite(e["loss"]) for e in _read_log(out) if e["kind"] == "train")


def test_cli_trains_and_refuses_long_examples(tiny_model, dataset_dir, tmp_path, capsys):
    from editflow.cli import main

    settings = json.dumps({"effective_batch": 8, "micro_batch_tokens": 256, "max_length": 256, "max_steps": 2,
                           "learning_rate": 1e-3, "checkpoint_every_steps": 1, "max_val_examples": 4})
    out = tmp_path / "cli"
    args = ["train", "--model", str(tiny_model), "--model-name", "tiny", "--task", TASK, "--run", "0",
            "--dataset", str(dataset_dir), "--out", str(out), "--device", "cpu", "--settings", settings]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "train examples 24" in printed and "3 steps/epoch" in printed and "tokens/s" in printed
    assert json.loads((out / "config.json").read_text())["settings"]["max_steps"] == 2

    too_short = json.dumps({"max_length": 40, "max_steps": 1})
    rc = main(args[:-1] + [too_short])
    msg = capsys.readouterr().out
    assert rc == 1
    assert "train example train-000" in msg and "train.max_length=40" in msg and "on_long_example" in msg
    # The refused run left the earlier finished outputs alone.
    assert (out / "adapter" / "adapter_config.json").exists()


def test_sigkill_mid_run_then_rerun_resumes(tiny_model, dataset_dir, tmp_path):
    """A real `kill -9` of `editflow train`; the rerun continues from the last checkpoint."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "killed"
    settings = {"effective_batch": 4, "micro_batch_tokens": 256, "max_length": 256, "epochs": 5,
                "learning_rate": 3e-3, "checkpoint_every_steps": 5, "max_val_examples": 4}
    cmd = [sys.executable, str(Path(__file__).with_name("train_hooks.py")), "0.3",  # seconds per step
           "train", "--model", str(tiny_model), "--task", TASK, "--run", "2",
           "--dataset", str(dataset_dir), "--out", str(out), "--device", "cpu", "--settings", json.dumps(settings)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list((out / "checkpoints").glob("step_*")) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL, "training finished before it could be killed"
    assert not (out / "adapter").exists() and not (out / "loss.png").exists()
    killed_at = max(int(p.name.split("_")[1]) for p in (out / "checkpoints").glob("step_*"))
    s = TrainSettings.from_section(settings)
    summary = train(TrainJob(model=ModelEntry(path=str(tiny_model)), task=TASK, run=2, dataset=dataset_dir,
                             out=out, settings=s, device="cpu"))
    assert summary["resumed_from_step"] == killed_at >= 5
    assert summary["final_step"] == 30  # 6 steps/epoch x 5 epochs
    steps = [e["step"] for e in _read_log(out) if e["kind"] == "train"]
    assert steps == list(range(1, 31))
    assert summary["final_val_loss"] < summary["base_val_loss"]
