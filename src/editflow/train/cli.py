"""Fine-tune a model with LoRA (or QLoRA, 4-bit) on one task of the dataset; resumable.

The prompt is the `finetuned` template inference uses; only target tokens carry loss.
Examples are packed into micro-batches (position_ids restart per example), gradients are
accumulated to `effective_batch` examples, and a checkpoint every `checkpoint_every_steps`
steps (in OUT/checkpoints/) lets a rerun after kill -9 continue from there. The final
files (adapter/ with the tokenizer, config.json, train_log.jsonl, loss.png) appear in OUT
only when training has finished.

Example (default config, CPU, a few minutes):
    editflow train --model resources/models/smollm2-135m-instruct --model-name smollm2-135m \\
        --task nb-cell --run 0 --dataset results/default/dataset --out results/default/models/smollm2-135m/nb-cell/run0

Multi-GPU (one node, N GPUs): torchrun --nproc_per_node N -m editflow train ... (same flags,
but --run-index K for --run K: torchrun's parser takes --run for its own --run-path).
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="Hugging Face hub id or local model directory "
                        "(default: the path of --model-name's config entry)")
    parser.add_argument("--model-name", help="the config `models` entry (gives quantization and dtype)")
    parser.add_argument("--model-spec", help="the `models` entry as JSON (overrides the lookup by --model-name; "
                        "rules pass it so a --configfile's models are honoured)")
    parser.add_argument("--quantization", choices=["none", "4bit"], help="override the model entry's quantization")
    parser.add_argument("--dtype", choices=["auto", "float32", "bfloat16", "float16"],
                        help="override the model entry's dtype")
    from editflow import tasks

    parser.add_argument("--task", required=True, choices=tasks.names(),
                        help="a registered task (`editflow tasks` lists them)")
    parser.add_argument("--run", "--run-index", dest="run", type=int, default=0,
                        help="run index; also the seed (default: %(default)s). Under torchrun write "
                             "--run-index: torchrun's own parser rejects --run as ambiguous")
    parser.add_argument("--dataset", default="results/default/dataset", help="dataset directory (default: %(default)s)")
    parser.add_argument("--out", required=True, help="run directory, e.g. results/default/models/{model}/{task}/run{k}")
    parser.add_argument("--config", help="full config YAML (default: config/config.yaml)")
    parser.add_argument("--settings", help="the `train` section as JSON (overrides --config's)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1 (default: cuda if available)")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: train.resources.threads). On a shared machine "
                        "fewer threads than cores avoids OpenMP spin-waits (docs/train.md)")
    parser.add_argument("--checkpoint-dir", help="where checkpoints go (default: OUT/checkpoints)")
    parser.add_argument("--keep-checkpoints", action="store_true",
                        help="keep the last checkpoint after success (default: delete it)")


def resolve_model_spec(args: argparse.Namespace):
    """The model entry (editflow.model_entry.resolve_model_entry); --quantization/--dtype override it."""
    import dataclasses

    from editflow.model_entry import resolve_model_entry

    entry = resolve_model_entry(args.config, args.model_name, args.model, args.model_spec)
    overrides = {k: v for k, v in (("quantization", args.quantization), ("dtype", args.dtype)) if v}
    return dataclasses.replace(entry, **overrides)


def run(args: argparse.Namespace) -> int:
    from editflow.modeling import skip_bitsandbytes_unless

    model = resolve_model_spec(args)
    skip_bitsandbytes_unless(model.quantization)  # before peft/transformers are imported

    from editflow.config import section_from_args
    from editflow.train.data import TrainDataError
    from editflow.train.loop import TrainJob, train
    from editflow.train.settings import TrainSettings

    section = section_from_args(args.config, args.settings, "train")
    threads = args.threads or (section.get("resources") or {}).get("threads")
    if threads:  # the job's CPU share, as the rule declares it (train.resources.threads)
        import torch

        torch.set_num_threads(int(threads))
    job = TrainJob(model=model, task=args.task, run=args.run, dataset=Path(args.dataset),
                   out=Path(args.out), settings=TrainSettings.from_section(section), device=args.device,
                   checkpoint_dir=Path(args.checkpoint_dir) if args.checkpoint_dir else None,
                   keep_checkpoints=args.keep_checkpoints)
    try:
        train(job)
    except (TrainDataError, FileNotFoundError) as exc:
        print(f"editflow train: {exc}", flush=True)
        return 1
    return 0
