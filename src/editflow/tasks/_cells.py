"""Vectorised helpers for the notebook tasks: cells selected by `cell_ops`, rendered as text.

Everything here works on whole pyarrow batches: building views for a million edits must not
be a per-row Python loop.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from editflow.cells import CELL_MARKER


def _offsets(lists: pa.Array) -> np.ndarray:
    """Zero-based offsets of a (possibly sliced) list array; null lists count as empty."""
    off = np.asarray(lists.offsets, dtype=np.int64)
    return off - off[0]


def render_cells_array(lists: pa.Array) -> pa.Array:
    """cells.render_cells over a list<string> array (null list -> "")."""
    lists = _as_array(lists)
    flat = pc.fill_null(lists.flatten(), "")
    marked = pc.binary_join_element_wise(CELL_MARKER + "\n", flat, "")
    rebuilt = pa.ListArray.from_arrays(pa.array(_offsets(lists), pa.int32()), marked)
    return pc.binary_join(rebuilt, "\n\n")


def _as_array(col) -> pa.Array:
    return col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenation of range(s, s + n) for each (s, n), without a Python loop."""
    lengths = np.maximum(lengths, 0)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    base = np.repeat(starts - (ends - lengths), lengths)
    return base + np.arange(total, dtype=np.int64)


def select_cells(cells: pa.Array, ops: pa.Array, lo: str, hi: str) -> tuple[pa.Array, np.ndarray]:
    """For every row, the cells cells[op.lo:op.hi] of each op, concatenated in op order.

    Returns the selected cells as a list array and the number of cells selected per row.
    Op bounds outside the row's cell list are clipped (a corrupt op never raises).
    """
    cells, ops = _as_array(cells), _as_array(ops)
    n = len(ops)
    cell_off = _offsets(cells)
    n_cells = np.diff(cell_off)
    op_off = _offsets(ops)
    flat_ops = ops.flatten()
    op_row = np.repeat(np.arange(n, dtype=np.int64), np.diff(op_off))
    a = np.asarray(pc.fill_null(flat_ops.field(lo), 0), dtype=np.int64)
    b = np.asarray(pc.fill_null(flat_ops.field(hi), 0), dtype=np.int64)
    limit = n_cells[op_row] if len(op_row) else np.zeros(0, dtype=np.int64)
    a = np.clip(a, 0, limit)
    b = np.clip(b, a, limit)
    lengths = b - a
    idx = _ranges(cell_off[op_row] + a if len(op_row) else a, lengths)
    per_row = np.bincount(op_row, weights=lengths, minlength=n).astype(np.int64) if len(op_row) else np.zeros(n, np.int64)
    values = pc.take(pc.fill_null(cells.flatten(), ""), pa.array(idx, pa.int64())) if len(idx) else pa.array([], pa.string())
    offsets = np.concatenate([[0], np.cumsum(per_row)]).astype(np.int32)
    return pa.ListArray.from_arrays(pa.array(offsets), values), per_row


def changed_cells(ops) -> np.ndarray:
    """Cells an edit touches: for each op max(old cells, new cells), summed over ops."""
    ops = _as_array(ops)
    op_off = _offsets(ops)
    n = len(ops)
    flat = ops.flatten()
    if len(flat) == 0:
        return np.zeros(n, dtype=np.int64)
    op_row = np.repeat(np.arange(n, dtype=np.int64), np.diff(op_off))
    f = {k: np.asarray(pc.fill_null(flat.field(k), 0), dtype=np.int64) for k in ("i1", "i2", "j1", "j2")}
    size = np.maximum(np.maximum(f["i2"] - f["i1"], f["j2"] - f["j1"]), 0)
    return np.bincount(op_row, weights=size, minlength=n).astype(np.int64)
