"""Partial clones keep the fast path: a blob-filtered clone (git clone --filter=blob:none,
from a local repository that allows filters) is mined by the `git log` feeds, which never
fetch; a commit whose diff would need an absent blob (rename detection on a file that is not
mined, so never prefetched) cannot stop git, which scores renames among the mined paths
only there. The rows equal a complete clone's, byte for byte."""
from __future__ import annotations

import shutil
import subprocess

import pyarrow.parquet as pq
import pygit2
import pytest

from editflow.mine import extract
from editflow.mine.extract import MineSettings
from editflow.mine.miner import mine
from test_mine_corpus import A0, A1, A2, A3, RepoBuilder, nb

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="partial clones need the git command")

DATA = "".join(f"row {i}\n" for i in range(300))


def build(path) -> list[str]:
    """Ten commits; commits 3 and 6 rename a data file with an edit (git must read both
    sides to score the rename), the others edit notebooks and modules."""
    b = RepoBuilder(path)
    ids = [b.commit("start\n", {"a.ipynb": nb(A0), "m.py": "x = 1\n", "data.txt": DATA})]
    ids.append(b.commit("nb edit\n", {"a.ipynb": nb(A1)}))
    ids.append(b.commit("module edit\n", {"m.py": "x = 2\n"}))
    ids.append(b.commit("move data, edit module\n", {"data.txt": None, "d2.txt": DATA + "end\n", "m.py": "x = 3\n"}))
    ids.append(b.commit("nb edit again\n", {"a.ipynb": nb(A2)}))
    ids.append(b.commit("rename module\n", {"m.py": None, "n.py": "x = 3\n"}))
    ids.append(b.commit("move data again\n", {"d2.txt": None, "d3.txt": DATA + "end\nmore\n"}))
    ids.append(b.commit("nb edit last\n", {"a.ipynb": nb(A3)}))
    ids.append(b.commit("module edit last\n", {"n.py": "x = 4\n"}))
    ids.append(b.commit("new module\n", {"o.py": "y = 1\n"}))
    return [str(i) for i in ids]


def partial_clone(tmp_path):
    """(complete repository, its blob-filtered clone, commit ids): no blob fetched yet."""
    src = tmp_path / "src.git"
    ids = build(src)
    pygit2.Repository(str(src)).config["uploadpack.allowFilter"] = True
    part = tmp_path / "p.git"
    subprocess.run(["git", "clone", "-q", "--bare", "--filter=blob:none", f"file://{src}", str(part)], check=True)
    return src, part, ids


def test_partial_clone_mines_like_the_complete_one_with_git(tmp_path, monkeypatch):
    src, part, ids = partial_clone(tmp_path)
    absent = pygit2.Repository(str(part))
    data_blob = str(pygit2.Repository(str(src))[ids[3]].tree["d2.txt"].id)
    assert not absent.odb.exists(data_blob)
    settings = MineSettings(repo_name="t/p", license=None)
    mine(str(src), tmp_path / "full.parquet", tmp_path / "full.skips.parquet", settings)

    libgit2_diffs = []
    real = extract.relevant_changes
    monkeypatch.setattr(extract, "relevant_changes", lambda *a, **k: libgit2_diffs.append(1) or real(*a, **k))
    report = mine(str(part), tmp_path / "p.parquet", tmp_path / "p.skips.parquet", settings, partial=True)
    assert (tmp_path / "p.parquet").read_bytes() == (tmp_path / "full.parquet").read_bytes()
    assert (tmp_path / "p.skips.parquet").read_bytes() == (tmp_path / "full.skips.parquet").read_bytes()
    assert report.commits_total == 10 and report.skips == {}
    # git scores renames among the mined paths only (their blobs are present), so it never
    # stops at the data moves: libgit2 diffed nothing (a git stopped anyway restarts after the
    # commit: tests/test_mine_gitlog.py)
    assert libgit2_diffs == []
    assert not absent.odb.exists(data_blob)  # git fetched nothing


def test_absent_blob_of_a_mined_file_is_a_missing_object_skip_and_git_goes_on(tmp_path):
    """Without the prefetch, a mined file's absent side is a counted missing_object skip;
    the commits after it still come from git and equal the complete clone's rows."""
    src, part, ids = partial_clone(tmp_path)
    full = pygit2.Repository(str(src))
    # fetch every blob but the notebook version of commit 1 (as a prefetch that failed for one)
    gone = str(full[ids[1]].tree["a.ipynb"].id)
    need = sorted({str(e.id) for c in ids for e in full[c].tree if e.name.endswith((".py", ".ipynb"))} - {gone})
    subprocess.run(["git", "-C", str(part), "fetch", "-q", "origin", "--no-tags", "--filter=blob:none", "--stdin"],
                   input="\n".join(need) + "\n", text=True, check=True)
    settings = MineSettings(repo_name="t/p", license=None)
    mine(str(src), tmp_path / "full.parquet", None, settings)
    report = mine(str(part), tmp_path / "p.parquet", tmp_path / "s.parquet", settings)
    skips = pq.read_table(tmp_path / "s.parquet").to_pylist()
    assert report.skips == {"missing_object": 2}  # the new side of commit 1, the old side of commit 4
    assert {(s["commit"], s["path"]) for s in skips} == {(ids[1], "a.ipynb"), (ids[4], "a.ipynb")}
    got = pq.read_table(tmp_path / "p.parquet").to_pylist()
    want = [r for r in pq.read_table(tmp_path / "full.parquet").to_pylist()
            if (r["commit"], r["path"]) not in {(ids[1], "a.ipynb"), (ids[4], "a.ipynb")}]
    assert got == want
