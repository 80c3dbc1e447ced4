"""Synthesise instruction-following code edits with generator models (OpenCodeEdit).

Draws seed snippet pairs (two files, 5-15 consecutive lines each) from the repositories' head
trees, asks each generator model for a program and a descriptive and a lazy edit instruction
(round 1, one-shot), then for the edited program or <UNREASONABLE> (round 2, self-check),
through editflow's batched inference backends with temperature 0.8 and top-p 0.95. Then the
diff filter, duplicate removal (also against --mined data) and the HDP topic quota. Every
row is written, kept or with its drop_reason; FILE.stats.json has the funnel, FILE.fig4.png the
figures and FILE.README.md the card section (docs/synth.md).

Examples:
    editflow synth --repos results/default/demo/*.git --model resources/models/smollm2-135m-instruct \\
        --n 8 --out results/synth/smollm2-135m.parquet
    editflow synth --repos clones/a clones/b --model Qwen/Qwen3-32B --model deepseek-ai/DeepSeek-V3 \\
        --n 30000 --size 20000 --mined results/default/dataset/train.parquet --out results/synth/all.parquet \\
        --settings '{"backend": "vllm"}'
"""
from __future__ import annotations

import argparse
import gc
import logging
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable, Sequence

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repos", nargs="+", required=True, help="git repositories (bare or not) to draw seed snippets from")
    parser.add_argument("--model", action="append", required=True,
                        help="generator model: Hugging Face hub id or local directory; repeat for several")
    parser.add_argument("--generator-name", action="append",
                        help="the `generator` value per --model, in order (default: the config's models[] name "
                             "for that path, else the path's last part)")
    parser.add_argument("--n", type=int, help="snippet pairs; each gives one row per generator (default: synth.n)")
    parser.add_argument("--size", type=int, help="topic quota target over all generators (default: synth.size)")
    parser.add_argument("--mined", nargs="*", default=[], help="mined edits or dataset split files: synthetic "
                        "triplets duplicating them are dropped")
    parser.add_argument("--out", required=True, help="output Parquet file")
    parser.add_argument("--config", help="config file with a `synth` section (default: config/config.yaml if present)")
    parser.add_argument("--settings", help="the synth section as JSON (wins over --config)")
    parser.add_argument("--device", help="cpu | cuda | cuda:N (default: cuda if available)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")


def generator_names(models: Sequence[str], names: Sequence[str] | None, config_models: Sequence[dict]) -> list[str]:
    from editflow.config import ConfigError

    if names and len(names) != len(models):
        raise ConfigError(f"{len(names)} --generator-name for {len(models)} --model")
    out = []
    for i, model in enumerate(models):
        by_path = [m["name"] for m in config_models if m.get("path") == model]
        out.append(names[i] if names else by_path[0] if by_path else Path(model.rstrip("/")).name)
    if len(set(out)) != len(out):
        raise ConfigError(f"generator names must differ: {out}")
    return out


def load_generator(model: str, settings, device: str | None = None):
    """An editflow.infer backend that samples with the synth settings (no stop strings: chat
    models end their turn with EOS)."""
    gen = dict(do_sample=True, temperature=settings.temperature, top_p=settings.top_p, n_samples=1)
    if settings.backend == "vllm":
        from editflow.infer.vllm_backend import VLLMBackend

        return VLLMBackend(model, adapter=None, stop=(), dtype=settings.dtype, max_context=settings.max_context,
                           quantization=settings.quantization, **gen)
    from editflow.infer.generate import load_hf_backend

    return load_hf_backend(model, adapter=None, merge_adapter=False, dtype=settings.dtype,
                           quantization=settings.quantization, stop=(), device=device, **gen)


def run_synth(repos: Sequence[str], generators: Sequence[tuple[str, Callable[[], object]]], settings, out: str,
              mined: Sequence[str] = ()) -> dict:
    """The whole stage: snippets, both rounds per generator, filters, output file and card."""
    from editflow.atomic import write_parquet
    from editflow.synth import card, filters, snippets
    from editflow.synth.generation import synthesize
    from editflow.synth.pipeline import apply_filters
    from editflow.synth.table import outcome_row, to_table

    t_start = time.perf_counter()
    repo_files = []
    for path in repos:
        try:
            repo_files.append(snippets.read_repo(path, settings.suffixes))
        except snippets.SnippetError as exc:
            log.warning("%s", exc)
    pairs = snippets.draw_pairs(repo_files, settings.n, settings.seed)
    mined_pairs = filters.read_mined_pairs(mined)
    rows, generation = [], {}
    for name, factory in generators:
        t0 = time.perf_counter()
        backend = factory()
        load_s = time.perf_counter() - t0
        outcomes, round_stats = synthesize(backend, pairs, settings)
        del backend
        gc.collect()
        new = [outcome_row(name, o) for o in outcomes]
        rows += new
        gen_s = sum(s.seconds for s in round_stats.values())
        tokens = sum(s.new_tokens for s in round_stats.values())
        parsed = sum(r["drop_reason"] is None for r in new)
        generation[name] = {"load_seconds": round(load_s, 2), "seconds": round(gen_s, 2), "new_tokens": tokens,
                            "tokens_per_s": round(tokens / gen_s, 2) if gen_s else None,
                            "triplets": parsed, "triplets_per_s": round(parsed / gen_s, 4) if gen_s else None,
                            "rounds": {k: asdict(v) for k, v in round_stats.items()}}
        log.info("%s: %d pairs, %d parsed triplets, %d new tokens in %.1f s", name, len(pairs), parsed, tokens, gen_s)
    funnel = apply_filters(rows, settings, mined_pairs)
    write_parquet(to_table(rows), out)
    stats = {"repositories": [{"repo": r.repo, "commit": r.commit, "license": r.license, "files": len(r.files)}
                              for r in repo_files],
             "pairs": len(pairs), "generators": list(generation), "generation": generation, "funnel": funnel,
             "by_generator": card.by_generator(rows), "distributions": card.distributions(rows),
             "settings": {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(settings).items()},
             "mined_files": [str(m) for m in mined], "seconds": round(time.perf_counter() - t_start, 2)}
    card.write_card(out, stats)
    log.info("wrote %s: %d rows, %d kept; funnel adds up: %s", out, len(rows), funnel["kept"], funnel["funnel_adds_up"])
    return stats


def run(args: argparse.Namespace) -> int:
    import yaml

    from editflow.config import ConfigError
    from editflow.synth.settings import SynthSettings, load_section
    from editflow.synth.snippets import SnippetError

    section = load_section(args.config, args.settings)
    settings = SynthSettings.from_section(section)
    overrides = {k: v for k, v in (("n", args.n), ("size", args.size)) if v is not None}
    settings = replace(settings, **overrides)
    if settings.n < 1:
        raise ConfigError("--n must be >= 1")
    config_file = Path(args.config or "config/config.yaml")
    config_models = (yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}).get("models", []) \
        if config_file.exists() else []
    names = generator_names(args.model, args.generator_name, config_models)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    generators = [(name, lambda m=model: load_generator(m, settings, args.device)) for name, model in zip(names, args.model)]
    try:
        run_synth(args.repos, generators, settings, args.out, args.mined)
    except (SnippetError, ValueError, OSError) as exc:
        print(f"editflow synth: {exc}", file=sys.stderr)
        return 2
    return 0
