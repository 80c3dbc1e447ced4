"""py-file: a whole `.py` file, old -> new, given the commit message."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from editflow.tasks.base import TaskSpec, code_decode, edit_columns, view_table


def view(edits: pa.Table) -> pa.Table:
    old = pc.fill_null(edits["old_source"], "")
    new = pc.fill_null(edits["new_source"], "")
    cols = edit_columns(edits, "py-file")
    cols.update(old_code=old, target=new, source=old, reference=new, code_changed=pc.not_equal(old, new))
    return view_table(cols)


TASK = TaskSpec(
    name="py-file",
    description="Python file: commit message + the old .py file -> the new file",
    reads="python",
    view=view,
    decode=code_decode,
    labels={"artifact": "Python", "format": "a file format", "code_label": "Original Code",
            "kshot_artifact": "Python", "kshot_code": "original code", "shot_code_label": "Original Code"},
    order=30,
    card="- **py-file**: commit message + the old `.py` file -> the new file.",
)
