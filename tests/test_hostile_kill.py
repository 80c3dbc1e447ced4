"""`kill -9` at several points of `editflow mine`, `dataset`, `score` and `aggregate`.

After each kill every output path holds the old complete output, or none, or the new
complete output (the kill came after the last rename); no process of the killed run lives
on (pool workers die with their parent); and the rerun writes exactly the bytes of an
uninterrupted run. Kill points: fractions of an uninterrupted run's time, and the moment
a temporary file first appears beside an output (inside the write)."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pygit2
import pytest

from editflow.cli import main
from test_hostile_git import make_repo

PY = [sys.executable, "-m", "editflow"]
# CodeBLEU's value of some pairs depends on str hash randomization (a set's order inside the
# codebleu package): two uninterrupted `editflow score` runs of the same file can differ in
# that column. Pinned here so that the test measures kills, not that (reported separately).
ENV = dict(os.environ, PYTHONHASHSEED="0")


@dataclass
class Stage:
    new: list[str]            # the run that is killed
    old: list[str]            # a different, complete run whose outputs must survive a kill
    outputs: list[Path]


def _notebook(i: int) -> bytes:
    cells = [{"cell_type": "code", "source": f"x{j} = {i * j}\n" * 10, "metadata": {}, "outputs": []}
             for j in range(20)]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def _mine(tmp: Path) -> Stage:
    repo = tmp / "r.git"
    shas = make_repo(repo, [{"a.ipynb": _notebook(i), "b.ipynb": _notebook(i + 1), "m.py": b"x = %d\n" % i * 20}
                            for i in range(80)])
    out, skips = tmp / "edits" / "e.parquet", tmp / "edits" / "e.skips.parquet"
    cmd = [*PY, "mine", "--repo", str(repo), "--name", "t/r", "--out", str(out), "--skips", str(skips),
           "--workers", "2"]
    return Stage(cmd, cmd + ["--head-sha", shas[30]], [out, skips])


def _predictions(path: Path, n: int, seed: int) -> str:
    rng = random.Random(seed)
    words = ["def", "f", "(", "x", ")", ":", "return", "+", "1", "\n", "y", "="]

    def text() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(3, 30)))

    pq.write_table(pa.table({"example_id": [f"e{i:04d}" for i in range(n)],
                             "prediction": [text() for _ in range(n)],
                             "reference": [text() for _ in range(n)]}), path)
    return str(path)


def _score(tmp: Path) -> Stage:
    out = tmp / "metrics" / "m" / "nb-cell" / "0shot" / "base.parquet"
    new = _predictions(tmp / "pred.parquet", 400, 0)
    old = _predictions(tmp / "pred-old.parquet", 50, 1)
    cmd = [*PY, "score", "--out", str(out), "--tokenizer", "whitespace", "--workers", "2", "--in"]
    return Stage(cmd + [new], cmd + [old], [out])


def _aggregate(tmp: Path) -> Stage:
    files = []
    for checkpoint, seed in (("base", 2), ("run1", 3)):
        pred = _predictions(tmp / f"p-{checkpoint}.parquet", 60, seed)
        out = tmp / "metrics" / "m" / "nb-cell" / "0shot" / f"{checkpoint}.parquet"
        # in this process: only the aggregate runs are killed (and each process start costs)
        assert main(["score", "--in", pred, "--out", str(out), "--tokenizer", "whitespace", "--workers", "1"]) == 0
        files.append(str(out))
    tables, plots = tmp / "tables", tmp / "plots"
    cmd = [*PY, "aggregate", "--out-dir", str(tables), "--plots-dir", str(plots), "--settings",
           json.dumps({"bootstrap_samples": 200, "seed": 0}), "--scores"]
    outputs = [tables / n for n in ("main.csv", "main.md", "per_run.csv", "significance.csv",
                                    "significance.md", "tables.html")]
    outputs += [plots / "main_metrics.png", plots / "distributions.png"]
    return Stage(cmd + files, cmd + files[:1], outputs)


def _dataset(tmp: Path) -> Stage:
    from editflow.dataset.synthetic import random_edits

    edits = tmp / "edits.parquet"
    pq.write_table(random_edits(3000, 20, seed=0, start=0), edits)
    out = tmp / "ds"
    cmd = [*PY, "dataset", "--out", str(out), "--tokenizer", "whitespace", "--edits", str(edits)]
    settings = {"split": {"method": "hash"}}
    return Stage(cmd + ["--settings", json.dumps(settings)],
                 cmd + ["--settings", json.dumps({**settings, "filters": {"max_tokens": 300}})],
                 [out / n for n in ("train.parquet", "val.parquet", "test.parquet", "stats.json", "README.md")])


def _snapshot(paths: list[Path]) -> dict[Path, bytes | None]:
    return {p: p.read_bytes() if p.exists() else None for p in paths}


def _restore(state: dict[Path, bytes | None]) -> None:
    for p, data in state.items():
        if data is None:
            p.unlink(missing_ok=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)


def _children(pid: int) -> set[int]:
    """Every descendant of `pid` now (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(") ", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {c for c, p in parents.items() if p in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\x00", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def _temp_beside(outputs: list[Path]) -> bool:
    return any(any(o.parent.glob(f".{o.name}.*.tmp")) for o in outputs if o.parent.exists())


def _run_and_kill(cmd: list[str], at: float | str, outputs: list[Path]) -> tuple[bool, set[int]]:
    """Start `cmd`, SIGKILL it at `at` seconds (or when a temp file appears, at="temp");
    return (whether it was killed before finishing, its descendants at the kill)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    start = time.monotonic()
    while proc.poll() is None:
        due = _temp_beside(outputs) if at == "temp" else time.monotonic() - start >= at
        if due or time.monotonic() - start > 240:
            family = _children(proc.pid)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True, family
        time.sleep(0.005)
    return False, set()


BUILD = {"mine": _mine, "dataset": _dataset, "score": _score, "aggregate": _aggregate}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("stage", list(BUILD))
def test_kill_9_leaves_old_or_none_and_the_rerun_is_identical(tmp_path, stage):
    s = BUILD[stage](tmp_path)
    subprocess.run(s.old, check=True, capture_output=True, timeout=300, env=ENV)
    old = _snapshot(s.outputs)
    assert all(v is not None for v in old.values())
    _restore({p: None for p in s.outputs})
    t0 = time.monotonic()
    subprocess.run(s.new, check=True, capture_output=True, timeout=300, env=ENV)
    full_s = time.monotonic() - t0
    reference = _snapshot(s.outputs)
    assert reference != old

    kill_points: list[float | str] = ["temp", 0.35 * full_s, 0.8 * full_s][:3 if stage == "mine" else 2]
    kills = 0
    for i, at in enumerate(kill_points):
        before = old if i % 2 == 0 else {p: None for p in s.outputs}   # with and without an old output
        _restore(before)
        killed, family = _run_and_kill(s.new, at, s.outputs)
        kills += killed
        after = _snapshot(s.outputs)
        for p in s.outputs:
            assert after[p] in (before[p], reference[p]), f"{stage}, kill at {at}: {p} is neither old, none nor new"
        if stage == "dataset":  # one directory: all old, none, or all new -- never a mix
            assert after in (before, reference), f"dataset, kill at {at}: old and new files mixed"
        if stage == "mine" and after[s.outputs[0]] == reference[s.outputs[0]]:
            assert after[s.outputs[1]] == reference[s.outputs[1]], "new edits beside old skips"
        deadline = time.monotonic() + 10
        while any(map(_alive, family)) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = [_cmdline(p) for p in family if _alive(p)]
        assert not survivors, f"{stage}, kill at {at}: processes outlived the kill: {survivors}"
        rerun = subprocess.run(s.new, capture_output=True, text=True, timeout=300, env=ENV)
        assert rerun.returncode == 0, rerun.stderr
        assert _snapshot(s.outputs) == reference, f"{stage}: rerun after a kill at {at} differs"
        assert not _temp_beside(s.outputs)
    assert kills >= 1  # the runs were really cut short (not all finished before the kill)
