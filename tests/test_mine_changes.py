"""Renames are git's: a commit's changes come from `git log --raw -M50%` (changes.py);
libgit2 diffs only where git cannot tell.

The fixture holds a pair that libgit2 scores as a 63% rename and git as an addition plus a
deletion (45% of the lines kept), a rename from a name without extension to `.ipynb`, and
two deleted and two added notebooks where only one pair is a rename."""
from __future__ import annotations

import os
import random
import shutil
import subprocess

import pyarrow.parquet as pq
import pygit2
import pytest
from pygit2.enums import DiffFind

from editflow.mine.extract import MineSettings
from editflow.mine.miner import mine
from editflow.mine import miner
from editflow.mine.changes import ChangeFeed, git_may_read, parse_block
from editflow.mine.history import Delta, Side
from test_mine_corpus import SETTINGS as CORPUS_SETTINGS
from test_mine_corpus import RepoBuilder, build_corpus, nb

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")

SETTINGS = MineSettings(repo_name="test/renames", license=None)


def _module(keep: float) -> tuple[str, str]:
    rng = random.Random(1)
    src = [f"x_{i} = compute({rng.randint(0, 10**6)})\n" for i in range(300)]
    n = int(len(src) * keep)
    dst = src[:n] + [line.replace("compute", "other") + "# changed\n" for line in src[n:]]
    return "".join(src), "".join(dst)


NB_ONE = [("code", f"alpha_{i} = {i}") for i in range(30)]
NB_TWO = [("code", f"beta_{i} = {i} * 2") for i in range(30)]
NB_TWO_EDITED = NB_TWO[:-1] + [("code", "beta_last = 0")]
NB_FOUR = [("markdown", "# A new notebook"), ("code", "gamma = 'new'")]
LOW_OLD, LOW_NEW = _module(0.45)    # libgit2: rename (63%); git: add + delete
HIGH_OLD, HIGH_NEW = _module(0.7)   # both: rename


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    path = tmp_path_factory.mktemp("renames") / "r.git"
    b = RepoBuilder(path)
    ids = {"root": b.commit("Start\n", {
        "work/analysis": nb(NB_ONE), "nb/one.ipynb": nb(NB_ONE + [("code", "one = 1")]),
        "nb/two.ipynb": nb(NB_TWO), "src/low.py": LOW_OLD, "src/high.py": HIGH_OLD})}
    ids["ext"] = b.commit("Add missing extension\n", {"work/analysis": None, "work/analysis.ipynb": nb(NB_ONE)})
    ids["mix"] = b.commit("Reorganise\n", {
        "nb/one.ipynb": None, "nb/two.ipynb": None,
        "nb/three.ipynb": nb(NB_TWO_EDITED), "nb/four.ipynb": nb(NB_FOUR),
        "src/low.py": None, "src/low2.py": LOW_NEW, "src/high.py": None, "src/high2.py": HIGH_NEW})
    return path, ids


def _mine(repo_path, tmp_path):
    mine(str(repo_path), tmp_path / "e.parquet", tmp_path / "s.parquet", SETTINGS)
    return pq.read_table(tmp_path / "e.parquet").to_pylist()


def _shape(rows, commit):
    return sorted((r["change_type"], r["old_path"], r["path"]) for r in rows if r["commit"] == str(commit))


def test_libgit2_and_git_disagree_on_the_fixture(repo):
    path, ids = repo
    r = pygit2.Repository(str(path))
    diff = r[ids["root"]].tree.diff_to_tree(r[ids["mix"]].tree)
    diff.find_similar(flags=DiffFind.FIND_RENAMES, rename_threshold=50)
    libgit2 = {(d.old_file.path, d.new_file.path) for d in diff.deltas if d.status_char() == "R"}
    assert ("src/low.py", "src/low2.py") in libgit2  # what the miner used to report


def test_renames_follow_git(repo, tmp_path):
    path, ids = repo
    rows = _mine(path, tmp_path)
    assert _shape(rows, ids["ext"]) == [("renamed", "work/analysis", "work/analysis.ipynb")]
    assert _shape(rows, ids["mix"]) == [
        ("added", None, "nb/four.ipynb"),
        ("added", None, "src/low2.py"),
        ("deleted", "nb/one.ipynb", "nb/one.ipynb"),
        ("deleted", "src/low.py", "src/low.py"),
        ("renamed", "nb/two.ipynb", "nb/three.ipynb"),
        ("renamed", "src/high.py", "src/high2.py"),
    ]
    # the oracle: git's own name-status for the same commits
    out = subprocess.run(["git", "-C", str(path), "log", "--first-parent", "-M50%", "--name-status",
                          "--format=", "--diff-filter=R"], capture_output=True, text=True, check=True).stdout
    git_pairs = sorted(tuple(line.split("\t")[1:]) for line in out.splitlines() if line.startswith("R"))
    assert git_pairs == sorted((r["old_path"], r["path"]) for r in rows if r["change_type"] == "renamed")


def test_rename_from_a_name_without_extension_keeps_its_old_side(repo, tmp_path):
    path, ids = repo
    (row,) = [r for r in _mine(path, tmp_path) if r["commit"] == str(ids["ext"])]
    assert row["kind"] == "notebook"
    assert row["old_cells"] == row["new_cells"] == [src for _, src in NB_ONE]
    assert row["cell_ops"] == [] and (row["lines_added"], row["lines_deleted"]) == (0, 0)


SUFFIXES = (b".py", b".ipynb")


def test_partial_clone_is_read_by_git_too(repo, tmp_path):
    """git reads a partial clone (it is never let fetch: tests/test_mine_partial.py)."""
    path, ids = repo
    copy = tmp_path / "p.git"
    shutil.copytree(path, copy)
    r = pygit2.Repository(str(copy))
    r.config["extensions.partialclone"] = "origin"
    assert git_may_read(r)
    rows = _mine(copy, tmp_path)
    assert {("added", None, "src/low2.py"), ("deleted", "src/low.py", "src/low.py")} <= set(_shape(rows, ids["mix"]))


def test_incremental_range(repo):
    path, ids = repo
    feed = ChangeFeed(str(path), str(ids["mix"]), str(ids["ext"]), 50, SUFFIXES)
    try:
        feed.expect([str(ids["mix"])])
        deltas = feed.deltas(str(ids["mix"]))
    finally:
        feed.close()
    assert sorted((d.status, (d.old or d.new).raw_path, d.new.raw_path if d.new else None) for d in deltas) == [
        ("added", b"nb/four.ipynb", b"nb/four.ipynb"), ("added", b"src/low2.py", b"src/low2.py"),
        ("deleted", b"nb/one.ipynb", None), ("deleted", b"src/low.py", None),
        ("renamed", b"nb/two.ipynb", b"nb/three.ipynb"), ("renamed", b"src/high.py", b"src/high2.py")]


def test_parse_block():
    o, n = "1" * 40, "2" * 40
    line = f":100644 100644 {o} {n}".encode()
    block = (b"a" * 40 + b"\x00\n" + line + b" R100\x00old\xe9\x00new.py\x00" + line + b" M\x00x.txt\x00"
             + f":100644 120000 {o} {n} T".encode() + b"\x00l.PY\x00")
    assert parse_block(block, SUFFIXES) == ("a" * 40, [
        Delta("renamed", Side(b"old\xe9", 0o100644, o), Side(b"new.py", 0o100644, n)),
        Delta("deleted", Side(b"l.PY", 0o100644, o), None), Delta("added", None, Side(b"l.PY", 0o120000, n))])
    assert parse_block(b"b" * 40 + b"\x00\n:100644 100644 12ab 34cd M\x00y.py\x00", SUFFIXES) == ("b" * 40, None)
    assert parse_block(b"c" * 40 + b"\x00\n", SUFFIXES) == ("c" * 40, [])


def test_links_submodules_and_type_changes_read_as_libgit2_reads_them(tmp_path, monkeypatch):
    """Outside renames, git's changes are libgit2's: the same rows and skips, byte for byte."""
    work = tmp_path / "w"
    env = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@x", "GIT_AUTHOR_DATE": "1700000000 +0000",
           "GIT_COMMITTER_DATE": "1700000000 +0000", "PATH": os.environ["PATH"]}

    def git(*args):
        subprocess.run(["git", "-C", str(work), *args], check=True, env=env, capture_output=True)

    work.mkdir()
    git("init", "-q", "-b", "main")
    (work / "a.py").write_text("x = 1\n")
    (work / "b.py").write_text("y = 1\n")
    (work / "nb.ipynb").write_text(nb([("code", "z = 1")]))
    os.symlink("a.py", work / "link.py")
    git("add", "-A")
    git("commit", "-qm", "start")
    (work / "b.py").unlink()
    os.symlink("a.py", work / "b.py")  # a module becomes a link: a type change
    (work / "a.py").write_text("x = 2\n")
    git("add", "-A")
    git("update-index", "--add", "--cacheinfo", f"160000,{'1' * 40},vendored.py")  # a submodule
    git("commit", "-qm", "types")
    settings = MineSettings(repo_name="t/types", license=None)
    mine(str(work), tmp_path / "git.parquet", tmp_path / "git.skips.parquet", settings)
    monkeypatch.setattr(miner.GitFeeds, "start", staticmethod(lambda *a, **k: None))
    mine(str(work), tmp_path / "lib.parquet", tmp_path / "lib.skips.parquet", settings)
    assert (tmp_path / "git.parquet").read_bytes() == (tmp_path / "lib.parquet").read_bytes()
    assert (tmp_path / "git.skips.parquet").read_bytes() == (tmp_path / "lib.skips.parquet").read_bytes()
    rows = pq.read_table(tmp_path / "git.parquet").to_pylist()
    assert sorted((r["path"], r["change_type"]) for r in rows if r["commit"] != rows[0]["commit"]) == [
        ("a.py", "modified"), ("b.py", "deleted")]
    skips = pq.read_table(tmp_path / "git.skips.parquet").to_pylist()
    assert sorted((s["path"], s["reason"]) for s in skips) == [
        ("b.py", "not_a_file"), ("link.py", "not_a_file"), ("vendored.py", "not_a_file")]


def test_corpus_reads_the_same_with_and_without_git(tmp_path, monkeypatch):
    repo = tmp_path / "corpus.git"
    build_corpus(repo)
    mine(str(repo), tmp_path / "git.parquet", tmp_path / "git.skips.parquet", CORPUS_SETTINGS)
    monkeypatch.setattr(miner.GitFeeds, "start", staticmethod(lambda *a, **k: None))
    mine(str(repo), tmp_path / "lib.parquet", tmp_path / "lib.skips.parquet", CORPUS_SETTINGS)
    assert (tmp_path / "git.parquet").read_bytes() == (tmp_path / "lib.parquet").read_bytes()
    assert (tmp_path / "git.skips.parquet").read_bytes() == (tmp_path / "lib.skips.parquet").read_bytes()


def test_a_rewritten_history_gets_git_over_its_whole_length(tmp_path):
    """The previous output (head `c2`) is not a prefix of the history asked for (`c1`):
    git, started before the miner knew, must read the whole history again."""
    path = tmp_path / "r.git"
    b = RepoBuilder(path)
    b.commit("Start\n", {"a/low.py": LOW_OLD})
    c1 = str(b.commit("Move\n", {"a/low.py": None, "a/low2.py": LOW_NEW}))
    c2 = str(b.commit("More\n", {"a/other.py": "x = 1\n"}))
    out = tmp_path / "e.parquet"
    mine(str(path), out, tmp_path / "s.parquet", SETTINGS, head_sha=c2)
    report = mine(str(path), out, tmp_path / "s.parquet", SETTINGS, head_sha=c1)
    assert (report.incremental, report.commits_mined) == (False, 2)
    rows = pq.read_table(out).to_pylist()
    assert _shape(rows, c1) == [("added", None, "a/low2.py"), ("deleted", "a/low.py", "a/low.py")]  # git's call
    mine(str(path), tmp_path / "fresh.parquet", tmp_path / "fresh.s.parquet", SETTINGS, head_sha=c1)
    assert out.read_bytes() == (tmp_path / "fresh.parquet").read_bytes()


def test_an_up_to_date_rerun_starts_no_git(repo, tmp_path, monkeypatch):
    path, _ = repo
    _mine(path, tmp_path)
    started = []
    real = miner.GitFeeds.start
    monkeypatch.setattr(miner.GitFeeds, "start", staticmethod(lambda *a: started.append(a) or real(*a)))
    report = mine(str(path), tmp_path / "e.parquet", tmp_path / "s.parquet", SETTINGS)
    assert report.up_to_date and started == []
