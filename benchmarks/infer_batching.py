"""Batched generation vs the seeds' batch-1 loop, on the real prompt mix.

The seeds (ipynb-edit) call `model.generate` once per test example. This script renders the
same prompts `editflow infer` would (base template, k shots) and generates them twice with
the same model, stop strings, EOS ids and per-row budgets: the baseline is that seed loop
(`model.generate(prompt, max_new_tokens=budget, stop_strings=...)`, one prompt at a time);
editflow is `HFBackend.generate` over the length-sorted batches `editflow infer` plans
(editflow.infer.batching, engine.py's decode loop). It reports generated tokens per second
for both, their ratio (`speedup`) and the share of examples whose greedy output text is
identical (`same_output_share`; batching can change fp32 arithmetic slightly).

`--hf-padded-peer` adds the peer a user would write on a GPU: `model.generate` on each of the
same batches, left-padded, greedy, to the batch's largest budget (no stop strings: rows are
cut to editflow's length when outputs are compared, `same_as_hf_padded_share`).
`--model-shape NAME` builds a random-init model of a shape in
src/editflow/resources/model_shapes (no weights needed; `--tokenizer DIR` gives the
vocabulary, default the default config's SmolLM2 directory); `--engine` picks the decode loop
(default: by device). Peak GPU memory and MFU (2 * N_total * tokens/s / 989e12) are reported
per arm on CUDA.

Prompts come from `--dataset` (default results/dataset) when its test split exists; else
from a prompt mix derived in memory from the demo repositories' edit scripts
(editflow.demo.Project: the same notebooks and commit messages the default DAG mines),
and the JSON says which (`prompt_source`). Defaults for batch size and new tokens are the
default config's `infer` section.

Examples:
    python benchmarks/infer_batching.py --dataset results/dataset --threads 2   # CPU, SmolLM2-135M
    python benchmarks/infer_batching.py --model-shape ds-1.3b --device cuda --dtype bfloat16 \\
        --n 64 --baseline-n 2 --max-new-tokens 256 --hf-padded-peer
The last line of the output is one JSON object.
"""
from __future__ import annotations

import argparse
import difflib
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

from editflow.cells import render_cells
from editflow.infer.batching import Request, plan_batches
from editflow.infer.exemplars import Example, Shots, load_split
from editflow.config import load_config
from editflow.infer.settings import InferSettings
from editflow.prompts import load_template, render_prompt

DEFAULTS = InferSettings.from_section(load_config("config/config.yaml")["infer"]) \
    if Path("config/config.yaml").exists() else InferSettings()


def seed_loop_generate(backend, prompt: str, budget: int, stop) -> tuple[str, int]:
    """The seeds' loop body: one `model.generate` call for one prompt (HF stop strings, EOS)."""
    tok = backend.tokenizer
    enc = tok(prompt, return_tensors="pt").to(next(backend.model.parameters()).device)
    out = backend.model.generate(**enc, max_new_tokens=budget, do_sample=False, stop_strings=list(stop),
                                 tokenizer=tok, eos_token_id=backend.eos_ids, pad_token_id=tok.pad_token_id,
                                 temperature=None, top_p=None, top_k=None)
    new = out[0, enc["input_ids"].shape[1]:]
    return tok.decode(new, skip_special_tokens=True), len(new)


def demo_examples(task: str, n: int, seed: int = 0) -> list[Example]:
    """Examples of a task from the demo projects' scripted edits, made in memory (no git needed)."""
    from editflow.demo import DATASETS, MODELS, Project

    out: list[Example] = []
    project_seed = seed
    while len(out) < n:
        rng = random.Random(project_seed)
        project = Project(rng=rng, dataset=rng.choice(DATASETS), model=rng.choice(MODELS))
        for step in range(40):
            old, old_module = project.cells(), project.helper_module()
            message = project.edit()
            new, new_module = project.cells(), project.helper_module()
            if task == "py-file":
                if old_module == new_module:
                    continue
                old_code, target = old_module, new_module
            elif old == new:
                continue
            elif task == "nb-file":
                old_code, target = render_cells(old), render_cells(new)
            else:
                ops = [op for op in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes() if op[0] != "equal"]
                old_code = render_cells([c for _, i1, i2, _, _ in ops for c in old[i1:i2]])
                target = render_cells([c for _, _, _, j1, j2 in ops for c in new[j1:j2]])
            out.append(Example(f"demo{project_seed}-{step:02d}", message, old_code, target))
        project_seed += 1
    rng = random.Random(seed)
    rng.shuffle(out)
    return out


def load_prompts(args) -> tuple[list[str], str]:
    """n prompts: the dataset's test split (then val, if the test split is smaller than n)
    over the chosen tasks, shuffled with a fixed seed; else the demo-derived mix."""
    template = load_template("base")
    tasks = ["nb-file", "nb-cell", "py-file"] if args.task == "all" else [args.task]
    if Path(args.dataset, "test.parquet").exists():
        items = []
        for split in ("test", "val"):
            if Path(args.dataset, f"{split}.parquet").exists():
                items += [(task, e) for task in tasks for e in load_split(args.dataset, split, task)]
        random.Random(0).shuffle(items)
        items = items[:args.n]
        pools = {t: Shots(load_split(args.dataset, "train", t) if args.shots else [], args.shots, 0) for t in tasks}
        source = f"{args.dataset} (test then val split, tasks {','.join(tasks)})"
    else:
        items = []
        for task in tasks:
            items += [(task, e) for e in demo_examples(task, args.n)]
        random.Random(0).shuffle(items)
        items = items[:args.n]
        pools = {t: Shots(demo_examples(t, args.shots, seed=1000) if args.shots else [], args.shots, 0) for t in tasks}
        source = f"demo-derived mix (no {args.dataset}/test.parquet; tasks {','.join(tasks)})"
    return [render_prompt(template, task, e.exemplar(), [s.exemplar() for s in pools[task].draw(e.example_id)])
            for task, e in items], source


def hf_padded_peer(backend, prompts, batches, batched, sync, reset_peak, peak_gb) -> dict:
    """model.generate on each planned batch, left-padded, greedy, to the batch's largest budget.

    Tokens count up to each row's EOS (or the budget). A row matches when editflow's text equals
    the peer's first n tokens decoded, n = editflow's token count for that row.
    """
    import torch

    tok, model = backend.tokenizer, backend.model
    side, tok.padding_side = tok.padding_side, "left"
    eos = set(backend.eos_ids)
    tokens, same = 0, 0
    device = next(model.parameters()).device
    with torch.inference_mode():
        model.generate(**tok(prompts[:2], return_tensors="pt", padding=True).to(device), max_new_tokens=4,
                       do_sample=False, pad_token_id=tok.pad_token_id)  # warm-up
        sync()
        reset_peak()
        t0 = time.perf_counter()
        outs = []
        for batch in batches:
            enc = tok([prompts[r.index] for r in batch], return_tensors="pt", padding=True).to(device)
            out = model.generate(**enc, max_new_tokens=max(r.budget for r in batch), do_sample=False,
                                 eos_token_id=backend.eos_ids, pad_token_id=tok.pad_token_id,
                                 temperature=None, top_p=None, top_k=None)
            outs.append((batch, out[:, enc["input_ids"].shape[1]:]))
        sync()
        seconds = time.perf_counter() - t0
    tok.padding_side = side
    for batch, new in outs:
        for r, row in zip(batch, new.tolist()):
            row = row[:r.budget]
            end = next((i + 1 for i, t in enumerate(row) if t in eos), len(row))
            tokens += end
            same += tok.decode(row[:batched[r.index].n_tokens], skip_special_tokens=True) == batched[r.index].text
    return {"hf_padded_seconds": round(seconds, 2), "hf_padded_tokens": tokens,
            "hf_padded_tokens_per_s": round(tokens / seconds, 2), "hf_padded_peak_gpu_gb": peak_gb(),
            "same_as_hf_padded_share": round(same / len(prompts), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="resources/models/smollm2-135m-instruct")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--n", type=int, default=32, help="examples (default: %(default)s)")
    parser.add_argument("--baseline-n", type=int, default=None,
                        help="run the batch-1 baseline on a seeded sample of this many of the n prompts "
                             "(default: all; its tokens/s is a rate, so a sample estimates it)")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    parser.add_argument("--max-batch-tokens", type=int, default=DEFAULTS.max_batch_tokens)
    parser.add_argument("--max-new-tokens", type=int, default=DEFAULTS.max_new_tokens)
    parser.add_argument("--task", default="all", choices=["all", "nb-cell", "nb-file", "py-file"],
                        help="the tasks whose examples make the prompt mix (default: %(default)s)")
    parser.add_argument("--shots", type=int, default=0)
    parser.add_argument("--dataset", default="results/dataset")
    parser.add_argument("--attn-implementation", default=None, choices=["sdpa", "eager"])
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--model-shape", help="random-init model of this shape (resources/model_shapes) instead of --model")
    parser.add_argument("--tokenizer", default="resources/models/smollm2-135m-instruct",
                        help="tokenizer directory for --model-shape (default: %(default)s)")
    parser.add_argument("--engine", default="auto", choices=["auto", "slots", "graphs"],
                        help="decode loop (default: graphs on cuda, slots on cpu)")
    parser.add_argument("--hf-padded-peer", action="store_true",
                        help="also time model.generate on the same batches, left-padded")
    parser.add_argument("--gpu-batch-limits", action="store_true",
                        help="size batches from free GPU memory as `editflow infer` does on cuda")
    args = parser.parse_args()

    import torch

    from editflow.infer.generate import load_hf_backend

    if args.threads:
        torch.set_num_threads(args.threads)
    stop = load_template("base").stop
    t0 = time.perf_counter()
    if args.model_shape:
        from model_shapes import build_model

        from editflow.infer.generate import backend_for_model
        from editflow.modeling import load_tokenizer

        args.model = f"shape:{args.model_shape}"
        backend = backend_for_model(build_model(args.model_shape, args.device, args.dtype),
                                    load_tokenizer(args.tokenizer, padding_side="left"), stop=stop, engine=args.engine)
    else:
        backend = load_hf_backend(args.model, adapter=None, merge_adapter=False, dtype=args.dtype, quantization="none",
                                  stop=stop, device=args.device, attn_implementation=args.attn_implementation,
                                  engine=args.engine)
    load_s = time.perf_counter() - t0
    prompts, source = load_prompts(args)
    lengths = [backend.count_tokens(p) for p in prompts]
    context = backend.context_window() or 2048
    budgets = [min(args.max_new_tokens, context - n) for n in lengths]
    print(f"{len(prompts)} prompts from {source}; prompt tokens min/median/max "
          f"{min(lengths)}/{statistics.median(lengths):.0f}/{max(lengths)}", file=sys.stderr)

    cuda = args.device.startswith("cuda")

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def reset_peak():
        if cuda:
            torch.cuda.reset_peak_memory_stats()

    def peak_gb():
        return round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None

    backend.generate(prompts[:1], [4])  # warm-up
    seed_loop_generate(backend, prompts[0], 4, stop)
    sample = sorted(random.Random(1).sample(range(len(prompts)), min(args.baseline_n or len(prompts), len(prompts))))
    sync()
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        single = {i: seed_loop_generate(backend, prompts[i], budgets[i], stop) for i in sample}
    sync()
    single_s, single_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"batch 1: {single_s:.1f} s", file=sys.stderr)

    requests = [Request(i, n, b) for i, (n, b) in enumerate(zip(lengths, budgets))]
    limits = (args.batch_size, args.max_batch_tokens)
    if args.gpu_batch_limits:
        limits = backend.batch_limits(*limits)
    batches = plan_batches(requests, *limits)
    batched = [None] * len(prompts)
    backend.generate(prompts[:2], [4, 4])  # warm-up of the batched path (kernels, allocator)
    sync()
    reset_peak()
    t0, c0 = time.perf_counter(), time.process_time()
    for batch in batches:
        outs = backend.generate([prompts[r.index] for r in batch], [r.budget for r in batch])
        for r, o in zip(batch, outs):
            batched[r.index] = o[0]
    sync()
    batched_s, batched_cpu = time.perf_counter() - t0, time.process_time() - c0
    batched_peak = peak_gb()
    print(f"batched: {batched_s:.1f} s in {len(batches)} batches", file=sys.stderr)
    peer = hf_padded_peer(backend, prompts, batches, batched, sync, reset_peak, peak_gb) if args.hf_padded_peer else {}

    single_tokens = sum(n for _, n in single.values())
    batched_tokens = sum(g.n_tokens for g in batched)
    same = sum(single[i][0] == batched[i].text for i in sample) / len(sample)
    result = {
        "load_average_1m": round(os.getloadavg()[0], 2),
        "benchmark": "infer_batching", "model": args.model, "device": args.device, "dtype": args.dtype,
        "attn_implementation": args.attn_implementation or "default", "threads": torch.get_num_threads(),
        "prompt_source": source, "task": args.task, "shots": args.shots, "n": len(prompts),
        "baseline_n": len(sample),
        "batch_size": args.batch_size, "batches": len(batches), "max_new_tokens": args.max_new_tokens,
        "prompt_tokens_median": statistics.median(lengths), "prompt_tokens_max": max(lengths),
        "load_s": round(load_s, 2),
        "baseline_seconds": round(single_s, 2), "baseline_tokens": single_tokens,
        "baseline_tokens_per_s": round(single_tokens / single_s, 2),
        "batched_seconds": round(batched_s, 2), "batched_tokens": batched_tokens,
        "batched_tokens_per_s": round(batched_tokens / batched_s, 2),
        "speedup": round((batched_tokens / batched_s) / (single_tokens / single_s), 2),
        "same_output_share": round(same, 4),
        # CPU seconds of this process: a fairer ratio when other jobs share the cores
        "baseline_cpu_seconds": round(single_cpu, 2), "batched_cpu_seconds": round(batched_cpu, 2),
        "speedup_cpu_time": round((batched_tokens / batched_cpu) / (single_tokens / single_cpu), 2),
        "finish_reasons": {r: sum(g.finish_reason == r for g in batched) for r in ("stop", "eos", "length")},
        "engine": backend.engine, "batch_limits": list(limits), "batched_peak_gpu_gb": batched_peak,
        **peer,
    }
    if cuda:
        from model_shapes import mfu, param_count

        n_params = param_count(backend.model)
        result["params_total"] = n_params
        result["mfu_formula"] = "2 * params_total * tokens_per_s / 989e12"
        result["batched_mfu"] = round(mfu(n_params, result["batched_tokens_per_s"], 2), 4)
        if peer:
            result["hf_padded_mfu"] = round(mfu(n_params, peer["hf_padded_tokens_per_s"], 2), 4)
    if peer:
        result["speedup_vs_hf_padded"] = round(result["batched_tokens_per_s"] / peer["hf_padded_tokens_per_s"], 2)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
