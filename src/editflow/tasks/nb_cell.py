"""nb-cell: ipynb-edit's "cell only" task -- the cells an edit changes, old -> new.

For each op of the edit's `cell_ops` in order, the old side contributes old_cells[i1:i2] and
the new side new_cells[j1:j2]; the selections of all ops are concatenated in op order and
rendered with cells.render_cell_only in the build's `dataset.cell_format`
(ipynb-edit's: each cell followed by a newline). An insert contributes no old cell (an insert-only edit has
an empty old_code), a delete no new cell (a delete-only edit has an empty target, which the
`empty_target` filter removes).
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from editflow.tasks._cells import (changed_cells, render_cell_only_array, render_whole_file_array,
                                   select_cells)
from editflow.tasks.base import TaskSpec, code_decode, edit_columns, view_table


def view(edits: pa.Table) -> pa.Table:
    old_file = render_whole_file_array(edits["old_cells"])
    new_file = render_whole_file_array(edits["new_cells"])
    old_sel, _ = select_cells(edits["old_cells"], edits["cell_ops"], "i1", "i2")
    new_sel, _ = select_cells(edits["new_cells"], edits["cell_ops"], "j1", "j2")
    old_code, target = render_cell_only_array(old_sel), render_cell_only_array(new_sel)
    cols = edit_columns(edits, "nb-cell")
    cols.update(old_code=old_code, target=target, source=old_code, reference=target,
                code_changed=pc.fill_null(pc.not_equal(old_file, new_file), True),
                changed_cells=pa.array(changed_cells(edits["cell_ops"]), pa.int64()),
                dedup_text=pc.binary_join_element_wise(old_code, target, "\n"))  # = changed_cells_text
    return view_table(cols)


TASK = TaskSpec(
    name="nb-cell",
    description="notebook, changed cells only: commit message + the old cells an edit changes -> the new cells (ipynb-edit)",
    reads="notebook",
    view=view,
    decode=code_decode,
    labels={"artifact": "Jupyter notebook python", "format": "a cell format", "code_label": "Original Code Cells",
            # ipynb-edit's few-shot prompt (baseline.py, cell only: exemplars say "Original Code")
            "kshot_artifact": "Jupyter notebook Python", "kshot_code": "original code cells",
            "shot_code_label": "Original Code"},
    order=20,
    card=("- **nb-cell** (ipynb-edit cell only): commit message + the old cells named by the edit's "
          "`cell_ops` -> the new cells they name. For each op in order the old side contributes "
          "`old_cells[i1:i2]` and the new side `new_cells[j1:j2]`; the selections of all ops are "
          "concatenated in op order. An insert contributes no old cell (an insert-only edit has an "
          "empty `old_code`); a delete contributes no new cell (a delete-only edit has an empty "
          "target and is removed by the `empty_target` filter)."),
)
