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
PIPELINE_CHUNK = 1 << 20
SOCKET_BUFFER = 4 << 20  # git runs up to this far ahead of the reader


class CatFile:
    """One `git cat-file --batch` process (started on first use, restarted after a crash)."""

    def __init__(self, git_dir: str) -> None:
        self.git_dir = git_dir
        self.proc: subprocess.Popen | None = None
        self.sock: socket.socket | None = None
        self.pending = bytearray()  # received but not yet consumed

    def _start(self, check_alive: bool = True) -> None:
        # poll() is a system call: the pipeline skips it (a dead git fails its next write)
        if self.proc is not None and (not check_alive or self.proc.poll() is None):
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
        if not self.send([oid]):
            return None
        return self.receive(max_bytes)

    def send(self, oids: list[str], check_alive: bool = True) -> bool:
        """Ask for blobs; their answers come, in this order, from `receive`."""
        try:
            self._start(check_alive)
            self.proc.stdin.write(b"".join(o.encode() + b"\n" for o in oids))
            self.proc.stdin.flush()
            return True
        except (OSError, ValueError):
            self.close()
            return False

    def receive(self, max_bytes: int):
        """The answer to the oldest request not yet received (see `read`)."""
        try:
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
        except (OSError, ValueError, EOFError, AttributeError):
            self.close()  # e.g. git died on a corrupt object: restarted by the next send
            return None

    def prefill(self) -> None:
        """Take everything git has written so far (at least one byte) in one call: many
        small answers are then parsed without a system call each."""
        if not self.pending and self.sock is not None:
            try:
                self.pending += self.sock.recv(PIPELINE_CHUNK)
            except OSError:
                self.close()

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


class Pipeline:
    """Small blobs through a CatFile with no thread: requests go out ahead, in the order the
    caller will need them, and each answer is read when it is needed — by then it is
    usually waiting in the socket, inflated by git on the other core.

    A thread (as Prefetcher) would have to win the GIL back from the miner for every small
    blob; for .py modules of ~15 KB that cost more than libgit2's own read (fastcore:
    0.38 s vs 0.34 s), while this took libgit2's 71 µs per read off the miner.
    At most `budget` bytes and MAX_SENT requests are in flight, so git never blocks on a
    full socket while we block writing to it. Single consumer, like Prefetcher."""

    MAX_SENT = 512  # 41-byte request lines: far below a 64 KB pipe
    LOW_WATER = 8

    def __init__(self, catfile: CatFile, max_bytes: int, budget: int = 1 << 20) -> None:
        self.catfile = catfile
        self.max_bytes = max_bytes
        self.budget = budget
        self.queued: deque[tuple[str, int]] = deque()   # not yet sent
        self.sent: deque[tuple[str, int]] = deque()     # sent, answer not yet received
        self.in_flight = 0
        self.answers: dict[str, object] = {}            # received, not yet taken
        self.tags: dict[str, object] = {}               # every oid requested and not taken

    def request(self, oid: str, size: int, tag=None) -> None:
        """Queue a read; `flush` sends what is queued (one write for many requests)."""
        if oid not in self.tags:
            self.tags[oid] = tag
            self.queued.append((oid, size + 64))

    def flush(self) -> None:
        """Send what is queued once git is running low or enough has gathered: a write
        (and git's wake-up) costs ~30 µs, worth sharing among several requests."""
        if self.queued and (len(self.sent) < self.LOW_WATER or len(self.queued) >= self.LOW_WATER):
            self._send()

    def has(self, oid: str) -> bool:
        return oid in self.tags

    def take(self, oid: str):
        """bytes, an int (over size), or None (not requested, absent, git failed)."""
        if oid not in self.tags:
            return None
        while oid not in self.answers:
            if not self.sent:
                self._send(force=True)
                if not self.sent:
                    break
            got, cost = self.sent.popleft()
            self.in_flight -= cost
            self.catfile.prefill()
            answer = self.catfile.receive(self.max_bytes)
            if self.catfile.proc is None:  # git died: the other answers in flight are lost
                self.sent.clear()
                self.in_flight = 0
            if got in self.tags:
                self.answers[got] = answer
            self._send()
        del self.tags[oid]
        return self.answers.pop(oid, None)

    def forget_through(self, tag) -> None:
        for oid in [o for o, t in self.tags.items() if t is not None and t <= tag]:
            del self.tags[oid]
            self.answers.pop(oid, None)

    def _send(self, force: bool = False) -> None:
        batch = []
        while self.queued and len(self.sent) < self.MAX_SENT and (
                self.in_flight + self.queued[0][1] <= self.budget or (force and not self.sent)):
            oid, cost = self.queued.popleft()
            if oid not in self.tags:
                continue  # forgotten before it went out
            batch.append(oid)
            self.sent.append((oid, cost))
            self.in_flight += cost
            force = False
        if batch and not self.catfile.send(batch, check_alive=False):
            for oid, _ in self.sent:
                self.answers.setdefault(oid, None)
            self.sent.clear()
            self.in_flight = 0

    def close(self) -> None:
        self.queued.clear()
        self.sent.clear()
        self.answers.clear()
        self.tags.clear()
        self.in_flight = 0
        self.catfile.close()
