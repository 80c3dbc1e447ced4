"""Task views: one edit (records.EDIT_SCHEMA row) seen as a (message, old code) -> target example.

- nb-file: all old code cells -> all new code cells (ipynb-edit "whole file").
- nb-cell: only the cells that `cell_ops` names (ipynb-edit "cell only"). For each op in
  order, the old side contributes old_cells[i1:i2] and the new side new_cells[j1:j2]; the
  selected cells of all ops are concatenated in op order and rendered with
  cells.render_cells. An insert contributes no old cell (so an edit that only inserts cells
  has an empty old_code), a delete no new cell (an edit that only deletes cells has an
  empty target; the `drop_empty_target` filter removes those).
- py-file: old_source -> new_source.

Everything here is vectorised with pyarrow/numpy over a batch of edits: building views for a
million edits must not be a per-row Python loop.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from editflow.cells import CELL_MARKER

TASK_KIND = {"nb-file": "notebook", "nb-cell": "notebook", "py-file": "python"}

# Columns a view table carries: the example's own fields plus what filters, dedup and
# statistics need. Everything but the text columns is kept in memory for the whole build.
VIEW_SCHEMA = pa.schema([
    ("edit_id", pa.string()),
    ("task", pa.string()),
    ("message", pa.string()),
    ("old_code", pa.string()),
    ("target", pa.string()),
    ("repo", pa.string()),
    ("commit", pa.string()),
    ("path", pa.string()),
    ("license", pa.string()),
    ("commit_time", pa.int64()),
    ("change_type", pa.string()),
    ("code_changed", pa.bool_()),
    ("changed_lines", pa.int64()),
    ("hunks", pa.int64()),
    ("changed_cells", pa.int64()),   # null for py-file
])


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


def _common(batch: pa.Table, task: str) -> dict[str, pa.Array]:
    n = batch.num_rows
    added = pc.fill_null(batch["lines_added"], 0).cast(pa.int64())
    deleted = pc.fill_null(batch["lines_deleted"], 0).cast(pa.int64())
    return {
        "edit_id": batch["edit_id"], "task": pa.array([task] * n, pa.string()),
        "message": pc.fill_null(batch["message"], ""),
        "repo": batch["repo"], "commit": batch["commit"], "path": batch["path"],
        "license": batch["license"], "commit_time": batch["commit_time"],
        "change_type": batch["change_type"],
        "changed_lines": pc.add(added, deleted),
        "hunks": pc.fill_null(batch["hunks"], 0).cast(pa.int64()),
    }


def build_views(edits: pa.Table, tasks: list[str] | tuple[str, ...]) -> dict[str, pa.Table]:
    """The example candidates of each task for a batch of edits (EDIT_SCHEMA columns).

    Every row of the right kind becomes a candidate, however bad: the filters decide, and
    count, what is dropped.
    """
    out: dict[str, pa.Table] = {}
    kind = edits["kind"]
    nb = edits.filter(pc.equal(kind, "notebook"))
    py = edits.filter(pc.equal(kind, "python"))
    if {"nb-file", "nb-cell"} & set(tasks):
        old_file = render_cells_array(nb["old_cells"])
        new_file = render_cells_array(nb["new_cells"])
        code_changed = pc.fill_null(pc.not_equal(old_file, new_file), True)
        if "nb-file" in tasks:
            cols = _common(nb, "nb-file")
            cols.update(old_code=old_file, target=new_file, code_changed=code_changed,
                        changed_cells=pa.array(_changed_cells(nb["cell_ops"]), pa.int64()))
            out["nb-file"] = _table(cols)
        if "nb-cell" in tasks:
            cols = _common(nb, "nb-cell")
            old_sel, _ = select_cells(nb["old_cells"], nb["cell_ops"], "i1", "i2")
            new_sel, _ = select_cells(nb["new_cells"], nb["cell_ops"], "j1", "j2")
            cols.update(old_code=render_cells_array(old_sel), target=render_cells_array(new_sel),
                        code_changed=code_changed,
                        changed_cells=pa.array(_changed_cells(nb["cell_ops"]), pa.int64()))
            out["nb-cell"] = _table(cols)
    if "py-file" in tasks:
        cols = _common(py, "py-file")
        old = pc.fill_null(py["old_source"], "")
        new = pc.fill_null(py["new_source"], "")
        cols.update(old_code=old, target=new, code_changed=pc.not_equal(old, new),
                    changed_cells=pa.nulls(py.num_rows, pa.int64()))
        out["py-file"] = _table(cols)
    return out


def _changed_cells(ops) -> np.ndarray:
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


def _table(cols: dict[str, pa.Array]) -> pa.Table:
    arrays = [_as_array(cols[f.name]).cast(f.type) for f in VIEW_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=VIEW_SCHEMA)


def changed_text(view: pa.Table) -> list[str]:
    """The text near-duplicate detection compares for each row of an nb-cell or py-file view.

    Edits of one file in successive commits share almost all of their old+new *file* text,
    so whole files would make every file history one near-duplicate cluster. The changed
    code is what identifies an edit: for notebooks the changed cells (old then new), for
    Python files the lines removed then the lines added (line-set difference).
    """
    olds = view["old_code"].to_pylist()
    news = view["target"].to_pylist()
    if view.num_rows and view["task"][0].as_py() == "nb-cell":
        return [o + "\n" + t for o, t in zip(olds, news)]
    out = []
    for o, t in zip(olds, news):
        ol, nl = o.split("\n"), t.split("\n")
        so, sn = set(ol), set(nl)
        out.append("\n".join([x for x in ol if x not in sn] + [x for x in nl if x not in so]))
    return out
