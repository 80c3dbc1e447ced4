"""git beside the miner (gitlog.py): `.py` line diffs from `git log -p` (pydiff.py) and
each commit's changes (changes.py), read commit by commit.

git's numbers must be libgit2's exactly (diffstat.py is the oracle): the miner takes
git's where git got there first and diffs the rest itself, so any difference would make
a row depend on timing."""
from __future__ import annotations

import shutil

import pyarrow.parquet as pq
import pygit2
import pytest

from editflow.mine.diffstat import diff_stats
from editflow.mine.extract import MineSettings
from editflow.mine.gitlog import Answer, GitLogStream
from editflow.mine.miner import mine
from editflow.mine.pydiff import PyDiffFeed, parse_commit
from editflow.mine import miner
from editflow.mine.changes import ChangeFeed
from test_mine_corpus import RepoBuilder
from test_mine_changes import HIGH_NEW, HIGH_OLD, LOW_NEW, LOW_OLD

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")

MODULE = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(100))
EDITED = MODULE.replace("x + 3\n", "x - 3\n").replace("x + 90\n", "x * 90\n# note\n")


@pytest.fixture(scope="module")
def pyrepo(tmp_path_factory):
    path = tmp_path_factory.mktemp("pydiff") / "r.git"
    b = RepoBuilder(path)
    ids = [b.commit("Start\n", {
        "pkg/mod.py": MODULE, "tail.py": "a = 1\nb = 2", "empty.py": "", "crlf.py": "a = 1\r\nb = 2\r\n",
        "blob.py": b"x = 1\x00\n", "latin.py": b"# -*- coding: latin-1 -*-\nname = '\xe9'\n",
        "bom.py": b"\xef\xbb\xbfa = 1\n", "UPPER.PY": "u = 1\n", "notes.txt": "not python\n"})]
    ids.append(b.commit("Edit everything\n", {
        "pkg/mod.py": EDITED, "tail.py": "a = 1\nb = 3\n", "empty.py": None, "crlf.py": "a = 1\r\nb = 3\r\n",
        "blob.py": b"x = 2\x00\n", "latin.py": b"# -*- coding: latin-1 -*-\nname = '\xe8'\n",
        "bom.py": b"\xef\xbb\xbfa = 2\n", "UPPER.PY": "u = 2\n", "notes.txt": "still not\n"}))
    ids.append(b.commit("Docs only\n", {"notes.txt": "docs\n"}))
    ids.append(b.commit("Move and add\n", {"pkg/mod.py": None, "pkg/module.py": EDITED + "z = 0\n",
                                           "new.py": "print('hi')\n", "empty2.py": ""}))
    return path, [str(i) for i in ids]


def _blob(repo, oid):
    return repo[oid].data if oid else None


def test_git_numbers_are_libgit2s(pyrepo):
    path, ids = pyrepo
    repo = pygit2.Repository(str(path))
    feed = PyDiffFeed(str(path), ids[-1])
    try:
        feed.expect(ids)
        got = {c: feed.take(c, wait=True) for c in ids}
    finally:
        feed.close()
    assert got[ids[2]] == {}  # no .py change: git prints nothing
    reported = {pair for stats in got.values() for pair in stats}
    for stats in got.values():
        for (old, new), numbers in stats.items():
            assert numbers == diff_stats(_blob(repo, old), _blob(repo, new)), (old, new)
    edit = got[ids[1]]
    mod_old, mod_new = str(repo[ids[0]].tree["pkg/mod.py"].id), str(repo[ids[1]].tree["pkg/mod.py"].id)
    assert edit[(mod_old, mod_new)] == (3, 2, 2)
    tail = (str(repo[ids[0]].tree["tail.py"].id), str(repo[ids[1]].tree["tail.py"].id))
    assert edit[tail] == (1, 1, 1)  # "b = 2" without newline -> "b = 3\n"
    upper = (str(repo[ids[0]].tree["UPPER.PY"].id), str(repo[ids[1]].tree["UPPER.PY"].id))
    assert upper in edit  # the suffix is matched without regard to case, as kind_of does
    empty = (str(repo[ids[0]].tree["empty.py"].id), None)
    assert edit[empty] == (0, 0, 0)
    blob_pair = (str(repo[ids[0]].tree["blob.py"].id), str(repo[ids[1]].tree["blob.py"].id))
    assert blob_pair not in reported  # binary: left to libgit2
    assert not any(str(repo[ids[1]].tree["notes.txt"].id) in pair for pair in reported)
    added = got[ids[3]]
    assert added[(None, str(repo[ids[3]].tree["new.py"].id))] == (1, 0, 1)


def test_parse_commit():
    a, b = "1" * 40, "2" * 40
    block = (b"c" * 40 + b"\n\ndiff --git a/x.py b/x.py\nindex " + a.encode() + b".." + b.encode() + b" 100644\n"
             b"--- a/x.py\n+++ b/x.py\n@@ -1,2 +1,2 @@\n-old\n+new\n ctx\n@@ -9 +9 @@\n--- was a comment\n+++ now\n"
             b"diff --git a/y.py b/y.py\nnew file mode 100644\nindex " + b"0" * 40 + b".." + b.encode() + b"\n"
             b"Binary files /dev/null and b/y.py differ\n"
             b"diff --git a/z.py b/z.py\nold mode 100644\nnew mode 100755\n")
    assert parse_commit(block) == ("c" * 40, {(a, b): (2, 2, 2)})


def test_mine_with_and_without_git_diffs_is_identical(pyrepo, tmp_path, monkeypatch):
    path, _ = pyrepo
    settings = MineSettings(repo_name="t/py", license=None)
    mine(str(path), tmp_path / "a.parquet", tmp_path / "a.skips.parquet", settings)
    def no_git_diffs(*args):
        raise OSError("no git log -p in this run")

    monkeypatch.setattr(miner, "PyDiffFeed", no_git_diffs)
    mine(str(path), tmp_path / "b.parquet", tmp_path / "b.skips.parquet", settings)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    rows = pq.read_table(tmp_path / "a.parquet").to_pylist()
    mod = next(r for r in rows if r["path"] == "pkg/mod.py" and r["change_type"] == "modified")
    assert (mod["lines_added"], mod["lines_deleted"], mod["hunks"]) == (3, 2, 2)


def test_stream_answers_in_order(pyrepo):
    path, ids = pyrepo
    cmd = ["git", "-C", str(path), "log", "--reverse", "--format=%x00%H", ids[-1], "--", "notes.txt"]
    stream = GitLogStream(cmd, b"\x00", lambda block: (block[:40].decode(), len(block)), "test")
    try:
        stream.expect(ids)
        assert stream.take("f" * 40, wait=True) == (Answer.UNKNOWN, None)
        assert stream.take(ids[0], wait=True)[0] is Answer.FOUND
        assert stream.take(ids[2], wait=True)[0] is Answer.FOUND  # ids[1] skipped: fine
        assert stream.take(ids[3], wait=True) == (Answer.ABSENT, None)  # git finished without it
        assert not stream.failed
    finally:
        stream.close()


def test_stream_that_fails_answers_unknown(pyrepo):
    path, ids = pyrepo
    cmd = ["git", "-C", str(path), "log", "--reverse", "--format=%x00%H", "no-such-revision"]
    stream = GitLogStream(cmd, b"\x00", lambda block: (block[:40].decode(), None), "test")
    try:
        stream.expect(ids)
        assert stream.take(ids[0], wait=True) == (Answer.UNKNOWN, None)
        assert stream.failed
    finally:
        stream.close()


def test_renames_from_git_until_it_stops_then_libgit2_then_git(tmp_path):
    """git's changes hold for every commit git finished; where it stopped (a blob it needs
    is absent) libgit2 diffs that commit, and git goes on from the next one."""
    path = tmp_path / "r.git"
    b = RepoBuilder(path)
    ids = [b.commit("Start\n", {"a/low.py": LOW_OLD, "a/high.py": HIGH_OLD, "b/low.py": LOW_OLD,
                                "data.txt": "row\n" * 400})]
    ids.append(b.commit("Move low\n", {"a/low.py": None, "a/low2.py": LOW_NEW}))     # git: no rename
    ids.append(b.commit("Move high\n", {"a/high.py": None, "a/high2.py": HIGH_NEW}))  # both: rename
    ids.append(b.commit("Move data\n", {"data.txt": None, "data2.txt": "row\n" * 399 + "end\n"}))
    ids.append(b.commit("Move low again\n", {"b/low.py": None, "b/low2.py": LOW_NEW}))
    ids = [str(i) for i in ids]
    repo = pygit2.Repository(str(path))
    gone = str(repo[ids[3]].tree["data2.txt"].id)
    (path / "objects" / gone[:2] / gone[2:]).unlink()  # git cannot score the data rename

    feed = ChangeFeed(str(path), ids[-1], None, 50, (b".py",))
    try:
        feed.expect(ids)
        assert {d.status for d in feed.deltas(ids[1])} == {"added", "deleted"}
        # git died on the data rename; the commit it printed last may be cut short: that
        # one and the one it died on are libgit2's; git restarts after them
        assert feed.deltas(ids[2]) is None
        assert feed.deltas(ids[3]) is None
        assert {d.status for d in feed.deltas(ids[4])} == {"added", "deleted"}
        assert feed._stream.restarts == 2 and not feed._stream.failed
    finally:
        feed.close()
    mine(str(path), tmp_path / "e.parquet", tmp_path / "s.parquet", MineSettings(repo_name="t/r", license=None))
    rows = pq.read_table(tmp_path / "e.parquet").to_pylist()
    shape = {(r["commit"], r["change_type"], r["path"]) for r in rows}
    assert {(ids[1], "added", "a/low2.py"), (ids[1], "deleted", "a/low.py")} <= shape  # git's call
    assert (ids[2], "renamed", "a/high2.py") in shape
    assert {(ids[4], "added", "b/low2.py"), (ids[4], "deleted", "b/low.py")} <= shape  # git's again
