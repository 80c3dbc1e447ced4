"""Turn the commits of a history slice into Edit and Skip rows (runs inside each worker).

A worker opens its own pygit2.Repository (libgit2 handles are not shared across processes)
and keeps one BlobCache for all the commits it is given, so a contiguous slice of history
reads each file version once.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterator

from editflow.cells import render_cells
from editflow.mine.blobs import BlobCache, BlobSkip, Version, make_catfile
from editflow.mine.diffstat import diff_stats
from editflow.mine.history import Change, relevant_changes
from editflow.records import edit_id


@dataclass(frozen=True)
class MineSettings:
    repo_name: str
    license: str | None
    max_file_bytes: int = 20_000_000
    include_python: bool = True
    rename_similarity: int = 50
    include_notebooks: bool = True  # not a config key: lets benchmarks time .py mining alone


def skip_row(repo: str, commit: str | None, path: str | None, reason: str, detail: str) -> dict:
    return {"repo": repo, "commit": commit, "path": path, "reason": reason, "detail": detail}


def cell_ops(old: list[str], new: list[str]) -> list[dict]:
    """difflib opcodes between two cell lists, equal runs dropped (as ipynb-edit)."""
    ops = difflib.SequenceMatcher(None, old, new).get_opcodes()
    return [{"tag": t, "i1": i1, "i2": i2, "j1": j1, "j2": j2} for t, i1, i2, j1, j2 in ops if t != "equal"]


class Extractor:
    def __init__(self, repo, settings: MineSettings, reader: str = "auto") -> None:
        self.repo = repo
        self.s = settings
        self.cache = BlobCache(repo, settings.max_file_bytes, catfile=make_catfile(repo, reader))

    def close(self) -> None:
        if self.cache.catfile is not None:
            self.cache.catfile.close()

    def commit_rows(self, commit_id: str) -> tuple[list[dict], list[dict]]:
        """(edit rows, skip rows) of one commit; never raises for bad repository data."""
        skips: list[dict] = []
        edits = list(self.stream(commit_id, skips))
        return edits, skips

    def stream(self, commit_id: str, skips: list[dict]) -> Iterator[dict]:
        """Yield the edit rows of one commit one at a time (a commit may add hundreds of
        multi-megabyte notebooks); `skips` is filled, sorted, once the iteration ends."""
        import pygit2

        name = self.s.repo_name
        try:
            commit = self.repo[commit_id]
            parents = commit.parent_ids
            if len(parents) > 1:
                skips.append(skip_row(name, commit_id, None, "merge_commit", f"{len(parents)} parents"))
                return
            tree = commit.tree
            parent_tree = self.repo[parents[0]].tree if parents else None
            changes, problems = relevant_changes(self.repo, parent_tree, tree, self.s.include_python,
                                                 self.s.rename_similarity, self.s.include_notebooks)
            message = commit.raw_message.decode("utf-8", "replace")
            commit_time = int(commit.commit_time)
        except (KeyError, pygit2.GitError, ValueError, OSError) as exc:
            reason = "missing_object" if isinstance(exc, KeyError) else "corrupt_object"
            skips.append(skip_row(name, commit_id, None, reason, f"commit or tree unreadable: {exc}"[:300]))
            return
        parent = str(parents[0]) if parents else None
        found = [skip_row(name, commit_id, p, r, d) for p, r, d in problems]
        for ch in changes:
            row, notes = self._edit(ch, commit_id, parent, commit_time, message)
            found.extend(skip_row(name, commit_id, ch.path, r, d) for r, d in notes)
            if row is not None:
                yield row
        found.sort(key=lambda r: (r["path"] or "", r["reason"]))
        skips.extend(found)

    def _edit(self, ch: Change, commit_id: str, parent: str | None, commit_time: int, message: str):
        notes: list[tuple[str, str]] = []
        if ch.odd_path:
            notes.append(("path_not_utf8", "non-UTF-8 bytes in the path are written as \\x escapes"))
        sides: list[Version | None] = []
        for label, oid in (("old", ch.old_id), ("new", ch.new_id)):
            if oid is None:
                sides.append(None)
                continue
            got = self.cache.get(oid, ch.kind)
            if isinstance(got, BlobSkip):
                notes.append((got.reason, f"{label} side ({oid[:12]}): {got.detail}"))
                return None, notes
            sides.append(got)
        old, new = sides
        if any(v is not None and v.converted_from_v3 for v in sides):
            notes.append(("nbformat_v3_converted", "read nbformat 3 worksheets as code cells"))
        row = {
            "edit_id": edit_id(self.s.repo_name, commit_id, ch.path),
            "repo": self.s.repo_name, "commit": commit_id, "parent": parent,
            "commit_time": commit_time, "message": message,
            "path": ch.path, "old_path": ch.old_path, "change_type": ch.change_type, "kind": ch.kind,
            "old_source": old.text if old else None, "new_source": new.text if new else None,
            "old_cells": None, "new_cells": None, "cell_ops": None,
            "license": self.s.license,
        }
        if ch.kind == "notebook":
            old_cells = list(old.cells) if old else []
            new_cells = list(new.cells) if new else []
            row["old_cells"] = old_cells if old else None
            row["new_cells"] = new_cells if new else None
            row["cell_ops"] = cell_ops(old_cells, new_cells)
            a, d, h = diff_stats(render_cells(old_cells) if old else None,
                                 render_cells(new_cells) if new else None)
        else:
            a, d, h = diff_stats(old.text if old else None, new.text if new else None)
        row.update(lines_added=a, lines_deleted=d, hunks=h)
        return row, notes
