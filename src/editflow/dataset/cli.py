r"""Filter, deduplicate and split mined edits into task views (nb-file, nb-cell, py-file).

Writes DIR/{train,val,test}.parquet (records.EXAMPLE_SCHEMA, rows sorted, byte-identical on
rerun), DIR/stats.json (the filter funnel, counts per split, distributions, skips by
reason), DIR/plots/*.png and DIR/README.md (the dataset card). Settings: the `dataset`
section of the config (filters, dedup, split); see docs/dataset.md.

Example:
    editflow dataset --edits results/default/edits/*.parquet --skips results/default/edits/*.skips.parquet \
        --out results/default/dataset --tokenizer resources/models/smollm2-135m-instruct
"""
from __future__ import annotations

import argparse
import logging

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--edits", nargs="+", required=True, metavar="EDITS.parquet",
                        help="edits files written by `editflow mine` (records.EDIT_SCHEMA)")
    parser.add_argument("--skips", nargs="*", default=[], metavar="SKIPS.parquet",
                        help="skips files written by `editflow mine`; counted by reason in stats.json")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--tokenizer", default=None, metavar="NAME_OR_DIR",
                        help="tokenizer for max_tokens (`whitespace`, a directory or a hub id); "
                             "default: dataset.tokenizer, else the first model's path")
    parser.add_argument("--config", default=None, metavar="FILE", help="full config (default config/config.yaml)")
    parser.add_argument("--settings", default=None, metavar="JSON", help="the `dataset` section as JSON")
    parser.add_argument("--batch-size", type=int, default=20_000, help="edits per streamed batch")


def run(args: argparse.Namespace) -> int:
    from editflow.atomic import OutputBusy, OutputError
    from editflow.config import section_from_args
    from editflow.dataset.build import InputError, build_dataset, resolve_tokenizer

    section = section_from_args(args.config, args.settings, "dataset")
    models = None
    if not args.tokenizer and not section.get("tokenizer"):
        models = section_from_args(args.config, None, "models")
    tokenizer = resolve_tokenizer(args.tokenizer, section.get("tokenizer"), models)
    try:
        stats = build_dataset(args.edits, args.out, section, tokenizer=tokenizer, skips=args.skips,
                              batch_size=args.batch_size)
    except (InputError, FileNotFoundError, OutputError, OutputBusy) as exc:
        log.error("%s", exc)
        return 2
    f = stats["funnel"]["all_tasks"]
    log.info("dataset: %d candidates -> %d examples (%s split); train/val/test = %s -> %s",
             f["candidates"], f["kept"], stats["split_method"],
             "/".join(str(stats["splits"][s]["examples"]) for s in ("train", "val", "test")), args.out)
    return 0
