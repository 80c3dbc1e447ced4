"""`editflow mine` against hostile input and racing runs: per-file skips stay per-file, a
second run on the same outputs stops before touching them, user errors are messages."""
from __future__ import annotations

import json
import threading
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow.atomic import OutputBusy, output_lock
from editflow.mine.notebook import NotebookError, code_cells
from test_hostile_git import NB, editflow, make_repo


def test_5000_digit_integer_is_a_per_file_skip(tmp_path):
    repo = tmp_path / "r.git"
    huge = '{"cells": [], "metadata": {"n": %s}, "nbformat": 4, "nbformat_minor": 5}' % ("7" * 5000)
    shas = make_repo(repo, [{"good.ipynb": (NB % 1).encode(), "huge.ipynb": huge.encode()}])
    out, skips = tmp_path / "e.parquet", tmp_path / "s.parquet"
    proc = editflow("mine", "--repo", str(repo), "--out", str(out), "--skips", str(skips))
    assert proc.returncode == 0, proc.stderr
    assert pq.read_table(out, columns=["path"]).column("path").to_pylist() == ["good.ipynb"]
    rows = pq.read_table(skips).to_pylist()
    assert [(r["commit"], r["path"], r["reason"]) for r in rows] == [(shas[0], "huge.ipynb", "invalid_json")]
    assert "Exceeds the limit (4300 digits)" in rows[0]["detail"]


def test_huge_integer_parser_level():
    with pytest.raises(NotebookError) as err:
        code_cells(b'{"cells": [], "x": ' + b"1" * 5000 + b"}")
    assert err.value.reason == "invalid_json"


def _mine_args(repo, out, skips):
    return ("mine", "--repo", str(repo), "--out", str(out), "--skips", str(skips))


def test_second_run_on_a_locked_output_stops_and_touches_nothing(tmp_path):
    repo = tmp_path / "r.git"
    make_repo(repo, [{"a.py": b"x = 1\n"}])
    out, skips = tmp_path / "e.parquet", tmp_path / "s.parquet"
    live_tmp = tmp_path / ".e.parquet.abc123.tmp"   # the first run's temp file, still being written
    with output_lock(skips, what="editflow mine"):
        live_tmp.write_bytes(b"first run")
        proc = editflow(*_mine_args(repo, out, skips))
        assert proc.returncode == 1
        assert f"{skips} is being written by another editflow mine run (pid " in proc.stderr
        assert "Traceback" not in proc.stderr
        assert live_tmp.read_bytes() == b"first run"
        assert not out.exists() and not skips.exists()
    live_tmp.unlink()
    # the lock is gone with its holder: the next run works and leaves no lock file behind
    assert editflow(*_mine_args(repo, out, skips)).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.parquet", "r.git", "s.parquet"]


def test_stale_temp_of_a_killed_run_is_removed(tmp_path):
    repo = tmp_path / "r.git"
    make_repo(repo, [{"a.py": b"x = 1\n"}])
    out, skips = tmp_path / "e.parquet", tmp_path / "s.parquet"
    (tmp_path / ".e.parquet.dead.tmp").write_bytes(b"killed")
    assert editflow(*_mine_args(repo, out, skips)).returncode == 0
    assert not (tmp_path / ".e.parquet.dead.tmp").exists()


def test_output_lock_waits_for_the_holder(tmp_path):
    target = tmp_path / "x.parquet"
    holder_done = threading.Event()

    def hold():
        with output_lock(target):
            time.sleep(0.3)
        holder_done.set()

    t = threading.Thread(target=hold)
    t.start()
    time.sleep(0.05)
    with pytest.raises(OutputBusy, match=r"x.parquet is being written by another editflow run"):
        with output_lock(target):
            pass
    with output_lock(target, wait_s=10):
        assert holder_done.is_set()
    t.join()
    assert list(tmp_path.iterdir()) == []


# ---- CLI user errors ------------------------------------------------------------------------
def test_negative_workers_is_a_usage_error(tmp_path):
    proc = editflow("mine", "--repo", str(tmp_path), "--out", str(tmp_path / "e.parquet"), "--workers", "-2")
    assert proc.returncode == 2
    assert "argument --workers: -2 is negative" in proc.stderr


def test_output_whose_parent_is_a_file(tmp_path):
    repo = tmp_path / "r.git"
    make_repo(repo, [{"a.py": b"x = 1\n"}])
    (tmp_path / "f").write_text("a file")
    proc = editflow("mine", "--repo", str(repo), "--out", str(tmp_path / "f" / "e.parquet"))
    assert proc.returncode == 1
    assert f"--out {tmp_path}/f/e.parquet: {tmp_path}/f is a file, not a directory" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("table", ["missing", "damaged", "no_slug_column", "int_clone_url"])
def test_bad_repos_table(tmp_path, table):
    path = tmp_path / "repos.parquet"
    if table == "damaged":
        pq.write_table(pa.table({"slug": ["a__b"] * 100, "clone_url": ["x"] * 100, "full_name": ["a/b"] * 100}), path)
        data = bytearray(path.read_bytes())
        data[len(data) // 3:len(data) // 3 + 200] = b"\xff" * 200
        path.write_bytes(bytes(data))
    elif table == "no_slug_column":
        pq.write_table(pa.table({"full_name": ["a/b"]}), path)
    elif table == "int_clone_url":
        pq.write_table(pa.table({"slug": ["a__b"], "clone_url": [3], "full_name": ["a/b"]}), path)
    proc = editflow("mine", "--repos-table", str(path), "--slug", "a__b", "--out", str(tmp_path / "e.parquet"))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    expected = {"missing": f"{path}: no such repository table (run `editflow crawl` first)",
                "damaged": f"{path}: not a readable Parquet repository table (",
                "no_slug_column": f"{path}: missing column(s) ['slug', 'clone_url']",
                "int_clone_url": f"{path}: column 'clone_url' has type int64, expected string"}[table]
    assert expected in proc.stderr


def test_two_live_runs_on_the_same_outputs(tmp_path):
    """Run B starts while run A is mid-write (A's temp file exists): B stops with OutputBusy
    and leaves A's temp file alone; A finishes with the bytes a solo run writes."""
    import subprocess
    import sys

    from editflow.mine.extract import MineSettings
    from editflow.mine.miner import mine

    big = '{"cells": [{"cell_type": "code", "source": "%s", "metadata": {}, "outputs": []}], "nbformat": 4, ' \
          '"nbformat_minor": 5, "metadata": {}}'
    repo = tmp_path / "r.git"
    make_repo(repo, [{f"n{k}.ipynb": (big % (f"x = {i + k}\\n" * 3000)).encode() for k in range(4)}
                     for i in range(60)])
    other = tmp_path / "other.git"
    make_repo(other, [{"a.py": b"x = 1\n"}])
    out, skips = tmp_path / "e.parquet", tmp_path / "s.parquet"
    solo = tmp_path / "solo"
    solo.mkdir()
    assert editflow(*_mine_args(repo, solo / "e.parquet", solo / "s.parquet")).returncode == 0

    a = subprocess.Popen([sys.executable, "-m", "editflow", *_mine_args(repo, out, skips)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while a.poll() is None and not list(tmp_path.glob(".e.parquet.*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.002)
    assert a.poll() is None, "run A finished before it could be raced"
    with pytest.raises(OutputBusy, match="is being written by another editflow mine run"):
        mine(str(other), out, skips, MineSettings("other/r", None))   # a different repository, same outputs
    _, err = a.communicate(timeout=120)
    assert a.returncode == 0, err
    assert out.read_bytes() == (solo / "e.parquet").read_bytes()
    assert skips.read_bytes() == (solo / "s.parquet").read_bytes()
