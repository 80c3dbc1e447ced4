"""py-unit: Coeditor's unit-level editing (PyCommits), and its OneLine and ablation variants.

One example per modified code unit (function, class region, module region) of a commit, the
input holding the unit in Coeditor's line-diff encoding, the commit's earlier changes and the
Jedi signatures of what the unit uses; the target is the line-diff of the unit's change. The
library is editflow.coeditor (docs/coeditor.md); this module registers it.

- `py-unit`: single-round problems plus synthetic multi-round instances (meta.synthetic).
- `py-unit-oneline`: PyCommits-OneLine, the last changed line as the target (Table 3).
- `py-unit-no-signatures`, `py-unit-small-context`, `py-unit-no-diffs`: the ablations (Table 5).

Settings: the config's `dataset.task_settings.py-unit` (editflow.coeditor.settings keys, plus
`repo_root`, the directory holding the mined repositories as `{slug}.git`, for signatures); the
ablation variants read the same settings.
"""
from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from editflow.coeditor.encoding import decode as decode_unit
from editflow.coeditor.pycommits import build_problems, repo_dir_resolver
from editflow.coeditor.settings import UnitSettings
from editflow.tasks.base import VIEW_SCHEMA, Decoded, TaskSpec

LABELS = {"artifact": "Python",
          "format": "the line-diff format (after a placeholder <extra_id_k>: <add> lines to insert, <del> to delete its line)",
          "code_label": "Code Unit"}


def configured_settings(ablation: str | None = None) -> tuple[UnitSettings, Any]:
    from editflow import tasks

    section = tasks.task_settings("py-unit")
    root = section.pop("repo_root", None)
    if ablation is not None:
        section["ablation"] = ablation
    return UnitSettings.from_section(section), repo_dir_resolver(root) if root else None


def decode(text: str, source: str) -> Decoded:
    d = decode_unit(text, source)
    return Decoded(d.code, d.ok, d.reason)


def unit_scores(table: pa.Table):
    """Coeditor's EM on the decoded unit (`unit_em`); imported on use (numba is slow to load)."""
    from editflow.coeditor.tables import unit_scores as scores

    return scores(table)


def make_view(task: str, ablation: str | None = None, oneline: bool = False):
    def view(edits: pa.Table) -> pa.Table:
        settings, resolver = configured_settings(ablation)
        cols: dict[str, list] = {name: [] for name in VIEW_SCHEMA.names}
        for edit, p in build_problems(edits.to_pylist(), settings, resolver, oneline):
            row = {"edit_id": edit["edit_id"], "example_key": p.key, "task": task,
                   "message": edit["message"] or "", "old_code": p.old_code, "target": p.target,
                   "source": p.source, "reference": p.reference, "code_changed": True,
                   "changed_lines": p.changed_lines, "hunks": p.hunks, "changed_cells": None,
                   "dedup_text": None, "meta": json.dumps(p.meta, sort_keys=True)}
            for name in ("repo", "commit", "path", "license", "commit_time", "change_type"):
                row[name] = edit[name]
            for name in VIEW_SCHEMA.names:
                cols[name].append(row[name])
        return pa.Table.from_pydict(cols, schema=VIEW_SCHEMA)
    return view


def _spec(name: str, description: str, order: int, card: str, **kw) -> TaskSpec:
    return TaskSpec(name=name, description=description, reads="python", view=make_view(name, **kw),
                    decode=decode, labels=LABELS, order=order, card=card, extra_scores=unit_scores,
                    tables="coeditor")


TASKS = [
    _spec("py-unit", "Coeditor unit edit: a code unit in line-diff form + prior changes of the commit "
          "+ signatures -> the unit's change", 40,
          "- **py-unit**: Coeditor's PyCommits problems: one modified code unit of a commit, its "
          "earlier changes and Jedi signatures -> the unit's line-diff (`<add>`/`<del>` per placeholder)."),
    _spec("py-unit-oneline", "PyCommits-OneLine: the last changed line of a unit change, the rest inlined",
          41, "- **py-unit-oneline**: the last changed line of each unit change as the target (Add / Replace EM).",
          oneline=True),
    _spec("py-unit-no-signatures", "py-unit without Jedi signatures (ablation)", 42,
          "- **py-unit-no-signatures**: py-unit without signatures.", ablation="no_signatures"),
    _spec("py-unit-small-context", "py-unit with 2,048 reference tokens (ablation)", 43,
          "- **py-unit-small-context**: py-unit with a 2,048-token reference budget.", ablation="small_context"),
    _spec("py-unit-no-diffs", "py-unit with prior changes as post-edit code only (ablation)", 44,
          "- **py-unit-no-diffs**: py-unit with prior changes shown as their new code.", ablation="no_diffs"),
]
