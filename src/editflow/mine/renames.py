"""git's own rename pairs for a first-parent history, from one `git log` process.

libgit2 scores similarity differently from git (its hash signatures are not git's
line-chunk estimate), and on real histories the two disagree: git calls a notebook that
was rewritten in a new folder an addition and a deletion where libgit2 sees a rename, or
pairs an added notebook with a different deleted one. The issue asks for git's rename
detection, so git decides: one `git log --first-parent -M<n>% --diff-filter=R` over the
commits being mined (tens of milliseconds for a thousand commits), read as the miner gets
to each commit (gitlog.py), so the miner never waits for the whole of it.

Where git cannot answer, libgit2 detects the renames: for every commit when git is not
installed or the repository is a partial clone (git would fetch absent blobs over the
network); from the commit where git stopped when a blob it needs is absent or corrupt.
"""
from __future__ import annotations

import logging
import shutil
from typing import Callable

from editflow.mine.gitlog import Answer, GitLogStream, span

log = logging.getLogger(__name__)

# commit id -> git's (old, new) raw path pairs, [] for none, None where libgit2 must decide
RenamePairs = Callable[[str], "list[tuple[bytes, bytes]] | None"]


def is_partial_clone(repo) -> bool:
    """A blob-filtered clone: git would fetch absent blobs on demand (we never want that)."""
    config = repo.config
    for key in ("extensions.partialclone", "extensions.partialClone"):
        if key in config:
            return True
    return any(entry.name.endswith(".promisor") and entry.value == "true" for entry in config)


class RenameFeed:
    """git's rename pairs of each commit being mined, streamed from `git log --reverse`.

    `pairs(commit)` waits until git has got past the commit (git runs far ahead: it only
    diffs trees) and returns its (old raw path, new raw path) pairs, [] for none, or None
    where git stopped before the commit (an absent or corrupt blob): libgit2 then detects
    that commit's renames. The miner asks only for commits that both add and delete a
    file: no other commit can hold a rename."""

    def __init__(self, git_dir: str, commits: list[str], since: str | None, similarity: int) -> None:
        cmd = ["git", "-C", git_dir, "log", "--reverse", "--first-parent", "--no-merges",
               f"-M{similarity}%", "--diff-filter=R", "--name-status", "-z", "--format=%x01%H",
               span(commits[-1], since), "--"]
        self._stream = GitLogStream(cmd, commits, b"\x01", parse_block, "renames")

    def pairs(self, commit: str) -> list[tuple[bytes, bytes]] | None:
        answer, pairs = self._stream.take(commit, wait=True)
        if answer is Answer.FOUND:
            return pairs
        return [] if answer is Answer.ABSENT else None

    def close(self) -> None:
        self._stream.close()


def rename_feed(repo, commits: list[str], since: str | None, similarity: int) -> RenameFeed | None:
    """A feed for `commits` (since..head on the first-parent line), or None where git must
    not or cannot read this repository: libgit2 then detects every rename."""
    if not commits or shutil.which("git") is None or is_partial_clone(repo):
        return None
    try:
        return RenameFeed(str(repo.path), commits, since, similarity)
    except OSError as exc:
        log.warning("git rename detection could not start (%s); using libgit2's", exc)
        return None


def parse_block(block: bytes) -> tuple[str, list[tuple[bytes, bytes]]]:
    """One commit of `git log -z --name-status --format=%x01%H` (after the \\x01)."""
    sha, _, rest = block.partition(b"\x00")
    fields = rest.lstrip(b"\n").split(b"\x00")
    pairs = []
    i = 0
    while i + 2 < len(fields) and fields[i]:
        status, old, new = fields[i], fields[i + 1], fields[i + 2]
        if status.startswith(b"R"):
            pairs.append((old, new))
        i += 3
    return sha.decode("ascii", "replace"), pairs
