"""Mine one repository: history -> (parallel) extraction -> streaming, atomic Parquet.

Incremental: when the previous output was mined from an ancestor (on the first-parent
line) of the requested head, with the same settings, only the new commits are mined and
appended; the result is byte-identical to a full mine (see writer.py), in both history
modes (history.history_of orders `all` so that an earlier head's history is a prefix).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Iterator, Mapping

import pyarrow.parquet as pq

from editflow.atomic import atomic_path, output_lock, remove_stale_temps
from editflow.looseobjects import Damage, scan_loose
from editflow.mine import worker
from editflow.mine.changes import ChangeFeed, git_may_read, is_partial_clone, relevant_suffixes
from editflow.mine.extract import MineSettings, skip_row
from editflow.mine.history import history_of
from editflow.mine.pydiff import PyDiffFeed
from editflow.mine.writer import EditWriter, MineState, read_state, write_skips

log = logging.getLogger(__name__)

FORMAT_VERSION = 3      # bump when the meaning of any column changes: forces a full re-mine
# 3: old_blob/new_blob/old_markdown/new_markdown; notebook sources per mine.notebook_source
CHUNK_COMMITS = 8       # commits per worker task: reuses the blob cache, bounds memory in flight
MIN_PARALLEL = 32       # fewer new commits than this are mined in-process


@dataclass
class MineReport:
    head: str | None
    commits_total: int
    commits_mined: int
    edits: int
    skips: dict[str, int] = field(default_factory=dict)
    incremental: bool = False
    up_to_date: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def fingerprint(settings: MineSettings) -> str:
    blob = json.dumps({"format": FORMAT_VERSION, **asdict(settings)}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def resolve_head(repo, head_sha: str | None, damaged: Mapping[str, Damage] | None = None) -> str | None:
    """The commit to mine up to: `head_sha` if given (must exist), else HEAD; None if empty.

    A damaged head commit is returned unread (libgit2 would hang on it, looseobjects.py):
    the history walk then records it as a corrupt_object skip."""
    import pygit2

    damaged = damaged or {}
    if head_sha and head_sha.lower() in damaged:
        return head_sha.lower()
    if head_sha:
        try:
            obj = repo.revparse_single(head_sha)
            return str(obj.peel(pygit2.Commit).id)
        except (KeyError, pygit2.GitError, ValueError) as exc:
            raise ValueError(f"--head-sha {head_sha} is not a commit of {repo.path}: {exc}; "
                             f"fetch it (or drop --head-sha to mine HEAD)") from None
    if repo.is_empty or repo.head_is_unborn:
        return None
    target = str(repo.head.target)
    if target in damaged:
        return target
    return str(repo.head.peel(pygit2.Commit).id)


# ---- parallel extraction ---------------------------------------------------------------
def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _results(repo_path: str, settings: MineSettings, commits: list[str], workers: int,
             chunk: int = CHUNK_COMMITS, min_parallel: int = MIN_PARALLEL, reader: str = "auto",
             git: GitFeeds | None = None, damaged: Mapping[str, Damage] | None = None):
    """(edits, skips) per commit, in commit order, from `workers` processes.

    Short histories are mined in this process: starting a worker costs more than they do.
    `git`: each commit's changes (and, in this process, `.py` line counts) from git.
    """
    changes = git.changes if git is not None else None
    if workers <= 1 or len(commits) < min_parallel:
        extractor = worker.init(repo_path, settings, reader, changes.deltas if changes else None, damaged)
        try:
            yield from worker.stream_commits(commits, git.diffs if git is not None else None)  # row by row
        finally:
            extractor.close()
        return
    size = max(1, min(chunk, -(-len(commits) // (workers * 4))))
    ctx = get_context("spawn")  # no fork of a process holding libgit2 and arrow threads
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=worker.init,
                             initargs=(repo_path, settings, reader, None, damaged, os.getpid())) as pool:
        pending = []
        for part in _chunks(commits, size):  # one task per worker in flight plus one: flat memory
            deltas = {c: changes.deltas(c) for c in part} if changes is not None else None
            pending.append(pool.submit(worker.mine_chunk, part, deltas))
            if len(pending) > workers:
                yield from pending.pop(0).result()
        for fut in pending:
            yield from fut.result()


# ---- git beside the miner ----------------------------------------------------------------
@dataclass
class GitFeeds:
    """The `git log` processes that read ahead for this run (changes.py, pydiff.py)."""
    since: str | None
    changes: ChangeFeed
    diffs: PyDiffFeed | None

    @staticmethod
    def start(repo, head: str, since: str | None, settings: MineSettings,
              commits: list[str] | None = None) -> "GitFeeds | None":
        """Started before the miner walks its own history, so that git's walk (it prints
        oldest first) overlaps it, or given the miner's `commits` (mine.history: all: git
        prints exactly those, in that order); None where git must not or cannot read the
        repository."""
        if not git_may_read(repo):
            return None
        git_dir = str(repo.path)
        suffixes = relevant_suffixes(settings.include_python, settings.include_notebooks)
        try:
            changes = ChangeFeed(git_dir, head, since, settings.rename_similarity, suffixes, commits,
                                 mined_paths_only=is_partial_clone(repo))
        except OSError as exc:
            log.warning("git could not start (%s); libgit2 diffs the trees", exc)
            return None
        try:
            diffs = PyDiffFeed(git_dir, head, since, commits) if settings.include_python else None
        except OSError:
            diffs = None
        return GitFeeds(since, changes, diffs)

    def expect(self, commits: list[str]) -> None:
        for feed in (self.changes, self.diffs):
            if feed is not None:
                feed.expect(commits)

    def close(self) -> None:
        for feed in (self.changes, self.diffs):
            if feed is not None:
                feed.close()


# ---- orchestration -----------------------------------------------------------------------
def _previous(out: Path, skips_out: Path | None, fp: str) -> MineState | None:
    """The state of a previous complete run with the same settings, or None."""
    if not out.exists():
        return None
    state = read_state(out)
    if state is None or state.fingerprint != fp or not state.complete_history or not state.head:
        return None
    if skips_out is not None:
        if read_state(skips_out) != state:
            return None
    return state


def mine(repo_path: str, out: Path, skips_out: Path | None, settings: MineSettings,
         head_sha: str | None = None, workers: int = 1, progress: bool | None = None,
         partial: bool = False, chunk_commits: int = CHUNK_COMMITS,
         min_parallel: int = MIN_PARALLEL, reader: str = "auto") -> MineReport:
    """Mine `repo_path` into `out` (and `skips_out`): fully, incrementally, or not at all
    when the previous output is up to date (see the module docstring).

    One run per output: a second run on the same `out` or `skips_out` raises OutputBusy
    (a RuntimeError) before it touches anything."""
    out = Path(out)
    skips_out = Path(skips_out) if skips_out else None
    with output_lock(out, skips_out, what="editflow mine"):
        for p in (out, skips_out):
            if p is not None:
                remove_stale_temps(p)  # only killed runs' files: a live one would hold the lock
        return _mine_locked(repo_path, out, skips_out, settings, head_sha, workers, progress, partial,
                            chunk_commits, min_parallel, reader)


def _mine_locked(repo_path, out, skips_out, settings, head_sha, workers, progress, partial,
                 chunk_commits, min_parallel, reader) -> MineReport:
    import pygit2

    repo = pygit2.Repository(repo_path)
    damaged = scan_loose(repo.path)  # before libgit2 reads any object: it hangs on a cut one
    if damaged:
        log.warning("%s: %d damaged loose object(s) (never read; counted as corrupt_object): %s",
                    repo_path, len(damaged), ", ".join(sorted(damaged)[:5]))
    fp = fingerprint(settings)
    head = resolve_head(repo, head_sha, damaged)
    if head is None:
        state = MineState(None, 0, fp)
        _write_outputs(out, skips_out, state, None, [skip_row(
            settings.repo_name, None, None, "empty_repository", "the repository has no commits")], [], 0)
        return MineReport(None, 0, 0, 0, {"empty_repository": 1})

    prev = _previous(out, skips_out, fp)
    # git starts before the walk of the history, unless the output is already at this head
    # (a rerun with nothing new: the common case of a crawl run again)
    # (a rerun with nothing new: the common case of a crawl run again); with mine.history
    # all, git is given the walked commits, so it starts after the walk
    # (and not before a partial clone's blobs are fetched)
    early = settings.history == "first_parent" and not partial and not (prev is not None and prev.head == head)
    git = GitFeeds.start(repo, head, prev.head if prev else None, settings) if early else None
    try:
        return _mine_history(repo, out, skips_out, settings, head, fp, prev, git, workers, progress,
                             partial, chunk_commits, min_parallel, reader, damaged)
    finally:
        if git is not None:
            git.close()


def _mine_history(repo, out, skips_out, settings, head, fp, prev, git, workers, progress, partial,
                  chunk_commits, min_parallel, reader, damaged) -> MineReport:
    history = history_of(repo, head, settings.history, damaged)
    commits = history.commits
    state = MineState(head, len(commits), fp, history.broken is None)
    start = 0
    if prev is not None and history.extends(prev.n_commits, prev.head):
        start = prev.n_commits
        if prev == state:
            log.info("%s is up to date (%d commits, head %s)", out, len(commits), head[:12])
            return MineReport(head, len(commits), 0, pq.ParquetFile(out).metadata.num_rows,
                              incremental=True, up_to_date=True)
    new = commits[start:]
    log.info("mining %d of %d commits of %s with %d worker(s)%s", len(new), len(commits),
             settings.repo_name, workers, " (incremental)" if start else "")
    skips: list[dict] = []
    if start and skips_out is not None:
        skips = pq.read_table(skips_out).to_pylist()
    if history.broken is not None:
        skips.append(skip_row(settings.repo_name, history.broken[0], None, "corrupt_object",
                              history.broken[1] + "; older history not mined"))
    if partial:
        _prefetch(repo, new, settings)
    restarted = None
    since = prev.head if start else None
    if git is None or git.since != since:
        # not started (the head looked up to date), or the previous output turned out not
        # to be a prefix of this history (rare: a rewritten one): git covers what is mined
        git = restarted = GitFeeds.start(repo, head, since, settings,
                                         new if settings.history == "all" else None)
    try:
        if git is not None:
            git.expect(new)
        results = _results(str(repo.path), settings, new, workers, chunk_commits, min_parallel, reader, git,
                           damaged)
        n_edits = _write_outputs(out, skips_out, state, out if start else None, skips, results,
                                 len(new), progress)
    finally:
        if restarted is not None:
            restarted.close()
    counts: dict[str, int] = {}
    for s in skips:
        counts[s["reason"]] = counts.get(s["reason"], 0) + 1
    return MineReport(head, len(commits), len(new), n_edits, dict(sorted(counts.items())), bool(start))


def _prefetch(repo, commits: list[str], settings: MineSettings) -> None:
    """Fetch, in one request, the absent blobs the given commits need (partial clones)."""
    import pygit2

    from editflow.mine.clone import prefetch_blobs
    from editflow.mine.history import relevant_changes

    need: set[str] = set()
    for cid in commits:
        try:
            commit = repo[cid]
            if len(commit.parent_ids) > 1:
                continue
            parent_tree = repo[commit.parent_ids[0]].tree if commit.parent_ids else None
            changes, _ = relevant_changes(repo, parent_tree, commit.tree, settings.include_python,
                                          settings.rename_similarity, settings.include_notebooks)
        except (KeyError, pygit2.GitError, ValueError):
            continue
        need.update(i for ch in changes for i in (ch.old_id, ch.new_id) if i)
    prefetch_blobs(str(repo.path), sorted(i for i in need if not repo.odb.exists(i)))


def _write_outputs(out, skips_out, state, previous, skips, results, total, progress=None) -> int:
    """Stream edits into a temp file, then write skips, then move both into place.

    The edits file is moved last: an edits file whose metadata names the head is only
    ever present together with the matching skips file.
    """
    with atomic_path(out) as tmp:
        writer = EditWriter(tmp, state)
        try:
            if previous is not None:
                writer.carry_over(previous)
            for edits, commit_skips in _progress(results, total, progress):
                for row in edits:
                    writer.add_row(row)
                skips.extend(commit_skips)  # complete once `edits` is exhausted
        except BaseException:
            writer.abort()
            raise
        writer.close()
        if skips_out is not None:
            with atomic_path(skips_out) as stmp:
                write_skips(skips, stmp, state)
        n = writer.rows_written
    return n


def _progress(it, total: int, enabled: bool | None):
    from tqdm import tqdm

    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(it, total=total, unit="commit", disable=not enabled or total < 2)
