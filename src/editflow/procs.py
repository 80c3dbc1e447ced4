"""Child processes that end with their parent.

Why: a stage killed with SIGKILL (a scheduler's time limit, an OOM kill, `kill -9`) gets no
chance to shut its process pool down, and pool workers blocked on their task queue live
on, each holding hundreds of MB. On Linux, prctl(PR_SET_PDEATHSIG, SIGKILL) makes the
kernel kill the worker when the thread that started it exits; elsewhere the call is a no-op.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int | None = None) -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies; True if armed.

    Call it first thing in a child (a pool initializer, or an at-fork hook). A parent
    that died before the call cannot signal any more: then this process exits at once.
    `expected_parent`: the parent's pid as the parent saw it (default: the current one)."""
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid() if expected_parent is None else expected_parent
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent is already gone (we were re-parented)
        os._exit(1)
    return True


_armed = False
_forking_pid = 0


def _remember_forking_pid() -> None:
    global _forking_pid
    _forking_pid = os.getpid()


def _arm_child() -> None:
    die_with_parent(_forking_pid)  # the value the parent stored just before it forked


def forked_children_die_with_parent() -> None:
    """Arm die_with_parent in every child forked from now on (os.fork, multiprocessing's
    fork context such as a fork-based ProcessPoolExecutor; their own forks too). Idempotent."""
    global _armed
    if _armed:
        return
    _armed = True
    os.register_at_fork(before=_remember_forking_pid, after_in_child=_arm_child)
