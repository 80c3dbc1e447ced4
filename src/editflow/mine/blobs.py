"""Read a file version (blob) once, classify it, decode it, parse it; cache by blob id.

Consecutive commits share most file versions (the "new" side of one commit is the "old" side
of the next), so each distinct (blob id, kind) is read and parsed once and kept in a small
LRU cache bounded in bytes. Everything that can go wrong with one file version becomes a
`BlobSkip` with a SKIP_REASONS reason, never an exception.

Reading: libgit2 does not cache delta bases of objects over 1 MB, so reading a chain of
large delta-compressed notebooks through pygit2 re-inflates the chain for every version
(measured 7x slower than git on a notebook-heavy pack). With `reader: auto` (the default),
when the `git` command exists each worker keeps ONE long-lived `git cat-file --batch`
process and streams blob contents from it (not one process per file); pygit2 still decides
existence first (so a partial clone never triggers git's lazy network fetch) and reads
anything cat-file cannot deliver, which then yields the precise missing/corrupt skip.

Decoding: UTF-8; UTF-8 with a BOM (the BOM is dropped); for `.py` files a PEP 263 coding
declaration (`# -*- coding: latin-1 -*-`) is honoured, as Python itself would; anything
else is a `decode_error` skip (no guessing: a wrong guess would put mojibake in training data).
"""
from __future__ import annotations

import codecs
import io
import re
import shutil
import subprocess
import tokenize
from collections import OrderedDict
from dataclasses import dataclass

from editflow.mine.notebook import NotebookError, code_cells

LFS_PREFIX = b"version https://git-lfs.github.com/spec/v1"
CATFILE_MIN_BYTES = 256 << 10  # below this, pygit2 reads faster than a cat-file round trip
BINARY_SNIFF = 8000  # git's own heuristic: a NUL byte in the first 8000 bytes means binary
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


@dataclass(frozen=True)
class Version:
    """A decoded file version: its text and, for notebooks, its code cells."""
    text: str
    cells: tuple[str, ...] | None = None
    converted_from_v3: bool = False
    decode_note: str | None = None

    @property
    def cost(self) -> int:
        return len(self.text) + sum(len(c) for c in self.cells or ())


@dataclass(frozen=True)
class BlobSkip:
    reason: str
    detail: str
    cost: int = 64


def decode(data: bytes, kind: str) -> tuple[str, str | None]:
    """Text of a file version and an optional note; raises UnicodeDecodeError."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8 with BOM"
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        if kind != "python" or not _has_coding_cookie(data):
            raise
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding), f"PEP 263 coding {encoding}"


def _has_coding_cookie(data: bytes) -> bool:
    return any(_CODING.match(line) for line in data.split(b"\n", 2)[:2])


def classify(data: bytes, kind: str, max_bytes: int) -> Version | BlobSkip:
    """Turn raw blob bytes into a Version, or a BlobSkip naming why not."""
    if len(data) > max_bytes:
        return BlobSkip("too_large", f"{len(data)} bytes > max_file_bytes {max_bytes}")
    if data.startswith(LFS_PREFIX):
        return BlobSkip("lfs_pointer", data[:200].decode("ascii", "replace").replace("\n", " ").strip())
    if b"\x00" in data[:BINARY_SNIFF]:
        return BlobSkip("binary", f"NUL byte in the first {BINARY_SNIFF} bytes ({len(data)} bytes)")
    try:
        text, note = decode(data, kind)
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return BlobSkip("decode_error", str(exc)[:200])
    if kind != "notebook":
        return Version(text, decode_note=note)
    try:
        parsed = code_cells(text)
    except NotebookError as exc:
        return BlobSkip(exc.reason, exc.detail)
    return Version(text, tuple(parsed.cells), parsed.converted_from_v3, note)


class CatFile:
    """One `git cat-file --batch` process; `read` returns the bytes, the size (an int) of a
    blob over the limit, or None (then pygit2 reads it and names the problem)."""

    def __init__(self, git_dir: str) -> None:
        self.git_dir = git_dir
        self.proc: subprocess.Popen | None = None

    def _start(self) -> subprocess.Popen:
        if self.proc is None or self.proc.poll() is not None:
            # a bounded delta-base cache keeps each worker's git small
            self.proc = subprocess.Popen(["git", "-c", "core.deltaBaseCacheLimit=32m", "--git-dir", self.git_dir,
                                          "cat-file", "--batch"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, bufsize=1 << 20)
        return self.proc

    def read(self, oid: str, max_bytes: int):
        try:
            proc = self._start()
            proc.stdin.write(oid.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                if not header:  # the process died (e.g. on a corrupt object): restart next time
                    self.close()
                return None
            size = int(header[2])
            if size > max_bytes:
                left = size + 1
                while left:
                    left -= len(proc.stdout.read(min(left, 1 << 20)))
                return size
            data = proc.stdout.read(size + 1)
            if len(data) != size + 1:
                self.close()
                return None
            return data[:-1]
        except (OSError, ValueError):
            self.close()
            return None

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait()
            except OSError:
                pass
            self.proc = None


def make_catfile(repo, reader: str) -> CatFile | None:
    """A CatFile for `reader` auto/git-cat-file when git is installed, else None (pygit2)."""
    if reader == "pygit2":
        return None
    if shutil.which("git") is None:
        if reader == "git-cat-file":
            raise RuntimeError("mine.reader is git-cat-file but the `git` command is not installed")
        return None
    return CatFile(repo.path)


class BlobCache:
    """LRU of classified blobs keyed by (blob id, kind), bounded by an estimate of bytes held."""

    def __init__(self, repo, max_file_bytes: int, budget_bytes: int = 24 << 20,
                 catfile: CatFile | None = None) -> None:
        self.repo = repo
        self.catfile = catfile
        self.max_file_bytes = max_file_bytes
        self.budget = budget_bytes
        self.held = 0
        self.entries: OrderedDict[tuple[str, str], Version | BlobSkip] = OrderedDict()
        self.reads = 0
        self.hits = 0

    def get(self, oid, kind: str) -> Version | BlobSkip:
        key = (str(oid), kind)
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
            self.hits += 1
            return hit
        value = self._load(oid, kind)
        self.reads += 1
        if value.cost <= self.budget // 4:
            self.entries[key] = value
            self.held += value.cost
            while self.held > self.budget:
                _, old = self.entries.popitem(last=False)
                self.held -= old.cost
        return value

    def _load(self, oid, kind: str) -> Version | BlobSkip:
        import pygit2

        if self.catfile is not None:
            try:  # small blobs: libgit2 caches their delta bases, and a pipe round trip costs more
                present = self.repo.odb.exists(oid)
                size = self.repo.odb.read_header(oid)[1] if present else 0
            except (pygit2.GitError, ValueError, KeyError, OSError):
                present, size = False, 0
            data = self.catfile.read(str(oid), self.max_file_bytes) if present and size >= CATFILE_MIN_BYTES else None
            if isinstance(data, int):
                return BlobSkip("too_large", f"{data} bytes > max_file_bytes {self.max_file_bytes}")
            if data is not None:
                return classify(data, kind, self.max_file_bytes)
        try:
            _, size = self.repo.odb.read_header(oid)
            if size > self.max_file_bytes:  # never inflate a huge blob just to reject it
                return BlobSkip("too_large", f"{size} bytes > max_file_bytes {self.max_file_bytes}")
            obj = self.repo[oid]
        except KeyError:
            return BlobSkip("missing_object", f"blob {oid} is not in the object store")
        except (pygit2.GitError, ValueError, OSError, MemoryError) as exc:
            return BlobSkip("corrupt_object", f"blob {oid}: {exc}"[:300])
        if not isinstance(obj, pygit2.Blob):
            return BlobSkip("corrupt_object", f"{oid} is a {type(obj).__name__}, not a blob")
        try:
            data = obj.data
        except (pygit2.GitError, OSError) as exc:
            return BlobSkip("corrupt_object", f"blob {oid}: {exc}"[:300])
        return classify(data, kind, self.max_file_bytes)
