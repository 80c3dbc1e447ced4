"""Batched generation for one model x task x shots x checkpoint.

Reads the test split of a task from the dataset directory, renders prompts with the shared
templates (base model: the "base" template with k train exemplars; with --adapter: the
"finetuned" template), generates in length-sorted batches (infer/engine.py), and writes
one predictions Parquet file (docs/ARCHITECTURE.md, "predictions"). Resumable: finished
batches are kept next to the output and a rerun continues from them.

Examples:
    editflow infer --model resources/models/smollm2-135m-instruct --model-name smollm2-135m \\
        --task nb-cell --shots 1 --dataset results/default/dataset \\
        --out results/default/predictions/smollm2-135m/nb-cell/1shot/base.parquet
    editflow infer --model resources/models/smollm2-135m-instruct --model-name smollm2-135m \\
        --adapter results/default/models/smollm2-135m/nb-cell/run1/adapter --checkpoint run1 \\
        --task nb-cell --shots 0 --settings '{"max_test_examples": 24}'
"""
from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

log = logging.getLogger(__name__)

PREDICTIONS_ROOT = "results/default/predictions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="base model: Hugging Face hub id or local directory")
    parser.add_argument("--model-name", help="the config's models[] entry (dtype, quantization, max_context) "
                        "and the `model` column; default: the entry whose path is --model, else its last path part")
    parser.add_argument("--model-spec", "--model-settings", dest="model_settings", help="the models[] entry as JSON (dtype, quantization, max_context); "
                        "wins over looking --model-name up in --config")
    parser.add_argument("--adapter", help="LoRA adapter directory (PEFT); switches to the fine-tuned template")
    parser.add_argument("--checkpoint", help="base | run{k}, recorded in the output "
                        "(default: base, or the run{k} part of --adapter's path)")
    from editflow import tasks

    parser.add_argument("--task", required=True, choices=tasks.names(),
                        help="a registered task (`editflow tasks` lists them)")
    parser.add_argument("--shots", type=int, required=True, help="k exemplars from the train split (0: zero-shot)")
    parser.add_argument("--dataset", default="results/default/dataset", help="directory with train/test.parquet (default: %(default)s)")
    parser.add_argument("--out", help="predictions file (default: "
                        f"{PREDICTIONS_ROOT}/{{model}}/{{task}}/{{shots}}shot/{{checkpoint}}.parquet)")
    parser.add_argument("--config", help="full config file (default: config/config.yaml)")
    parser.add_argument("--settings", help="the infer section as JSON (overrides the config's)")
    parser.add_argument("--device", help="cpu | cuda | cuda:N (default: cuda if available)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: infer.resources.threads, else torch's). "
                        "On a shared CPU, more threads than free cores makes generation several times slower")
    parser.add_argument("--attn-implementation", choices=["sdpa", "eager"], help="attention kernel (default: the model's)")


def resolve_checkpoint(checkpoint: str | None, adapter: str | None) -> str:
    from editflow.config import ConfigError

    if checkpoint is None:
        if not adapter:
            return "base"
        runs = [p for p in Path(adapter).parts if re.fullmatch(r"run\d+", p)]
        if not runs:
            raise ConfigError(f"cannot tell the checkpoint name from --adapter {adapter}; pass --checkpoint run{{k}}")
        return runs[-1]
    if adapter and checkpoint == "base":
        raise ConfigError("--checkpoint base with --adapter: a fine-tuned checkpoint is named run{k}")
    if not adapter and checkpoint != "base":
        raise ConfigError(f"--checkpoint {checkpoint} without --adapter: the base model is checkpoint 'base'")
    return checkpoint


def run(args: argparse.Namespace) -> int:
    from editflow.config import section_from_args
    from editflow.infer.job import JobSpec, output_path, run_job
    from editflow.infer.settings import InferSettings

    section = section_from_args(args.config, args.settings, "infer")
    settings = InferSettings.from_section(section)
    checkpoint = resolve_checkpoint(args.checkpoint, args.adapter)
    from editflow.model_entry import resolve_model_entry

    entry = resolve_model_entry(args.config, args.model_name, args.model, args.model_settings)
    from editflow.modeling import skip_bitsandbytes_unless

    skip_bitsandbytes_unless(entry.quantization)  # before peft/transformers are imported
    name = entry.name
    if not Path(args.dataset, "test.parquet").exists():
        from editflow.config import ConfigError

        raise ConfigError(f"{args.dataset}/test.parquet not found; build the dataset first (`editflow dataset`)")
    if args.adapter and not Path(args.adapter, "adapter_config.json").exists():
        from editflow.config import ConfigError

        raise ConfigError(f"{args.adapter}: no adapter_config.json; pass the adapter directory written by `editflow train`")
    out = args.out or str(output_path(PREDICTIONS_ROOT, name, args.task, args.shots, checkpoint))
    spec = JobSpec(model_path=args.model, model_name=name, task=args.task, shots=args.shots,
                   dataset=args.dataset, out=out, checkpoint=checkpoint, adapter=args.adapter,
                   dtype=entry.dtype, quantization=entry.quantization,
                   max_context=entry.max_context, attn_implementation=args.attn_implementation)
    from editflow.infer.exemplars import DatasetError, Shots, load_split

    try:
        if args.shots:  # before the model loads: too few train examples fails in a second
            Shots(load_split(args.dataset, "train", args.task), args.shots, settings.seed)
        threads = args.threads or (section.get("resources") or {}).get("threads")
        if threads:  # the threads the job was given (infer.resources.threads, as Snakemake's rule declares)
            import torch

            torch.set_num_threads(int(threads))
        run_job(spec, settings, make_backend(spec, settings, args.device))
    except DatasetError as exc:
        print(f"editflow infer: {exc}", file=sys.stderr)
        return 2
    return 0


def make_backend(spec, settings, device: str | None = None):
    """The generation backend named by infer.backend; vllm is imported only here, when chosen."""
    from editflow.prompts import task_template

    stop = task_template(spec.task, finetuned=bool(spec.adapter), shots=spec.shots, kshot=settings.kshot_template).stop
    gen = dict(do_sample=settings.do_sample, temperature=settings.temperature, top_p=settings.top_p,
               n_samples=settings.n_samples)
    tokenizer_path = _adapter_tokenizer(spec.adapter)
    if settings.backend == "vllm":
        from editflow.infer.vllm_backend import VLLMBackend

        return VLLMBackend(spec.model_path, adapter=spec.adapter, stop=stop, dtype=spec.dtype,
                           max_context=spec.max_context, quantization=spec.quantization,
                           tokenizer_path=tokenizer_path, **gen)
    from editflow.infer.generate import load_hf_backend

    log.info("loading %s%s", spec.model_path, f" + adapter {spec.adapter}" if spec.adapter else "")
    return load_hf_backend(spec.model_path, adapter=spec.adapter, merge_adapter=settings.merge_adapter,
                           dtype=spec.dtype, quantization=spec.quantization, stop=stop, device=device,
                           attn_implementation=spec.attn_implementation, tokenizer_path=tokenizer_path, **gen)


def _adapter_tokenizer(adapter: str | None) -> str | None:
    """A tokenizer saved with the adapter (or in its run directory) wins over the base model's."""
    if not adapter:
        return None
    for folder in (Path(adapter), Path(adapter).parent):
        if (folder / "tokenizer_config.json").exists():
            return str(folder)
    return None
