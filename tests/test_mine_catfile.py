"""The cat-file reader, its read-ahead thread and its thread-less pipeline: exact bytes,
and every odd answer (missing, over-size, not a blob, git dead) is None or a size, never an
exception or a reader out of step with git's output."""
from __future__ import annotations

import shutil

import pygit2
import pytest

from editflow.mine.catfile import CatFile, Pipeline, Prefetcher

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")

ABSENT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture()
def repo(tmp_path):
    r = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    blobs = {name: data for name, data in [
        ("small", b"x = 1\n"), ("empty", b""), ("newlines", b"\n\n\n"),
        ("big", bytes(range(256)) * 4000 + b"tail\n"),  # 1 MB, every byte value, > RECV_CHUNK
    ]}
    ids = {name: str(r.create_blob(data)) for name, data in blobs.items()}
    tb = r.TreeBuilder()
    tb.insert("small.py", pygit2.Oid(hex=ids["small"]), pygit2.GIT_FILEMODE_BLOB)
    ids["tree"] = str(tb.write())
    return r, ids, blobs


def test_catfile_reads_exact_bytes_and_stays_in_step(repo):
    r, ids, blobs = repo
    cf = CatFile(r.path)
    try:
        for name in ("big", "small", "empty", "newlines", "big"):
            assert bytes(cf.read(ids[name], 10 << 20)) == blobs[name]
        assert cf.read(ABSENT, 100) is None  # "<oid> missing": no body
        assert cf.read(ids["big"], 1000) == len(blobs["big"])  # over the limit: the size, body skipped
        assert cf.read(ids["tree"], 100) is None  # not a blob: body skipped
        assert bytes(cf.read(ids["small"], 100)) == b"x = 1\n"  # still in step
        pid = cf.proc.pid
        cf.proc.kill()  # git dies (as on a corrupt pack): None, then a new process
        cf.proc.wait()
        assert bytes(cf.read(ids["newlines"], 100)) == b"\n\n\n" and cf.proc.pid != pid
        cf.proc.stdin.close()  # a broken pipe to git: None, and a clean restart next time
        assert cf.read(ids["small"], 100) is None and cf.proc is None
        assert bytes(cf.read(ids["small"], 100)) == b"x = 1\n"
    finally:
        cf.close()
    assert cf.proc is None and cf.sock is None


@pytest.mark.parametrize("answer", [b"", b"abc blob 10\nxyz", b"abc blob 3\nxyzW", b"abc blob x\n"])
def test_catfile_truncated_or_garbled_output_is_none(tmp_path, answer):
    """git dies half-way through an answer (or answers nonsense): None, never a hang."""
    import socket
    import subprocess

    cf = CatFile(str(tmp_path))
    ours, theirs = socket.socketpair()
    cf.proc = subprocess.Popen(["sleep", "30"], stdin=subprocess.PIPE)  # stands in for git
    cf.sock = ours
    theirs.sendall(answer)
    theirs.close()
    assert cf.read(ABSENT, 100) is None
    assert cf.proc is None and cf.sock is None


def test_prefetcher_requested_unrequested_forgotten(repo):
    r, ids, blobs = repo
    pf = Prefetcher(CatFile(r.path), 10 << 20)
    try:
        for i, name in enumerate(("big", "small", "empty")):
            pf.request(ids[name], len(blobs[name]), tag=i)
        pf.request(ids["big"], len(blobs["big"]), tag=9)  # already requested: ignored
        assert pf.ahead_bytes == len(blobs["big"]) + 6
        assert bytes(pf.take(ids["small"])) == blobs["small"]  # out of order is fine
        assert bytes(pf.take(ids["newlines"])) == blobs["newlines"]  # never requested: read now
        assert pf.take(ABSENT) is None
        pf.forget_through(0)  # "big" (tag 0) will not be taken
        assert set(pf.slots) == {ids["empty"]} and pf.ahead_bytes == 0
        assert bytes(pf.take(ids["empty"])) == b"" and pf.ahead_bytes == 0
        assert bytes(pf.take(ids["big"])) == blobs["big"]  # read again after being forgotten
    finally:
        pf.close()
    assert pf.slots == {} and pf._thread is None
    assert bytes(pf.take(ids["small"])) == blobs["small"]  # usable again after close: restarts
    pf.close()


def test_prefetcher_restarts_dead_git_and_survives_a_failing_read(repo, monkeypatch):
    r, ids, blobs = repo
    cf = CatFile(r.path)
    pf = Prefetcher(cf, 10 << 20)
    try:
        assert bytes(pf.take(ids["small"])) == blobs["small"]
        cf.proc.kill()  # died between reads: the next read starts a new git
        cf.proc.wait()
        pf.request(ids["big"], len(blobs["big"]))
        assert bytes(pf.take(ids["big"])) == blobs["big"]
        real = cf.read

        def flaky(oid, max_bytes):
            if oid == ids["empty"]:
                raise RuntimeError("boom")  # anything at all: the consumer gets None
            return real(oid, max_bytes)

        monkeypatch.setattr(cf, "read", flaky)
        for name in ("empty", "small"):
            pf.request(ids[name], len(blobs[name]))
        assert pf.take(ids["empty"]) is None
        assert bytes(pf.take(ids["small"])) == blobs["small"]  # the thread lives on
    finally:
        pf.close()


def test_close_with_queued_reads_returns(repo):
    r, ids, blobs = repo
    pf = Prefetcher(CatFile(r.path), 10 << 20)
    for i in range(50):
        pf.request(ids["big"] if i == 0 else ids["small"], 1, tag=i)  # dedup: two slots
    pf.close()
    assert pf.slots == {} and pf.ahead_bytes == 0 and pf.catfile.proc is None


def test_read_ahead_does_not_change_the_output(tmp_path, monkeypatch):
    """Mined with read-ahead of every size and without it (pygit2): identical bytes, also
    when a commit's first side is skipped so its read-ahead twin is never collected."""
    import json
    import os

    from editflow.mine import extract
    from editflow.mine.extract import MineSettings
    from editflow.mine.miner import mine

    r = pygit2.init_repository(str(tmp_path / "r.git"), bare=True, initial_head="main")
    head, files = [], {}
    sig = pygit2.Signature("a", "a@example.org", 1_700_000_000, 0)

    def commit(i, changes):
        files.update(changes)
        tb = r.TreeBuilder()
        for name, data in sorted(files.items()):
            tb.insert(name, r.create_blob(data), pygit2.GIT_FILEMODE_BLOB)
        head[:] = [r.create_commit("refs/heads/main", sig, sig, f"c{i}\n", tb.write(), head[:])]

    def notebook(i):
        cells = [{"cell_type": "code", "source": f"x = {i}\n", "metadata": {}, "outputs": [],
                  "execution_count": None}]
        return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()

    for i in range(12):
        commit(i, {"a.ipynb": notebook(i), f"m{i % 3}.py": f"v = {i}\n".encode(),
                   **({"bin.py": b"\x00binary"} if i == 4 else {}), **({"bin.py": b"ok = 1\n"} if i == 5 else {})})
    gone = r[head[0]].tree["m1.py"].id  # the last version of m1.py: absent, as in a partial clone
    os.remove(os.path.join(r.path, "objects", str(gone)[:2], str(gone)[2:]))
    settings = MineSettings(repo_name="t/r", license=None)
    outs = []
    for reader, commits, size in [("pygit2", 16, 32 << 20), ("git-cat-file", 16, 32 << 20),
                                  ("git-cat-file", 1, 1), ("git-cat-file", 3, 40)]:
        monkeypatch.setattr(extract, "LOOKAHEAD_COMMITS", commits)
        monkeypatch.setattr(extract, "LOOKAHEAD_BYTES", size)
        d = tmp_path / f"{reader}-{commits}-{size}"
        d.mkdir()
        report = mine(r.path, d / "e.parquet", d / "s.parquet", settings, reader=reader)
        outs.append((d / "e.parquet").read_bytes() + (d / "s.parquet").read_bytes())
    assert report.edits == 24 - 1 and report.skips == {"binary": 2, "missing_object": 1}
    assert all(o == outs[0] for o in outs)


def test_pipeline_answers_in_any_order_and_forgets(repo):
    r, ids, blobs = repo
    p = Pipeline(CatFile(r.path), max_bytes=10 << 20, budget=64)  # a tiny budget: few in flight
    try:
        for i, name in enumerate(["small", "empty", "newlines", "big", "small"]):
            p.request(ids[name], len(blobs[name]), tag=i)
        p.request(ABSENT, 10, tag=5)
        p.flush()
        assert bytes(p.take(ids["newlines"])) == b"\n\n\n"  # answers before it are kept
        assert bytes(p.take(ids["small"])) == b"x = 1\n"
        assert p.take(ids["small"]) is None  # taken already: the caller reads it elsewhere
        p.forget_through(1)  # "empty" (tag 1) will not be taken
        assert not p.has(ids["empty"])
        assert p.take(ABSENT) is None
        assert bytes(p.take(ids["big"])) == blobs["big"]
        assert p.take(ids["tree"]) is None  # never requested
        assert not p.tags and not p.answers and not p.sent
    finally:
        p.close()


def test_pipeline_after_git_died_answers_none_then_recovers(repo):
    r, ids, blobs = repo
    p = Pipeline(CatFile(r.path), max_bytes=10 << 20)
    try:
        p.request(ids["small"], 6)
        p.request(ids["newlines"], 3)
        p.flush()
        p.catfile.proc.kill()
        p.catfile.proc.wait()
        assert p.take(ids["small"]) is None and p.take(ids["newlines"]) is None
        p.request(ids["big"], len(blobs["big"]))
        p.flush()
        assert bytes(p.take(ids["big"])) == blobs["big"]  # a new git answers
    finally:
        p.close()
