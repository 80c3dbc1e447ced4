"""Read a file version (blob) once, classify it, decode it, parse it; cache by blob id.

Consecutive commits share most file versions (the "new" side of one commit is the "old" side
of the next), so each distinct (blob id, kind) is read and parsed once and kept in a small
LRU cache bounded in bytes. Everything that can go wrong with one file version becomes a
`BlobSkip` with a SKIP_REASONS reason, never an exception.

Reading: libgit2 does not cache delta bases of objects over 1 MB, so reading a chain of
large delta-compressed notebooks through pygit2 re-inflates the chain for every version
(measured 7x slower than git on a notebook-heavy pack). With `reader: auto` (the default),
when the `git` command exists each worker keeps ONE long-lived `git cat-file --batch`
process for every notebook and for .py blobs >= CATFILE_MIN_BYTES (`reader: git-cat-file`:
for every blob), read ahead in a thread (catfile.Prefetcher: the caller `plan`s the blobs
of the next commits), and a second one for the small .py blobs, pipelined without a
thread (catfile.Pipeline). pygit2 still decides existence first (so a partial clone never
triggers git's lazy network fetch) and reads anything git cannot deliver, which then
yields the precise missing/corrupt skip.

Decoding: UTF-8; UTF-8 with a BOM (the BOM is dropped); for `.py` files a PEP 263 coding
declaration (`# -*- coding: latin-1 -*-`) is honoured, as Python itself would; anything
else is a `decode_error` skip (no guessing: a wrong guess would put mojibake in training data).
"""
from __future__ import annotations

import codecs
import io
import re
import shutil
import tokenize
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import Mapping

from editflow.looseobjects import Damage
from editflow.mine.catfile import CatFile, Pipeline, Prefetcher
from editflow.mine.notebook import NotebookError, ParsedNotebook, parse_notebook

LFS_PREFIX = b"version https://git-lfs.github.com/spec/v1"
# Below this, a .py file goes through the thread-less pipeline: a round trip through the
# read-ahead thread cost more than libgit2's own read (fastcore: 0.38 vs 0.34 s). Notebooks
# always go to the thread: even small ones come in long delta chains that git inflates on
# the other core, read ahead (measured: -0.15 to -0.3 s on three notebook histories).
CATFILE_MIN_BYTES = 256 << 10
BINARY_SNIFF = 8000  # git's own heuristic: a NUL byte in the first 8000 bytes means binary
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


@dataclass(frozen=True)
class Version:
    """A decoded file version: its text as UTF-8 bytes and, for notebooks, its code and
    markdown cells. A notebook's `data` is what mine.notebook_source stores: the raw text,
    the stripped text (no outputs), or None.

    The text stays bytes (valid UTF-8, BOM dropped, re-encoded from a PEP 263 coding): a
    notebook with one non-ASCII character would, as a str, take 2-4 bytes per character,
    plus a UTF-8 copy made when Arrow converts it; orjson reads the bytes as they are."""
    data: bytes | None
    cells: tuple[str, ...] | None = None
    converted_from_v3: bool = False
    decode_note: str | None = None
    markdown: tuple[str, ...] | None = None

    @cached_property
    def cost(self) -> int:  # asked on every cache insert and eviction
        return len(self.data or b"") + sum(map(len, self.cells or ())) + sum(map(len, self.markdown or ()))


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


NOTEBOOK_SOURCES = ("stripped", "raw", "none")


def classify(data: bytes, kind: str, max_bytes: int, parsed: ParsedNotebook | None = None,
             notebook_source: str = "raw") -> Version | BlobSkip:
    """Turn raw blob bytes into a Version, or a BlobSkip naming why not. `parsed`: the cells
    of these same bytes from an earlier read (parsing is a pure function of the bytes);
    `notebook_source`: which text a notebook's Version keeps (NOTEBOOK_SOURCES)."""
    if len(data) > max_bytes:
        return BlobSkip("too_large", f"{len(data)} bytes > max_file_bytes {max_bytes}")
    if data.startswith(LFS_PREFIX):
        return BlobSkip("lfs_pointer", data[:200].decode("ascii", "replace").replace("\n", " ").strip())
    if data.find(b"\x00", 0, BINARY_SNIFF) >= 0:
        return BlobSkip("binary", f"NUL byte in the first {BINARY_SNIFF} bytes ({len(data)} bytes)")
    if kind == "notebook":
        return _notebook(data, parsed, notebook_source)
    if data.isascii():  # valid UTF-8 as it is: no need to build the text to know
        return Version(data)
    try:
        text, note = decode(data, kind)
    except (UnicodeDecodeError, LookupError, SyntaxError) as exc:
        return BlobSkip("decode_error", str(exc)[:200])
    return Version(data if note is None else text.encode("utf-8"), decode_note=note)


def _notebook(data: bytes, parsed: ParsedNotebook | None, source: str) -> Version | BlobSkip:
    note = None
    if data.startswith(codecs.BOM_UTF8):
        data, note = data[len(codecs.BOM_UTF8):], "utf-8 with BOM"
    if parsed is None:  # a cached parse of these bytes was valid UTF-8 when first read
        try:
            parsed = parse_notebook(data, strip=source == "stripped")
        except NotebookError as exc:
            return BlobSkip(exc.reason, exc.detail)
    stored = data if source == "raw" else parsed.stripped if source == "stripped" else None
    return Version(stored, tuple(parsed.cells), parsed.converted_from_v3, note, tuple(parsed.markdown))


def make_reader(repo, reader: str, max_file_bytes: int) -> Prefetcher | None:
    """A read-ahead cat-file reader for `reader` auto/git-cat-file when git is installed,
    else None (pygit2 reads everything)."""
    if reader == "pygit2":
        return None
    if shutil.which("git") is None:
        if reader == "git-cat-file":
            raise RuntimeError("mine.reader is git-cat-file but the `git` command is not installed")
        return None
    return Prefetcher(CatFile(repo.path), max_file_bytes)


def make_pipeline(repo, reader: str, max_file_bytes: int) -> Pipeline | None:
    """For `reader: auto`, a thread-less cat-file for the small .py blobs (catfile.Pipeline)."""
    if reader != "auto" or shutil.which("git") is None:
        return None
    catfile = CatFile(repo.path)
    catfile.send([])  # start git now: it loads its pack indexes while the miner diffs the first commits
    return Pipeline(catfile, max_file_bytes)


def _cells_cost(parsed: ParsedNotebook) -> int:
    return (128 + 64 * (len(parsed.cells) + len(parsed.markdown)) + sum(map(len, parsed.cells))
            + sum(map(len, parsed.markdown)) + len(parsed.stripped or b""))


class BlobCache:
    """LRU of classified blobs keyed by (blob id, kind), bounded by an estimate of bytes held.

    A second, larger LRU keeps only the code cells of notebooks (a few KB where the text is
    MBs): when a commit touches more notebooks than the text budget holds, their next
    version's old side is read again (git inflates it quickly) but not parsed again."""

    def __init__(self, repo, max_file_bytes: int, budget_bytes: int = 64 << 20,
                 reader: Prefetcher | None = None, reader_min_bytes: int = CATFILE_MIN_BYTES,
                 cells_budget_bytes: int = 8 << 20, pipeline: Pipeline | None = None,
                 damaged: Mapping[str, Damage] | None = None, notebook_source: str = "raw") -> None:
        self.repo = repo
        self.notebook_source = notebook_source
        self.damaged = damaged or {}  # loose objects neither git nor libgit2 may read
        self.reader = reader
        self.pipeline = pipeline
        self.reader_min_bytes = reader_min_bytes
        self.max_file_bytes = max_file_bytes
        self.budget = budget_bytes
        self.held = 0
        self.entries: OrderedDict[tuple[str, str], Version | BlobSkip] = OrderedDict()
        self.reads = 0
        self.hits = 0
        self.cells: OrderedDict[tuple[str, str], ParsedNotebook] = OrderedDict()
        self.cells_budget = cells_budget_bytes
        self.cells_held = 0

    def _keep_cells(self, key: tuple[str, str], parsed: ParsedNotebook) -> None:
        self.cells[key] = parsed
        self.cells_held += _cells_cost(parsed)
        while self.cells_held > self.cells_budget:
            _, old = self.cells.popitem(last=False)
            self.cells_held -= _cells_cost(old)

    def close(self) -> None:
        for reader in (self.reader, self.pipeline):
            if reader is not None:
                reader.close()

    def plan(self, oid, kind: str, tag) -> None:
        """Let git start reading a blob that a later `get` will need (read-ahead).

        Only blobs git would read and that are not cached now; a plan that turns out wrong
        (evicted meanwhile, or never asked for) costs a read, never a different result."""
        if self.reader is None or (str(oid), kind) in self.entries or str(oid) in self.damaged:
            return
        size = self._blob_size(oid)
        if size is None or size > self.max_file_bytes:
            return
        if kind == "notebook" or size >= self.reader_min_bytes:
            self.reader.request(str(oid), size, tag)
        elif self.pipeline is not None:
            self.pipeline.request(str(oid), size, tag)

    def send_plans(self) -> None:
        """Send the planned small-blob reads to git in one go (after a round of `plan`)."""
        if self.pipeline is not None:
            self.pipeline.flush()

    def forget_through(self, tag) -> None:
        """Drop read-ahead that was planned for commits up to `tag` and not used."""
        for reader in (self.reader, self.pipeline):
            if reader is not None:
                reader.forget_through(tag)

    def _git_reads(self, oid: str, kind: str) -> bool:
        """Whether git reads this blob: planned (checked then), or of a size git should read."""
        if self.reader.has(oid):
            return True
        size = self._git_size(oid, kind)
        return size is not None and size <= self.max_file_bytes

    def _git_size(self, oid, kind: str) -> int | None:
        """The size of a blob that the read-ahead thread should read, or None (small .py
        blobs go through the pipeline, if planned, else pygit2)."""
        size = self._blob_size(oid)
        return size if size is not None and (kind == "notebook" or size >= self.reader_min_bytes) else None

    def _blob_size(self, oid) -> int | None:
        """The size of a blob present here, or None: anything absent is read by pygit2, so
        that a partial clone never triggers git's lazy fetch and errors are named by pygit2."""
        import pygit2

        try:
            if not self.repo.odb.exists(oid):
                return None
            return self.repo.odb.read_header(oid)[1]
        except (pygit2.GitError, ValueError, KeyError, OSError):
            return None

    def get(self, oid, kind: str) -> Version | BlobSkip:
        key = (str(oid), kind)
        hit = self.entries.get(key)
        if hit is not None:
            self.entries.move_to_end(key)
            self.hits += 1
            return hit
        parsed = self.cells.get(key)
        if parsed is not None:
            self.cells.move_to_end(key)
        value = self._load(oid, kind, parsed)
        self.reads += 1
        if parsed is None and isinstance(value, Version) and value.cells is not None:
            stripped = value.data if self.notebook_source == "stripped" else None
            self._keep_cells(key, ParsedNotebook(list(value.cells), value.converted_from_v3,
                                                 list(value.markdown or ()), stripped))
        if value.cost <= self.budget // 4:
            self.entries[key] = value
            self.held += value.cost
            while self.held > self.budget:
                _, old = self.entries.popitem(last=False)
                self.held -= old.cost
        return value

    def _load(self, oid, kind: str, parsed: ParsedNotebook | None = None) -> Version | BlobSkip:
        import pygit2
        from pygit2.enums import ObjectType

        data = None
        bad = self.damaged.get(str(oid))
        if bad is not None:
            return BlobSkip("corrupt_object", bad.detail)
        if self.pipeline is not None and self.pipeline.has(str(oid)):
            data = self.pipeline.take(str(oid))
        elif self.reader is not None and self._git_reads(str(oid), kind):  # else pygit2 names the problem
            data = self.reader.take(str(oid))
        if isinstance(data, int):
            return BlobSkip("too_large", f"{data} bytes > max_file_bytes {self.max_file_bytes}")
        if data is not None:
            return classify(data, kind, self.max_file_bytes, parsed, self.notebook_source)
        try:
            otype, size = self.repo.odb.read_header(oid)
            if otype != ObjectType.BLOB:
                return BlobSkip("corrupt_object", f"{oid} is a {ObjectType(otype).name.lower()}, not a blob")
            if size > self.max_file_bytes:  # never inflate a huge blob just to reject it
                return BlobSkip("too_large", f"{size} bytes > max_file_bytes {self.max_file_bytes}")
            data = self.repo.odb.read(oid)[1]  # half the cost of repo[oid].data (no object)
        except KeyError:  # pygit2's NotFoundError is one
            return BlobSkip("missing_object", f"blob {oid} is not in the object store")
        except (pygit2.GitError, ValueError, OSError, MemoryError) as exc:
            return BlobSkip("corrupt_object", f"blob {oid}: {exc}"[:300])
        return classify(data, kind, self.max_file_bytes, parsed, self.notebook_source)
