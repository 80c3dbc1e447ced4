"""nb-file: ipynb-edit's "whole file" task -- all old code cells -> all new code cells.

Cells are rendered with editflow.cells.render_whole_file in the build's `dataset.cell_format`
(ipynb-edit's `<Cell_i>` ... `<\\Cell_i>` by default)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from editflow.tasks._cells import changed_cells, changed_cells_text, render_whole_file_array
from editflow.tasks.base import TaskSpec, code_decode, edit_columns, view_table


def view(edits: pa.Table) -> pa.Table:
    old_file = render_whole_file_array(edits["old_cells"])
    new_file = render_whole_file_array(edits["new_cells"])
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
    decode=code_decode,
    labels={"artifact": "Jupyter notebook python", "format": "a cell format", "code_label": "Original Code Cells",
            # ipynb-edit's few-shot prompt (baseline.py, whole file)
            "kshot_artifact": "Jupyter notebook Python", "kshot_code": "original code cells",
            "shot_code_label": "Original Code Cells"},
    dt_filter_switch="dt_filter_nb_file",
    order=10,
    card="- **nb-file** (ipynb-edit whole file): commit message + all old code cells -> all new code cells.",
)
