"""Training throughput: packed micro-batches vs plain padded batches, same examples, same model.

Each mode runs a LoRA training step (gradient accumulation over `--effective-batch` examples
cut into micro-batches of at most `--micro-batch-tokens` tokens):
  packed     editflow.train: first-fit-decreasing packing, one row per micro-batch, position_ids
             reset per example (varlen attention), chunked cross-entropy over target positions
  padded     editflow.train's loss on plain batches: shuffled order, right-padded to the longest,
             rows x longest <= budget
  hf_padded  the Trainer-style peer (`--modes` adds it): the same padded batches through
             `model(..., labels=..., num_items_in_batch=...)`, i.e. transformers' own loss
             over full logits, as Trainer runs a causal LM
tokens/s counts real (non-pad) tokens only. On CUDA each mode reports its peak GPU memory and
MFU = 6 * N_total * tokens/s / 989e12 (N_total: all parameters of the base model). The length mix is the dataset's training split for
`--task` when `--dataset` has one (tokenized with the model's tokenizer), else a synthetic
long-tailed (log-normal) mix; the JSON says which ("length_source").

CPU (default model, a few minutes):
    .venv/bin/python benchmarks/train_throughput.py --max-steps 2
GPU (random-init DeepSeek-Coder-1.3B shape, no weights needed; benchmarks/gpu_suite.sh):
    python benchmarks/train_throughput.py --model-shape ds-1.3b --device cuda --precision bf16 \\
        --effective-batch 64 --micro-batch-tokens 16384 --max-length 2048 --max-steps 5 \\
        --modes hf_padded,padded,packed
The last line is one JSON object with `packing_speedup` = packed tokens/s / padded tokens/s.
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from editflow.train import attention, data  # noqa: E402
from editflow.train import loss as ce  # noqa: E402
from editflow.model_entry import ModelEntry  # noqa: E402
from editflow.train.settings import LoraSettings, Runtime, TrainSettings  # noqa: E402


def synthetic_examples(n: int, max_length: int, vocab: int, seed: int) -> list[data.Encoded]:
    """Log-normal lengths (median ~300 tokens, long tail clipped at max_length), prompt ~55%.

    Matches the shape of notebook-cell edit datasets (ipynb-edit: most examples short, a tail
    up to the length limit); token ids are random, which does not change the compute.
    """
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(mean=math.log(300), sigma=0.7, size=n), 32, max_length).astype(int)
    out = []
    for i, n_tok in enumerate(lengths):
        ids = tuple(int(x) for x in rng.integers(3, vocab, size=n_tok))
        out.append(data.Encoded(f"syn-{i}", ids, n_prompt=int(n_tok * 0.55)))
    return out


def dataset_examples(dataset: Path, task: str, tokenizer, max_length: int, limit: int) -> list[data.Encoded]:
    rows = data.load_task_rows(dataset, "train", task, limit)
    ex, _ = data.encode_rows(rows, task, tokenizer, max_length, on_long="skip")
    return ex


def hf_loss_sum(model, batch: dict, rt: Runtime, n_target: int):
    """The Trainer's micro-batch loss, scaled back to a sum: transformers' loss over full logits."""
    from editflow.train.loop import autocast

    inputs = {k: v.to(rt.device) for k, v in batch.items()}
    with autocast(rt):
        loss = model(**inputs, use_cache=False, num_items_in_batch=n_target).loss
    return loss * n_target, None


def one_step(model, optimizer, chunk, mode: str, s: TrainSettings, rt: Runtime, pad_id: int) -> dict:
    """One optimizer step over `chunk` in `mode`; returns its time and token counts."""
    import torch

    from editflow.train.loop import loss_sum

    packing = mode == "packed"
    if rt.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    groups = data.plan(chunk, s.micro_batch_tokens, packing)
    n_target = sum(e.n_target for e in chunk)
    real = padded = 0
    for g in groups:
        batch = data.collate(g, packing, pad_id)
        if mode == "hf_padded":
            total, _ = hf_loss_sum(model, batch, rt, n_target)
        else:
            total, _ = loss_sum(model, batch, rt)
        (total / n_target).backward()
        real += sum(e.length for e in g)
        padded += batch["input_ids"].numel()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    if rt.device.startswith("cuda"):
        torch.cuda.synchronize()
    return {"seconds": time.perf_counter() - t0, "real": real, "padded": padded, "micro": len(groups)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default=str(REPO / "resources/models/smollm2-135m-instruct"))
    p.add_argument("--quantization", choices=["none", "4bit"], default="none")
    p.add_argument("--dataset", default=str(REPO / "results/dataset"))
    p.add_argument("--task", default="nb-cell")
    p.add_argument("--synthetic", action="store_true", help="ignore --dataset; use the synthetic length mix")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda if available)")
    p.add_argument("--precision", choices=["auto", "fp32", "bf16"], default="auto")
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--effective-batch", type=int, default=16)
    p.add_argument("--micro-batch-tokens", type=int, default=2048)
    p.add_argument("--max-length", type=int, default=1024)
    p.add_argument("--max-steps", type=int, default=2, help="timed optimizer steps per mode")
    p.add_argument("--warmup-steps", type=int, default=1)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model-shape", help="random-init model of this shape (resources/model_shapes) instead of --model")
    p.add_argument("--tokenizer", default=str(REPO / "resources/models/smollm2-135m-instruct"),
                   help="tokenizer directory for --model-shape (default: %(default)s)")
    p.add_argument("--modes", default="padded,packed",
                   help="comma-separated, run alternately step by step: padded, packed, hf_padded (default: %(default)s)")
    args = p.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    if not set(modes) <= {"padded", "packed", "hf_padded"} or not modes:
        p.error(f"--modes: choose from padded, packed, hf_padded (got {args.modes!r})")
    logging.basicConfig(level=logging.WARNING)

    import torch

    from editflow.modeling import default_device, load_tokenizer
    from editflow.train.loop import add_lora, build_model, peak_memory
    from editflow.train.settings import resolve_runtime

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or default_device()
    cuda = device.startswith("cuda")
    tok = load_tokenizer(args.tokenizer if args.model_shape else args.model, padding_side="right")
    n_needed = args.effective_batch * (args.max_steps + args.warmup_steps)
    dataset = Path(args.dataset)
    examples: list[data.Encoded] = []
    if not args.synthetic and (dataset / "train.parquet").exists():
        examples = dataset_examples(dataset, args.task, tok, args.max_length, limit=max(n_needed, 2000))
        source = f"dataset {dataset}/train.parquet task {args.task} ({len(examples)} examples)"
    if len(examples) < args.effective_batch:
        examples = synthetic_examples(max(n_needed, 512), args.max_length, len(tok), args.seed)
        source = "synthetic log-normal (median 300 tokens, sigma 0.7, clipped to max_length)"
    lengths = np.array([e.length for e in examples])
    print(f"length mix: {source}; median {np.median(lengths):.0f}, p90 {np.percentile(lengths, 90):.0f}, "
          f"max {lengths.max()} tokens", flush=True)

    spec = ModelEntry(path=f"shape:{args.model_shape}" if args.model_shape else args.model,
                      quantization=args.quantization)
    s = TrainSettings(lora=LoraSettings(r=args.lora_r, alpha=2 * args.lora_r, dropout=0.0),
                      effective_batch=args.effective_batch, micro_batch_tokens=args.micro_batch_tokens,
                      max_length=args.max_length, precision=args.precision,
                      gradient_checkpointing=args.gradient_checkpointing)
    rt = resolve_runtime(s, spec, device)
    # One model for all modes (varlen attention serves packed rows; padded rows get plain
    # SDPA), and the modes alternate step by step on the same examples, so a machine whose
    # load changes during the run slows all alike.
    attn = attention.choose(device, packing=True)
    if args.model_shape:
        from model_shapes import build_model as build_shape

        base = build_shape(args.model_shape, device, rt.load_dtype, seed=args.seed, attn=attn)
        model = add_lora(base, s, rt, seed=args.seed)
    else:
        model = build_model(spec, s, rt, seed=args.seed, attn=attn)
    model.train()
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-4)
    order = data.epoch_order(len(examples), args.seed, 0)
    spe = data.steps_per_epoch(len(examples), args.effective_batch)
    totals = {m: {"seconds": 0.0, "real": 0, "padded": 0, "micro": 0, "peak_gpu_mb": 0.0} for m in modes}
    for step in range(args.warmup_steps + args.max_steps):
        chunk = [examples[j] for j in data.step_indices(order, step % spe, args.effective_batch)]
        for mode in modes:
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            r = one_step(model, opt, chunk, mode, s, rt, tok.pad_token_id)
            if step < args.warmup_steps:
                continue
            t = totals[mode]
            for k in ("seconds", "real", "padded", "micro"):
                t[k] += r[k]
            if cuda:
                t["peak_gpu_mb"] = max(t["peak_gpu_mb"], torch.cuda.max_memory_allocated() / 2**20)
            print(f"step {step - args.warmup_steps + 1} {mode:>9}: {r['real'] / r['seconds']:.0f} tokens/s "
                  f"({r['micro']} micro-batches, {r['seconds']:.1f} s)", flush=True)
    results = {}
    for mode, t in totals.items():
        results[mode] = {"tokens_per_s": t["real"] / t["seconds"], "padding_fraction": 1 - t["real"] / t["padded"],
                         "micro_batches_per_step": t["micro"] / args.max_steps}
        if cuda:
            results[mode]["peak_gpu_allocated_mb"] = round(t["peak_gpu_mb"], 1)
        print(f"{mode:>9}: {results[mode]['tokens_per_s']:.0f} tokens/s, padding "
              f"{100 * results[mode]['padding_fraction']:.1f}%, "
              f"{results[mode]['micro_batches_per_step']:.1f} micro-batches/step", flush=True)
    out = {
        "benchmark": "train_throughput", "model": spec.path, "device": device,
        "precision": rt.precision, "gradient_checkpointing": rt.gradient_checkpointing,
        "quantization": args.quantization, "length_source": source, "effective_batch": args.effective_batch,
        "micro_batch_tokens": args.micro_batch_tokens, "max_length": args.max_length, "timed_steps": args.max_steps,
        "threads": torch.get_num_threads(), "modes": modes,
        "attention": model.config._attn_implementation,
        "cross_entropy": ce.kind(device),
    }
    for mode, r in results.items():
        out[f"{mode}_tokens_per_s"] = round(r["tokens_per_s"], 1)
        out[f"{mode}_micro_batches_per_step"] = r["micro_batches_per_step"]
        if mode != "packed":
            out[f"{mode}_padding_fraction"] = round(r["padding_fraction"], 4)
    out["peak_memory"] = {**peak_memory(rt), **{f"{k}_peak_gpu_allocated_mb": r["peak_gpu_allocated_mb"]
                                                for k, r in results.items() if "peak_gpu_allocated_mb" in r}}
    if cuda:
        from model_shapes import mfu, param_count

        n_params = param_count(model.get_base_model())
        out["params_total"] = n_params
        out["mfu_formula"] = "6 * params_total * tokens_per_s / 989e12"
        out.update({f"{mode}_mfu": round(mfu(n_params, r["tokens_per_s"], 6), 4) for mode, r in results.items()})
    if {"packed", "padded"} <= set(results):
        out["packing_speedup"] = round(results["packed"]["tokens_per_s"] / results["padded"]["tokens_per_s"], 3)
    if {"packed", "hf_padded"} <= set(results):
        out["packed_vs_hf_padded"] = round(results["packed"]["tokens_per_s"] / results["hf_padded"]["tokens_per_s"], 3)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
