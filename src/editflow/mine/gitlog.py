"""A `git log` running beside the miner, read commit by commit as the miner gets there.

The miner holds the GIL nearly all the time, so a thread reading git's output would wait
for it while git stalled on a full pipe. Instead the miner itself reads whatever git has
written when it needs a commit (non-blocking, or blocking where it cannot go on without
git's answer); git runs ahead by at most a pipe buffer (1 MB where Linux allows), so memory
stays flat however long the history.

git prints commits oldest first (`--reverse`: it walks the span first, which is fast, and
diffs as it prints), so the answers arrive in the order the miner asks for them.
"""
from __future__ import annotations

import logging
import os
import select
import subprocess
import tempfile
from collections import deque
from enum import Enum
from typing import Callable, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

# Fix what would change git's output: no system or user configuration, no network.
# GIT_ALLOW_PROTOCOL names no real transport: a partial clone's lazy fetch of an absent blob
# fails at once, also on git before 2.45 (which ignores GIT_NO_LAZY_FETCH), and git stops.
GIT_ENV = {"GIT_NO_LAZY_FETCH": "1", "GIT_ALLOW_PROTOCOL": "none", "GIT_TERMINAL_PROMPT": "0",
           "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_CONFIG_GLOBAL": os.devnull}
_PIPE_BYTES = 1 << 20
MAX_RESTARTS = 1000  # git restarted after a commit it died on, at most this often per run
MAX_STALLS = 8       # ... and not again after this many restarts in a row that printed nothing


class Answer(Enum):
    FOUND = "found"        # git printed this commit
    ABSENT = "absent"      # git went past it without printing it (nothing to report)
    UNKNOWN = "unknown"    # git has not got there (not waiting), or stopped before it


class GitLogStream(Generic[T]):
    """Commits of `git log ... --reverse` split at `delimiter` and parsed by `parse(block)
    -> (commit id, payload)`. git starts at once (it walks the span while the miner walks
    its own history); `expect(commits)` then names the sequence the miner will ask for
    (oldest first), and `take` is called in that order (skipping commits is fine)."""

    def __init__(self, command: list[str], delimiter: bytes,
                 parse: Callable[[bytes], tuple[str, T]], what: str, niceness: int = 0,
                 stdin: bytes | None = None,
                 restart: Callable[[list[str]], tuple[list[str], bytes]] | None = None) -> None:
        self._pos: dict[str, int] = {}
        self._commits: list[str] = []
        self._delimiter = delimiter
        self._parse = parse
        self._what = what
        self._niceness = niceness
        self._restart = restart    # (command, stdin) that prints exactly the given commits
        self.restarts = 0
        self._stalls = 0           # restarts in a row that died before printing a commit
        self._lost: set[int] = set()  # positions git died on (restarted after them): unknown
        self._started_from = -1    # position the running git started after
        self._ready: deque[tuple[int, T]] = deque()
        self._passed = -1          # position of the last commit parsed
        self._started = -1         # position of the commit git is printing (all before: done)
        self._pending: list[bytes] = []
        self._eof = False
        self.failed = False
        self._stderr = tempfile.TemporaryFile()
        try:
            self._spawn(command, stdin)
        except BaseException:
            self._stderr.close()
            raise

    def _spawn(self, command: list[str], stdin: bytes | None) -> None:
        source = subprocess.DEVNULL
        try:
            if stdin is not None:  # a file, not a pipe: git reads all of it before printing
                source = tempfile.TemporaryFile()
                source.write(stdin)
                source.seek(0)
            self._proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._stderr,
                                          stdin=source, env={**os.environ, **GIT_ENV})
        finally:
            if stdin is not None and source is not subprocess.DEVNULL:
                source.close()
        if self._niceness:  # a feed whose answers are optional yields the CPU to the ones waited for
            try:
                os.setpriority(os.PRIO_PROCESS, self._proc.pid, self._niceness)
            except (AttributeError, OSError):
                pass
        self._fd = self._proc.stdout.fileno()
        os.set_blocking(self._fd, False)
        try:
            import fcntl

            fcntl.fcntl(self._fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
        except (ImportError, OSError):
            pass  # the default 64 KB buffer: git stalls sooner, the answers are the same

    def expect(self, commits: list[str]) -> None:
        self._commits = commits
        self._pos = {c: i for i, c in enumerate(commits)}

    def take(self, commit: str, wait: bool) -> tuple[Answer, T | None]:
        pos = self._pos.get(commit)
        if pos is None:
            return Answer.UNKNOWN, None
        self._pump(pos, wait)
        while self._ready and self._ready[0][0] < pos:
            self._ready.popleft()
        if self._ready and self._ready[0][0] == pos:
            return Answer.FOUND, self._ready.popleft()[1]
        if pos in self._lost:
            return Answer.UNKNOWN, None
        if self._passed >= pos or self._started > pos or (self._eof and not self.failed):
            return Answer.ABSENT, None
        return Answer.UNKNOWN, None

    def _pump(self, until: int, wait: bool) -> None:
        """Parse what git has written, until commit `until` is parsed (or git is done)."""
        while not self._eof and self._passed < until and self._started <= until:
            try:
                chunk = os.read(self._fd, _PIPE_BYTES)
            except BlockingIOError:
                if not wait:
                    return
                select.select([self._fd], [], [])
                continue
            if not chunk:
                self._finish()  # or git restarted past the commit it died on: read on
                continue
            if self._delimiter not in chunk:  # a large commit still arriving
                self._pending.append(chunk)
            else:
                blocks = (b"".join(self._pending) + chunk).split(self._delimiter)
                self._pending = [blocks.pop()]
                for block in blocks:
                    if block:
                        self._add(block)
            self._note_started()

    def _note_started(self) -> None:
        """git printing a commit's id means it is done with every commit before it."""
        head = b""
        for piece in self._pending:  # the first 40 bytes, without joining a large commit
            head += piece[:40 - len(head)]
            if len(head) == 40:
                break
        pos = self._pos.get(head.decode("ascii", "replace")) if len(head) == 40 else None
        if pos is not None and pos > self._started:
            self._started = pos

    def _finish(self) -> None:
        self._eof = True
        rc = self._proc.wait()
        last = b"".join(self._pending)
        self._pending = []
        if rc == 0:
            if last:
                self._add(last)  # the last commit is complete only if git exited cleanly
            return
        # git died: the commit it was printing may be cut short (its answer is unknown),
        # the ones before it are done
        self._stderr.seek(0)
        err = self._stderr.read()[-2000:].decode("utf-8", "replace").strip()
        self._stderr.seek(0)
        self._stderr.truncate()
        died_on = max(self._passed + 1, self._started)  # the commit it was on, or just before it
        rest = self._commits[died_on + 1:]
        stuck = self._passed < self._started_from + 1 and self._started < self._started_from + 1
        self._stalls = self._stalls + 1 if stuck else 0
        if (self._restart is not None and self._commits and self.restarts < MAX_RESTARTS
                and self._stalls < MAX_STALLS):
            # e.g. a blob absent from a partial clone that rename detection wanted: only that
            # commit is left to the caller (libgit2); git goes on with the ones after it
            (log.warning if not self.restarts else log.debug)(
                "git log (%s) stopped at %s (%s); that commit is libgit2's, git restarts after it",
                self._what, self._commits[died_on][:12] if died_on < len(self._commits) else "the end",
                err[:300] or f"exit {rc}")
            self.restarts += 1
            self._proc.stdout.close()
            self._lost.add(died_on)
            self._passed = self._started = self._started_from = died_on
            if rest:
                self._eof = False
                self._spawn(*self._restart(rest))
            return
        self.failed = True
        log.warning("git log (%s) stopped (%s); libgit2 takes over from there", self._what,
                    err[:300] or f"exit {rc}")

    def _add(self, block: bytes) -> None:
        sha, payload = self._parse(block)
        pos = self._pos.get(sha)
        if pos is not None and pos > self._passed:  # else not one of ours: ignored
            self._ready.append((pos, payload))
            self._passed = pos

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._proc.stdout.close()
        self._stderr.close()


def span(head: str, since: str | None) -> str:
    return f"{since}..{head}" if since else head


def walk_args(head: str, since: str | None, commits: list[str] | None
              ) -> tuple[list[str], list[str], bytes | None]:
    """(git log options, revisions, stdin) that make git print the commits the miner walks,
    in its order: since..head along first parents, or exactly `commits` (mine.history: all,
    an order none of git's own walks gives) read from stdin."""
    if commits is None:
        return ["--reverse", "--first-parent"], [span(head, since)], None
    return ["--no-walk=unsorted", "--stdin"], [], "".join(c + "\n" for c in commits).encode("ascii")
