"""Vectorised helpers for the notebook tasks: cells selected by `cell_ops`, rendered as text
in the build's cell format (editflow.cells: ipynb-edit's strings by default, or percent).

Everything here works on whole pyarrow batches: building views for a million edits must not
be a per-row Python loop.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from editflow.cells import CELL_MARKER, check_format, current_format


def _offsets(lists: pa.Array) -> np.ndarray:
    """Zero-based offsets of a (possibly sliced) list array; null lists count as empty."""
    off = np.asarray(lists.offsets, dtype=np.int64)
    return off - off[0]


def _rejoin(lists: pa.Array, pieces: pa.Array, sep: str) -> pa.Array:
    """Per row of `lists`, its rendered cells (`pieces`, aligned with the flat cells) joined by sep."""
    rebuilt = pa.ListArray.from_arrays(pa.array(_offsets(lists), pa.int32()), pieces)
    return pc.binary_join(rebuilt, sep)


def render_cells_array(lists: pa.Array) -> pa.Array:
    """cells.render_cells (percent) over a list<string> array (null list -> "")."""
    lists = _as_array(lists)
    flat = pc.fill_null(lists.flatten(), "")
    return _rejoin(lists, pc.binary_join_element_wise(CELL_MARKER + "\n", flat, ""), "\n\n")


def _cell_numbers(lists: pa.Array) -> pa.Array:
    """Each flat cell's position within its row (0, 1, ...), as text."""
    off = _offsets(lists)
    lengths = np.diff(off)
    pos = np.arange(int(off[-1]), dtype=np.int64) - np.repeat(off[:-1], lengths)
    return pa.array(pos, pa.int64()).cast(pa.string())


def render_whole_file_array(lists: pa.Array, fmt: str | None = None) -> pa.Array:
    """cells.render_whole_file over a list<string> array (null list -> "")."""
    lists = _as_array(lists)
    if check_format(fmt or current_format()) == "percent":
        return render_cells_array(lists)
    flat = pc.fill_null(lists.flatten(), "")
    i = _cell_numbers(lists)
    pieces = pc.binary_join_element_wise("<Cell_", i, ">\n", flat, "\n<\\Cell_", i, ">\n", "")
    return _rejoin(lists, pieces, "")


def render_cell_only_array(lists: pa.Array, fmt: str | None = None) -> pa.Array:
    """cells.render_cell_only over a list<string> array (null list -> "")."""
    lists = _as_array(lists)
    if check_format(fmt or current_format()) == "percent":
        return render_cells_array(lists)
    flat = pc.fill_null(lists.flatten(), "")
    return _rejoin(lists, pc.binary_join_element_wise(flat, "\n", ""), "")


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


def changed_cells_text(edits) -> pa.Array:
    """The cells `cell_ops` names, old then new (cell-only rendering): what identifies a notebook
    edit for near-duplicate detection (shared by both notebook tasks, so an edit has one signature)."""
    old_sel, _ = select_cells(edits["old_cells"], edits["cell_ops"], "i1", "i2")
    new_sel, _ = select_cells(edits["new_cells"], edits["cell_ops"], "j1", "j2")
    return pc.binary_join_element_wise(render_cell_only_array(old_sel), render_cell_only_array(new_sel), "\n")
