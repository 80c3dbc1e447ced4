"""Damaged repositories: a truncated loose object must never hang `editflow mine` or
`editflow crawl` (libgit2 busy-loops on one), and becomes a counted corrupt_object skip or
a clear error. Every run is a subprocess with a time limit: a hang fails the test instead
of hanging the suite."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import pyarrow.parquet as pq
import pygit2
import pytest

from editflow.looseobjects import check_loose, objects_dir, scan_loose
from test_crawl_local import make_repo  # bare repositories of loose objects, one commit per file map

LIMIT_S = 60
NB = '{"cells": [{"cell_type": "code", "source": "x = %d\\n", "metadata": {}, "outputs": []}], ' \
     '"metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def truncate(repo_path: Path, oid: str) -> None:
    """Cut a loose object to half its size, as a crashed copy or a full disk leaves it."""
    f = repo_path / "objects" / oid[:2] / oid[2:]
    os.chmod(f, 0o644)
    data = f.read_bytes()
    f.write_bytes(data[:len(data) // 2])


def editflow(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "editflow", *args], capture_output=True, text=True,
                          timeout=LIMIT_S, cwd=cwd)


def history(tmp_path: Path) -> tuple[Path, list[str]]:
    repo = tmp_path / "r.git"
    shas = make_repo(repo, [
        {"a.ipynb": (NB % 1).encode(), "pkg/m.py": b"x = 1\n"},
        {"a.ipynb": (NB % 2).encode(), "pkg/m.py": b"x = 2\n"},
        {"a.ipynb": (NB % 3).encode(), "pkg/m.py": b"x = 3\n"},
    ])
    return repo, shas


def mine(repo: Path, tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess, list[dict], list[dict]]:
    out, skips = tmp_path / "e.parquet", tmp_path / "e.skips.parquet"
    proc = editflow("mine", "--repo", str(repo), "--name", "t/r", "--out", str(out), "--skips", str(skips),
                    *(extra or ("--workers", "1")))
    edits = pq.read_table(out, columns=["commit", "path"]).to_pylist() if out.exists() else []
    skipped = pq.read_table(skips).to_pylist() if skips.exists() else []
    return proc, edits, skipped


# ---- the validator ---------------------------------------------------------------------------
def test_check_loose_finds_truncation_and_passes_whole_objects(tmp_path):
    repo, shas = history(tmp_path)
    blob = str(pygit2.Repository(str(repo)).revparse_single(f"{shas[1]}:pkg/m.py").id)
    objects = objects_dir(repo)
    assert len(list(objects.glob("??/*"))) >= 9 and scan_loose(repo) == {}
    truncate(repo, blob)
    damage = check_loose(objects, blob)
    assert (damage.oid, damage.type) == (blob, "blob")
    assert "truncated" in damage.detail
    assert list(scan_loose(repo)) == [blob]
    assert check_loose(objects, "0" * 40) is None  # not loose: libgit2's packs are not ours


def test_check_loose_names_a_size_mismatch_and_garbage(tmp_path):
    objects = tmp_path / "objects"
    (objects / "ab").mkdir(parents=True)
    (objects / "ab" / ("c" * 38)).write_bytes(zlib.compress(b"blob 10\x00short"))
    (objects / "ab" / ("d" * 38)).write_bytes(b"not zlib at all")
    assert check_loose(objects, "ab" + "c" * 38).detail.endswith("holds 5 bytes, its header says 10")
    assert "zlib" in check_loose(objects, "ab" + "d" * 38).detail


# ---- mine ---------------------------------------------------------------------------------------
def test_mine_truncated_blob_is_a_corrupt_object_skip(tmp_path):
    repo, shas = history(tmp_path)
    blob = str(pygit2.Repository(str(repo)).revparse_single(f"{shas[1]}:pkg/m.py").id)
    truncate(repo, blob)
    proc, edits, skips = mine(repo, tmp_path)
    assert proc.returncode == 0, proc.stderr
    # m.py of commit 1 is the new side of commit 1 and the old side of commit 2
    assert [(s["commit"], s["path"], s["reason"]) for s in skips] == [
        (shas[1], "pkg/m.py", "corrupt_object"), (shas[2], "pkg/m.py", "corrupt_object")]
    assert sorted((e["commit"], e["path"]) for e in edits) == sorted(
        [(shas[0], "a.ipynb"), (shas[0], "pkg/m.py"), (shas[1], "a.ipynb"), (shas[2], "a.ipynb")])
    assert "damaged loose object" in proc.stderr


def test_mine_truncated_head_commit(tmp_path):
    repo, shas = history(tmp_path)
    truncate(repo, shas[-1])
    proc, edits, skips = mine(repo, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert edits == []
    assert [(s["commit"], s["reason"]) for s in skips] == [(shas[-1], "corrupt_object")]
    assert json.loads(proc.stdout)["skips"] == {"corrupt_object": 1}


def test_mine_truncated_middle_commit_stops_the_walk(tmp_path):
    repo, shas = history(tmp_path)
    truncate(repo, shas[1])
    proc, edits, skips = mine(repo, tmp_path)
    assert proc.returncode == 0, proc.stderr
    # the walk stops at commit 1; commit 2 cannot be diffed without its parent's tree
    assert edits == []
    assert [(s["commit"], s["reason"]) for s in skips] == [(shas[1], "corrupt_object"),
                                                           (shas[2], "corrupt_object")]


@pytest.mark.parametrize("reader", ["pygit2", "auto"])
def test_mine_truncated_subtree(tmp_path, reader):
    """git's change feed dies on the damaged tree; libgit2 must then not diff through it."""
    repo, shas = history(tmp_path)
    tree = str(pygit2.Repository(str(repo)).revparse_single(f"{shas[1]}:pkg").id)
    truncate(repo, tree)
    proc, edits, skips = mine(repo, tmp_path, "--workers", "1", "--settings", json.dumps({"reader": reader}))
    assert proc.returncode == 0, proc.stderr
    # commits 1 and 2 both diff against the damaged tree (as new and as old side)
    assert [(s["commit"], s["reason"]) for s in skips] == [(shas[1], "corrupt_object"),
                                                           (shas[2], "corrupt_object")]
    assert sorted(e["path"] for e in edits) == ["a.ipynb", "pkg/m.py"]


def test_mine_parallel_workers_see_the_damage(tmp_path):
    repo = tmp_path / "long.git"
    shas = make_repo(repo, [{"m.py": f"x = {i}\n".encode()} for i in range(40)])
    blob = str(pygit2.Repository(str(repo)).revparse_single(f"{shas[20]}:m.py").id)
    truncate(repo, blob)
    proc, edits, skips = mine(repo, tmp_path, "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    assert [(s["commit"], s["reason"]) for s in skips] == [(shas[20], "corrupt_object"),
                                                           (shas[21], "corrupt_object")]
    assert len(edits) == 38


# ---- crawl -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("what", ["head", "tree", "license"])
def test_crawl_truncated_head_objects_fail_fast(tmp_path, what):
    repo = tmp_path / "r.git"
    shas = make_repo(repo, [{"LICENSE": b"MIT License\n" * 50, "sub/a.ipynb": (NB % 1).encode()}])
    r = pygit2.Repository(str(repo))
    oid = {"head": shas[-1], "tree": str(r.revparse_single(f"{shas[-1]}:sub").id),
           "license": str(r.revparse_single(f"{shas[-1]}:LICENSE").id)}[what]
    truncate(repo, oid)
    out = tmp_path / "repos.parquet"
    proc = editflow("crawl", "--out", str(out), "--settings",
                    json.dumps({"source": "local", "local": {"paths": [str(repo)]}}))
    assert proc.returncode == 1
    assert f"{repo}: HEAD or its tree cannot be read (loose object {oid} is truncated" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="packs the repository with git")
def test_mine_damaged_pack_is_counted_not_hung(tmp_path):
    """Packs are left to libgit2 (they are not scanned): 200 damaged bytes in the middle of
    one give corrupt_object skips within the time limit, never a hang or a traceback."""
    repo = tmp_path / "p.git"
    make_repo(repo, [{"a.ipynb": (NB % i).encode() * 1, "m.py": b"x = %d\n" % i * 200} for i in range(40)])
    subprocess.run(["git", "-C", str(repo), "repack", "-adq"], check=True)
    subprocess.run(["git", "-C", str(repo), "prune-packed"], check=True)
    pack = next((repo / "objects" / "pack").glob("*.pack"))
    os.chmod(pack, 0o644)
    data = bytearray(pack.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 200] = b"\xa5" * 200
    pack.write_bytes(bytes(data))
    proc, edits, skips = mine(repo, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert skips and {s["reason"] for s in skips} == {"corrupt_object"}
    # which objects the damage hits depends on git's pack layout; some of the 80 file changes
    # (40 commits x 2 files) are lost to it, counted, and the rest are mined
    assert 0 < len(edits) < 80
