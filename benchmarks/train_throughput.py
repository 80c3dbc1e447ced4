"""Training throughput: packed micro-batches vs plain padded batches, same examples, same model.

Both modes run the real training step of editflow.train (LoRA, gradient accumulation over
`--effective-batch` examples cut into micro-batches of at most `--micro-batch-tokens` tokens):
  packed  first-fit-decreasing packing, one row per micro-batch, position_ids reset per example
  padded  examples in shuffled order, right-padded to the longest, rows x longest <= budget
tokens/s counts real (non-pad) tokens only. The length mix is the dataset's training split for
`--task` when `--dataset` has one (tokenized with the model's tokenizer), else a synthetic
long-tailed (log-normal) mix; the JSON says which ("length_source").

CPU (default model, a few minutes):
    .venv/bin/python benchmarks/train_throughput.py --max-steps 2
GPU (e.g. the cluster's 1.3B model, bf16, gradient checkpointing):
    python benchmarks/train_throughput.py --model /path/to/deepseek-coder-1.3b-instruct \\
        --device cuda --precision bf16 --effective-batch 64 --micro-batch-tokens 8192 \\
        --max-length 2048 --max-steps 5 --gradient-checkpointing
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
from editflow.train.settings import LoraSettings, ModelSpec, Runtime, TrainSettings  # noqa: E402


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


def one_step(model, optimizer, chunk, packing: bool, s: TrainSettings, rt: Runtime, pad_id: int) -> dict:
    """One optimizer step over `chunk`, as the trainer does it; returns its time and token counts."""
    import torch

    from editflow.train.loop import loss_sum

    if rt.device.startswith("cuda"):
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    groups = data.plan(chunk, s.micro_batch_tokens, packing)
    n_target = sum(e.n_target for e in chunk)
    real = padded = 0
    for g in groups:
        batch = data.collate(g, packing, pad_id)
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
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    import torch

    from editflow.modeling import default_device, load_tokenizer
    from editflow.train.loop import build_model, peak_memory
    from editflow.train.settings import resolve_runtime

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or default_device()
    tok = load_tokenizer(args.model, padding_side="right")
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

    spec = ModelSpec(path=args.model, quantization=args.quantization)
    s = TrainSettings(lora=LoraSettings(r=args.lora_r, alpha=2 * args.lora_r, dropout=0.0),
                      effective_batch=args.effective_batch, micro_batch_tokens=args.micro_batch_tokens,
                      max_length=args.max_length, precision=args.precision,
                      gradient_checkpointing=args.gradient_checkpointing)
    rt = resolve_runtime(s, spec, device)
    # One model for both modes (varlen attention serves packed rows; padded rows get plain
    # SDPA), and the modes alternate step by step on the same examples, so a machine whose
    # load changes during the run slows both alike.
    model = build_model(spec, s, rt, seed=args.seed, attn=attention.choose(device, packing=True))
    model.train()
    opt = torch.optim.AdamW([q for q in model.parameters() if q.requires_grad], lr=1e-4)
    order = data.epoch_order(len(examples), args.seed, 0)
    spe = data.steps_per_epoch(len(examples), args.effective_batch)
    totals = {m: {"seconds": 0.0, "real": 0, "padded": 0, "micro": 0, "peak_gpu_mb": 0.0} for m in ("padded", "packed")}
    for step in range(args.warmup_steps + args.max_steps):
        chunk = [examples[j] for j in data.step_indices(order, step % spe, args.effective_batch)]
        for mode in ("padded", "packed"):
            if device.startswith("cuda"):
                torch.cuda.reset_peak_memory_stats()
            r = one_step(model, opt, chunk, mode == "packed", s, rt, tok.pad_token_id)
            if step < args.warmup_steps:
                continue
            t = totals[mode]
            for k in ("seconds", "real", "padded", "micro"):
                t[k] += r[k]
            if device.startswith("cuda"):
                t["peak_gpu_mb"] = max(t["peak_gpu_mb"], torch.cuda.max_memory_allocated() / 2**20)
            print(f"step {step - args.warmup_steps + 1} {mode:>6}: {r['real'] / r['seconds']:.0f} tokens/s "
                  f"({r['micro']} micro-batches, {r['seconds']:.1f} s)", flush=True)
    results = {}
    for mode, t in totals.items():
        results[mode] = {"tokens_per_s": t["real"] / t["seconds"], "padding_fraction": 1 - t["real"] / t["padded"],
                         "micro_batches_per_step": t["micro"] / args.max_steps}
        if device.startswith("cuda"):
            results[mode]["peak_gpu_allocated_mb"] = round(t["peak_gpu_mb"], 1)
        print(f"{mode:>7}: {results[mode]['tokens_per_s']:.0f} tokens/s, padding "
              f"{100 * results[mode]['padding_fraction']:.1f}%, "
              f"{results[mode]['micro_batches_per_step']:.1f} micro-batches/step", flush=True)
    speedup = results["packed"]["tokens_per_s"] / results["padded"]["tokens_per_s"]
    print(json.dumps({
        "benchmark": "train_throughput", "model": args.model, "device": device,
        "precision": rt.precision, "gradient_checkpointing": rt.gradient_checkpointing,
        "quantization": args.quantization, "length_source": source, "effective_batch": args.effective_batch,
        "micro_batch_tokens": args.micro_batch_tokens, "max_length": args.max_length, "timed_steps": args.max_steps,
        "threads": torch.get_num_threads(),
        "packed_tokens_per_s": round(results["packed"]["tokens_per_s"], 1),
        "padded_tokens_per_s": round(results["padded"]["tokens_per_s"], 1),
        "padded_padding_fraction": round(results["padded"]["padding_fraction"], 4),
        "packed_micro_batches_per_step": results["packed"]["micro_batches_per_step"],
        "padded_micro_batches_per_step": results["padded"]["micro_batches_per_step"],
        "attention": model.config._attn_implementation,
        "peak_memory": {**peak_memory(rt), **{f"{k}_peak_gpu_allocated_mb": r["peak_gpu_allocated_mb"]
                                              for k, r in results.items() if "peak_gpu_allocated_mb" in r}},
        "packing_speedup": round(speedup, 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
