"""Atomic outputs: a job killed mid-write must never leave a file a rerun would trust.

Everything is written to a temporary file in the same directory and moved into place with
os.replace, which is atomic on POSIX file systems.
"""
from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa
import pyarrow.parquet as pq


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to `path`; move it onto `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are shared results
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_parquet(table: pa.Table, path: str | Path, **kwargs: Any) -> None:
    """Write a table atomically with settings that make reruns byte-identical."""
    kwargs.setdefault("compression", "zstd")
    kwargs.setdefault("write_statistics", True)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **kwargs)


def write_text(text: str, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(obj: Any, path: str | Path) -> None:
    write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", path)


# ---- one writer per output ---------------------------------------------------------------
class OutputBusy(RuntimeError):
    """Another process holds the lock of an output path; the message names it and the pid."""


def lock_path(path: str | Path) -> Path:
    """The lock file of an output (file or directory): `.NAME.lock` beside it."""
    path = Path(path)
    return path.parent / f".{path.name}.lock"


@contextlib.contextmanager
def output_lock(*paths: str | Path | None, wait_s: float = 0.0, what: str = "editflow") -> Iterator[None]:
    """Hold an exclusive lock on each output path for the duration of the block.

    Why: two runs writing the same output (a double-started job, a user running a stage
    by hand beside the workflow) clean up each other's temporary files and can leave
    outputs of different runs side by side. flock(2) locks end with the process, so a
    killed run never leaves a lock that blocks the next. The second run waits up to
    `wait_s` seconds, then raises OutputBusy before it touches anything. Paths are locked
    in sorted order (two runs with overlapping outputs cannot deadlock); None is ignored.
    """
    import time

    targets = sorted({lock_path(Path(p).absolute()) for p in paths if p is not None})
    held: list[tuple[Path, int]] = []
    try:
        for lock in targets:
            held.append((lock, _acquire(lock, time.monotonic() + max(0.0, wait_s), what)))
        yield
    finally:
        for lock, fd in reversed(held):
            # unlink while still holding the lock: a waiter that then gets the lock on the
            # unlinked file sees that it is stale (_acquire) and takes the new one
            try:
                lock.unlink()
            except OSError:
                pass
            os.close(fd)


def _acquire(lock: Path, deadline: float, what: str) -> int:
    import fcntl
    import time

    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            if time.monotonic() >= deadline:
                output = lock.parent / lock.name[1:-len(".lock")]
                raise OutputBusy(f"{output} is being written by another {what} run (pid {owner}); "
                                 f"wait for it to finish, or stop it, then run again") from None
            time.sleep(0.1)
            continue
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            return fd
        os.close(fd)  # the holder removed this lock file as it finished: take the new one


# ---- leftovers of killed runs --------------------------------------------------------------
def remove_stale_temps(path: str | Path) -> list[Path]:
    """Remove what killed writers of `path` left beside it (`.NAME.*.tmp` files and
    `.NAME.*.tmpdir` / `.NAME.*.old` directories); return what was removed.

    Never trusted, only removed. Call it only while holding output_lock(path): a live
    writer's temporary file has the same shape."""
    import shutil

    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for pattern in (f".{path.name}.*.tmp", f".{path.name}.*.tmpdir", f".{path.name}.*.old"):
        for stale in path.parent.glob(pattern):
            try:
                if stale.is_dir() and not stale.is_symlink():
                    shutil.rmtree(stale)
                else:
                    stale.unlink()
                removed.append(stale)
            except OSError:
                pass
    return removed


def remove_stale_temps_under(directory: str | Path) -> list[Path]:
    """Remove every `.*.tmp` file anywhere under `directory` (e.g. a killed plot's
    `plots/.splits.png.X.tmp`); same rule as remove_stale_temps: only under the lock."""
    directory = Path(directory)
    removed = []
    if not directory.is_dir():
        return removed
    for stale in sorted(directory.rglob(".*.tmp")):
        try:
            if stale.is_file() or stale.is_symlink():
                stale.unlink()
                removed.append(stale)
        except OSError:
            pass
    return removed


# ---- multi-file outputs --------------------------------------------------------------------
def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    return False


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary directory beside `path`; on success it replaces `path` as a
    unit, so readers see the old complete directory or the new one, never a mix.

    Why: a stage whose output is several files (splits + stats.json + README.md + plots)
    killed between two of its atomic file writes leaves new files beside old ones. Here
    every file is written into the temporary directory, which is then swapped with the old
    directory in one rename (renameat2 RENAME_EXCHANGE; where that is missing, two renames,
    between which a kill leaves no directory at all, which reads as "not done"). The old
    directory is then deleted; a kill before that leaves `.NAME.*.old`, which
    remove_stale_temps removes. Call under output_lock(path)."""
    import shutil
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmpdir", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        yield tmp
        if path.exists() and not path.is_dir():
            raise NotADirectoryError(f"{path} exists and is not a directory; remove it and rerun")
        if path.exists() and _exchange(tmp, path):
            old = tmp.with_name(tmp.name[:-len(".tmpdir")] + ".old")
            os.rename(tmp, old)  # `tmp` now holds the old directory
            shutil.rmtree(old, ignore_errors=True)
            return
        if path.exists():
            old = tmp.with_name(tmp.name[:-len(".tmpdir")] + ".old")
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def check_writable(path: str | Path, flag: str = "--out", directory: bool = False) -> None:
    """Raise OutputError, before any work, when `path` cannot be written: a parent that is a
    file, a directory without write permission, or `path` itself a directory (a file, for a
    `directory` output such as the dataset's)."""
    path = Path(path)
    parent = path.parent
    probe = parent
    while not probe.exists():  # the nearest existing ancestor decides whether mkdir works
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError(f"{flag} {path}: {probe} is a file, not a directory; choose another path")
    if path.is_dir() and not directory:
        raise OutputError(f"{flag} {path} is a directory; give a file path")
    if directory and path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {path} is a file; give a directory path")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {path}: no permission to write in {probe}; choose another path "
                          f"or fix its permissions")


class OutputError(ValueError):
    """An output path that cannot be written; the message names the flag and the path."""
