"""Source `local`: git repositories already on disk (bare or with a work tree).

This is the offline default (the demo repositories) and the way to mine your own
repositories. Each path is opened exactly as given (no search upwards), so a typo that
happens to sit inside another repository is an error rather than a silent wrong answer.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path

from editflow.crawl.licenses import LICENSE_FILE_NAMES, detect_license
from editflow.crawl.table import CrawlError, RepoRow, iso_utc
from editflow.looseobjects import check_loose, objects_dir

log = logging.getLogger(__name__)

MAX_LICENSE_BYTES = 200_000


_REMOTE = re.compile(r"[:/]([A-Za-z0-9._-]+)/([A-Za-z0-9._-]+?)(?:\.git)?/?$")
_GENERIC = {"repo", "repository", "git", "clone", "src", "source"}


def _safe(name: str) -> str:
    """A name usable in file names and Snakemake wildcards: ASCII letters, digits, . _ -."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_name).strip("-") or "repo"


def _origin_url(path: Path) -> str | None:
    try:
        import pygit2

        return pygit2.Repository(str(path)).remotes["origin"].url
    except Exception:  # noqa: BLE001 - no repository, no origin: the directory name decides
        return None


def local_full_name(path: str | Path) -> str:
    """The repository's name: owner/name of its `origin` remote when that is a hosted URL
    (git@github.com:fastai/nbdev.git -> fastai/nbdev), else local/<directory name>, where a
    generic directory name (`repo`, `repo.git`, `.git`) takes its parent's: /data/foo/repo ->
    local/foo. Names are made wildcard-safe (spaces and other characters -> '-')."""
    path = Path(path).resolve()
    url = _origin_url(path)
    m = _REMOTE.search(url) if url and not url.startswith(("/", ".", "file:")) else None
    if m:
        return f"{_safe(m.group(1))}/{_safe(m.group(2))}"
    name = path.name
    if name.endswith(".git") and len(name) > 4:
        name = name[:-4]
    if name.lower() in _GENERIC or name in ("", ".git"):
        parent = path.parent.name
        name = parent[:-4] if parent.endswith(".git") and len(parent) > 4 else parent
    return f"local/{_safe(name)}"


def open_repository(path: str | Path):
    """Open exactly `path` as a git repository, or raise CrawlError naming the path and the fix."""
    import pygit2

    path = Path(path)
    fix = ("give the path of a git repository (a bare `name.git` directory or a directory "
           "containing `.git`), or remove it from crawl.local.paths")
    if not path.exists():
        raise CrawlError(f"crawl.local.paths: {path} does not exist; {fix}")
    try:
        return pygit2.Repository(str(path), pygit2.enums.RepositoryOpenFlag.NO_SEARCH)
    except (pygit2.GitError, KeyError) as exc:
        raise CrawlError(f"crawl.local.paths: {path} is not a git repository ({exc}); {fix}") from exc


def default_branch(repo) -> str | None:
    """The branch HEAD points at (works for an empty repository); None when HEAD is detached."""
    try:
        target = repo.lookup_reference("HEAD").target
    except (KeyError, ValueError):
        return None
    if isinstance(target, str) and target.startswith("refs/heads/"):
        return target[len("refs/heads/"):]
    return None


def _checked(repo, oid):
    """The object `oid`, read only after its loose file (if any) proved complete: libgit2
    hangs on a truncated loose object (editflow.looseobjects)."""
    damage = check_loose(objects_dir(repo.path), str(oid))
    if damage is not None:
        raise CrawlError(damage.detail)
    return repo[oid]


def count_notebooks(tree, repo=None) -> int:
    """Number of *.ipynb blobs anywhere in `tree` (submodules are not entered). With
    `repo`, each subtree's loose object is checked before it is read."""
    import pygit2

    count = 0
    stack = [tree]
    while stack:
        for entry in stack.pop():
            if entry.type == pygit2.enums.ObjectType.TREE:
                stack.append(_checked(repo, entry.id) if repo is not None else entry)
            elif entry.type == pygit2.enums.ObjectType.BLOB and entry.name.lower().endswith(".ipynb"):
                count += 1
    return count


def license_of_tree(tree, repo=None) -> str | None:
    """SPDX id from the first LICENSE/COPYING-like file at the top of `tree`, if recognised
    (with `repo`, the file's loose object is checked before it is read)."""
    import pygit2

    candidates = {entry.name.lower(): entry for entry in tree
                  if entry.type == pygit2.enums.ObjectType.BLOB}
    for name in LICENSE_FILE_NAMES:
        entry = candidates.get(name)
        if entry is None:
            continue
        if repo is not None:
            entry = _checked(repo, entry.id)
        data = entry.data[:MAX_LICENSE_BYTES] if entry.size <= 10 * MAX_LICENSE_BYTES else b""
        found = detect_license(data.decode("utf-8", errors="replace"))
        if found:
            return found
    return None


def describe_local(path: str | Path) -> RepoRow:
    """One REPO_SCHEMA row for the repository at `path`, frozen at its current HEAD."""
    repo = open_repository(path)
    full_name = local_full_name(path)
    clone_url = str(Path(path).resolve())
    branch = default_branch(repo)
    if repo.head_is_unborn:
        log.warning("%s (%s) has no commits: listed with head_sha null; mining will record it "
                    "as a skipped empty repository", full_name, clone_url)
        return RepoRow(full_name=full_name, clone_url=clone_url, stars=0, license=None,
                       default_branch=branch, head_sha=None, pushed_at=None, n_notebooks=0)
    import pygit2

    try:
        commit = _checked(repo, repo.head.target).peel(pygit2.Commit)
        tree = _checked(repo, commit.tree_id)
        license_id, n_notebooks = license_of_tree(tree, repo), count_notebooks(tree, repo)
    except (pygit2.GitError, KeyError, ValueError, CrawlError) as exc:
        raise CrawlError(f"crawl.local.paths: {path}: HEAD or its tree cannot be read ({exc}); "
                         f"run `git fsck` there, or remove it from crawl.local.paths") from exc
    return RepoRow(
        full_name=full_name,
        clone_url=clone_url,
        stars=0,
        license=license_id,
        default_branch=branch or repo.head.shorthand,
        head_sha=str(commit.id),
        pushed_at=iso_utc(commit.commit_time),
        n_notebooks=n_notebooks,
    )


def crawl_local(paths: list[str | Path]) -> list[RepoRow]:
    """Rows for every path, in the given order (the table is sorted later)."""
    return [describe_local(p) for p in paths]
