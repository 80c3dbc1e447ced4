"""Generated code runs contained: no network, fork bombs, huge allocations and endless loops
all end quickly, and nothing is left running afterwards."""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest

from editflow.metrics import sandbox
from editflow.metrics.sandbox import SandboxLimits, isolation, run_python, run_tests

LIMITS = SandboxLimits(timeout_s=3.0, memory_mb=1024, max_processes=16)


def _sandbox_processes() -> list[int]:
    """Processes running under a sandbox uid (uid >= SANDBOX_UID_BASE)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as fh:
                uid_line = next(line for line in fh if line.startswith("Uid:"))
            state = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()[0]
        except (OSError, StopIteration, IndexError):
            continue
        if int(uid_line.split()[1]) >= sandbox.SANDBOX_UID_BASE and state != "Z":
            found.append(int(entry))
    return found


@pytest.fixture
def listener():
    """A TCP server on 127.0.0.1 that records every connection it accepts."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    srv.settimeout(0.2)
    accepted: list[object] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                accepted.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    thread.join()
    srv.close()


def test_passing_and_failing_tests():
    assert run_tests("def double(x):\n    return 2 * x", "assert double(21) == 42", LIMITS).status == "passed"
    failed = run_tests("def double(x):\n    return x + 2", "assert double(21) == 42", LIMITS)
    assert failed.status == "failed" and "AssertionError" in failed.stderr
    assert isolation() in sandbox.STRONG_LEVELS + sandbox.WEAK_LEVELS


def test_no_network(listener):
    port, accepted = listener
    code = (f"import socket\ns = socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            f"print('connected')")
    result = run_python(code, LIMITS)
    assert result.status == "failed"
    assert "connected" not in result.stdout
    time.sleep(0.3)
    assert accepted == []


def test_socket_patch_fallback_blocks_sockets(listener, monkeypatch):
    port, accepted = listener
    monkeypatch.setattr(sandbox, "isolation", lambda: "socket-patch")
    weak = SandboxLimits(timeout_s=3.0, memory_mb=1024, allow_weak_isolation=True)
    result = run_python(f"import socket\nsocket.socket().connect(('127.0.0.1', {port}))", weak)
    assert result.status == "failed" and "network access is disabled" in result.stderr
    assert result.isolation == "socket-patch"
    assert accepted == []


@pytest.mark.skipif(isolation() == "socket-patch",
                    reason="RLIMIT_NPROC only contains a fork bomb when the sandbox can drop to its own uid")
def test_fork_bomb_is_contained():
    start = time.monotonic()
    result = run_python("import os\nwhile True:\n    os.fork()", LIMITS)
    assert result.status in ("failed", "timeout")
    assert time.monotonic() - start < LIMITS.timeout_s + 5
    assert _sandbox_processes() == []


def test_ten_gigabytes_fail_fast():
    start = time.monotonic()
    result = run_python("x = bytearray(10 * 1024 ** 3)\nprint(len(x))", LIMITS)
    assert result.status == "failed" and "MemoryError" in result.stderr
    assert time.monotonic() - start < 2.5


def test_endless_loop_is_killed_on_time():
    start = time.monotonic()
    result = run_python("while True:\n    pass", SandboxLimits(timeout_s=1.5))
    assert result.status == "timeout"
    assert time.monotonic() - start < 4


def test_escaped_children_are_killed_too():
    # a child that leaves the process group and keeps the output pipe open
    start = time.monotonic()
    result = run_python("import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\n",
                        SandboxLimits(timeout_s=1.5))
    assert result.status == "timeout"
    assert time.monotonic() - start < 6
    if isolation() != "socket-patch":
        assert _sandbox_processes() == []


def test_runs_in_a_temporary_directory_without_write_access_elsewhere(tmp_path):
    result = run_python("import os\nopen('scratch.txt', 'w').write('ok')\nprint(os.getcwd())", LIMITS)
    assert result.status == "passed"
    workdir = result.stdout.strip()
    assert "editflow-sandbox-" in workdir and not os.path.exists(workdir)  # removed afterwards
    if isolation() != "socket-patch":
        target = tmp_path / "owned-by-root.txt"
        target.write_text("keep")
        os.chmod(tmp_path, 0o755)
        result = run_python(f"open({str(target)!r}, 'w').write('gone')", LIMITS)
        assert result.status == "failed" and target.read_text() == "keep"
