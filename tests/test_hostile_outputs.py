"""The generic output helpers in editflow.atomic and editflow.inputs that stages (the dataset
stage, the Snakefile) call: a multi-file output committed as a unit, even under kill -9;
stale temporary files removed; unwritable outputs and missing inputs named up front."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from editflow.atomic import (OutputError, atomic_dir, check_writable, output_lock, remove_stale_temps,
                             remove_stale_temps_under)
from editflow.inputs import InputError, check_paths_exist


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_atomic_dir_replaces_the_whole_directory(tmp_path):
    out = tmp_path / "dataset"
    with atomic_dir(out) as tmp:
        (tmp / "train.parquet").write_text("old train")
        (tmp / "stats.json").write_text("old stats")
    with atomic_dir(out) as tmp:
        (tmp / "train.parquet").write_text("new train")
        (tmp / "plots").mkdir()
        (tmp / "plots" / "splits.png").write_text("png")
    assert _tree(out) == {"train.parquet": b"new train", "plots/splits.png": b"png"}  # old stats.json gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]


def test_atomic_dir_failure_keeps_the_old_directory(tmp_path):
    out = tmp_path / "dataset"
    with atomic_dir(out) as tmp:
        (tmp / "stats.json").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_dir(out) as tmp:
            (tmp / "stats.json").write_text("half")
            raise RuntimeError("killed by a bug")
    assert _tree(out) == {"stats.json": b"old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]


WRITER = """
import sys, time
from pathlib import Path
from editflow.atomic import atomic_dir, output_lock, remove_stale_temps
out, version = Path(sys.argv[1]), sys.argv[2]
with output_lock(out):
    remove_stale_temps(out)
    with atomic_dir(out) as tmp:
        for name in ("train.parquet", "val.parquet", "test.parquet", "stats.json", "README.md"):
            (tmp / name).write_text(version * 10000)
            time.sleep(0.02)
"""


@pytest.mark.parametrize("kill_after", [0.0, 0.05, 0.1, 0.2, 0.4])
def test_atomic_dir_under_kill_9_is_old_or_new_never_mixed(tmp_path, kill_after):
    out = tmp_path / "dataset"
    subprocess.run([sys.executable, "-c", WRITER, str(out), "o"], check=True, timeout=60)
    old = _tree(out)
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(out), "n"])
    # wait until the child imported and started (its temporary directory exists), then kill
    deadline = time.monotonic() + 60
    while proc.poll() is None and not any(tmp_path.glob(".dataset.*")) and time.monotonic() < deadline:
        time.sleep(0.002)
    time.sleep(kill_after)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    now = _tree(out) if out.exists() else None
    new = {k: b"n" * 10000 for k in old}
    assert now in (old, new, None)
    subprocess.run([sys.executable, "-c", WRITER, str(out), "n"], check=True, timeout=60)
    assert _tree(out) == new
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]  # leftovers removed


def test_remove_stale_temps_beside_and_under(tmp_path):
    out = tmp_path / "stats.json"
    for name in (".stats.json.abc.tmp", ".stats.json.def.tmpdir", ".stats.json.ghi.old", ".other.json.x.tmp"):
        (tmp_path / name).mkdir() if name.endswith(("tmpdir", "old")) else (tmp_path / name).write_text("x")
    with output_lock(out):
        removed = remove_stale_temps(out)
    assert sorted(p.name for p in removed) == [".stats.json.abc.tmp", ".stats.json.def.tmpdir", ".stats.json.ghi.old"]
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / ".splits.png.k2j3.tmp").write_text("stale")
    (plots / "splits.png").write_text("png")
    assert [p.name for p in remove_stale_temps_under(plots)] == [".splits.png.k2j3.tmp"]
    assert [p.name for p in plots.iterdir()] == ["splits.png"]


def test_check_writable(tmp_path):
    (tmp_path / "file").write_text("x")
    check_writable(tmp_path / "new" / "deeper" / "out.parquet")  # parents are made later: fine
    with pytest.raises(OutputError, match=r"--out .*/file/a/b.parquet: .*/file is a file, not a directory"):
        check_writable(tmp_path / "file" / "a" / "b.parquet")
    with pytest.raises(OutputError, match=r"--tables .* is a directory; give a file path"):
        check_writable(tmp_path, "--tables")
    check_writable(tmp_path, "--out", directory=True)
    with pytest.raises(OutputError, match=r"--out .*/file is a file; give a directory path"):
        check_writable(tmp_path / "file", "--out", directory=True)


def test_check_paths_exist_names_the_path_and_the_key(tmp_path):
    spaced = tmp_path / "my repo ä.git"
    spaced.mkdir()
    check_paths_exist([spaced], "crawl.local.paths")
    with pytest.raises(InputError, match=r"crawl.local.paths: path '.*/nope' does not exist; fix the path"):
        check_paths_exist([spaced, tmp_path / "nope"], "crawl.local.paths")
    with pytest.raises(InputError, match=r"models\[0\].path: model directory '.*' does not exist"):
        check_paths_exist([tmp_path / "model"], "models[0].path", "model directory", Path.is_dir)
