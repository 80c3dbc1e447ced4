"""How notebook code cells appear as text in prompts and targets.

Cells are written in the jupytext "percent" style (`# %%` before each cell), which models
have seen in pre-training and which round-trips: split_cells(render_cells(c)) == c for any
cells that do not themselves contain a line that is exactly the marker.
"""
from __future__ import annotations

CELL_MARKER = "# %%"


def render_cells(cells: list[str]) -> str:
    return "\n\n".join(f"{CELL_MARKER}\n{cell}" for cell in cells)


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
