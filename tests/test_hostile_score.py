"""`editflow score` and `editflow aggregate` against bad input files: damaged Parquet, wrong
column types, an unwritable --out, a 0-row file, NaN metrics. Each is refused with a
message naming the file (and column), before any work, and a good previous output stays."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow.cli import main

ROWS = {"example_id": ["e1", "e2"], "prediction": ["x = 1\n", "y = 2\n"], "reference": ["x = 1\n", "y = 3\n"]}


def _write(path: Path, rows: dict | pa.Table) -> str:
    pq.write_table(rows if isinstance(rows, pa.Table) else pa.table(rows), path)
    return str(path)


def _score(inp: str, out: Path, *extra: str) -> int:
    return main(["score", "--in", inp, "--out", str(out), "--workers", "1", "--tokenizer", "whitespace", *extra])


def damage(path: Path, n: int = 200) -> None:
    """Overwrite `n` bytes in the middle of a file (a bad disk sector, a cut copy)."""
    data = bytearray(path.read_bytes())
    start = len(data) // 3
    data[start:start + n] = b"\xa5" * n
    path.write_bytes(bytes(data))


@pytest.fixture()
def good_scores(tmp_path):
    """A previous, good scores file at --out, which a refused run must leave as it is."""
    out = tmp_path / "scores.parquet"
    assert _score(_write(tmp_path / "good.parquet", ROWS), out) == 0
    return out, out.read_bytes()


def test_damaged_predictions_file(tmp_path, good_scores, caplog):
    out, before = good_scores
    rows = {k: v * 200 for k, v in ROWS.items()}
    inp = tmp_path / "pred.parquet"
    _write(inp, rows)
    damage(inp)
    assert _score(str(inp), out) == 2
    assert f"{inp}: not a readable Parquet predictions file (" in caplog.text
    assert "delete it and rerun `editflow infer`" in caplog.text
    assert out.read_bytes() == before


@pytest.mark.parametrize("column,values,type_text", [
    ("prediction", [1, 2], "int64"),
    ("prediction", [["x"], ["y"]], "list<element: string>"),
    ("reference", [1.5, 2.5], "double"),
])
def test_prediction_of_another_type_is_refused(tmp_path, good_scores, caplog, column, values, type_text):
    out, before = good_scores
    inp = _write(tmp_path / "pred.parquet", dict(ROWS, **{column: values}))
    assert _score(inp, out) == 2
    assert f"{inp}: column {column!r} has type {type_text}, expected string" in caplog.text
    assert out.read_bytes() == before


def test_unwritable_out_is_found_before_any_work(tmp_path, monkeypatch, caplog):
    import editflow.metrics.score as score

    def no_work(*a, **k):
        raise AssertionError("scoring started")

    monkeypatch.setattr(score, "score_table", no_work)
    monkeypatch.setattr(score, "_read_predictions", no_work)
    (tmp_path / "file").write_text("x")
    assert _score(_write(tmp_path / "p.parquet", ROWS), tmp_path / "file" / "s.parquet") == 2
    assert f"--out {tmp_path}/file/s.parquet: {tmp_path}/file is a file, not a directory" in caplog.text
    assert _score(_write(tmp_path / "p.parquet", ROWS), tmp_path) == 2
    assert f"--out {tmp_path} is a directory" in caplog.text


@pytest.mark.parametrize("verb", ["score", "aggregate"])
def test_negative_workers_is_a_usage_error(tmp_path, capsys, verb):
    args = ["--in", "x", "--out", str(tmp_path / "s")] if verb == "score" else ["--scores", "x"]
    with pytest.raises(SystemExit) as exc:
        main([verb, *args, "--workers", "-1"])
    assert exc.value.code == 2
    assert "argument --workers: -1 is negative" in capsys.readouterr().err


# ---- aggregate -----------------------------------------------------------------------------------
def _aggregate(tmp_path: Path, *scores: Path) -> int:
    return main(["aggregate", "--scores", *map(str, scores), "--out-dir", str(tmp_path / "tables"),
                 "--plots-dir", str(tmp_path / "plots"), "--settings",
                 '{"bootstrap_samples": 20, "seed": 0}'])


def test_aggregate_refuses_a_0_row_file(tmp_path, good_scores, caplog):
    out, _ = good_scores
    empty = tmp_path / "m" / "t" / "0shot" / "base.parquet"
    empty.parent.mkdir(parents=True)
    pq.write_table(pq.read_table(out).slice(0, 0), empty)
    assert _aggregate(tmp_path, empty) == 1
    assert f"{empty}: 0 rows;" in caplog.text
    assert not list((tmp_path / "tables").iterdir())  # the lock made the directory; nothing else


def test_aggregate_refuses_nan_metrics(tmp_path, good_scores, caplog):
    out, _ = good_scores
    table = pq.read_table(out)
    bleu = table.schema.get_field_index("bleu")
    table = table.set_column(bleu, "bleu", pa.array([float("nan"), 50.0]))
    bad = tmp_path / "m" / "t" / "0shot" / "base.parquet"
    bad.parent.mkdir(parents=True)
    pq.write_table(table, bad)
    assert _aggregate(tmp_path, bad) == 1
    assert f"{bad}: column 'bleu' has 1 NaN value(s) (first at example_id 'e1')" in caplog.text
    assert not list((tmp_path / "tables").iterdir())  # the lock made the directory; nothing else


def test_aggregate_damaged_scores_file(tmp_path, good_scores, caplog):
    out, _ = good_scores
    big = tmp_path / "m" / "t" / "0shot" / "base.parquet"
    big.parent.mkdir(parents=True)
    pq.write_table(pa.concat_tables([pq.read_table(out)] * 200), big)
    damage(big)
    assert _aggregate(tmp_path, big) == 1
    assert f"{big}: not a readable Parquet file" in caplog.text


# ---- pool workers end with their parent ------------------------------------------------------------
CHILD = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
from editflow.procs import forked_children_die_with_parent
if sys.argv[1] == "armed":
    forked_children_die_with_parent()
pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"))
futures = [pool.submit(time.sleep, 60) for _ in range(2)]
time.sleep(0.5)
print(" ".join(str(p) for p in pool._processes), flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("mode", ["armed", "plain"])
def test_pool_workers_die_with_a_killed_parent(mode):
    proc = subprocess.Popen([sys.executable, "-c", CHILD, mode], stdout=subprocess.PIPE, text=True)
    workers = [int(p) for p in proc.stdout.readline().split()]
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5
    while any(map(_alive, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = [p for p in workers if _alive(p)]
    for p in alive:
        os.kill(p, signal.SIGKILL)
    # without die_with_parent the workers outlive the kill (the failure this guards against)
    assert (alive == []) == (mode == "armed")


def test_die_with_parent_exits_when_the_parent_is_already_gone():
    code = "from editflow.procs import die_with_parent; die_with_parent(expected_parent=1 << 22); print('alive')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert (proc.returncode, proc.stdout) == (1, "")
