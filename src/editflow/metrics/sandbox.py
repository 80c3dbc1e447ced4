"""Run untrusted Python (model output + an example's tests) in a sandbox.

Every run is a separate `python -I` process started by a small trusted harness, in a fresh
working directory, in its own session / process group, with resource limits: RLIMIT_CPU,
RLIMIT_AS (a 10 GB allocation fails at once), RLIMIT_NPROC (fork bombs), RLIMIT_FSIZE,
RLIMIT_NOFILE, no core files, and a wall-clock timeout after which the whole process group and
every process of the run's uid are killed.

**The verdict.** The harness compiles program.py and runs it; only when the last statement (so
every test) has run does it print an end marker that carries a per-run nonce it read from its
stdin pipe (the nonce is in no file the program can read). Passed = the marker arrived and the
process exited 0 in time. `os._exit(0)`, `raise SystemExit(0)` or `sys.exit()` before the
failing tests therefore fail. (Code written to dig the nonce out of the harness's own frame
could still forge it; that is deliberate cheating, not a model's accident, and out of scope.)

**Output** is read while the program runs and capped: only the last `max_output_bytes` of
each stream are kept, everything before is dropped and counted (`output_bytes`,
`output_cut_bytes`), so a program printing 600 MB never makes the scorer buffer 600 MB.

**Isolation**, strongest available first (`isolation()` names the level; scores files record it):
- `namespaces+seccomp` (root with namespaces: containers, CI). Between fork and exec the
  child enters new mount, network, IPC and UTS namespaces. The mount namespace is private
  (nothing propagates back) and gets fresh, small tmpfs at /tmp and /dev/shm (the working
  directory lives in the new /tmp); every other mount is remounted read-only. A directory
  on the interpreter's path that other users cannot enter (a pyenv under /root, mode 700) is
  covered by a read-only tmpfs holding only the interpreter's own trees, so the program can
  start without any capability. The network namespace has no interface up (no TCP, not even
  127.0.0.1) and its own abstract Unix socket names. The child then drops to a fresh
  unprivileged uid with an empty capability bounding set (so nothing can ever be regained),
  sets no_new_privs (setuid-root binaries and file capabilities do not elevate) and installs
  a seccomp filter: socket() only for AF_INET/AF_INET6 (useless without interfaces), so no
  AF_UNIX socket can connect to a host socket file; no mount/unshare/setns/ptrace/bpf/keyctl/
  io_uring/kernel-module/reboot-style calls; clone() without namespace flags; clone3 answers
  ENOSYS (libc falls back to clone).
- `namespaces`: the same where the kernel or architecture has no seccomp filter for us
  (architectures other than x86_64 and aarch64).
- Weak levels, used only when the caller opts in (`SandboxLimits(allow_weak_isolation=True)`
  or EDITFLOW_SANDBOX_ALLOW_WEAK=1); otherwise
  `run_python` raises `SandboxRefused`, because without namespaces model code can reach the
  host. `uid` (root, no namespaces): a fresh uid without capabilities, no_new_privs,
  seccomp when possible, and a prelude that replaces the socket module; host /tmp is shared.
  `socket-patch` (not root): only the prelude, which determined code can undo.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import resource
import secrets
import selectors
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache

from editflow.config import ConfigError

SANDBOX_UID_BASE = 100_000
STRONG_LEVELS = ("namespaces+seccomp", "namespaces")
WEAK_LEVELS = ("uid", "socket-patch")
ALLOW_WEAK_ENV = "EDITFLOW_SANDBOX_ALLOW_WEAK"
MARKER_PREFIX = "@@editflow-sandbox-done "

# Linux constants (include/uapi/linux/{sched,mount,prctl,capability,seccomp,audit}.h)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET = 0x20000, 0x04000000, 0x08000000, 0x40000000
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 0x20, 0x400, 0x800, 0x1000
MS_REC, MS_PRIVATE, MS_RELATIME = 0x4000, 0x40000, 0x200000
PR_CAPBSET_DROP, PR_SET_SECCOMP, PR_SET_NO_NEW_PRIVS = 24, 22, 38
SECCOMP_MODE_FILTER = 2
_LINUX_CAPABILITY_VERSION_3 = 0x20080522
AF_INET, AF_INET6 = 2, 10

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

# The trusted harness (`python -I -c HARNESS`, cwd = the working directory). It reads the nonce
# from stdin, points stdin at /dev/null, runs program.py as __main__ and prints the marker only
# after its last statement. A SystemExit (any code) means the program stopped early.
HARNESS = '''\
def _editflow_harness():
    import os, sys
    nonce = sys.stdin.readline().strip()
    fd = os.open(os.devnull, os.O_RDONLY)
    os.dup2(fd, 0)
    os.close(fd)
    with open("program.py", encoding="utf-8") as fh:
        code = compile(fh.read(), "program.py", "exec")
    # the real __main__ (so multiprocessing can pickle the program's functions), emptied of us
    scope = sys.modules["__main__"].__dict__
    del scope["_editflow_harness"]
    scope["__file__"] = "program.py"
    try:
        exec(code, scope)
    except SystemExit as exc:
        os.write(2, ("editflow sandbox: the program raised SystemExit(%r) before its end; "
                     "its tests did not all run\\n" % (exc.code,)).encode())
        os._exit(3)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:
            pass
    os.write(1, ("\\n%s%s\\n" % (MARKER_PREFIX, nonce)).encode())
    os._exit(0)
_editflow_harness()
'''.replace("MARKER_PREFIX", repr(MARKER_PREFIX))


class SandboxRefused(ConfigError):
    """Strong isolation is unavailable here and the caller did not opt in to a weak level.

    A ConfigError, so that `editflow VERB` prints the message (which names the opt-in) and
    exits 2 instead of showing a traceback.
    """


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 10.0     # wall clock
    memory_mb: int = 2048       # address space
    max_processes: int = 32
    max_file_mb: int = 16
    max_open_files: int = 256
    tmpfs_mb: int = 64          # size of the private /tmp and /dev/shm
    max_output_bytes: int = 65_536  # kept per stream (the last ones); the rest is counted
    allow_weak_isolation: bool = False


@dataclass
class SandboxResult:
    status: str                 # passed | failed | timeout
    returncode: int | None
    duration_s: float
    stdout: str
    stderr: str
    isolation: str
    completed: bool = False     # the harness's end marker arrived: every statement ran
    output_bytes: int = 0       # stdout + stderr bytes the program wrote
    output_cut_bytes: int = 0   # of those, dropped while reading (beyond max_output_bytes)

    @property
    def passed(self) -> bool:
        return self.status == "passed"


# ---------------------------------------------------------------- libc, capabilities, seccomp

@lru_cache(maxsize=1)
def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]


@lru_cache(maxsize=1)
def _cap_last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", encoding="ascii") as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return 63


def _drop_privileges(uid: int) -> None:
    """Empty bounding set, fresh uid/gid without groups, all capability sets empty, no_new_privs."""
    libc = _libc()
    for cap in range(_cap_last_cap() + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # EINVAL for caps this kernel lacks: fine
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)  # clears permitted/effective/ambient (no KEEPCAPS)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    _check(libc.capset(ctypes.byref(header), (_CapData * 2)()), "capset (clear inheritable)")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")


# Per architecture: AUDIT_ARCH value, syscall numbers (from the kernel's unistd tables).
_SYSCALLS = {
    "x86_64": {
        "audit_arch": 0xC000003E, "socket": 41, "clone": 56, "clone3": 435,
        "denied": {"ptrace": 101, "mount": 165, "umount2": 166, "pivot_root": 155, "unshare": 272,
                   "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "keyctl": 250,
                   "add_key": 248, "request_key": 249, "bpf": 321, "perf_event_open": 298,
                   "userfaultfd": 323, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
                   "finit_module": 313, "delete_module": 176, "reboot": 169, "swapon": 167,
                   "swapoff": 168, "open_by_handle_at": 304, "name_to_handle_at": 303, "chroot": 161,
                   "acct": 163, "settimeofday": 164, "sethostname": 170, "setdomainname": 171,
                   "iopl": 172, "ioperm": 173, "io_uring_setup": 425, "io_uring_enter": 426,
                   "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
                   "fsconfig": 431, "fsmount": 432, "fspick": 433, "mount_setattr": 442},
    },
    "aarch64": {
        "audit_arch": 0xC00000B7, "socket": 198, "clone": 220, "clone3": 435,
        "denied": {"ptrace": 117, "mount": 40, "umount2": 39, "pivot_root": 41, "unshare": 97,
                   "setns": 268, "process_vm_readv": 270, "process_vm_writev": 271, "keyctl": 219,
                   "add_key": 217, "request_key": 218, "bpf": 280, "perf_event_open": 241,
                   "userfaultfd": 282, "kexec_load": 104, "kexec_file_load": 294, "init_module": 105,
                   "finit_module": 273, "delete_module": 106, "reboot": 142, "swapon": 224,
                   "swapoff": 225, "open_by_handle_at": 265, "name_to_handle_at": 264, "chroot": 51,
                   "acct": 89, "settimeofday": 170, "sethostname": 161, "setdomainname": 162,
                   "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
                   "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
                   "fsmount": 432, "fspick": 433, "mount_setattr": 442},
    },
}

# classic BPF opcodes
_LD_W_ABS, _JEQ_K, _JGE_K, _JSET_K, _RET_K = 0x20, 0x15, 0x35, 0x45, 0x06
_RET_ALLOW, _RET_KILL = 0x7FFF0000, 0x80000000  # SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS
_RET_ERRNO = 0x00050000


def _bpf_program(arch: str) -> bytes:
    """The seccomp filter of the module docstring, assembled as classic BPF.

    seccomp_data: nr at offset 0, arch at 4, args[i] at 16 + 8 i (low 32 bits first on these
    little-endian architectures). Jumps are written with labels and resolved at the end.
    """
    table = _SYSCALLS[arch]
    code: list[tuple] = []  # (op, jt, jf, k) with jt/jf as label names or 0

    def emit(op, k=0, jt=0, jf=0):
        code.append((op, jt, jf, k))

    emit(_LD_W_ABS, 4)
    emit(_JEQ_K, table["audit_arch"], jt=0, jf="kill")
    emit(_LD_W_ABS, 0)
    if arch == "x86_64":
        emit(_JGE_K, 0x40000000, jt="eperm")  # x32 ABI numbers
    for nr in table["denied"].values():
        emit(_JEQ_K, nr, jt="eperm")
    emit(_JEQ_K, table["clone3"], jt="enosys")
    emit(_JEQ_K, table["socket"], jt="socket")
    emit(_JEQ_K, table["clone"], jt="clone")
    emit(_RET_K, _RET_ALLOW)
    labels = {"socket": len(code)}
    emit(_LD_W_ABS, 16)
    emit(_JEQ_K, AF_INET, jt="allow")
    emit(_JEQ_K, AF_INET6, jt="allow")
    emit(_RET_K, _RET_ERRNO | errno.EPERM)  # AF_UNIX, AF_NETLINK, AF_PACKET, ...
    labels["clone"] = len(code)
    emit(_LD_W_ABS, 16)
    emit(_JSET_K, CLONE_NAMESPACE_FLAGS, jt="eperm")
    labels["allow"] = len(code)
    emit(_RET_K, _RET_ALLOW)
    labels["eperm"] = len(code)
    emit(_RET_K, _RET_ERRNO | errno.EPERM)
    labels["enosys"] = len(code)
    emit(_RET_K, _RET_ERRNO | errno.ENOSYS)
    labels["kill"] = len(code)
    emit(_RET_K, _RET_KILL)

    out = bytearray()
    for i, (op, jt, jf, k) in enumerate(code):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        if not (0 <= jt < 256 and 0 <= jf < 256):  # pragma: no cover - table too long
            raise ValueError("seccomp filter jump out of range")
        out += struct.pack("=HBBI", op, jt, jf, k)
    return bytes(out)


def _seccomp_arch() -> str | None:
    arch = platform.machine()
    return arch if arch in _SYSCALLS else None


def _install_seccomp(program: bytes) -> None:
    prog = _SockFprog(len(program) // 8, program)
    _check(_libc().prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0),
           "prctl(PR_SET_SECCOMP)")


# ---------------------------------------------------------------- mount namespace

def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None) -> None:
    enc = (lambda s: None if s is None else s.encode())
    _check(_libc().mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           f"mount {target}")


_KEPT_MOUNT_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
                     "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}


def _mountinfo() -> list[tuple[str, int]]:
    """(mount point, flags to keep on a read-only remount) of this mount namespace."""
    found = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            parts = line.split()
            point = parts[4].encode().decode("unicode_escape")  # \040 etc.
            flags = sum(_KEPT_MOUNT_FLAGS.get(opt, 0) for opt in parts[5].split(","))
            found.append((point, flags))
    return found


@dataclass(frozen=True)
class _MountPlan:
    """What the child mounts: which hidden directories to cover and what to reveal in them."""
    reveal: tuple[tuple[str, tuple[str, ...]], ...] = field(default_factory=tuple)


def _blocking_ancestor(path: str) -> str | None:
    """The first proper ancestor of `path` that other users cannot search (o-x), or None."""
    parts = path.strip("/").split("/")
    for depth in range(len(parts) - 1):
        ancestor = "/" + "/".join(parts[:depth]) if depth else "/"
        try:
            if not os.stat(ancestor).st_mode & stat.S_IXOTH:
                return ancestor
        except OSError:
            return None
    return None


def _interpreter_trees() -> set[str]:
    """The directories the program's interpreter runs from (base prefix, prefix, executable)."""
    return {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, sys.exec_prefix,
                                          os.path.dirname(os.path.realpath(sys.executable)),
                                          os.path.dirname(os.path.abspath(sys.executable)))}


def _outermost(paths) -> list[str]:
    paths = sorted(set(paths))
    return [p for p in paths if not any(p != q and p.startswith(q + "/") for q in paths)]


@lru_cache(maxsize=1)
def _mount_plan() -> _MountPlan:
    """The interpreter's trees (base prefix, prefix, executable) that sit below an o-x directory."""
    needed = _interpreter_trees()
    by_dir: dict[str, set[str]] = {}
    for path in sorted(needed):
        blocked = _blocking_ancestor(path)
        if blocked is not None:
            by_dir.setdefault(blocked, set()).add(path)
    reveal = []
    for blocked, paths in sorted(by_dir.items()):
        outer = sorted(p for p in paths if not any(p != q and p.startswith(q + "/") for q in paths))
        reveal.append((blocked, tuple(outer)))
    return _MountPlan(tuple(reveal))


def _enter_namespaces(plan: _MountPlan, tmpfs_mb: int) -> None:
    """New mount/net/IPC/UTS namespaces; private tmpfs /tmp and /dev/shm; the rest read-only."""
    _check(_libc().unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS), "unshare")
    _mount(None, "/", None, MS_REC | MS_PRIVATE, None)
    keep_open = []
    for blocked, paths in plan.reveal:
        fds = [os.open(p, os.O_PATH | os.O_DIRECTORY) for p in paths]
        keep_open += fds
        _mount("tmpfs", blocked, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        for path, fd in zip(paths, fds):
            os.makedirs(path, exist_ok=True)
            _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
    for fd in keep_open:
        os.close(fd)
    fresh = [os.path.realpath(p) for p in ("/tmp", "/dev/shm") if os.path.isdir(p)]  # /dev/shm may link to /run/shm
    # An interpreter that lives below /tmp (a virtualenv in a checkout under /tmp, as CI makes)
    # would vanish under the fresh tmpfs: bind it back in (made read-only with the rest below).
    inside = _outermost(p for p in _interpreter_trees() if any(p == f or p.startswith(f + "/") for f in fresh))
    inside_fds = [os.open(p, os.O_PATH | os.O_DIRECTORY) for p in inside]
    for point in fresh:
        _mount("tmpfs", point, "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmpfs_mb}m,mode=1777")
    for path, fd in zip(inside, inside_fds):
        os.makedirs(path, mode=0o755, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC, None)
        os.close(fd)
    for point, flags in _mountinfo():
        if point in fresh:
            continue
        try:
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags, None)
        except OSError:
            if point == "/":
                raise
            # a mount hidden below /tmp, or one the kernel will not remount: not writable by
            # the sandbox uid anyway unless world-writable, which / being read-only covers.


# ---------------------------------------------------------------- levels

def _sandbox_uid() -> int:
    # A fresh uid per run: parallel runs never kill each other's programs, and zombies that
    # init has not reaped yet never count against the next run's RLIMIT_NPROC.
    return SANDBOX_UID_BASE + secrets.randbelow(1_000_000)


def _child_setup(level: str, uid: int | None, limits: SandboxLimits, nproc: int,
                 workdir_in_tmpfs: str | None, program: str | None):
    """The function that runs in the child between fork and exec (as root for the uid levels)."""
    cpu = int(limits.timeout_s) + 1
    _libc(), _cap_last_cap()  # resolved here, in the parent: the child must not search for libc
    plan = _mount_plan() if level in STRONG_LEVELS else None
    arch = _seccomp_arch()
    bpf = _bpf_program(arch) if arch and level in ("namespaces+seccomp", "uid") else None

    def setup() -> None:
        if plan is not None:
            _enter_namespaces(plan, limits.tmpfs_mb)
        if workdir_in_tmpfs is not None:
            os.mkdir(workdir_in_tmpfs, 0o700)
            with open(os.path.join(workdir_in_tmpfs, "program.py"), "w", encoding="utf-8") as fh:
                fh.write(program)
            os.chown(workdir_in_tmpfs, uid, uid)
            os.chdir(workdir_in_tmpfs)
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        mem = limits.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        size = limits.max_file_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files, limits.max_open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        if uid is not None:
            _drop_privileges(uid)
        if bpf is not None:
            _install_seccomp(bpf)

    return setup


def _probe(level: str) -> bool:
    """Does `level` start the interpreter here? (One throw-away child.)"""
    uid = _sandbox_uid() if level != "socket-patch" else None
    workdir = f"/tmp/editflow-probe-{secrets.token_hex(6)}" if level in STRONG_LEVELS else None
    try:
        subprocess.run([sys.executable, "-I", "-c", "import os"], check=True, cwd="/",
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                       preexec_fn=_child_setup(level, uid, SandboxLimits(), 64, workdir, ""))
        return True
    except (OSError, subprocess.SubprocessError):
        return False
    finally:
        if uid is not None:
            _kill_uid(uid)


@lru_cache(maxsize=1)
def isolation() -> str:
    """The strongest level that works here (see the module docstring)."""
    if sys.platform != "linux":
        return "socket-patch"
    if os.geteuid() == 0:
        candidates = (["namespaces+seccomp"] if _seccomp_arch() else []) + ["namespaces", "uid"]
        for level in candidates:
            if _probe(level):
                return level
    return "socket-patch"


def is_strong(level: str | None = None) -> bool:
    return (isolation() if level is None else level) in STRONG_LEVELS


def weak_allowed(limits: SandboxLimits) -> bool:
    return limits.allow_weak_isolation or os.environ.get(ALLOW_WEAK_ENV, "") == "1"


def check_isolation(limits: SandboxLimits = SandboxLimits()) -> str:
    """The level that will run, or SandboxRefused when it is weak and nobody opted in."""
    level = isolation()
    if level not in STRONG_LEVELS and not weak_allowed(limits):
        raise SandboxRefused(
            f"the sandbox cannot isolate model code here (level {level!r}: needs root and Linux "
            f"mount/network namespaces); refusing to execute it. Run as root in a container, or "
            f"opt in to weak isolation with {ALLOW_WEAK_ENV}=1 (in code: "
            f"SandboxLimits(allow_weak_isolation=True); editflow benchmark: --allow-weak-isolation)")
    return level


# ---------------------------------------------------------------- running

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


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class _CappedStream:
    """Keeps the last `cap` bytes of a stream and counts the rest; finds the end marker."""

    def __init__(self, cap: int, marker: bytes | None = None):
        self.cap, self.marker = cap, marker
        self.buf = bytearray()
        self.total = 0
        self.found = False
        self._carry = b""

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.marker is not None and not self.found:
            window = self._carry + chunk
            self.found = self.marker in window
            self._carry = window[-(len(self.marker) - 1):]
        self.buf += chunk
        if len(self.buf) > 2 * self.cap:
            del self.buf[:len(self.buf) - self.cap]

    def text(self, tail_chars: int) -> str:
        data = bytes(self.buf[-self.cap:])
        if self.marker is not None:
            data = data.replace(b"\n" + self.marker, b"")
        return data.decode("utf-8", "replace")[-tail_chars:]

    @property
    def kept(self) -> int:
        return min(len(self.buf), self.cap)


def _read_capped(deadline: float, streams: dict) -> bool:
    """Drain stdout/stderr until both close or the deadline passes; True if it passed."""
    sel = selectors.DefaultSelector()
    for pipe, sink in streams.items():
        os.set_blocking(pipe.fileno(), False)
        sel.register(pipe, selectors.EVENT_READ, sink)
    try:
        while sel.get_map():
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            for key, _ in sel.select(timeout=min(left, 1.0)):
                try:
                    chunk = os.read(key.fileobj.fileno(), 1 << 16)
                except BlockingIOError:
                    continue
                if chunk:
                    key.data.feed(chunk)
                else:
                    sel.unregister(key.fileobj)
        return False
    finally:
        sel.close()


def run_python(code: str, limits: SandboxLimits = SandboxLimits(), tail_chars: int = 2000) -> SandboxResult:
    """Run `code` as a Python program under the sandbox.

    Passed iff the harness saw the program's last statement run (end marker) and it exited 0
    in time. Raises SandboxRefused when only weak isolation is possible and not opted in.
    """
    level = check_isolation(limits)
    strong = level in STRONG_LEVELS
    uid = _sandbox_uid() if level != "socket-patch" else None
    nproc = limits.max_processes if uid is not None else \
        _user_process_count(os.getuid()) + limits.max_processes
    program = code if strong else SOCKET_PRELUDE + code
    host_dir = None
    if strong:  # the working directory is made by the child inside its private /tmp
        workdir = f"/tmp/editflow-sandbox-{secrets.token_hex(8)}"
        cwd = "/"
    else:
        host_dir = workdir = cwd = tempfile.mkdtemp(prefix="editflow-sandbox-")
        with open(os.path.join(workdir, "program.py"), "w", encoding="utf-8") as fh:
            fh.write(program)
        if uid is not None:
            os.chown(workdir, uid, uid)
            os.chown(os.path.join(workdir, "program.py"), uid, uid)
    nonce = secrets.token_hex(16)
    env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = _CappedStream(limits.max_output_bytes, f"{MARKER_PREFIX}{nonce}".encode())
    err = _CappedStream(limits.max_output_bytes)
    try:
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-c", HARNESS], cwd=cwd, env=env, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            preexec_fn=_child_setup(level, uid, limits, nproc, workdir if strong else None, program))
        try:
            proc.stdin.write(f"{nonce}\n".encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        deadline = start + limits.timeout_s
        timed_out = _read_capped(deadline, {proc.stdout: out, proc.stderr: err})
        if not timed_out:  # both pipes closed: give the program the rest of its time to exit
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                timed_out = True
        # Kill everything the program started (also children that left its process group and
        # still hold its output pipes), then collect what is left in the pipes.
        _kill_group(proc.pid)
        if uid is not None:
            _kill_uid(uid)
        _read_capped(time.monotonic() + 5, {p: s for p, s in ((proc.stdout, out), (proc.stderr, err))
                                                   if not p.closed})
        proc.stdout.close()
        proc.stderr.close()
        try:
            rc = proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process we cannot kill
            proc.kill()
            rc = proc.wait()
        duration = time.monotonic() - start
        if timed_out or rc in (-signal.SIGXCPU, -signal.SIGKILL):
            status = "timeout"
        else:
            status = "passed" if rc == 0 and out.found else "failed"
        total = out.total + err.total
        return SandboxResult(status, rc, duration, out.text(tail_chars), err.text(tail_chars), level,
                             completed=out.found, output_bytes=total,
                             output_cut_bytes=total - out.kept - err.kept)
    finally:
        if host_dir is not None:
            shutil.rmtree(host_dir, ignore_errors=True)


def run_tests(prediction: str, tests: str, limits: SandboxLimits = SandboxLimits()) -> SandboxResult:
    """The prediction followed by the example's test code, as one program."""
    return run_python(f"{prediction}\n\n{tests}\n", limits)
