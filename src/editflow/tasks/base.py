"""What a task is: the contract every task module fills in (see docs/ARCHITECTURE.md, "Tasks").

A task turns mined edits into examples (a model input, a target and the plain code on both
sides), tells prompts which words name its artifact, turns a model's output back into code
(`decode`) and may add task-specific scores. Everything else -- schema enums, Snakemake
wildcards, CLI choices, statistics, the dataset card -- is derived from the registered specs,
so a new task is one module in this package (or a plugin module named in EDITFLOW_TASK_MODULES).

This module is on the base floor: it imports only editflow.records and third-party libraries.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The columns a task view carries: the example's own fields plus what filters, dedup and
# statistics need. One row per example; several rows may share an edit_id.
VIEW_SCHEMA = pa.schema([
    ("edit_id", pa.string()),
    ("example_key", pa.string()),    # "" when a task makes one example per edit
    ("task", pa.string()),
    ("message", pa.string()),
    ("old_code", pa.string()),       # the model's input text
    ("target", pa.string()),         # what the model must output
    ("source", pa.string()),         # the pre-edit code the example is about
    ("reference", pa.string()),      # the post-edit code; decode(target, source) gives it
    ("repo", pa.string()),
    ("commit", pa.string()),
    ("path", pa.string()),
    ("license", pa.string()),
    ("commit_time", pa.int64()),
    ("change_type", pa.string()),
    ("code_changed", pa.bool_()),
    ("changed_lines", pa.int64()),
    ("hunks", pa.int64()),
    ("changed_cells", pa.int64()),   # null where a task has no cells
    ("dedup_text", pa.string()),     # what near-duplicate detection compares; null: the
                                     # changed lines of source -> reference (computed for kept rows)
    ("meta", pa.string()),           # task-specific extras as JSON; null when none
])


@dataclass
class Example:
    """One example a task makes from one edit (the per-row form of a view)."""
    old_code: str
    target: str
    source: str
    reference: str
    key: str = ""
    message: str | None = None       # None: the commit message
    changed_lines: int | None = None  # None: the edit's lines_added + lines_deleted
    hunks: int | None = None          # None: the edit's hunks
    dedup_text: str | None = None     # None: the changed lines of source -> reference
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decoded:
    """A model output (or a gold target) turned into code."""
    code: str
    ok: bool = True
    reason: str | None = None         # why decoding failed; counted per reason by score / apply


def identity_decode(text: str, source: str) -> Decoded:
    """Tasks whose target is code: the output is the code."""
    return Decoded(text)


def code_decode(text: str, source: str) -> Decoded:
    """Tasks whose target is the edited code itself (nb-file, nb-cell, py-file).

    Inference strips trailing whitespace from outputs (editflow.infer.postprocess), but code
    usually ends with a newline (a .py file; a notebook rendering after its last cell), so an
    output equal to its reference would differ by that newline and score as a miss under a
    model tokenizer. The newline is put back when the example's source (same format) ends
    with one; an output whose source is empty passes unchanged (nothing tells the format)."""
    if text and not text.endswith("\n") and source.endswith("\n"):
        return Decoded(text + "\n")
    return Decoded(text)


@dataclass(frozen=True)
class TaskSpec:
    """Everything editflow needs to know about one task."""
    name: str
    description: str                  # one line, shown by `editflow tasks`
    reads: str                        # the kind of mined edits it reads (records.KINDS)
    view: Callable[[pa.Table], pa.Table] | None = None        # EDIT_SCHEMA rows -> VIEW_SCHEMA rows
    examples: Callable[[dict[str, Any]], Iterable[Example]] | None = None  # or per edit row
    decode: Callable[[str, str], Decoded] = identity_decode
    labels: Mapping[str, str] = field(default_factory=dict)  # per-task words the templates use
    templates: tuple[str, str] = ("base", "finetuned")        # (base model, fine-tuned) template
    dt_filter_switch: str | None = None   # a dataset.filters key that must be true for the DT filter
    extra_scores: Callable[[pa.Table], dict[str, np.ndarray]] | None = None
    card: str = ""                    # Markdown paragraph for the dataset card
    tables: str | None = None         # the paper tables it feeds (`editflow task-tables`): coeditor | structural
    order: int = 100                  # position in listings (then by name)

    def __post_init__(self) -> None:
        if (self.view is None) == (self.examples is None):
            raise ValueError(f"task {self.name!r}: give exactly one of view= or examples=")
        if not self.name or not all(c.isalnum() or c in "-_." for c in self.name):
            raise ValueError(f"task name {self.name!r}: use letters, digits, '-', '_' or '.'")

    def build_view(self, edits: pa.Table) -> pa.Table:
        """This task's example candidates for a batch of edits (rows of other kinds ignored)."""
        mine = edits.filter(pc.equal(edits["kind"], self.reads))
        table = self.view(mine) if self.view is not None else rowwise_view(self, mine)
        if table.schema != VIEW_SCHEMA:
            table = table.select(VIEW_SCHEMA.names).cast(VIEW_SCHEMA)
        return table


def changed_lines_text(old: str, new: str) -> str:
    """Lines removed then lines added (line-set difference): what identifies an edit.

    Successive edits of one file share almost all of their text, so whole files would make
    every file history one near-duplicate cluster; the changed lines do not."""
    ol, nl = old.split("\n"), new.split("\n")
    so, sn = set(ol), set(nl)
    return "\n".join([x for x in ol if x not in sn] + [x for x in nl if x not in so])


def _as_array(col) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def edit_columns(edits: pa.Table, task: str) -> dict[str, pa.Array]:
    """The view columns every one-example-per-edit view copies from its edits (vectorised)."""
    n = edits.num_rows
    added = pc.fill_null(edits["lines_added"], 0).cast(pa.int64())
    deleted = pc.fill_null(edits["lines_deleted"], 0).cast(pa.int64())
    return {
        "edit_id": edits["edit_id"], "example_key": pa.array([""] * n, pa.string()),
        "task": pa.array([task] * n, pa.string()),
        "message": pc.fill_null(edits["message"], ""),
        "repo": edits["repo"], "commit": edits["commit"], "path": edits["path"],
        "license": edits["license"], "commit_time": edits["commit_time"],
        "change_type": edits["change_type"],
        "changed_lines": pc.add(added, deleted),
        "hunks": pc.fill_null(edits["hunks"], 0).cast(pa.int64()),
        "changed_cells": pa.nulls(n, pa.int64()),
        "dedup_text": pa.nulls(n, pa.string()),
        "meta": pa.nulls(n, pa.string()),
    }


def view_table(cols: dict[str, pa.Array]) -> pa.Table:
    """Columns (every VIEW_SCHEMA name) as a VIEW_SCHEMA table."""
    arrays = [_as_array(cols[f.name]).cast(f.type) for f in VIEW_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=VIEW_SCHEMA)


def rowwise_view(spec: TaskSpec, edits: pa.Table) -> pa.Table:
    """Run a per-edit `examples` function over a batch; fill the view columns it leaves out."""
    cols: dict[str, list] = {name: [] for name in VIEW_SCHEMA.names}
    for edit in edits.to_pylist():
        for ex in spec.examples(edit):
            cols["edit_id"].append(edit["edit_id"])
            cols["example_key"].append(ex.key)
            cols["task"].append(spec.name)
            cols["message"].append((edit["message"] or "") if ex.message is None else ex.message)
            for name in ("old_code", "target", "source", "reference"):
                cols[name].append(getattr(ex, name))
            for name in ("repo", "commit", "path", "license", "commit_time", "change_type"):
                cols[name].append(edit[name])
            cols["code_changed"].append(ex.source != ex.reference)
            cols["changed_lines"].append(ex.changed_lines if ex.changed_lines is not None
                                         else (edit["lines_added"] or 0) + (edit["lines_deleted"] or 0))
            cols["hunks"].append(ex.hunks if ex.hunks is not None else edit["hunks"] or 0)
            cols["changed_cells"].append(None)
            cols["dedup_text"].append(ex.dedup_text)
            cols["meta"].append(json.dumps(ex.meta, sort_keys=True) if ex.meta else None)
    return pa.Table.from_pydict(cols, schema=VIEW_SCHEMA)


@dataclass
class DecodeReport:
    """Decoded code for a column of outputs, and how many failed, by reason."""
    code: list[str]
    ok: list[bool]
    reasons: list[str | None] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)


def decode_rows(decoders: list[Callable[[str, str], Decoded]], texts: list[str | None],
                sources: list[str | None]) -> DecodeReport:
    """Each row's text through its task's decoder; a decoder that raises counts as a failure
    (reason `decoder_error`) and gives the unchanged source, so one bad output never stops scoring."""
    report = DecodeReport(code=[], ok=[])
    for decode, text, source in zip(decoders, texts, sources):
        text, source = text or "", source or ""
        try:
            out = decode(text, source)
        except Exception as exc:  # noqa: BLE001 - a model output must never crash scoring
            out = Decoded(source, ok=False, reason=f"decoder_error: {type(exc).__name__}")
        report.code.append(out.code)
        report.ok.append(out.ok)
        report.reasons.append(None if out.ok else out.reason or "unknown")
        if not out.ok:
            reason = out.reason or "unknown"
            report.failures[reason] = report.failures.get(reason, 0) + 1
    return report
