"""The records every stage exchanges, as pyarrow schemas.

These are the contract between stages (docs/ARCHITECTURE.md, "Tables"); a stage that writes a table
writes exactly these columns in this order, so downstream readers never guess.
"""
from __future__ import annotations

import hashlib

import pyarrow as pa

CHANGE_TYPES = ("added", "deleted", "modified", "renamed")
KINDS = ("notebook", "python")
# Task names are not listed here: they come from the task registry (editflow.tasks.names()).
SPLITS = ("train", "val", "test")

CELL_OP = pa.struct([
    ("tag", pa.string()),  # replace | delete | insert (difflib opcodes, equal dropped)
    ("i1", pa.int32()), ("i2", pa.int32()), ("j1", pa.int32()), ("j2", pa.int32()),
])

# One row per (commit, file) of a non-merge commit. Author names and e-mails are never stored.
EDIT_SCHEMA = pa.schema([
    ("edit_id", pa.string()),
    ("repo", pa.string()),
    ("commit", pa.string()),
    ("parent", pa.string()),          # null for the root commit
    ("commit_time", pa.int64()),      # seconds since the epoch (committer time)
    ("message", pa.string()),         # full message: subject and body
    ("path", pa.string()),
    ("old_path", pa.string()),        # the old side's path (differs for renames), null if added
    ("change_type", pa.string()),
    ("kind", pa.string()),
    ("old_source", pa.string()),      # file text (notebooks: per mine.notebook_source); null if added
    ("new_source", pa.string()),      # file text (notebooks: per mine.notebook_source); null if deleted
    ("old_cells", pa.list_(pa.string())),  # code cells only, notebooks only
    ("new_cells", pa.list_(pa.string())),
    ("cell_ops", pa.list_(CELL_OP)),
    ("lines_added", pa.int32()),
    ("lines_deleted", pa.int32()),
    ("hunks", pa.int32()),
    ("license", pa.string()),
    # added with mine format 3 (files written before have none: read as null)
    ("old_blob", pa.string()),        # git blob id of the old side (raw text: editflow blob); null if added
    ("new_blob", pa.string()),        # git blob id of the new side; null if deleted
    ("old_markdown", pa.list_(pa.string())),  # markdown cells, notebooks only
    ("new_markdown", pa.list_(pa.string())),
])
EDIT_COLUMNS_ADDED = ("old_blob", "new_blob", "old_markdown", "new_markdown")


def conform_edits(table: pa.Table) -> pa.Table:
    """An edits table as EDIT_SCHEMA: columns added after it was written come back null, so
    edits files mined before a column existed stay readable (raises what `cast` raises)."""
    for name in EDIT_COLUMNS_ADDED:
        if name not in table.column_names:
            table = table.append_column(name, pa.nulls(len(table), EDIT_SCHEMA.field(name).type))
    return table.select(EDIT_SCHEMA.names).cast(EDIT_SCHEMA)


SKIP_REASONS = (
    "invalid_json", "no_cells", "nbformat_v3_converted", "binary", "lfs_pointer", "too_large",
    "decode_error", "merge_commit", "no_code_change", "missing_object", "corrupt_object",
    "empty_repository",
    # mine: JSON that is not a notebook (e.g. a cell source that is a number); a symlink or
    # submodule at a .py/.ipynb path; informational: a non-UTF-8 path written with \x escapes
    "invalid_notebook", "not_a_file", "path_not_utf8",
)

# One row per thing not turned into an edit (nbformat_v3_converted is informational:
# the edit is still produced). Every skip is counted in the dataset statistics.
SKIP_SCHEMA = pa.schema([
    ("repo", pa.string()),
    ("commit", pa.string()),
    ("path", pa.string()),
    ("reason", pa.string()),
    ("detail", pa.string()),
])

REPO_SCHEMA = pa.schema([
    ("full_name", pa.string()),       # owner/name (local repositories: local/<dir name>)
    ("slug", pa.string()),            # file-system and wildcard safe: owner__name
    ("clone_url", pa.string()),       # URL or absolute path
    ("stars", pa.int64()),
    ("license", pa.string()),         # SPDX id, lower case; null if unknown
    ("default_branch", pa.string()),
    ("head_sha", pa.string()),        # frozen: mining reads history up to this commit
    ("pushed_at", pa.string()),       # ISO 8601
    ("n_notebooks", pa.int64()),      # null if unknown
])

PROMPT_FIELDS = pa.struct([("message", pa.string()), ("old_code", pa.string())])

# One row per example of a task view; every split file has these columns. An edit may give
# several examples (example_id is unique per example); edit_id is the leakage key: all
# examples of one edit are in one split. `source` / `reference` are the plain code before and
# after the edit, beside `target` (what the model outputs, possibly an encoded edit), so every
# task is scored on code (editflow.tasks: decode(target, source) == reference).
EXAMPLE_SCHEMA = pa.schema([
    ("example_id", pa.string()),
    ("edit_id", pa.string()),
    ("task", pa.string()),
    ("split", pa.string()),
    ("prompt_fields", PROMPT_FIELDS),
    ("target", pa.string()),
    ("repo", pa.string()),
    ("commit", pa.string()),
    ("path", pa.string()),
    ("license", pa.string()),
    ("commit_time", pa.int64()),
    ("source", pa.string()),
    ("reference", pa.string()),
    ("meta", pa.string()),            # task-specific extras as JSON; null when the task has none
])


# One row per (example, sample) of a predictions file (docs/ARCHITECTURE.md, "predictions").
# `finish_reason` extends the contract: why generation ended for the row — `stop` (a template
# stop string), `eos`, `length` (the new-token budget ran out) or `no_room` (the prompt left
# fewer than min_new_tokens_room tokens of context; `truncated` is true, nothing generated).
FINISH_REASONS = ("stop", "eos", "length", "no_room")

PREDICTION_SCHEMA = pa.schema([
    ("example_id", pa.string()),
    ("task", pa.string()),
    ("model", pa.string()),
    ("checkpoint", pa.string()),
    ("shots", pa.int32()),
    ("prompt", pa.string()),
    ("raw_output", pa.string()),
    ("prediction", pa.string()),
    ("reference", pa.string()),       # the example's post-edit code (= target for code tasks)
    ("prompt_tokens", pa.int32()),
    ("output_tokens", pa.int32()),
    ("truncated", pa.bool_()),
    ("generation", pa.string()),
    ("sample", pa.int32()),
    ("finish_reason", pa.string()),
    ("source", pa.string()),          # the example's pre-edit code (the "copy input" prediction)
    ("target", pa.string()),          # the example's target (what the model was asked to output)
])


def stable_id(*parts: str) -> str:
    """A short, stable hex id from string parts (sha1 of their NUL-joined UTF-8 bytes)."""
    h = hashlib.sha1("\x00".join(parts).encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:16]


def edit_id(repo: str, commit: str, path: str) -> str:
    return stable_id(repo, commit, path)


def repo_slug(full_name: str) -> str:
    """owner/name -> owner__name: safe as a file name and a Snakemake wildcard."""
    return full_name.replace("/", "__")
