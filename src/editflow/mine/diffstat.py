"""lines_added / lines_deleted / hunks of one edit, computed by libgit2 (Myers diff).

`.py` files: the raw text diff of the file. Notebooks: the diff of the code-cell text as
the models see it (`cells.render_cells`), so outputs, metadata and markdown never count.
Hunks are those of `git diff` with its default 3 lines of context.
"""
from __future__ import annotations

CONTEXT_LINES = 3


def diff_stats(old: str | bytes | None, new: str | bytes | None) -> tuple[int, int, int]:
    """Both sides str (notebook cell text) or both UTF-8 bytes (.py sources); None = absent."""
    import pygit2

    empty = b"" if isinstance(old or new, bytes) else ""
    old, new = old or empty, new or empty
    if old == new:
        return 0, 0, 0
    patch = pygit2.Patch.create_from(old, new, context_lines=CONTEXT_LINES)
    _, added, deleted = patch.line_stats
    return added, deleted, len(patch.hunks)
