"""Score predictions: EM, normalized EM, BLEU, CodeBLEU, EditSim, ROUGE-L, edit costs, pass@k.

Reads a predictions Parquet file (columns example_id, prediction, reference; every other
column is carried through unchanged) and writes the same rows plus one column per metric:
em, em_normalized, bleu, codebleu, edit_sim, rouge_l_p, rouge_l_r, rouge_l_f (0-100, on the
tokens of --tokenizer) and keystroke, levenshtein, lines_changed (counts, on the raw text,
prediction -> reference). When the file has a `tests` column (Python test code), each
prediction is run with its tests in the sandbox (editflow.metrics.sandbox) and `passed`
plus `pass@k` (unbiased estimator over the samples of an example) are added.

The Parquet schema metadata records: tokenizer, corpus_bleu (sacrebleu, raw text) and
sacrebleu_signature, versions (every metric library), and editflow.score (counts,
sandbox isolation, settings). Definitions: docs/metrics.md.

Example:
  editflow score --in results/default/predictions/smollm2/nb-cell/0shot/base.parquet \\
      --out results/default/metrics/smollm2/nb-cell/0shot/base.parquet \\
      --tokenizer results/default/models/smollm2/base
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

from editflow.inputs import INTEGER, TEXT, check_columns, read_parquet, workers_arg

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("example_id", "prediction", "reference")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in", dest="inp", required=True, help="predictions Parquet file")
    parser.add_argument("--out", required=True, help="scores Parquet file to write")
    parser.add_argument("--tokenizer", default=None,
                        help="'whitespace', or a Hugging Face tokenizer directory / cached name "
                             "(offline). Default: the config's evaluate.tokenizer; 'model' (the "
                             "rule passes the model's directory) falls back to whitespace, warned")
    parser.add_argument("--workers", type=workers_arg, default=None,
                        help="worker processes (default: evaluate.resources.threads; 0 = all usable cores)")
    parser.add_argument("--config", default=None, help="config YAML (default config/config.yaml)")
    parser.add_argument("--settings", default=None, help="the evaluate section as JSON (rules pass this)")


EXAMPLE_ID = ("string or integer", lambda t: TEXT[1](t) or INTEGER[1](t))
# Columns this stage reads, with the types it can score. A prediction of another type (an
# int64 or list<string> column) is refused: scoring its str() would be a wrong number.
COLUMN_TYPES = {"example_id": EXAMPLE_ID, "prediction": TEXT, "reference": TEXT}
OPTIONAL_TYPES = {"tests": TEXT}


def _read_predictions(path: str):
    """The predictions table, validated on open (file, schema and types), before any work."""
    table = read_parquet(path, "predictions file", "editflow infer")
    check_columns(table, path, COLUMN_TYPES, OPTIONAL_TYPES, "docs/ARCHITECTURE.md, 'predictions'")
    return table


def _texts(table, name: str) -> tuple[list[str], int]:
    values = table.column(name).to_pylist()
    nulls = sum(v is None for v in values)
    return ["" if v is None else str(v) for v in values], nulls


def _run_tests(predictions: list[str], tests: list[str | None], settings: dict[str, Any],
               workers: int) -> tuple[list[bool | None], dict[str, Any]]:
    from concurrent.futures import ThreadPoolExecutor

    from editflow.metrics.sandbox import SandboxLimits, isolation, run_tests

    box = settings["sandbox"]
    limits = SandboxLimits(timeout_s=float(box["timeout_s"]), memory_mb=int(box["memory_mb"]),
                           max_processes=int(box["max_processes"]),
                           allow_weak_isolation=bool(box["allow_weak_isolation"]))
    todo = [i for i, t in enumerate(tests) if t is not None and t.strip()]
    passed: list[bool | None] = [None] * len(tests)
    statuses: dict[str, int] = {}

    def one(i: int):
        return i, run_tests(predictions[i], tests[i], limits)

    # Threads suffice: each run is its own process; the threads only wait on it.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for i, result in pool.map(one, todo):
            passed[i] = result.passed
            statuses[result.status] = statuses.get(result.status, 0) + 1
    info = {"isolation": isolation(), "timeout_s": limits.timeout_s, "memory_mb": limits.memory_mb,
            "max_processes": limits.max_processes, "n_tested": len(todo), "statuses": statuses}
    return passed, info


def _decode(table):
    """The task decoders' code for each prediction (None for files without a task column)."""
    if "task" not in table.column_names:
        return None
    from editflow import tasks

    return tasks.decode_table(table, "prediction")


def _replace_column(table, name: str, column):
    if name in table.column_names:  # rescoring a scores file: replace, never duplicate
        table = table.drop_columns([name])
    return table.append_column(name, column)


def _task_scores(table) -> dict[str, Any]:
    """Task-specific scores (TaskSpec.extra_scores) over each task's rows; null elsewhere."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from editflow import tasks

    columns: dict[str, list] = {}
    names = table.column("task").to_pylist()
    for task in sorted(set(names)):
        spec = tasks.get(task)
        if spec.extra_scores is None:
            continue
        rows = np.flatnonzero(np.asarray(pc.equal(table["task"], task), dtype=bool))
        for name, values in spec.extra_scores(table.take(pa.array(rows))).items():
            col = columns.setdefault(name, [None] * table.num_rows)
            for i, v in zip(rows.tolist(), np.asarray(values).tolist()):
                col[i] = None if isinstance(v, float) and v != v else v  # NaN -> null, as other metrics
    return {name: pa.array(values) for name, values in columns.items()}


def score_table(table, tokenizer_spec: str | None, settings: dict[str, Any], workers: int,
                progress: bool = False):
    """The scored table (input columns + metric columns, provenance in schema metadata)."""
    import pyarrow as pa

    from editflow.metrics import METRIC_COLUMNS, metric_versions
    from editflow.metrics.batch import Pair, column_type, column_values, score_examples
    from editflow.metrics.bleu import corpus_bleu
    from editflow.metrics.tokenize import load_tokenizer

    predictions, null_preds = _texts(table, "prediction")
    references, null_refs = _texts(table, "reference")
    decoded = _decode(table)
    if decoded is not None:  # score code: each task's decoder turns its output into code
        predictions = decoded.code
    tokenizer = load_tokenizer(tokenizer_spec)
    t0 = time.monotonic()
    pred_tokens = tokenizer.batch(predictions)
    gold_tokens = tokenizer.batch(references)
    sources = (table.column("source").to_pylist() if "source" in table.column_names
               else [None] * len(predictions))   # pre-edit code: the diff-level metrics
    pairs = [Pair(p, r, pt, gt, s) for p, r, pt, gt, s
             in zip(predictions, references, pred_tokens, gold_tokens, sources)]
    rows, stats = score_examples(pairs, workers=workers, progress=progress)
    bleu, signature = corpus_bleu(predictions, references)

    out = table
    for name in METRIC_COLUMNS:
        if name in out.column_names:  # rescoring a scores file: replace, never duplicate
            out = out.drop_columns([name])
        out = out.append_column(name, pa.array(column_values(rows, name), type=column_type(name)))

    task_scores: list[str] = []
    if decoded is not None:
        out = _replace_column(out, "applied_code", pa.array(decoded.code, pa.string()))
        out = _replace_column(out, "decode_ok", pa.array(decoded.ok, pa.bool_()))
        for name, column in _task_scores(out).items():
            out = _replace_column(out, name, column)
            task_scores.append(name)

    sandbox_info = None
    if "tests" in table.column_names:
        from editflow.metrics.passk import pass_at_k_by_group

        tests = table.column("tests").to_pylist()
        passed, sandbox_info = _run_tests(predictions, tests, settings, workers)
        groups = [str(x) for x in table.column("example_id").to_pylist()]
        ks = [int(k) for k in settings["pass_k"]]
        for name in ["passed"] + [f"pass@{k}" for k in ks]:
            if name in out.column_names:
                out = out.drop_columns([name])
        out = out.append_column("passed", pa.array(passed, type=pa.bool_()))
        for k, column in pass_at_k_by_group(groups, passed, ks).items():
            out = out.append_column(f"pass@{k}", pa.array(column, type=pa.float64()))

    details = {
        "n_rows": table.num_rows, "null_predictions": null_preds, "null_references": null_refs,
        "empty_predictions": sum(not t for t in pred_tokens),
        "codebleu_failures": stats.codebleu_failures, "keystroke_skipped": stats.keystroke_skipped,
        "rouge_skipped": stats.rouge_skipped,
        "decode_failures": dict(sorted(decoded.failures.items())) if decoded is not None else {},
        "task_scores": task_scores,
        "sandbox": sandbox_info, "seconds": round(time.monotonic() - t0, 3),
        "definitions": "docs/metrics.md",
    }
    # `seconds` varies run to run; keep it out of the metadata so reruns are byte-identical.
    seconds = details.pop("seconds")
    meta = dict(table.schema.metadata or {})
    meta.update({
        b"tokenizer": tokenizer.name.encode(),
        b"corpus_bleu": json.dumps(round(bleu, 6)).encode(),
        b"sacrebleu_signature": signature.encode(),
        b"versions": json.dumps(metric_versions(), sort_keys=True).encode(),
        b"editflow.score": json.dumps(details, sort_keys=True).encode(),
    })
    return out.replace_schema_metadata(meta), details, seconds, bleu, signature, tokenizer.name


def run(args: argparse.Namespace) -> int:
    from editflow.atomic import OutputBusy, check_writable, output_lock, remove_stale_temps

    try:
        check_writable(args.out, "--out")  # before the scoring work, not after it
        with output_lock(args.out, what="editflow score"):
            remove_stale_temps(args.out)  # a killed run's temp file (a live one holds the lock)
            return _run(args)
    except (OutputBusy, ValueError) as exc:  # OutputError, InputError: they name the path
        log.error("%s", exc)
        return 2


def _run(args: argparse.Namespace) -> int:
    from editflow.atomic import write_parquet
    from editflow.config import section_from_args
    from editflow.tasks import UnknownTaskError
    from editflow.metrics.batch import default_workers
    from editflow.procs import forked_children_die_with_parent

    settings = section_from_args(args.config, args.settings, "evaluate")
    spec = args.tokenizer if args.tokenizer is not None else settings.get("tokenizer")
    workers = args.workers if args.workers is not None else int(settings["resources"]["threads"])
    workers = workers or default_workers()
    table = _read_predictions(args.inp)
    forked_children_die_with_parent()  # the scoring pool forks: a kill -9 must not leave it behind
    try:
        scored, details, seconds, bleu, signature, tok_name = score_table(
            table, spec, settings, workers, progress=True)
    except FileNotFoundError as exc:  # tokenizer not available offline
        log.error("%s", exc)
        return 2
    except UnknownTaskError as exc:  # a predictions file of a task this install does not know
        log.error("%s: %s", args.inp, exc)
        return 2
    write_parquet(scored, args.out)
    log.info("scored %d rows in %.1fs with %d worker(s), tokenizer %s; corpus BLEU %.2f (%s); "
             "codebleu failures %d, keystroke skipped %d -> %s", details["n_rows"], seconds, workers,
             tok_name, bleu, signature, details["codebleu_failures"], details["keystroke_skipped"],
             args.out)
    return 0
