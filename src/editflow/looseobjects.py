"""Find damaged loose git objects before libgit2 reads them.

Why: libgit2 (pygit2 1.x, libgit2 1.9) busy-loops forever in `odb.read` and `repo[oid]`
on a loose object whose zlib stream was cut short (a truncated file after a crashed
copy or a full disk), while `git cat-file` fails at once. Reading the header still works,
so nothing upstream notices. We therefore inflate each loose object ourselves, in C via
zlib, and check that the stream ends and holds the size its header declares; an object
that fails is never handed to libgit2.

Only loose objects are checked: a cloned repository keeps everything in packs (which
libgit2 validates by their CRCs and index), so a packed repository costs one directory
listing. Used by the crawl (HEAD, its trees and the license file, one object at a time)
and the miner (every loose object once, before the walk; see docs/mine.md).
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

_CHUNK = 1 << 20
_HEX = frozenset("0123456789abcdef")
OBJECT_TYPES = ("commit", "tree", "blob", "tag")


@dataclass(frozen=True)
class Damage:
    """A loose object libgit2 must not read: its type (if the header survived) and why."""
    oid: str
    type: str | None
    detail: str


def objects_dir(git_dir: str | Path) -> Path:
    """The object store of a repository given by its git directory (pygit2's repo.path)."""
    return Path(git_dir) / "objects"


def check_loose(objects: Path, oid: str) -> Damage | None:
    """None when `oid` is not a loose object or is a complete one; else what is wrong.

    Inflates the file in 1 MB steps (the output is discarded), so a multi-megabyte
    notebook never sits in memory twice."""
    path = objects / oid[:2] / oid[2:]
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return None
    except OSError as exc:
        return Damage(oid, None, f"loose object {oid} cannot be opened: {exc.strerror}")
    with f:
        return _inflate_check(f, oid)


def _inflate_check(f, oid: str) -> Damage | None:
    inflater = zlib.decompressobj()
    header = b""
    kind: str | None = None
    declared = -1
    body = 0
    try:
        while not inflater.eof:
            raw = f.read(_CHUNK)
            if not raw:
                break
            out = inflater.decompress(raw)
            if declared < 0:
                header += out
                end = header.find(b"\x00")
                if end < 0:
                    if len(header) > 64:
                        return Damage(oid, None, f"loose object {oid}: no object header")
                    continue
                kind, declared = _parse_header(header[:end])
                if kind is None:
                    return Damage(oid, None, f"loose object {oid}: bad header {header[:end][:40]!r}")
                body = len(header) - end - 1
            else:
                body += len(out)
    except zlib.error as exc:
        return Damage(oid, kind, f"loose object {oid} is corrupt: zlib: {exc}")
    except OSError as exc:
        return Damage(oid, kind, f"loose object {oid} cannot be read: {exc.strerror}")
    if not inflater.eof or declared < 0:
        return Damage(oid, kind, f"loose object {oid} is truncated (its zlib stream ends early)")
    if body != declared:
        return Damage(oid, kind, f"loose object {oid} holds {body} bytes, its header says {declared}")
    return None


def _parse_header(raw: bytes) -> tuple[str | None, int]:
    kind, _, size = raw.partition(b" ")
    name = kind.decode("ascii", "replace")
    if name not in OBJECT_TYPES or not size.isdigit():
        return None, -1
    return name, int(size)


def scan_loose(git_dir: str | Path) -> dict[str, Damage]:
    """Every damaged loose object of the repository, by object id (usually empty)."""
    objects = objects_dir(git_dir)
    damaged: dict[str, Damage] = {}
    try:
        fanout = sorted(e.name for e in os.scandir(objects)
                        if len(e.name) == 2 and set(e.name) <= _HEX and e.is_dir())
    except OSError:
        return damaged
    for prefix in fanout:
        try:
            names = sorted(os.listdir(objects / prefix))
        except OSError:
            continue
        for rest in names:
            if len(rest) not in (38, 62) or not set(rest) <= _HEX:
                continue  # git's own temporary files (tmp_obj_*) are not objects
            problem = check_loose(objects, prefix + rest)
            if problem is not None:
                damaged[problem.oid] = problem
    return damaged
