"""What runs inside a mining worker process (kept free of the Parquet writer's imports).

Each worker opens its own pygit2.Repository (libgit2 handles are not shared across
processes) and one Extractor, whose blob cache serves every chunk the worker is given.
"""
from __future__ import annotations

import atexit
from typing import Mapping

from editflow.mine.extract import Extractor, MineSettings
from editflow.mine.changes import CommitDeltas
from editflow.mine.pydiff import PyDiffFeed
from editflow.looseobjects import Damage
from editflow.procs import die_with_parent

_EXTRACTOR: Extractor | None = None


def init(repo_path: str, settings: MineSettings, reader: str, changes: CommitDeltas | None = None,
         damaged: Mapping[str, Damage] | None = None, parent_pid: int | None = None) -> Extractor:
    """`damaged`: loose objects never to read (looseobjects.scan_loose, done once by the
    parent); `parent_pid`: set in a pool worker, which must not outlive its parent killed
    with SIGKILL (also while the worker was still starting: then it exits here)."""
    global _EXTRACTOR
    import pygit2

    if parent_pid is not None:
        die_with_parent(parent_pid)
    if _EXTRACTOR is not None:
        _EXTRACTOR.close()
    _EXTRACTOR = Extractor(pygit2.Repository(repo_path), settings, reader, changes, damaged)
    atexit.register(_EXTRACTOR.close)
    return _EXTRACTOR


def mine_chunk(commits: list[str], deltas: dict[str, list | None] | None) -> list[tuple[list[dict], list[dict]]]:
    """(edit rows, skip rows) of each commit of a contiguous slice of history; `deltas`:
    git's changes of these commits, read by the parent process (None: libgit2 diffs)."""
    assert _EXTRACTOR is not None, "worker.init was not called"
    _EXTRACTOR.changes = deltas.get if deltas is not None else None
    return [(list(rows), skips) for rows, skips in _EXTRACTOR.stream_many(commits)]


def stream_commits(commits: list[str], diffs: PyDiffFeed | None = None):
    """In-process variant: per commit, (edit row iterator, skip list filled by the iterator)."""
    assert _EXTRACTOR is not None, "worker.init was not called"
    yield from _EXTRACTOR.stream_many(commits, diffs)
