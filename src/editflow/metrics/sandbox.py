"""Run untrusted Python (model output + an example's tests) in a sandbox.

Every run is a separate `python -I` process in a fresh temporary directory (its cwd and
HOME, deleted afterwards), in its own session / process group, with resource limits:
RLIMIT_CPU (CPU seconds), RLIMIT_AS (address space, so a 10 GB allocation fails at once),
RLIMIT_NPROC (fork bombs), RLIMIT_FSIZE (file size), RLIMIT_NOFILE, no core files, and a
wall-clock timeout after which the whole process group is killed.

Isolation, strongest available first (`isolation()` says which one is active; the scores file
records it):
- "netns+uid" (running as root, the normal case in containers and CI): the child calls
  unshare(CLONE_NEWNET) — a new network namespace with no interfaces up, so no connection,
  not even to 127.0.0.1, can be made — and then drops to a fresh unprivileged uid (RLIMIT_NPROC
  is not enforced for root, so dropping root is what makes it bite; the uid owns nothing, so
  the program can write only to its temporary directory and world-writable places). At the
  end every process of that uid is killed, including children that left the process group.
  "+read" (seen here, where the virtualenv's interpreter lives under /root, mode 700): the
  dropped process keeps one capability, CAP_DAC_READ_SEARCH, as an ambient capability so that
  it can read and start the interpreter; it still cannot write anywhere it could not before.
- "uid" / "uid+read": root, but network namespaces are not allowed: as above, plus the socket
  prelude below instead of the namespace.
- "socket-patch" (not root): the program starts with a prelude that replaces `socket.socket`
  and friends with a class that raises. Determined code can undo this; it stops accidents,
  not attacks. RLIMIT_NPROC then counts all of the user's processes, so the limit is set to
  what the user already runs plus `max_processes`.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import lru_cache

CLONE_NEWNET = 0x40000000
PR_SET_KEEPCAPS = 8
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_RAISE = 2
CAP_DAC_READ_SEARCH = 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
SANDBOX_UID_BASE = 100_000

SOCKET_PRELUDE = '''\
import socket as _editflow_socket, _socket as _editflow__socket
class _EditflowNoSocket(_editflow_socket.socket):
    def __init__(self, *args, **kwargs):
        raise OSError("network access is disabled in the editflow sandbox")
def _editflow_no_network(*args, **kwargs):
    raise OSError("network access is disabled in the editflow sandbox")
_editflow_socket.socket = _EditflowNoSocket
_editflow__socket.socket = _EditflowNoSocket
_editflow_socket.create_connection = _editflow_no_network
_editflow_socket.socketpair = _editflow_no_network
_editflow_socket.fromfd = _editflow_no_network
del _editflow_socket, _editflow__socket
'''


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 10.0     # wall clock
    memory_mb: int = 2048       # address space
    max_processes: int = 32
    max_file_mb: int = 16
    max_open_files: int = 256


@dataclass
class SandboxResult:
    status: str                 # passed | failed | timeout
    returncode: int | None
    duration_s: float
    stdout: str
    stderr: str
    isolation: str

    @property
    def passed(self) -> bool:
        return self.status == "passed"


@lru_cache(maxsize=1)
def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _unshare_net() -> None:
    if _libc().unshare(CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNET): {os.strerror(err)}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


def _drop_to(uid: int, keep_read_search: bool) -> None:
    """setuid(uid); optionally keep only CAP_DAC_READ_SEARCH, as an ambient capability.

    The interpreter (e.g. a virtualenv under /root, mode 700) may be unreadable for a fresh
    uid; read-and-search-only access lets it start without granting any write access.
    """
    libc = _libc()
    if keep_read_search and libc.prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_KEEPCAPS)")
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if keep_read_search:
        bit = 1 << CAP_DAC_READ_SEARCH
        header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
        data = (_CapData * 2)()
        data[0].effective = data[0].permitted = data[0].inheritable = bit
        if libc.capset(ctypes.byref(header), data) != 0:
            raise OSError(ctypes.get_errno(), "capset")
        if libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_DAC_READ_SEARCH, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAP_AMBIENT_RAISE)")


@lru_cache(maxsize=1)
def _root_mode() -> str | None:
    """The strongest root-only isolation that works here, or None (see the module docstring)."""
    if sys.platform != "linux" or os.geteuid() != 0:
        return None
    uid = _sandbox_uid()
    for mode in ("netns+uid", "netns+uid+read", "uid", "uid+read"):
        def trial(mode=mode) -> None:
            if mode.startswith("netns"):
                _unshare_net()
            _drop_to(uid, mode.endswith("+read"))
        try:
            subprocess.run([sys.executable, "-I", "-c", "import os"], preexec_fn=trial, check=True,
                           cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
            return mode
        except (OSError, subprocess.SubprocessError):
            continue
    return None


def isolation() -> str:
    """'netns+uid[+read]' as root with namespaces; 'uid[+read]' (+ socket prelude) as root
    without them; else 'socket-patch'. '+read' = the CAP_DAC_READ_SEARCH of _drop_to."""
    return _root_mode() or "socket-patch"


def _user_process_count(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("Uid:"):
                        count += int(line.split()[1]) == uid
                        break
        except OSError:
            continue
    return count


def _sandbox_uid() -> int:
    # A fresh uid per run: parallel runs never kill each other's programs, and zombies that
    # init has not reaped yet never count against the next run's RLIMIT_NPROC.
    import secrets

    return SANDBOX_UID_BASE + secrets.randbelow(1_000_000)


def _kill_uid(uid: int) -> None:
    """Kill every process running as `uid` (from a forked helper that becomes that uid)."""
    for _ in range(3):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                os.setgid(uid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            os._exit(0)
        os.waitpid(pid, 0)


def _preexec(limits: SandboxLimits, mode: str, uid: int | None, nproc: int):
    cpu = int(limits.timeout_s) + 1

    def setup() -> None:  # runs in the child between fork and exec
        if mode.startswith("netns"):
            _unshare_net()
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        mem = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        size = limits.max_file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if uid is not None:
            _drop_to(uid, keep_read_search=mode.endswith("+read"))

    return setup


def run_python(code: str, limits: SandboxLimits = SandboxLimits(), tail_chars: int = 2000) -> SandboxResult:
    """Run `code` as a Python program under the sandbox; passed iff it exits 0 in time."""
    mode = isolation()
    uid = _sandbox_uid() if "uid" in mode else None
    netns = mode.startswith("netns")
    if uid is not None:
        nproc = limits.max_processes
    else:
        nproc = _user_process_count(os.getuid()) + limits.max_processes
    workdir = tempfile.mkdtemp(prefix="editflow-sandbox-")
    try:
        program = code if netns else SOCKET_PRELUDE + code
        path = os.path.join(workdir, "program.py")
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(program)
        if uid is not None:
            os.chown(workdir, uid, uid)
            os.chown(path, uid, uid)
        env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
               "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1",
               "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-I", "program.py"], cwd=workdir, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=_preexec(limits, mode, uid, nproc))
        timed_out = False
        try:
            out, err = proc.communicate(timeout=limits.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
        # Kill everything the program started (also children that left its process group and
        # still hold its output pipes), then collect what it printed.
        _kill_group(proc.pid)
        if uid is not None:
            _kill_uid(uid)
        if timed_out:
            try:
                out, err = proc.communicate(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - a descendant we cannot kill
                proc.kill()
                out, err = b"", b"(output lost: a descendant kept the pipes open)"
        duration = time.monotonic() - start
        rc = proc.returncode
        if timed_out or rc in (-signal.SIGXCPU, -signal.SIGKILL):
            status = "timeout"
        else:
            status = "passed" if rc == 0 else "failed"
        return SandboxResult(status, rc, duration,
                             out.decode("utf-8", "replace")[-tail_chars:],
                             err.decode("utf-8", "replace")[-tail_chars:], mode)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_tests(prediction: str, tests: str, limits: SandboxLimits = SandboxLimits()) -> SandboxResult:
    """The prediction followed by the example's test code, as one program."""
    return run_python(f"{prediction}\n\n{tests}\n", limits)
