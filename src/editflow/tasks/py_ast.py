"""py-ast and py-ast-text: C3PO's EditCompletion on Python, as an edit script or in one pass.

Both read the same examples (editflow.trees.fragments): a changed statement run P of a `.py`
file, its tree with node addresses, and the edits made within 10 lines of it in the same
commit (as line diffs and as edit scripts). `py-ast` predicts the linearised MOV/DEL/UPD/INS
script (decoded by applying it to P and unparsing); `py-ast-text` predicts P' as code (the
one-pass baseline). Both are scored on code and on trees, so the papers' comparison -- edit
script against one pass -- is one table.
"""
from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from editflow.tasks.base import Decoded, Example, TaskSpec
from editflow.trees import python_ast
from editflow.trees.fragments import EditCompletionSettings, build, model_input
from editflow.trees.languages import get as get_language
from editflow.trees.linearize import apply_text, parse_script
from editflow.trees.scores import Row, score_rows
from editflow.trees.script import ApplyError

SETTINGS = EditCompletionSettings()   # C3PO's settings; the config's dataset.task_settings.py-ast overrides


def configured_settings() -> EditCompletionSettings:
    """dataset.task_settings["py-ast"] over C3PO's defaults; py-ast-text reads the same, so both
    views hold the same examples (the one-pass vs edit-script comparison)."""
    import dataclasses

    from editflow import tasks

    given = tasks.task_settings("py-ast")
    known = {f.name for f in dataclasses.fields(EditCompletionSettings)}
    unknown = sorted(set(given) - known)
    if unknown:
        raise ValueError(f"dataset.task_settings.py-ast: unknown key(s) {unknown}; allowed: {sorted(known)}")
    return dataclasses.replace(SETTINGS, **given)


def _examples(edit: dict, as_script: bool) -> list[Example]:
    old, new = edit.get("old_source"), edit.get("new_source")
    if not old or not new:
        return []
    out = []
    for ex in build(old, new, "python", configured_settings()).examples:
        reference = python_ast.unparse(ex.post)
        counts = {k: sum(o.kind == k for o in ex.ops) for k in ("MOV", "DEL", "UPD", "INS")}
        out.append(Example(
            old_code=model_input(ex), target=ex.script if as_script else ex.target_text,
            source=ex.source, reference=reference, key=ex.key,
            changed_lines=ex.changed_lines, hunks=ex.hunks,
            dedup_text=ex.source + "\n" + ex.target_text,
            meta={"nodes": ex.nodes, "ops": counts, "context_edits": len(ex.context),
                  "actions": ex.actions}))
    return out


def script_examples(edit: dict) -> list[Example]:
    return _examples(edit, True)


def text_examples(edit: dict) -> list[Example]:
    return _examples(edit, False)


def decode_script(text: str, source: str) -> Decoded:
    """Apply a predicted script to P and unparse; the unchanged P (by reason) where it fails."""
    try:
        pre = python_ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return Decoded(source, False, "source_parse_error")
    try:
        return Decoded(python_ast.unparse(apply_text(pre, text)))
    except ApplyError as exc:
        return Decoded(source, False, exc.reason)
    except python_ast.TreeError:
        return Decoded(source, False, "grammar_violation")
    except RecursionError:
        return Decoded(source, False, "too_deep")


def decode_text(text: str, source: str) -> Decoded:
    """One-pass output: the code as ast.unparse writes it (so that both views compare alike)."""
    try:
        return Decoded(python_ast.unparse(python_ast.parse(text)))
    except (SyntaxError, ValueError, RecursionError):
        return Decoded(source, False, "syntax_error")


def _scores(table: pa.Table, scripted: bool) -> dict[str, np.ndarray]:
    cols = {n: table.column(n).to_pylist() if n in table.column_names else None
            for n in ("source", "reference", "applied_code", "decode_ok", "prediction")}
    n = table.num_rows
    rows = []
    for i in range(n):
        pred_ops = None
        if scripted:
            try:
                pred_ops = parse_script(cols["prediction"][i] or "")[0]
            except (ValueError, json.JSONDecodeError):
                pred_ops = []
        rows.append(Row(cols["source"][i] or "", cols["reference"][i] or "",
                        (cols["applied_code"] or [""] * n)[i] or "",
                        bool((cols["decode_ok"] or [True] * n)[i]), pred_ops))
    scores = score_rows(rows, get_language("python"))
    return {k: np.asarray(v, dtype=float) for k, v in scores.items()}


def script_scores(table: pa.Table) -> dict[str, np.ndarray]:
    return _scores(table, True)


def text_scores(table: pa.Table) -> dict[str, np.ndarray]:
    return _scores(table, False)


_CARD_COMMON = ("P is the smallest run of sibling statements covering a changed region of a "
                "`.py` file; the input is P, its tree with node addresses and the edits within "
                f"{SETTINGS.context_radius_lines} lines in the same commit (line diffs and edit "
                f"scripts). C3PO's filters: at most {SETTINGS.max_fragment_nodes} nodes in P, no "
                "delete-only edits, no renames already made in the context.")



def _spec(name: str, description: str, examples, decode, fmt: str, scores, order: int, card: str) -> TaskSpec:
    return TaskSpec(name=name, description=description, reads="python", examples=examples,
                    decode=decode, extra_scores=scores, order=order, card=card, tables="structural",
                    labels={"artifact": "Python", "code_label": "Fragment and context edits",
                            "format": fmt})


TASKS = [
    _spec("py-ast", "Python EditCompletion (C3PO): fragment + context edits -> MOV/DEL/UPD/INS edit script",
          script_examples, decode_script,
          "an edit script (one MOV/DEL/UPD/INS operation per line, node addresses from the fragment tree)",
          script_scores, 40,
          "- **py-ast** (C3PO EditCompletion, edit script): " + _CARD_COMMON
          + " Target: the linearised edit script (docs/trees.md)."),
    _spec("py-ast-text", "Python EditCompletion, one-pass baseline: fragment + context edits -> the edited fragment as code",
          text_examples, decode_text, "the edited fragment as Python code", text_scores, 41,
          "- **py-ast-text** (one-pass baseline of py-ast): the same examples; target: P' as code."),
]
