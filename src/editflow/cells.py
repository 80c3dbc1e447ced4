"""How notebook code cells appear as text in prompts and targets (`dataset.cell_format`).

Two formats, each with a whole-file view (nb-file: every cell) and a cell-only view (nb-cell:
the cells an edit changes):

- `ipynb-edit` (the default): the strings of ipynb-edit's released baseline.py and
  train_baseline.py, so prompts, targets and references are the bytes its models saw.
  Whole file: for cell i (from 0) `<Cell_i>\\n` + cell + `\\n<\\Cell_i>\\n`, concatenated.
  Cell only: every cell followed by `\\n`, concatenated.
- `percent`: editflow's earlier rendering in the jupytext "percent" style, the same for both
  views: `# %%\\n` before each cell, a blank line between cells. Models have seen it in
  pre-training and it round-trips: split_cells(render_cells(c)) == c for any cells that do not
  themselves contain a line that is exactly the marker.

Which format a dataset build uses is a setting, but the task views have the fixed signature
view(edits): the builder sets the format for the duration of a build with `using_format`,
and the views read it with `current_format` (a context variable, so concurrent builds in
threads do not see each other's). Outside a build the schema default applies.

`render_cells` stays the percent rendering whatever the setting: the miner counts changed
lines on it, and line counts must not depend on cell numbering (inserting a cell renumbers
every later `<Cell_i>` marker).
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator, Sequence

CELL_MARKER = "# %%"
FORMATS = ("ipynb-edit", "percent")

_FORMAT: contextvars.ContextVar[str | None] = contextvars.ContextVar("editflow_cell_format", default=None)


def default_format() -> str:
    """The schema's default for dataset.cell_format (one source of defaults)."""
    from editflow.config import section_defaults

    return section_defaults("dataset")["cell_format"]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValueError(f"dataset.cell_format: {fmt!r} is not one of {list(FORMATS)}")
    return fmt


def current_format() -> str:
    """The cell format of the build in progress, else the schema default."""
    return _FORMAT.get() or default_format()


@contextlib.contextmanager
def using_format(fmt: str) -> Iterator[str]:
    """Render cells in `fmt` inside the block (the dataset builder wraps its views in it)."""
    token = _FORMAT.set(check_format(fmt))
    try:
        yield fmt
    finally:
        _FORMAT.reset(token)


def render_cells(cells: Sequence[str]) -> str:
    """The percent rendering: `# %%` before each cell, a blank line between cells."""
    return "\n\n".join(f"{CELL_MARKER}\n{cell}" for cell in cells)


def ipynb_edit_whole_file(cells: Sequence[str]) -> str:
    """ipynb-edit's whole-file rendering: `<Cell_i>` / `<\\Cell_i>` around cell i."""
    return "".join(f"<Cell_{i}>\n{cell}\n<\\Cell_{i}>\n" for i, cell in enumerate(cells))


def ipynb_edit_cell_only(cells: Sequence[str]) -> str:
    """ipynb-edit's cell-only rendering: each cell followed by a newline."""
    return "".join(f"{cell}\n" for cell in cells)


def render_whole_file(cells: Sequence[str], fmt: str | None = None) -> str:
    """All cells of a notebook as the nb-file task shows them."""
    fmt = check_format(fmt or current_format())
    return ipynb_edit_whole_file(cells) if fmt == "ipynb-edit" else render_cells(cells)


def render_cell_only(cells: Sequence[str], fmt: str | None = None) -> str:
    """The cells an edit changes as the nb-cell task shows them."""
    fmt = check_format(fmt or current_format())
    return ipynb_edit_cell_only(cells) if fmt == "ipynb-edit" else render_cells(cells)


def card_text(fmt: str) -> str:
    """One sentence for the dataset card: how the notebook tasks render cells."""
    if fmt == "ipynb-edit":
        return ("Cells use `dataset.cell_format: ipynb-edit` (ipynb-edit's baseline.py strings): nb-file puts "
                "`<Cell_i>` and `<\\Cell_i>` lines around cell i (from 0); nb-cell writes each changed cell "
                "followed by a newline.")
    return ("Cells use `dataset.cell_format: percent`: `# %%` before each cell, a blank line between cells, "
            "in both notebook tasks.")


def split_cells(text: str) -> list[str]:
    """Inverse of render_cells; text before the first marker counts as a cell if non-blank."""
    cells: list[str] = []
    current: list[str] | None = None
    preamble: list[str] = []
    for line in text.split("\n"):
        if line.rstrip() == CELL_MARKER:
            if current is not None:
                cells.append("\n".join(current))
            current = []
        elif current is None:
            preamble.append(line)
        else:
            current.append(line)
    if current is not None:
        cells.append("\n".join(current))
    # render_cells puts one blank line between cells: drop it from each cell's end.
    cells = [c[:-1] if i < len(cells) - 1 and c.endswith("\n") else c for i, c in enumerate(cells)]
    head = "\n".join(preamble).strip()
    return ([head] if head else []) + cells
