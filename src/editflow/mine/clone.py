"""Get a local repository to mine: open a path, or clone/fetch into --clone-dir.

`bare` clones with pygit2 (libgit2). `partial` needs a blob-filtered clone
(`--filter=blob:none`), which libgit2 cannot make, so it runs `git clone` once per
repository (never per file); the blobs the mining needs are then fetched in one batch
(`prefetch_blobs`), and any that still are absent become `missing_object` skips.
A clone is made in a temporary directory and renamed into place, so a killed clone is
never mistaken for a finished one; a rerun fetches into the existing clone.
"""
from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

HEADS = "+refs/heads/*:refs/heads/*"
TAGS = "+refs/tags/*:refs/tags/*"


class CloneError(RuntimeError):
    pass


def is_url(source: str) -> bool:
    return "://" in source or bool(re.match(r"^[\w.-]+@[\w.-]+:", source))


def prepare(source: str, clone_dir: str | None, mode: str = "bare") -> str:
    """The path of a repository pygit2 can open for `source` (a URL or a path)."""
    import pygit2

    if clone_dir is None:
        if is_url(source):
            raise CloneError(f"{source} is a URL: give --clone-dir DIR to clone it into")
        path = pygit2.discover_repository(source)
        if path is None:
            raise CloneError(f"{source} is not a git repository (nor inside one)")
        return path
    dest = Path(clone_dir)
    if (dest / "HEAD").exists() or (dest / ".git").exists():
        fetch(dest, mode)
        return str(dest)
    return clone(source, dest, mode)


def _url(source: str) -> str:
    return source if is_url(source) else str(Path(source).resolve())


def clone(source: str, dest: Path, mode: str) -> str:
    import pygit2

    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".clone", dir=dest.parent))
    try:
        if mode == "partial":
            url = _url(source)
            if not is_url(url):
                url = "file://" + url  # the local shortcut would ignore --filter
            _git(["clone", "--bare", "--filter=blob:none", "--no-tags", url, str(tmp / "r.git")])
            built = tmp / "r.git"
        else:
            built = tmp / "r.git"
            repo = pygit2.clone_repository(_url(source), str(built), bare=True)
            repo.remotes["origin"].fetch([HEADS, TAGS])
        os.replace(built, dest)
    except (pygit2.GitError, OSError, subprocess.CalledProcessError) as exc:
        raise CloneError(f"cannot clone {source} into {dest}: {exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("cloned %s into %s (%s)", source, dest, mode)
    return str(dest)


def fetch(dest: Path, mode: str) -> None:
    """Bring an existing clone up to date (incremental rerun)."""
    import pygit2

    try:
        if mode == "partial":
            _git(["-C", str(dest), "fetch", "--filter=blob:none", "--no-tags", "origin", HEADS])
        else:
            pygit2.Repository(str(dest)).remotes["origin"].fetch([HEADS, TAGS])
    except (pygit2.GitError, KeyError, subprocess.CalledProcessError) as exc:
        log.warning("could not fetch into %s (%s); mining what it has", dest, exc)


def prefetch_blobs(repo_path: str, oids: list[str]) -> None:
    """Fetch absent blobs of a partial clone in one request, as git's own lazy fetch does."""
    if not oids:
        return
    log.info("fetching %d blobs into the partial clone %s", len(oids), repo_path)
    cmd = ["-c", "fetch.negotiationAlgorithm=noop", "-C", repo_path, "fetch", "origin", "--no-tags",
           "--no-write-fetch-head", "--recurse-submodules=no", "--filter=blob:none", "--stdin"]
    try:
        _git(cmd, stdin="\n".join(oids) + "\n")
    except subprocess.CalledProcessError as exc:
        log.warning("blob prefetch failed (%s); absent blobs become missing_object skips", exc)


def _git(args: list[str], stdin: str | None = None) -> None:
    if shutil.which("git") is None:
        raise CloneError("clone: partial needs the `git` command; install git or use clone: bare")
    subprocess.run(["git", *args], check=True, input=stdin, text=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
