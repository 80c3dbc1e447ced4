"""nb-file: ipynb-edit's "whole file" task -- all old code cells -> all new code cells."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from editflow.tasks._cells import changed_cells, render_cells_array, select_cells
from editflow.tasks.base import TaskSpec, edit_columns, view_table


def changed_cells_text(edits: pa.Table) -> pa.Array:
    """The cells `cell_ops` names, old then new: what identifies a notebook edit for
    near-duplicate detection (shared by both notebook tasks, so an edit has one signature)."""
    old_sel, _ = select_cells(edits["old_cells"], edits["cell_ops"], "i1", "i2")
    new_sel, _ = select_cells(edits["new_cells"], edits["cell_ops"], "j1", "j2")
    return pc.binary_join_element_wise(render_cells_array(old_sel), render_cells_array(new_sel), "\n")


def view(edits: pa.Table) -> pa.Table:
    old_file = render_cells_array(edits["old_cells"])
    new_file = render_cells_array(edits["new_cells"])
    cols = edit_columns(edits, "nb-file")
    cols.update(old_code=old_file, target=new_file, source=old_file, reference=new_file,
                code_changed=pc.fill_null(pc.not_equal(old_file, new_file), True),
                changed_cells=pa.array(changed_cells(edits["cell_ops"]), pa.int64()),
                dedup_text=changed_cells_text(edits))
    return view_table(cols)


TASK = TaskSpec(
    name="nb-file",
    description="notebook, whole file: commit message + all old code cells -> all new code cells (ipynb-edit)",
    reads="notebook",
    view=view,
    labels={"artifact": "Jupyter notebook python", "format": "a cell format", "code_label": "Original Code Cells"},
    dt_filter_switch="dt_filter_nb_file",
    order=10,
    card="- **nb-file** (ipynb-edit whole file): commit message + all old code cells -> all new code cells.",
)
