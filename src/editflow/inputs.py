"""Input checks every stage shares: files validated on open, before any work.

Why: a damaged Parquet file, a column of the wrong type, a path that does not exist or a
negative worker count should stop a stage at once with a message naming the file, the
column or the flag, and the fix, not with a traceback after minutes of work, and never
be "repaired" silently (an int64 `prediction` turned into text with str() and scored).
"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Callable, Mapping

import pyarrow as pa


class InputError(ValueError):
    """An input that cannot be used; the message names the file (and column) and the fix."""


# ---- Parquet files -------------------------------------------------------------------------
def read_parquet(path: str | Path, what: str, rerun: str, columns: list[str] | None = None) -> pa.Table:
    """The table in `path`, or InputError naming the file: missing, not Parquet, damaged.

    `what` says what the file is ("predictions file"), `rerun` the command that makes it."""
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such {what} (run `{rerun}` first)")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, not a {what}")
    try:
        return pq.read_table(path, columns=columns)
    except (OSError, pa.ArrowException, ValueError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable Parquet {what} ({detail}); the file is damaged "
                         f"or incomplete: delete it and rerun `{rerun}`") from None


def is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t)


def is_integer(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_null(t)


def is_number(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t)


def is_boolean(t: pa.DataType) -> bool:
    return pa.types.is_boolean(t) or pa.types.is_null(t)


Kind = tuple[str, Callable[[pa.DataType], bool]]
TEXT: Kind = ("string", is_text)
INTEGER: Kind = ("integer", is_integer)
NUMBER: Kind = ("number", is_number)
BOOLEAN: Kind = ("bool", is_boolean)


def check_columns(table: pa.Table | pa.Schema, path: str | Path, required: Mapping[str, Kind],
                  optional: Mapping[str, Kind] | None = None, contract: str = "") -> None:
    """Raise InputError naming the file and the column when a required column is missing
    or any listed column has another type (a null-typed, all-null column passes)."""
    schema = table.schema if isinstance(table, pa.Table) else table
    names = set(schema.names)
    missing = [c for c in required if c not in names]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; needed: {list(required)}"
                         + (f" ({contract})" if contract else ""))
    for name, (label, ok) in {**(optional or {}), **required}.items():
        if name in names and not ok(schema.field(name).type):
            raise InputError(f"{path}: column {name!r} has type {schema.field(name).type}, expected "
                             f"{label}" + (f" ({contract})" if contract else "")
                             + "; the file was not written by editflow, or by an incompatible version")


# ---- flags -----------------------------------------------------------------------------------
def workers_arg(text: str) -> int:
    """argparse type for --workers: an integer >= 0 (0: as many as usable cores, where the
    stage says so); a negative count is refused with a usage error, not accepted."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give a number of processes >= 0")
    return value


# ---- workflow paths ----------------------------------------------------------------------------
def check_paths_exist(paths: list[str | Path], key: str, kind: str = "path",
                      test: Callable[[Path], bool] = Path.exists) -> None:
    """Raise InputError naming the first path (and the config key) that fails `test`.

    For the Snakefile, at parse time, so that `snakemake -n` already fails on a local
    repository path or model directory that does not exist."""
    for p in paths:
        if not test(Path(p)):
            raise InputError(f"{key}: {kind} {str(p)!r} does not exist; fix the path or remove it from {key}")
