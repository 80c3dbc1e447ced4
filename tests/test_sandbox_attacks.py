"""Model code tried as an attacker would: each attack of issue #18 fails under the sandbox.

Host-side fixtures live under /var/tmp (not /tmp, which the sandbox replaces by its own tmpfs,
so a secret there would prove nothing). Tests that need the strong level skip with the reason
where it is unavailable (not root, no namespaces); the refusal and the verdict tests run
everywhere.
"""
from __future__ import annotations

import os
import resource
import shutil
import socket
import stat
import threading
import uuid

import pytest

from editflow.metrics import sandbox
from editflow.metrics.sandbox import SandboxLimits, SandboxRefused, is_strong, isolation, run_python, run_tests

LIMITS = SandboxLimits(timeout_s=5.0, memory_mb=1024, max_processes=16)
strong_only = pytest.mark.skipif(not is_strong(), reason=f"strong isolation unavailable here ({isolation()}): "
                                                        f"needs root and mount/network namespaces")


@pytest.fixture
def host_dir():
    """A world-searchable directory on the host filesystem outside /tmp."""
    base = "/var/tmp" if os.path.isdir("/var/tmp") else os.path.expanduser("~")
    path = os.path.join(base, f"editflow-attack-{uuid.uuid4().hex[:10]}")
    os.mkdir(path)
    os.chmod(path, 0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@strong_only
def test_privileges_are_gone():
    code = ("status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
            "for key in ('CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'CapInh', 'NoNewPrivs', 'Seccomp'):\n"
            "    print(key, status[key].strip())\n"
            "import os\nprint('uid', os.getuid(), os.geteuid())")
    result = run_python(code, LIMITS)
    assert result.passed, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.strip().splitlines())
    for key in ("CapEff", "CapPrm", "CapBnd", "CapAmb", "CapInh"):
        assert lines[key] == "0000000000000000"
    assert lines["NoNewPrivs"] == "1"
    assert lines["Seccomp"] == ("2" if isolation() == "namespaces+seccomp" else "0")
    uid, euid = map(int, lines["uid"].split())
    assert uid == euid >= sandbox.SANDBOX_UID_BASE


@strong_only
def test_root_only_file_cannot_be_read(host_dir):
    secret = os.path.join(host_dir, "secret.txt")
    with open(secret, "w") as fh:
        fh.write("root-only")
    os.chmod(secret, 0o600)
    result = run_python(f"print(open({secret!r}).read())", LIMITS)
    assert result.status == "failed" and "PermissionError" in result.stderr
    assert "root-only" not in result.stdout


@strong_only
def test_setuid_root_binary_does_not_elevate(host_dir):
    binary = os.path.join(host_dir, "id-suid")
    shutil.copy(shutil.which("id") or "/usr/bin/id", binary)
    os.chown(binary, 0, 0)
    os.chmod(binary, 0o4755)
    assert os.stat(binary).st_mode & stat.S_ISUID
    result = run_python(f"import subprocess\nprint(subprocess.run([{binary!r}, '-u'], capture_output=True, "
                        f"text=True).stdout.strip())", LIMITS)
    assert result.passed, result.stderr
    assert int(result.stdout.strip()) >= sandbox.SANDBOX_UID_BASE  # not 0


def _unix_server(address):
    """A Unix stream server at `address`; returns (stop function, received messages)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(address)
    srv.listen()
    srv.settimeout(0.2)
    received: list[bytes] = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                received.append(conn.recv(100) or b"<connected>")
                conn.close()
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    def shutdown():
        stop.set()
        thread.join()
        srv.close()

    return shutdown, received


@strong_only
@pytest.mark.parametrize("kind", ["path", "abstract"])
def test_unix_sockets_do_not_reach_the_host(kind, host_dir):
    if kind == "path" and isolation() != "namespaces+seccomp":
        pytest.skip("a host socket file is only unreachable with the seccomp filter (x86_64, aarch64)")
    if kind == "path":
        address = os.path.join(host_dir, "host.sock")
    else:
        address = f"\0editflow-attack-{uuid.uuid4().hex}"
    shutdown, received = _unix_server(address)
    try:
        if kind == "path":
            os.chmod(address, 0o777)
        code = (f"import socket\ns = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
                f"s.connect({address!r})\ns.sendall(b'leak')\nprint('sent')")
        result = run_python(code, LIMITS)
        assert result.status == "failed" and "sent" not in result.stdout
        assert "PermissionError" in result.stderr or "ConnectionRefusedError" in result.stderr \
            or "FileNotFoundError" in result.stderr
    finally:
        shutdown()
    assert received == []


@strong_only
def test_host_tmp_and_shm_stay_untouched(host_dir):
    name = f"editflow-attack-{uuid.uuid4().hex}"
    targets = ["/tmp/" + name] + (["/dev/shm/" + name] if os.path.isdir("/dev/shm") else [])
    code = "\n".join(f"open({t!r}, 'w').write('x')" for t in targets) + "\nprint('written')"
    result = run_python(code, LIMITS)
    assert result.passed and "written" in result.stdout  # inside the sandbox's private tmpfs
    assert not any(os.path.exists(t) for t in targets)
    # every other world-writable place is read-only
    result = run_python(f"open({os.path.join(host_dir, name)!r}, 'w').write('x')", LIMITS)
    assert result.status == "failed" and "Read-only file system" in result.stderr
    assert not os.path.exists(os.path.join(host_dir, name))


@pytest.mark.parametrize("exit_code", ["import os\nos._exit(0)", "raise SystemExit(0)", "import sys\nsys.exit()",
                                       "import os, signal\nos.kill(os.getpid(), signal.SIGTERM)"])
def test_early_exit_before_failing_tests_is_not_a_pass(exit_code, monkeypatch):
    monkeypatch.setenv(sandbox.ALLOW_WEAK_ENV, "1")
    prediction = f"def double(x):\n    return x + 2\n\n{exit_code}"
    result = run_tests(prediction, "assert double(21) == 42", LIMITS)
    assert result.status == "failed" and not result.completed


def test_a_guessed_marker_is_not_a_pass(monkeypatch):
    monkeypatch.setenv(sandbox.ALLOW_WEAK_ENV, "1")
    fake = f"print('\\n{sandbox.MARKER_PREFIX}' + '0' * 32)\nimport os\nos._exit(0)"
    result = run_tests(fake, "assert False", LIMITS)
    assert result.status == "failed" and not result.completed


def test_tests_that_run_to_the_end_pass(monkeypatch):
    monkeypatch.setenv(sandbox.ALLOW_WEAK_ENV, "1")
    result = run_tests("def double(x):\n    return 2 * x\nprint('hello')", "assert double(21) == 42", LIMITS)
    assert result.passed and result.completed and result.returncode == 0
    assert result.stdout.strip() == "hello"  # the marker is not shown


def test_huge_output_is_cut_and_counted_while_reading(monkeypatch):
    monkeypatch.setenv(sandbox.ALLOW_WEAK_ENV, "1")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    code = ("import os\nchunk = b'x' * (1 << 20)\nfor _ in range(600):\n    os.write(1, chunk)\n"
            "os.write(2, b'done')")
    result = run_python(code, SandboxLimits(timeout_s=30, max_output_bytes=4096))
    assert result.passed, result.stderr
    assert result.output_bytes == 600 * (1 << 20) + 4 + len(f"\n{sandbox.MARKER_PREFIX}") + 33
    assert result.output_cut_bytes == result.output_bytes - 4096 - 4
    assert result.stderr == "done" and set(result.stdout.strip()) == {"x"}
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert growth_mb < 50


def test_weak_isolation_is_refused_unless_opted_in(monkeypatch):
    monkeypatch.delenv(sandbox.ALLOW_WEAK_ENV, raising=False)
    monkeypatch.setattr(sandbox, "isolation", lambda: "socket-patch")
    with pytest.raises(SandboxRefused, match="allow_weak_isolation"):
        run_python("print(1)", LIMITS)
    opted = SandboxLimits(timeout_s=5.0, allow_weak_isolation=True)
    result = run_python("print(1)", opted)
    assert result.passed and result.isolation == "socket-patch" and result.stdout.strip() == "1"
    monkeypatch.setenv(sandbox.ALLOW_WEAK_ENV, "1")
    assert run_python("print(1)", LIMITS).isolation == "socket-patch"


def test_closing_the_output_pipes_neither_passes_nor_ends_the_clock_early(monkeypatch):
    monkeypatch.setenv(sandbox.ALLOW_WEAK_ENV, "1")
    silent = "import os, time\nos.close(1)\nos.close(2)\ntime.sleep({})\nassert {}"
    assert run_python(silent.format(0.3, "True"), LIMITS).status == "failed"  # no marker can arrive
    result = run_python(silent.format(60, "True"), SandboxLimits(timeout_s=1.5))
    assert result.status == "timeout" and 1.4 < result.duration_s < 5


@strong_only
def test_without_seccomp_the_namespaces_still_hold(monkeypatch, host_dir):
    """The `namespaces` level (architectures without our filter): no capabilities, private
    /tmp, and abstract Unix sockets live in the sandbox's own network namespace."""
    monkeypatch.setattr(sandbox, "isolation", lambda: "namespaces")
    address = f"\0editflow-attack-{uuid.uuid4().hex}"
    shutdown, received = _unix_server(address)
    name = f"/tmp/editflow-attack-{uuid.uuid4().hex}"
    code = ("status = dict(line.split(':', 1) for line in open('/proc/self/status'))\n"
            "print(status['Seccomp'].strip(), status['CapEff'].strip())\n"
            f"open({name!r}, 'w').write('x')\n"
            f"import socket\ns = socket.socket(socket.AF_UNIX)\ns.connect({address!r})")
    try:
        result = run_python(code, LIMITS)
    finally:
        shutdown()
    assert result.isolation == "namespaces" and result.stdout.split() == ["0", "0000000000000000"]
    assert result.status == "failed" and "ConnectionRefusedError" in result.stderr
    assert received == [] and not os.path.exists(name)


def test_ordinary_programs_still_run(monkeypatch):
    """Threads, subprocesses, a multiprocessing pool (semaphores in /dev/shm), temp files,
    socketpair and numpy all work under the filter and the read-only view."""
    monkeypatch.setenv(sandbox.ALLOW_WEAK_ENV, "1")
    code = ("import threading, subprocess, multiprocessing, tempfile, socket\n"
            "t = threading.Thread(target=print, args=('thread',))\nt.start()\nt.join()\n"
            "print(subprocess.run(['echo', 'child'], capture_output=True, text=True).stdout.strip())\n"
            "def neg(x):\n    return -x\n"
            "with multiprocessing.Pool(2) as pool:\n    print(pool.map(neg, [-1, -2, 3]))\n"
            "with tempfile.NamedTemporaryFile() as fh:\n    print(fh.write(b'xyz'))\n"
            "a, b = socket.socketpair()\na.send(b'ok')\nprint(b.recv(2).decode())\n"
            "import numpy\nprint(int(numpy.arange(4).sum()))\n"
            "print(sorted(k for k in globals() if not k.startswith('__')) == "
            "['a', 'b', 'fh', 'multiprocessing', 'neg', 'numpy', 'pool', 'socket', 'subprocess', 't', "
            "'tempfile', 'threading'])\n"
            "os = sys = None  # the harness does not depend on the program's globals")
    result = run_python(code, SandboxLimits(timeout_s=30))
    assert result.passed, result.stderr
    assert result.stdout.split() == ["thread", "child", "[1,", "2,", "-3]", "3", "ok", "6", "True"]


def test_score_refuses_weak_isolation_with_a_clear_error(tmp_path, monkeypatch, capsys, caplog):
    import json as _json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from editflow.cli import main

    pq.write_table(pa.table({"example_id": ["e1"], "prediction": ["x = 1"], "reference": ["x = 1"],
                             "tests": ["assert x == 1"]}), tmp_path / "pred.parquet")
    monkeypatch.delenv(sandbox.ALLOW_WEAK_ENV, raising=False)
    monkeypatch.setattr(sandbox, "isolation", lambda: "socket-patch")
    args = ["score", "--in", str(tmp_path / "pred.parquet"), "--out", str(tmp_path / "s.parquet"),
            "--tokenizer", "whitespace", "--workers", "1"]
    assert main(args) == 2
    said = capsys.readouterr().err + caplog.text  # printed by the CLI or logged by the verb
    assert "refusing to execute it" in said and "allow_weak_isolation" in said
    assert not (tmp_path / "s.parquet").exists()
    monkeypatch.setenv(sandbox.ALLOW_WEAK_ENV, "1")
    assert main(args) == 0
    details = _json.loads(pq.read_schema(tmp_path / "s.parquet").metadata[b"editflow.score"])
    assert details["sandbox"]["isolation"] == "socket-patch"
