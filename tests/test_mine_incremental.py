"""Incremental mining, atomic outputs under kill -9, clones, and the CLI."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.parquet as pq
import pygit2
import pytest

from editflow.cli import main as cli_main
from editflow.demo import build_demo_repo
from editflow.mine import writer
from editflow.mine.extract import MineSettings
from editflow.mine.miner import mine
from test_mine_corpus import SETTINGS, build_corpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def small_groups(monkeypatch):
    """Row groups of a few rows, so carry-over of closed and open groups is exercised."""
    monkeypatch.setattr(writer, "ROW_GROUP_ROWS", 5)
    monkeypatch.setattr(writer, "ROW_GROUP_BYTES", 6000)


def _first_parent(repo_path: Path) -> list[str]:
    repo = pygit2.Repository(str(repo_path))
    out, c = [], repo.head.peel(pygit2.Commit)
    while True:
        out.append(str(c.id))
        if not c.parent_ids:
            return out[::-1]
        c = repo[c.parent_ids[0]]


def _bytes(d: Path) -> tuple[bytes, bytes]:
    return (d / "e.parquet").read_bytes(), (d / "s.parquet").read_bytes()


def test_incremental_equals_full_demo(tmp_path, small_groups):
    repo = tmp_path / "demo.git"
    build_demo_repo(repo, seed=3, n_commits=30)
    commits = _first_parent(repo)
    settings = MineSettings(repo_name="demo/x", license="mit")
    full = tmp_path / "full"
    mine(str(repo), full / "e.parquet", full / "s.parquet", settings)
    assert pq.ParquetFile(full / "e.parquet").num_row_groups > 3
    inc = tmp_path / "inc"
    mined = []
    for k in (1, 7, 8, 19, 30):
        r = mine(str(repo), inc / "e.parquet", inc / "s.parquet", settings, head_sha=commits[k - 1])
        mined.append(r.commits_mined)
    assert mined == [1, 6, 1, 11, 11]
    assert _bytes(inc) == _bytes(full)
    again = mine(str(repo), inc / "e.parquet", inc / "s.parquet", settings)
    assert again.up_to_date and again.commits_mined == 0


@pytest.mark.parametrize("history", ["all", "first_parent"])
def test_incremental_equals_full_corpus_with_merge_and_skips(tmp_path, small_groups, history):
    repo = tmp_path / "r.git"
    ids = build_corpus(repo)
    settings = dataclasses.replace(SETTINGS, history=history)
    full, inc = tmp_path / "full", tmp_path / "inc"
    mine(str(repo), full / "e.parquet", full / "s.parquet", settings)
    for key in ("root", "hostile", "rename", "merge", "last"):
        mine(str(repo), inc / "e.parquet", inc / "s.parquet", settings, head_sha=str(ids[key]))
    assert _bytes(inc) == _bytes(full)
    side = str(ids["side"]) in pq.read_table(full / "e.parquet")["commit"].to_pylist()
    assert side == (history == "all")


def build_branchy(path: Path) -> dict:
    """main c1 c2 c3 m1 c4 m2 c5; side s1 s2 (from c1, merged by m1); side t1 t2 (from c3,
    t2 also merges c4 in, merged by m2). Each commit edits a notebook or a module."""
    from test_mine_corpus import A0, A1, A2, A3, RepoBuilder, nb

    b = RepoBuilder(path)
    ids = {"c1": b.commit("c1 start\n", {"a.ipynb": nb(A0), "m.py": "x = 1\n"})}
    ids["c2"] = b.commit("c2 main edit\n", {"m.py": "x = 2\n"})
    c1_files = {b"a.ipynb": nb(A0).encode(), b"m.py": b"x = 1\n"}
    main_files = dict(b.files)
    b.head, b.files = ids["c1"], dict(c1_files)
    ids["s1"] = b.commit("s1 side notebook\n", {"a.ipynb": nb(A1)}, ref=None)
    ids["s2"] = b.commit("s2 side notebook again\n", {"a.ipynb": nb(A2), "s.py": "s = 1\n"}, ref=None)
    side_files = dict(b.files)
    b.head, b.files = ids["c2"], main_files
    ids["c3"] = b.commit("c3 main module\n", {"m.py": "x = 3\n"})
    b.files.update({b"a.ipynb": side_files[b"a.ipynb"], b"s.py": side_files[b"s.py"]})
    ids["m1"] = b.commit("m1 merge side\n", {}, parents=[ids["c3"], ids["s2"]])
    at_m1 = dict(b.files)
    b.head, b.files = ids["c3"], {b"a.ipynb": nb(A0).encode(), b"m.py": b"x = 3\n"}
    ids["t1"] = b.commit("t1 second side\n", {"t.py": "t = 1\n"}, ref=None)
    t1_files = dict(b.files)
    b.head, b.files = ids["m1"], at_m1
    ids["c4"] = b.commit("c4 main notebook\n", {"a.ipynb": nb(A3)})
    c4_files = dict(b.files)
    b.head, b.files = ids["t1"], {**c4_files, b"t.py": t1_files[b"t.py"]}
    ids["t2"] = b.commit("t2 merges main in\n", {}, parents=[ids["t1"], ids["c4"]], ref=None)
    ids["t3"] = b.commit("t3 second side again\n", {"t.py": "t = 2\n"}, ref=None)
    b.head, b.files = ids["c4"], dict(b.files)
    ids["m2"] = b.commit("m2 merge second side\n", {}, parents=[ids["c4"], ids["t3"]])
    ids["c5"] = b.commit("c5 last\n", {"m.py": "x = 5\n"})
    return ids


def test_all_history_mines_every_non_merge_commit_git_log_sees(tmp_path):
    import shutil

    repo = tmp_path / "b.git"
    ids = build_branchy(repo)
    name = {str(v): k for k, v in ids.items()}
    settings = MineSettings(repo_name="b/x", license=None)
    r = mine(str(repo), tmp_path / "e.parquet", tmp_path / "s.parquet", settings)
    rows = pq.read_table(tmp_path / "e.parquet").to_pylist()
    got = list(dict.fromkeys(name[r["commit"]] for r in rows))
    # side branches right before the merge that brings them in, parents first
    assert got == ["c1", "c2", "c3", "s1", "s2", "c4", "t1", "t3", "c5"]
    assert r.commits_total == 12 and r.skips == {"merge_commit": 3}
    s1 = next(r for r in rows if name[r["commit"]] == "s1")
    assert (s1["parent"], s1["path"], s1["change_type"]) == (str(ids["c1"]), "a.ipynb", "modified")
    if shutil.which("git"):
        out = subprocess.run(["git", "-C", str(repo), "rev-list", "--no-merges", str(ids["c5"])],
                             capture_output=True, text=True, check=True).stdout.split()
        assert sorted(name[c] for c in out) == sorted(got)
    fp = mine(str(repo), tmp_path / "f.parquet", None, dataclasses.replace(settings, history="first_parent"))
    fp_rows = pq.read_table(tmp_path / "f.parquet").to_pylist()
    assert list(dict.fromkeys(name[r["commit"]] for r in fp_rows)) == ["c1", "c2", "c3", "c4", "c5"]
    assert fp.commits_total == 7


@pytest.mark.parametrize("history", ["all", "first_parent"])
@pytest.mark.parametrize("workers", [1, 2])
def test_incremental_equals_full_with_side_branches(tmp_path, small_groups, history, workers):
    repo = tmp_path / "b.git"
    ids = build_branchy(repo)
    settings = MineSettings(repo_name="b/x", license=None, history=history)
    full, inc = tmp_path / "full", tmp_path / "inc"
    mine(str(repo), full / "e.parquet", full / "s.parquet", settings, workers=workers, min_parallel=2)
    mined = []
    for key in ("c1", "c2", "m1", "c4", "m2", "c5"):
        r = mine(str(repo), inc / "e.parquet", inc / "s.parquet", settings, head_sha=str(ids[key]),
                 workers=workers, min_parallel=2)
        mined.append(r.commits_mined)
    assert _bytes(inc) == _bytes(full)
    assert mined == ([1, 1, 4, 1, 4, 1] if history == "all" else [1, 1, 2, 1, 1, 1])
    # a head off the first-parent line of the previous one: everything is mined again
    side = mine(str(repo), inc / "e.parquet", inc / "s.parquet", settings, head_sha=str(ids["t3"]))
    assert side.commits_mined == side.commits_total and not side.incremental


def test_changed_settings_or_rewritten_history_mine_everything(tmp_path):
    repo = tmp_path / "demo.git"
    build_demo_repo(repo, seed=1, n_commits=12)
    commits = _first_parent(repo)
    s = MineSettings(repo_name="demo/y", license=None)
    mine(str(repo), tmp_path / "e.parquet", None, s, head_sha=commits[5])
    other = MineSettings(repo_name="demo/y", license=None, include_python=False)
    r = mine(str(repo), tmp_path / "e.parquet", None, other)
    assert (r.incremental, r.commits_mined) == (False, 12)
    assert set(pq.read_table(tmp_path / "e.parquet")["kind"].to_pylist()) == {"notebook"}
    # an output from a head that is not on the first-parent line (force push): full mine
    r = mine(str(repo), tmp_path / "e.parquet", None, other, head_sha=commits[5])
    assert (r.incremental, r.commits_mined) == (False, 6)


KILLER = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from editflow.mine import writer
    from editflow.mine.extract import MineSettings
    from editflow.mine.miner import mine
    writer.ROW_GROUP_ROWS = 5
    n = {"commits": 0}
    real = writer.EditWriter.add_row
    def add_row(self, rows):
        real(self, rows)
        n["commits"] += 1
        if n["commits"] == int(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)
    writer.EditWriter.add_row = add_row
    d = Path(sys.argv[2])
    mine(sys.argv[1], d / "e.parquet", d / "s.parquet", MineSettings(repo_name="demo/k", license=None),
         head_sha=sys.argv[4] if len(sys.argv) > 4 else None)
""")


def _run_killer(repo: Path, out: Path, after: int, head: str | None = None) -> int:
    args = [sys.executable, "-c", KILLER, str(repo), str(out), str(after)] + ([head] if head else [])
    return subprocess.run(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}).returncode


def test_kill_9_mid_write_leaves_nothing_trusted(tmp_path):
    repo = tmp_path / "demo.git"
    build_demo_repo(repo, seed=2, n_commits=20)
    commits = _first_parent(repo)
    settings = MineSettings(repo_name="demo/k", license=None)
    ref = tmp_path / "ref"
    mine(str(repo), ref / "e.parquet", ref / "s.parquet", settings)

    out = tmp_path / "out"
    assert _run_killer(repo, out, after=12) == -9
    assert not (out / "e.parquet").exists() and not (out / "s.parquet").exists()
    assert list(out.glob(".e.parquet.*.tmp"))  # the half-written file, under a temporary name
    mine(str(repo), out / "e.parquet", out / "s.parquet", settings, head_sha=commits[9])
    before = _bytes(out)
    # killed during an incremental run: the previous complete output is untouched
    assert _run_killer(repo, out, after=4) == -9
    assert _bytes(out) == before
    r = mine(str(repo), out / "e.parquet", out / "s.parquet", settings)
    assert (r.incremental, r.commits_mined) == (True, 10)
    assert _bytes(out) == _bytes(ref)
    assert not list(out.glob(".*.tmp"))


def test_exception_mid_write_leaves_no_file(tmp_path, monkeypatch):
    repo = tmp_path / "demo.git"
    build_demo_repo(repo, seed=2, n_commits=6)

    def boom(self, rows):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer.EditWriter, "add_row", boom)
    with pytest.raises(RuntimeError):
        mine(str(repo), tmp_path / "e.parquet", tmp_path / "s.parquet", MineSettings("demo/z", None))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.git"]


def test_cli_clone_dir_fetches_and_mines_incrementally(tmp_path, capsys):
    src = tmp_path / "src.git"
    build_demo_repo(src, seed=4, n_commits=5)
    args = ["mine", "--repo", str(src), "--clone-dir", str(tmp_path / "clones" / "x.git"),
            "--out", str(tmp_path / "e.parquet"), "--skips", str(tmp_path / "s.parquet"),
            "--name", "Owner/Repo", "--license", "MIT", "--workers", "1"]
    assert cli_main(args) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (first["commits_mined"], first["incremental"]) == (5, False)
    assert (tmp_path / "clones" / "x.git" / "HEAD").exists()
    extend(src, 3)
    assert cli_main(args) == 0
    second = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (second["commits_mined"], second["incremental"], second["commits_total"]) == (3, True, 8)
    t = pq.read_table(tmp_path / "e.parquet")
    assert set(t["repo"].to_pylist()) == {"Owner/Repo"} and set(t["license"].to_pylist()) == {"mit"}
    assert cli_main(["mine", "--repo", str(src), "--out", str(tmp_path / "f.parquet"),
                     "--head-sha", "0" * 40]) == 1


def extend(path: Path, n: int) -> None:
    """Add n commits to the main branch, each adding one .py file."""
    repo = pygit2.Repository(str(path))
    for i in range(n):
        head = repo.head.peel(pygit2.Commit)
        tb = repo.TreeBuilder(head.tree)
        tb.insert(f"extra_{i}.py", repo.create_blob(f"X = {i}\n".encode()), pygit2.GIT_FILEMODE_BLOB)
        sig = pygit2.Signature("x", "x@example.org", 1_800_000_000 + i, 0)
        repo.create_commit("refs/heads/main", sig, sig, f"Add extra module {i}\n", tb.write(), [head.id])


def test_default_name_and_help():
    from editflow.mine.cli import default_name
    assert default_name("/x/results/demo/demo-00.git") == "local/demo-00"
    assert default_name("/x/proj/") == "local/proj"
    out = subprocess.run([sys.executable, "-m", "editflow", "mine", "--help"], cwd=ROOT, capture_output=True,
                         text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 0 and "editflow mine --repo" in out.stdout


@pytest.mark.skipif(__import__("shutil").which("git") is None, reason="partial clones need the git command")
def test_partial_clone_fetches_needed_blobs_and_matches_bare(tmp_path, capsys):
    src = tmp_path / "src.git"
    build_demo_repo(src, seed=5, n_commits=12)
    cfg = pygit2.Repository(str(src)).config
    cfg["uploadpack.allowFilter"] = True
    cfg["uploadpack.allowAnySHA1InWant"] = True
    base = ["mine", "--repo", str(src), "--name", "o/r"]
    assert cli_main(base + ["--clone-dir", str(tmp_path / "p.git"), "--out", str(tmp_path / "p.parquet"),
                            "--settings", json.dumps({"clone": "partial"})]) == 0
    assert cli_main(base + ["--out", str(tmp_path / "b.parquet")]) == 0
    capsys.readouterr()
    assert (tmp_path / "p.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    assert pq.read_table(tmp_path / "p.parquet").num_rows == 28
