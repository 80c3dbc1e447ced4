"""Code cells of a notebook, read straight from its JSON.

`json.loads` plus direct cell extraction is about twice as fast as `nbformat.reads`, and
orjson halves the parse again (117 MB of generated notebooks: 0.12 s vs 0.06 s); anything
orjson refuses (NaN literals, huge integers, invalid JSON) goes through `json.loads`, so
what is accepted and the error messages are json's. The result is the code cells of
nbformat's view after `reads(text, as_version=4)`: a list
`source` is joined with "" (nbformat's `rejoin_lines`), markdown and raw cells are left out
(as in ipynb-edit), and nbformat v3 files (cells inside `worksheets`, code in `input`) are
converted the way nbformat's v3->v4 upgrade does. The tests check the equivalence against
nbformat itself.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import orjson


class NotebookError(ValueError):
    """The text is not a notebook we can read; `reason` is a SKIP_REASONS entry."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ParsedNotebook:
    cells: list[str]
    converted_from_v3: bool = False


def _source(value: object, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return "".join(value)
    raise NotebookError("invalid_notebook", f"{where}: source is neither a string nor a list of strings")


def _loads(text: str):
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def code_cells(text: str) -> ParsedNotebook:
    """The code-cell sources of a notebook's text, in order; raises NotebookError."""
    if not text.strip():
        raise NotebookError("invalid_json", "empty file")
    try:
        nb = _loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise NotebookError("invalid_json", str(exc)[:200]) from None
    if not isinstance(nb, dict):
        raise NotebookError("invalid_json", f"top level is a JSON {type(nb).__name__}, not an object")
    major = nb.get("nbformat")
    if major == 3 or ("cells" not in nb and "worksheets" in nb):
        return _v3_cells(nb)
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise NotebookError("no_cells", "no 'cells' list" if cells is None else "'cells' is not a list")
    out = []
    for i, cell in enumerate(cells):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            out.append(_source(cell.get("source", ""), f"cell {i}"))
    return ParsedNotebook(out)


def _v3_cells(nb: dict) -> ParsedNotebook:
    worksheets = nb.get("worksheets")
    if not isinstance(worksheets, list):
        raise NotebookError("no_cells", "nbformat 3 without a 'worksheets' list")
    out = []
    for w, sheet in enumerate(worksheets):
        cells = sheet.get("cells", []) if isinstance(sheet, dict) else None
        if not isinstance(cells, list):
            raise NotebookError("no_cells", f"worksheet {w}: 'cells' is not a list")
        for i, cell in enumerate(cells):
            if isinstance(cell, dict) and cell.get("cell_type") == "code":
                out.append(_source(cell.get("input", ""), f"worksheet {w} cell {i}"))
    return ParsedNotebook(out, converted_from_v3=True)
