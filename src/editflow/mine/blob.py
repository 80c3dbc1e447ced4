"""`editflow blob`: the raw text of a file version, read back from git by its blob id.

Edit rows keep `old_blob`/`new_blob` (records.EDIT_SCHEMA) and, for notebooks, only what
mine.notebook_source stores (by default the JSON without outputs): the text as committed,
outputs and images included, is always one lookup away in the mined repository.
"""
from __future__ import annotations

import argparse
import logging
import sys

log = logging.getLogger(__name__)


class BlobNotFound(LookupError):
    """The id names no blob of the repository (absent, e.g. a partial clone, or not a blob)."""


def read_blob(repo_path: str, blob_id: str) -> bytes:
    """The bytes of blob `blob_id` (full or abbreviated hex id) of the repository at
    `repo_path` (bare or not). Raises BlobNotFound, or ValueError for a path that is not a
    git repository. Never fetches: an absent blob of a partial clone is BlobNotFound."""
    import pygit2
    from pygit2.enums import ObjectType

    try:
        repo = pygit2.Repository(repo_path)
    except pygit2.GitError as exc:
        raise ValueError(f"{repo_path}: not a git repository ({exc})") from None
    try:
        obj = repo.revparse_single(blob_id)
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise BlobNotFound(f"{blob_id}: no such object in {repo_path} ({exc})") from None
    if obj.type != ObjectType.BLOB:
        raise BlobNotFound(f"{blob_id} is a {obj.type_str}, not a blob")
    return obj.data


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--repo", required=True, help="the mined repository (bare or not)")
    p.add_argument("--id", required=True, dest="blob_id",
                   help="blob id: an edit row's old_blob or new_blob")
    p.add_argument("--out", help="write the bytes to this file (default: standard output)")


def run(args: argparse.Namespace) -> int:
    try:
        data = read_blob(args.repo, args.blob_id)
    except (BlobNotFound, ValueError) as exc:
        log.error("%s", exc)
        return 1
    if args.out:
        from editflow.atomic import atomic_path

        with atomic_path(args.out) as tmp:
            tmp.write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
