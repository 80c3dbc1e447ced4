"""git's own rename pairs for a first-parent history, from one `git log` process.

libgit2 scores similarity differently from git (its hash signatures are not git's
line-chunk estimate), and on real histories the two disagree: git calls a notebook that
was rewritten in a new folder an addition and a deletion where libgit2 sees a rename, or
pairs an added notebook with a different deleted one. The issue asks for git's rename
detection, so git decides: one `git log --first-parent -M<n>% --diff-filter=R` over the
commits being mined (tens of milliseconds for a thousand commits), parsed into
{commit id: [(old raw path, new raw path), ...]}.

When git cannot answer for the whole range (not installed, a blob it needs is absent or
corrupt, or a partial clone, where git would try to fetch absent blobs over the network)
the caller falls back to libgit2's detection for every commit, so one run never mixes the
two.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess

log = logging.getLogger(__name__)

Renames = dict[str, list[tuple[bytes, bytes]]]


def is_partial_clone(repo) -> bool:
    """A blob-filtered clone: git would fetch absent blobs on demand (we never want that)."""
    config = repo.config
    for key in ("extensions.partialclone", "extensions.partialClone"):
        if key in config:
            return True
    return any(entry.name.endswith(".promisor") and entry.value == "true" for entry in config)


def git_renames(repo, head: str, since: str | None, similarity: int) -> Renames | None:
    """git's rename pairs of each non-merge first-parent commit in since..head, or None.

    A commit without renames is absent from the dict; None means git could not tell."""
    if shutil.which("git") is None or is_partial_clone(repo):
        return None
    span = f"{since}..{head}" if since else head
    cmd = ["git", "-C", str(repo.path), "log", "--first-parent", "--no-merges", f"-M{similarity}%",
           "--diff-filter=R", "--name-status", "-z", "--format=%x01%H", span, "--"]
    env = {**os.environ, "GIT_NO_LAZY_FETCH": "1", "GIT_TERMINAL_PROMPT": "0"}
    try:
        done = subprocess.run(cmd, capture_output=True, env=env, stdin=subprocess.DEVNULL, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("git rename detection failed (%s); using libgit2's", exc)
        return None
    if done.returncode:
        log.warning("git rename detection failed (%s); using libgit2's",
                    done.stderr.decode("utf-8", "replace").strip()[:300])
        return None
    return parse_log(done.stdout)


def parse_log(out: bytes) -> Renames:
    """Parse `git log -z --name-status --format=%x01%H` output (renames only)."""
    renames: Renames = {}
    for block in out.split(b"\x01")[1:]:
        sha, _, rest = block.partition(b"\x00")
        fields = rest.lstrip(b"\n").split(b"\x00")
        pairs = []
        i = 0
        while i + 2 < len(fields) and fields[i]:
            status, old, new = fields[i], fields[i + 1], fields[i + 2]
            if status.startswith(b"R"):
                pairs.append((old, new))
            i += 3
        if pairs:
            renames[sha.decode()] = pairs
    return renames
