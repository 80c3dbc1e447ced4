"""Blob bytes from one long-lived `git cat-file --batch` process, read ahead in a thread.

Why a separate process at all: libgit2 does not cache delta bases of objects over 1 MB, so
a chain of large delta-compressed notebooks re-inflates through pygit2 for every version
(measured 7x slower than git on a notebook-heavy pack).

Why a socket: git's output arrives on one end of a socketpair, so a whole blob is received
by ONE `recv_into(..., MSG_WAITALL)` call that releases the GIL until the blob is complete.
Read from a pipe, the same blob arrives in 64 KB pieces and the reading thread has to win
the GIL back after each piece (up to the 5 ms switch interval each time while the main
thread parses JSON), which starves the read-ahead.

Why a thread (`Prefetcher`): git inflates the next commits' blobs in its own process while
this process parses the current ones; on 2 cores the two overlap instead of alternating
request -> wait -> parse. The caller names the blobs it will need in the order it will need
them (`request`), then `take`s each; requests not taken are `forget`-ten, so read-ahead
memory is bounded by what the caller has asked for and not yet collected.

A read answers the bytes of the blob, an int (its size, when over the size limit; the bytes
are skipped unread), or None for anything else (absent, not a blob, git died): the caller
then reads through pygit2, which names the exact problem (missing or corrupt object).
"""
from __future__ import annotations

import socket
import subprocess
import threading
from collections import deque

RECV_CHUNK = 64 << 10
SOCKET_BUFFER = 4 << 20  # git runs up to this far ahead of the reader


class CatFile:
    """One `git cat-file --batch` process (started on first use, restarted after a crash)."""

    def __init__(self, git_dir: str) -> None:
        self.git_dir = git_dir
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.pending = bytearray()  # received but not yet consumed

    def _start(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        self.close()
        ours, theirs = socket.socketpair()
        for s, opt in ((ours, socket.SO_RCVBUF), (theirs, socket.SO_SNDBUF)):
            try:
                s.setsockopt(socket.SOL_SOCKET, opt, SOCKET_BUFFER)
            except OSError:
                pass
        try:
            # a bounded delta-base cache keeps each worker's git small
            self.proc = subprocess.Popen(["git", "-c", "core.deltaBaseCacheLimit=32m", "--git-dir", self.git_dir,
                                          "cat-file", "--batch"],
                                         stdin=subprocess.PIPE, stdout=theirs.fileno(),
                                         stderr=subprocess.DEVNULL)
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        self.sock = ours

    def read(self, oid: str, max_bytes: int):
        """The bytes of blob `oid`, its size if over `max_bytes`, or None."""
        try:
            self._start()
            self.proc.stdin.write(oid.encode() + b"\n")
            self.proc.stdin.flush()
            header = self._line().split()
            if len(header) != 3:  # "<oid> missing" / "ambiguous": no body follows
                return None
            size = int(header[2])
            if header[1] != b"blob" or size > max_bytes:
                self._skip(size + 1)
                return size if header[1] == b"blob" else None
            data = self._exact(size)
            if self._exact(1) != b"\n":
                raise EOFError("cat-file output out of step")
            return data
        except (OSError, ValueError, EOFError):
            self.close()  # e.g. git died on a corrupt object: restarted by the next read
            return None

    def _recv_some(self) -> None:
        chunk = self.sock.recv(RECV_CHUNK)
        if not chunk:
            raise EOFError("git cat-file closed its output")
        self.pending += chunk

    def _line(self) -> bytes:
        if not self.pending:  # take exactly the header, so the body arrives in one piece
            peek = self.sock.recv(512, socket.MSG_PEEK)
            end = peek.find(b"\n")
            if end >= 0:
                return self.sock.recv(end + 1, socket.MSG_WAITALL)[:-1]
            if not peek:
                raise EOFError("git cat-file closed its output")
        while (end := self.pending.find(b"\n")) < 0:
            self._recv_some()
        line = bytes(self.pending[:end])
        del self.pending[:end + 1]
        return line

    def _exact(self, n: int) -> bytes:
        """The next n bytes; past what is buffered, one GIL-free recv per call."""
        if len(self.pending) >= n:
            out = bytes(self.pending[:n])
            del self.pending[:n]
            return out
        head = bytes(self.pending)
        self.pending = bytearray()
        parts = [head] if head else []
        left = n - len(head)
        while left:
            got = self.sock.recv(left, socket.MSG_WAITALL)  # bytes of `left`, not zero-filled first
            if not got:
                raise EOFError("git cat-file closed its output")
            parts.append(got)
            left -= len(got)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _skip(self, n: int) -> None:
        while n:
            if not self.pending:
                self._recv_some()
            k = min(n, len(self.pending))
            del self.pending[:k]
            n -= k

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait()
            except OSError:
                pass
            for f in (self.proc.stdin,):
                try:
                    f.close()
                except (OSError, ValueError):
                    pass
            self.proc = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.pending = bytearray()


class _Slot:
    """One requested blob: filled by the reader thread, collected once by the caller."""
    __slots__ = ("size", "tag", "done", "data")

    def __init__(self, size: int, tag) -> None:
        self.size = size
        self.tag = tag
        self.done = threading.Event()
        self.data = None


class Prefetcher:
    """Reads blobs through a CatFile in a background thread, in the order requested.

    Single consumer: `request`, `take`, `forget*` are called from one thread only.
    `ahead_bytes` (requested, not yet taken or forgotten) is what the caller bounds.
    """

    def __init__(self, catfile: CatFile, max_bytes: int) -> None:
        self.catfile = catfile
        self.max_bytes = max_bytes
        self.slots: dict[str, _Slot] = {}
        self.ahead_bytes = 0
        self._queue: deque = deque()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def request(self, oid: str, size: int, tag=None) -> None:
        """Start reading `oid` (`size` bytes) in the background unless already requested."""
        if oid not in self.slots:
            self.slots[oid] = slot = _Slot(size, tag)
            self.ahead_bytes += size
            self._submit(oid, slot)

    def has(self, oid: str) -> bool:
        """Whether `oid` was requested and not yet taken or forgotten."""
        return oid in self.slots

    def take(self, oid: str):
        """The read of `oid` (requested before or not): bytes, an int (over size), or None."""
        slot = self.slots.pop(oid, None)
        if slot is None:
            slot = _Slot(0, None)
            self._submit(oid, slot)
        else:
            self.ahead_bytes -= slot.size
        slot.done.wait()
        return slot.data

    def forget(self, oid: str) -> None:
        """Drop a request that will not be taken (its bytes are discarded once read)."""
        slot = self.slots.pop(oid, None)
        if slot is not None:
            self.ahead_bytes -= slot.size

    def forget_through(self, tag) -> None:
        """Drop every request whose tag is <= `tag` (e.g. a commit that has been mined)."""
        for oid in [o for o, s in self.slots.items() if s.tag is not None and s.tag <= tag]:
            self.forget(oid)

    def _submit(self, oid: str, slot: _Slot) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="cat-file-reader", daemon=True)
            self._thread.start()
        with self._wake:
            self._queue.append((oid, slot))
            self._wake.notify()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._queue:
                    self._wake.wait()
                item = self._queue.popleft()
            if item is None:
                return
            oid, slot = item
            try:
                slot.data = self.catfile.read(oid, self.max_bytes)
            except BaseException:  # noqa: BLE001 - never leave the consumer waiting
                slot.data = None
            finally:
                slot.done.set()

    def close(self) -> None:
        """Drop queued reads, finish the one in flight, stop the thread, end git.

        A later request starts a new thread (and git), as CatFile itself restarts."""
        if self._thread is not None:
            with self._wake:
                for _, slot in self._queue:
                    slot.done.set()  # nobody waits (single consumer), but never leave one hanging
                self._queue.clear()
                self._queue.append(None)
                self._wake.notify()
            self._thread.join()
            self._thread = None
        self.slots.clear()
        self.ahead_bytes = 0
        self.catfile.close()
