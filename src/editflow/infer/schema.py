"""The predictions table (docs/ARCHITECTURE.md, "predictions"), column order fixed.

`finish_reason` extends the contract: why generation ended for the row — `stop` (a template
stop string), `eos`, `length` (the new-token budget ran out) or `no_room` (the prompt left
fewer than min_new_tokens_room tokens of context; `truncated` is true and nothing was generated).
"""
from __future__ import annotations

import pyarrow as pa

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
    ("reference", pa.string()),
    ("prompt_tokens", pa.int32()),
    ("output_tokens", pa.int32()),
    ("truncated", pa.bool_()),
    ("generation", pa.string()),
    ("sample", pa.int32()),
    ("finish_reason", pa.string()),
])


def sort_rows(rows: list[dict]) -> list[dict]:
    """The deterministic order of a predictions file: (example_id, sample)."""
    return sorted(rows, key=lambda r: (r["example_id"], r["sample"]))


def to_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(sort_rows(rows), schema=PREDICTION_SCHEMA)
