"""Read scores files (`editflow score` outputs) into per-example metric vectors.

A scores file is one model x task x shots x checkpoint: the prediction columns plus one
column per metric, and the scoring provenance (tokenizer, corpus BLEU and its sacrebleu
signature, metric library versions) in the Parquet schema metadata. The identity of a file
comes from its columns; the path `.../{model}/{task}/{shots}shot/{checkpoint}.parquet`
is the fallback for files that lack them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Per-example metrics in table order (docs/metrics.md defines each); pass@k columns are added when present.
from editflow.metrics import METRIC_COLUMNS as METRICS  # noqa: E402  (the contract, defined by `score`)
PASS_AT_K = re.compile(r"^pass@\d+$")
LABELS: dict[str, str] = {
    "em": "EM", "em_normalized": "EM (norm.)", "bleu": "BLEU", "codebleu": "CodeBLEU",
    "edit_sim": "EditSim", "rouge_l_p": "ROUGE-L P", "rouge_l_r": "ROUGE-L R",
    "rouge_l_f": "ROUGE-L F1", "keystroke": "keystrokes", "levenshtein": "Levenshtein",
    "lines_changed": "lines changed", "corpus_bleu": "corpus BLEU",
    "diff_em": "Diff EM", "diff_bleu": "DiffBLEU", "changed": "changed (share)",
    "keystroke_released": "keystrokes (released)",
}
_PATH = re.compile(r"(?P<model>[^/]+)/(?P<task>[^/]+)/(?P<shots>\d+)shot/(?P<checkpoint>[^/]+)\.parquet$")
_RUN = re.compile(r"^run(\d+)$")


class ScoresError(ValueError):
    """A scores file cannot be used; the message names the file and the fix."""


def label(metric: str) -> str:
    return LABELS.get(metric, metric)


def run_number(checkpoint: str) -> int | None:
    """k for a fine-tuned checkpoint `run{k}`, None for `base` and anything else."""
    m = _RUN.match(checkpoint)
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Provenance:
    """How a file was scored, from its schema metadata (every field optional)."""
    tokenizer: str | None = None
    corpus_bleu: float | None = None
    sacrebleu_signature: str | None = None
    versions: tuple[tuple[str, str], ...] = ()


@dataclass
class ScoresFile:
    path: str
    model: str
    task: str
    shots: int
    checkpoint: str
    example_ids: list[str]                 # sorted, one per example (samples averaged)
    values: dict[str, np.ndarray]          # metric -> per-example values aligned with example_ids
    n_rows: int
    n_truncated: int                       # `truncated`: the prompt left no room, nothing generated
    provenance: Provenance
    n_length: int = 0                      # finish_reason == "length": hit max_new_tokens
    table: pa.Table | None = field(default=None, repr=False)   # every row, for the example page

    @property
    def run(self) -> int | None:
        return run_number(self.checkpoint)

    def row(self, example_id: str) -> dict[str, Any]:
        """The example's row with the lowest `sample` (the one shown on the example page)."""
        if self.table is None:
            raise KeyError(example_id)
        ids = pc.cast(self.table.column("example_id"), pa.string())
        rows = self.table.filter(pc.equal(ids, example_id)).to_pylist()
        if not rows:
            raise KeyError(example_id)
        return min(rows, key=lambda r: r.get("sample") or 0)


def _decode_metadata(metadata: dict[bytes, bytes] | None) -> dict[str, Any]:
    """Schema metadata as a flat dict; JSON values are parsed, JSON objects merged in too."""
    out: dict[str, Any] = {}
    for raw_key, raw_value in (metadata or {}).items():
        key = raw_key.decode("utf-8", "replace")
        if key in ("pandas", "ARROW:schema", "huggingface"):
            continue
        text = raw_value.decode("utf-8", "replace")
        try:
            value: Any = json.loads(text)
        except json.JSONDecodeError:
            value = text
        out[key] = value
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                out.setdefault(sub_key, sub_value)
    return out


def _first(meta: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if meta.get(name) not in (None, ""):
            return meta[name]
    return None


def provenance_from_metadata(metadata: dict[bytes, bytes] | None) -> Provenance:
    """Read the scoring provenance, accepting the spellings `editflow score` may use."""
    meta = _decode_metadata(metadata)
    tokenizer = _first(meta, ("tokenizer", "editflow.tokenizer", "tokenizer_name"))
    bleu = _first(meta, ("corpus_bleu", "editflow.corpus_bleu", "sacrebleu_score"))
    if isinstance(bleu, dict):  # {"score": ..., "signature": ...}
        meta.setdefault("sacrebleu_signature", bleu.get("signature"))
        bleu = bleu.get("score")
    signature = _first(meta, ("sacrebleu_signature", "editflow.sacrebleu_signature",
                              "corpus_bleu_signature", "signature"))
    versions = _first(meta, ("versions", "metric_versions", "library_versions",
                             "editflow.versions", "libraries"))
    pairs: tuple[tuple[str, str], ...] = ()
    if isinstance(versions, dict):
        pairs = tuple(sorted((str(k), str(v)) for k, v in versions.items() if v not in (None, "")))
    try:
        bleu_value = float(bleu) if bleu is not None else None
    except (TypeError, ValueError):
        bleu_value = None
    return Provenance(tokenizer=str(tokenizer) if tokenizer is not None else None,
                      corpus_bleu=bleu_value,
                      sacrebleu_signature=str(signature) if signature is not None else None,
                      versions=pairs)


def _identity(path: str, table: pa.Table) -> tuple[str, str, int, str]:
    from_path = _PATH.search(Path(path).as_posix())
    found: dict[str, Any] = {}
    for name in ("model", "task", "shots", "checkpoint"):
        if name in table.column_names and table.num_rows:
            distinct = table.column(name).unique().to_pylist()
            if len(distinct) != 1:
                raise ScoresError(f"{path}: column {name!r} holds several values {sorted(map(str, distinct))}; "
                                  f"a scores file is one model x task x shots x checkpoint")
            found[name] = distinct[0]
        elif from_path:
            found[name] = from_path.group(name)
        else:
            raise ScoresError(f"{path}: no {name!r} column and the path is not "
                              f".../{{model}}/{{task}}/{{shots}}shot/{{checkpoint}}.parquet; "
                              f"score it with `editflow score` or rename it")
    return str(found["model"]), str(found["task"]), int(found["shots"]), str(found["checkpoint"])


def metric_columns(column_names: list[str], task_scores: Sequence[str] = ()) -> list[str]:
    """The shared metrics, the task's own scores (TaskSpec.extra_scores, named in the file's
    `editflow.score` metadata) and pass@k, in that order."""
    known = [m for m in METRICS if m in column_names]
    extra = [c for c in task_scores if c in column_names and c not in known]
    return known + extra + sorted(c for c in column_names if PASS_AT_K.match(c))


def task_score_names(metadata: dict[bytes, bytes] | None) -> list[str]:
    try:
        return list(json.loads((metadata or {}).get(b"editflow.score", b"{}")).get("task_scores", []))
    except (ValueError, AttributeError):
        return []


def load_scores(path: str | Path) -> ScoresFile:
    """Read one scores file; per example, metrics are averaged over its samples."""
    path = str(path)
    if not Path(path).exists():
        raise ScoresError(f"{path}: scores file not found (run `editflow score` first)")
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise ScoresError(f"{path}: not a readable Parquet file ({exc}); delete it and rerun `editflow score`") from exc
    if "example_id" not in table.column_names:
        raise ScoresError(f"{path}: no example_id column; is this a scores file from `editflow score`?")
    metrics = metric_columns(table.column_names, task_score_names(table.schema.metadata))
    if not metrics:
        raise ScoresError(f"{path}: none of the metric columns {list(METRICS)}; "
                          f"run `editflow score` on the predictions first")
    model, task, shots, checkpoint = _identity(path, table)
    example_ids, values = _per_example(table, metrics)
    n_truncated = 0
    if "truncated" in table.column_names:
        n_truncated = int(pc.sum(pc.cast(pc.fill_null(table.column("truncated"), False), pa.int64())).as_py() or 0)
    n_length = 0
    if "finish_reason" in table.column_names:
        n_length = int(pc.sum(pc.cast(pc.equal(table.column("finish_reason"), "length"), pa.int64())).as_py() or 0)
    return ScoresFile(path=path, model=model, task=task, shots=shots, checkpoint=checkpoint,
                      example_ids=example_ids, values=values, n_rows=table.num_rows,
                      n_truncated=n_truncated, n_length=n_length,
                      provenance=provenance_from_metadata(table.schema.metadata), table=table)


def _per_example(table: pa.Table, metrics: list[str]) -> tuple[list[str], dict[str, np.ndarray]]:
    """Sorted example ids and each metric averaged over the example's samples (nulls skipped)."""
    ids = pc.cast(table.column("example_id"), pa.string())
    narrow = pa.table({"example_id": ids, **{m: pc.cast(table.column(m), pa.float64()) for m in metrics}})
    if pc.count_distinct(ids).as_py() != table.num_rows:  # several samples per example
        means = narrow.group_by("example_id", use_threads=False).aggregate([(m, "mean") for m in metrics])
        narrow = pa.table({"example_id": means.column("example_id"),
                           **{m: means.column(f"{m}_mean") for m in metrics}})
    narrow = narrow.sort_by("example_id")
    values = {m: narrow.column(m).to_numpy(zero_copy_only=False).astype(np.float64) for m in metrics}
    return narrow.column("example_id").to_pylist(), values
