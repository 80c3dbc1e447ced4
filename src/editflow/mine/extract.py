"""Turn the commits of a history slice into Edit and Skip rows (runs inside each worker).

A worker opens its own pygit2.Repository (libgit2 handles are not shared across processes)
and keeps one BlobCache for all the commits it is given, so a contiguous slice of history
reads each file version once.
"""
from __future__ import annotations

import difflib
from collections import deque
from dataclasses import dataclass
from typing import Iterator, Mapping

from editflow.cells import render_cells
from editflow.config import section_defaults
from editflow.mine.blobs import CATFILE_MIN_BYTES, BlobCache, BlobSkip, Version, make_pipeline, make_reader
from editflow.mine.changes import CommitDeltas
from editflow.mine.diffstat import diff_stats
from editflow.mine.history import Change, collect_changes, relevant_changes
from editflow.mine.pydiff import PairStats, PyDiffFeed
from editflow.looseobjects import Damage
from editflow.records import edit_id


_DEFAULTS = section_defaults("mine")  # one place for defaults: the config schema


@dataclass(frozen=True)
class MineSettings:
    repo_name: str
    license: str | None
    max_file_bytes: int = _DEFAULTS["max_file_bytes"]
    include_python: bool = _DEFAULTS["include_python"]
    rename_similarity: int = _DEFAULTS["rename_similarity"]
    include_notebooks: bool = True  # not a config key: lets benchmarks time .py mining alone
    notebook_source: str = _DEFAULTS["notebook_source"]  # stripped | raw | none (blobs.NOTEBOOK_SOURCES)
    history: str = _DEFAULTS["history"]  # all | first_parent (history.py)


# Read-ahead: commits diffed (and their large blobs requested from git) before they are mined.
LOOKAHEAD_COMMITS = 16
LOOKAHEAD_BYTES = 16 << 20  # blob bytes requested and not yet collected (a few large notebooks)


@dataclass(frozen=True)
class Prepared:
    """A commit whose tree diff is done: what `rows` needs, read before the blobs."""
    commit_id: str
    parent: str | None
    commit_time: int
    message: str
    changes: list[Change]
    problems: list[tuple[str, str, str]]


def skip_row(repo: str, commit: str | None, path: str | None, reason: str, detail: str) -> dict:
    return {"repo": repo, "commit": commit, "path": path, "reason": reason, "detail": detail}


def cell_ops(old: list[str], new: list[str]) -> list[dict]:
    """difflib opcodes between two cell lists, equal runs dropped (as ipynb-edit)."""
    ops = difflib.SequenceMatcher(None, old, new).get_opcodes()
    return [{"tag": t, "i1": i1, "i2": i2, "j1": j1, "j2": j2} for t, i1, i2, j1, j2 in ops if t != "equal"]


class TreeGuard:
    """Whether libgit2's diff of a commit would read a damaged loose tree (and hang).

    Only asked where git's changes are not used, and free unless a damaged object may be a
    tree: then each tree of the history is listed once (memoized by id), never its blobs."""

    def __init__(self, repo, damaged: Mapping[str, Damage]) -> None:
        self.repo = repo
        self.damaged = damaged
        self.active = any(d.type in (None, "tree", "commit") for d in damaged.values())
        self.clean: set[str] = set()

    def problem(self, commit, parents) -> str | None:
        """The detail of a damaged object under the commit's (or its parent's) tree, or None."""
        if not self.active:
            return None
        roots = []
        for pid in parents[:1]:
            if str(pid) in self.damaged:
                return self.damaged[str(pid)].detail
            roots.append(self.repo[pid].tree_id)
        roots.append(commit.tree_id)
        for root in roots:
            bad = self._walk(str(root))
            if bad is not None:
                return bad
        return None

    def _walk(self, tree_id: str) -> str | None:
        import pygit2

        stack = [tree_id]
        while stack:
            tid = stack.pop()
            if tid in self.clean:
                continue
            if tid in self.damaged:
                return self.damaged[tid].detail
            subtrees = [str(e.id) for e in self.repo[tid] if e.type == pygit2.enums.ObjectType.TREE]
            pending = [s for s in subtrees if s not in self.clean]
            if pending:
                stack.append(tid)  # revisit once the subtrees are known clean
                stack.extend(pending)
            else:
                self.clean.add(tid)
        return None


class Extractor:
    def __init__(self, repo, settings: MineSettings, reader: str = "auto",
                 changes: CommitDeltas | None = None, damaged: Mapping[str, Damage] | None = None) -> None:
        self.repo = repo
        self.s = settings
        self.changes = changes  # git's deltas per commit (changes.py); None: libgit2 diffs
        self.damaged = damaged or {}  # loose objects libgit2 must never read (it would hang)
        self.trees = TreeGuard(repo, self.damaged)
        self.cache = BlobCache(repo, settings.max_file_bytes,
                               reader=make_reader(repo, reader, settings.max_file_bytes),
                               reader_min_bytes=0 if reader == "git-cat-file" else CATFILE_MIN_BYTES,
                               pipeline=make_pipeline(repo, reader, settings.max_file_bytes),
                               damaged=self.damaged, notebook_source=settings.notebook_source)

    def close(self) -> None:
        self.cache.close()

    def commit_rows(self, commit_id: str) -> tuple[list[dict], list[dict]]:
        """(edit rows, skip rows) of one commit; never raises for bad repository data."""
        skips: list[dict] = []
        edits = list(self.stream(commit_id, skips))
        return edits, skips

    def stream(self, commit_id: str, skips: list[dict]) -> Iterator[dict]:
        """Yield the edit rows of one commit one at a time (a commit may add hundreds of
        multi-megabyte notebooks); `skips` is filled, sorted, once the iteration ends."""
        prepared = self.prepare(commit_id, skips)
        if prepared is not None:
            yield from self.rows(prepared, skips)

    def stream_many(self, commits: list[str], diffs: PyDiffFeed | None = None
                    ) -> Iterator[tuple[Iterator[dict], list[dict]]]:
        """Per commit, in order: (edit row iterator, skip list filled by the iterator).

        `diffs`: git's `.py` line counts of these commits (pydiff.py), computed on the
        other core; pairs it has not reported are diffed here.

        Read-ahead: the next LOOKAHEAD_COMMITS commits are diffed, and their blobs are
        requested from git in the order they will be read while at most LOOKAHEAD_BYTES
        are requested and not yet collected, so git inflates the next blobs while this
        process parses the current ones. Each row iterator must be exhausted before the
        next pair is taken (as `for rows, skips in ...: for row in rows` does)."""
        window: deque[tuple[int, Prepared | None, list[dict]]] = deque()
        wanted: deque[tuple[int, str, str]] = deque()  # (commit index, blob id, kind), not yet requested
        todo = iter(enumerate(commits))
        reader = self.cache.reader

        def pump() -> None:
            while wanted and (reader is None or reader.ahead_bytes < LOOKAHEAD_BYTES):
                i, oid, kind = wanted.popleft()
                self.cache.plan(oid, kind, i)
            self.cache.send_plans()

        def fill() -> None:
            while len(window) < LOOKAHEAD_COMMITS:
                nxt = next(todo, None)
                if nxt is None:
                    break
                i, commit_id = nxt
                skips: list[dict] = []
                prepared = self.prepare(commit_id, skips)
                if prepared is not None and reader is not None:
                    wanted.extend((i, oid, ch.kind) for ch in prepared.changes
                                  for oid in (ch.old_id, ch.new_id) if oid is not None)
                window.append((i, prepared, skips))
            pump()

        fill()
        while window:
            i, prepared, skips = window.popleft()
            yield (self.rows(prepared, skips, pump, diffs) if prepared is not None else iter(())), skips
            while wanted and wanted[0][0] <= i:  # a side skipped early: its twin is not read
                wanted.popleft()
            self.cache.forget_through(i)
            fill()

    def prepare(self, commit_id: str, skips: list[dict]) -> Prepared | None:
        """The commit's relevant changes, or None with a skip row (merge, unreadable)."""
        import pygit2

        name = self.s.repo_name
        if commit_id in self.damaged:
            skips.append(skip_row(name, commit_id, None, "corrupt_object",
                                  f"commit unreadable: {self.damaged[commit_id].detail}"[:300]))
            return None
        try:
            commit = self.repo[commit_id]
            parents = commit.parent_ids
            if len(parents) > 1:
                skips.append(skip_row(name, commit_id, None, "merge_commit", f"{len(parents)} parents"))
                return None
            deltas = self.changes(commit_id) if self.changes is not None else None
            if deltas is not None:
                changes, problems = collect_changes(deltas, self.s.include_python, self.s.include_notebooks)
            else:
                bad = self.trees.problem(commit, parents)
                if bad is not None:
                    skips.append(skip_row(name, commit_id, None, "corrupt_object", f"tree unreadable: {bad}"[:300]))
                    return None
                parent_tree = self.repo[parents[0]].tree if parents else None
                changes, problems = relevant_changes(self.repo, parent_tree, commit.tree, self.s.include_python,
                                                     self.s.rename_similarity, self.s.include_notebooks)
            message = commit.raw_message.decode("utf-8", "replace")
            commit_time = int(commit.commit_time)
        except (KeyError, pygit2.GitError, ValueError, OSError) as exc:
            reason = "missing_object" if isinstance(exc, KeyError) else "corrupt_object"
            skips.append(skip_row(name, commit_id, None, reason, f"commit or tree unreadable: {exc}"[:300]))
            return None
        return Prepared(commit_id, str(parents[0]) if parents else None, commit_time, message,
                        changes, problems)

    def rows(self, p: Prepared, skips: list[dict], after_each=None, feed: PyDiffFeed | None = None) -> Iterator[dict]:
        """Yield the commit's edit rows; `skips` gets its sorted skip rows at the end.
        `after_each()` runs after each file (stream_many tops up its read-ahead there)."""
        name = self.s.repo_name
        found = [skip_row(name, p.commit_id, path, r, d) for path, r, d in p.problems]
        git_stats = feed.take(p.commit_id) if feed is not None and any(
            ch.kind == "python" for ch in p.changes) else {}
        for ch in p.changes:
            row, notes = self._edit(ch, p.commit_id, p.parent, p.commit_time, p.message, git_stats)
            if after_each is not None:
                after_each()
            found.extend(skip_row(name, p.commit_id, ch.path, r, d) for r, d in notes)
            if row is not None:
                yield row
        found.sort(key=lambda r: (r["path"] or "", r["reason"]))
        skips.extend(found)

    def _edit(self, ch: Change, commit_id: str, parent: str | None, commit_time: int, message: str,
              git_stats: PairStats | None = None):
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
            "old_source": old.data if old else None, "new_source": new.data if new else None,
            "old_cells": None, "new_cells": None, "cell_ops": None,
            "license": self.s.license,
            "old_blob": ch.old_id, "new_blob": ch.new_id, "old_markdown": None, "new_markdown": None,
        }
        if ch.kind == "notebook":
            old_cells = list(old.cells) if old else []
            new_cells = list(new.cells) if new else []
            row["old_cells"] = old_cells if old else None
            row["new_cells"] = new_cells if new else None
            row["old_markdown"] = list(old.markdown) if old else None
            row["new_markdown"] = list(new.markdown) if new else None
            row["cell_ops"] = cell_ops(old_cells, new_cells)
            a, d, h = diff_stats(render_cells(old_cells) if old else None,
                                 render_cells(new_cells) if new else None)
        else:
            # git diffed the raw blobs: its numbers hold where the source is those bytes
            raw = all(v is None or v.decode_note is None for v in sides)
            got = git_stats.get((ch.old_id, ch.new_id)) if git_stats and raw else None
            a, d, h = got or diff_stats(old.data if old else None, new.data if new else None)
        row.update(lines_added=a, lines_deleted=d, hunks=h)
        return row, notes
