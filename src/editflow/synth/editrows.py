"""Kept synthetic triplets as edit rows (records.EDIT_SCHEMA), so the dataset stage reads them
beside mined edits and the `instruct` task turns them into examples.

Mapping: kind `python`; old_source / new_source = pre_edit / post_edit; message = the lazy
instruction, a blank line, the descriptive one (a commit's subject and body); commit =
`synth:<generator>:<pair_id>` (how editflow.tasks.instruct tells a synthetic row); repo and
license = the seed snippets' repository and its license, so a synthetic example lands in the
split of the repository its seed code came from and no test repository's code reaches
training through a synthetic task; path = `synthetic/<synth_id>.py`; commit_time 0;
lines_added/lines_deleted/hunks from editflow.difflines' counting.
"""
from __future__ import annotations

import pyarrow as pa

from editflow.difflines import count_changes
from editflow.records import EDIT_SCHEMA, edit_id
from editflow.tasks.instruct import SYNTH_COMMIT_PREFIX


def edit_row(row: dict) -> dict:
    commit = f"{SYNTH_COMMIT_PREFIX}{row['generator']}:{row['pair_id']}"
    path = f"synthetic/{row['synth_id']}.py"
    count = count_changes(row["pre_edit"], row["post_edit"])
    return {"edit_id": edit_id(row["repo"], commit, path), "repo": row["repo"], "commit": commit, "parent": None,
            "commit_time": 0, "message": f"{row['instruction_lazy']}\n\n{row['instruction_descriptive']}",
            "path": path, "old_path": path, "change_type": "modified", "kind": "python",
            "old_source": row["pre_edit"], "new_source": row["post_edit"], "old_cells": None, "new_cells": None,
            "cell_ops": None, "lines_added": count.modified_lines, "lines_deleted": 0, "hunks": count.hunks,
            "license": row["license"]}


def to_edits(synth: pa.Table) -> pa.Table:
    """The kept rows of a synth output table as EDIT_SCHEMA rows (dropped rows left out).

    lines_added carries the modified-line count and lines_deleted 0, so the mined tasks'
    `lines_added + lines_deleted` equals OpenCodeEdit's count for these rows."""
    rows = [edit_row(r) for r in synth.to_pylist() if r["kept"]]
    return pa.Table.from_pylist(rows, schema=EDIT_SCHEMA)
