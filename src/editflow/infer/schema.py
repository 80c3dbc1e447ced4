"""Rows to a predictions table (records.PREDICTION_SCHEMA), in the file's fixed order."""
from __future__ import annotations

import pyarrow as pa

from editflow.records import PREDICTION_SCHEMA


def sort_rows(rows: list[dict]) -> list[dict]:
    """The deterministic order of a predictions file: (example_id, sample)."""
    return sorted(rows, key=lambda r: (r["example_id"], r["sample"]))


def to_table(rows: list[dict]) -> pa.Table:
    """PREDICTION_SCHEMA, plus `tests` when the examples carry test code (edit benchmarks:
    `editflow score` then runs each prediction with its tests)."""
    schema = PREDICTION_SCHEMA
    if any("tests" in r for r in rows):
        schema = schema.append(pa.field("tests", pa.string()))
    return pa.Table.from_pylist(sort_rows(rows), schema=schema)
