"""The edits contract across mine format versions: files written before old_blob/new_blob
and the markdown columns existed are still read (those columns null), and `editflow blob`
gives back the raw text a row names."""
from __future__ import annotations

import subprocess
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pygit2
import pytest

from editflow.dataset.build import InputError, read_edit_batches
from editflow.mine.blob import BlobNotFound, read_blob
from editflow.records import EDIT_COLUMNS_ADDED, EDIT_SCHEMA, conform_edits

ROW = {"edit_id": "e1", "repo": "r", "commit": "c", "kind": "python", "path": "m.py",
       "change_type": "modified", "old_source": "a = 1\n", "new_source": "a = 2\n"}


def test_new_columns_are_at_the_end():
    assert EDIT_SCHEMA.names[-4:] == list(EDIT_COLUMNS_ADDED)


def test_an_edits_file_from_before_the_new_columns_reads_them_as_null(tmp_path):
    legacy = pa.schema([f for f in EDIT_SCHEMA if f.name not in EDIT_COLUMNS_ADDED])
    pq.write_table(pa.Table.from_pylist([ROW], schema=legacy), tmp_path / "old.parquet")
    (table,) = list(read_edit_batches([tmp_path / "old.parquet"], 100))
    assert table.schema.equals(EDIT_SCHEMA)
    row = table.to_pylist()[0]
    assert {k: row[k] for k in EDIT_COLUMNS_ADDED} == dict.fromkeys(EDIT_COLUMNS_ADDED)
    assert row["new_source"] == "a = 2\n"
    assert conform_edits(pa.Table.from_pylist([ROW], schema=EDIT_SCHEMA)).to_pylist() == table.to_pylist()


def test_an_edits_file_missing_an_original_column_is_refused(tmp_path):
    broken = pa.schema([f for f in EDIT_SCHEMA if f.name != "old_cells"])
    pq.write_table(pa.Table.from_pylist([ROW], schema=broken), tmp_path / "bad.parquet")
    with pytest.raises(InputError, match=r"missing edit column\(s\) \['old_cells'\]"):
        list(read_edit_batches([tmp_path / "bad.parquet"], 100))


@pytest.fixture()
def repo(tmp_path):
    r = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    return r, str(r.create_blob(b'{"cells": []}\n'))


def test_read_blob_by_full_and_short_id(repo):
    r, oid = repo
    assert read_blob(r.path, oid) == read_blob(r.path, oid[:10]) == b'{"cells": []}\n'
    with pytest.raises(BlobNotFound, match="no such object"):
        read_blob(r.path, "0" * 40)
    tree = str(r.TreeBuilder().write())
    with pytest.raises(BlobNotFound, match="not a blob"):
        read_blob(r.path, tree)


def test_blob_verb(repo, tmp_path):
    r, oid = repo
    cmd = [sys.executable, "-m", "editflow", "blob", "--repo", r.path, "--id", oid]
    got = subprocess.run(cmd, capture_output=True, check=True)
    assert got.stdout == b'{"cells": []}\n'
    subprocess.run(cmd + ["--out", str(tmp_path / "x.ipynb")], check=True)
    assert (tmp_path / "x.ipynb").read_bytes() == b'{"cells": []}\n'
    bad = subprocess.run(cmd[:-1] + ["f" * 40], capture_output=True, text=True)
    assert bad.returncode == 1 and "no such object" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.parametrize("mode", ["stripped", "raw", "none"])
def test_notebook_source_modes_end_to_end(tmp_path, mode):
    """Only the stored notebook text depends on mine.notebook_source: cells, markdown, blob
    ids and .py sources do not; `raw` is the file as committed, `none` stores nothing."""
    from editflow.mine.extract import MineSettings
    from editflow.mine.miner import mine
    from editflow.mine.notebook import parse_notebook
    from test_mine_corpus import A0, A1, RepoBuilder, nb

    b = RepoBuilder(tmp_path / "r.git")
    b.commit("add\n", {"a.ipynb": nb(A0), "m.py": "x = 1\n"})
    b.commit("edit\n", {"a.ipynb": nb(A1), "m.py": "x = 2\n"})
    settings = MineSettings(repo_name="t/m", license=None, notebook_source=mode)
    mine(str(tmp_path / "r.git"), tmp_path / "e.parquet", None, settings)
    rows = {(r["commit_time"], r["path"]): r for r in pq.read_table(tmp_path / "e.parquet").to_pylist()}
    (t0, t1) = sorted({t for t, _ in rows})
    edit = rows[(t1, "a.ipynb")]
    want = {"raw": (nb(A0), nb(A1)), "none": (None, None),
            "stripped": tuple(parse_notebook(x, strip=True).stripped.decode() for x in (nb(A0), nb(A1)))}[mode]
    assert (edit["old_source"], edit["new_source"]) == want
    assert edit["new_cells"] == ["import numpy as np\nx = 2", "y = x * 2", "print(x)"]
    assert edit["old_markdown"] == edit["new_markdown"] == ["# Title"]
    assert read_blob(str(tmp_path / "r.git"), edit["new_blob"]) == nb(A1).encode()
    assert (rows[(t1, "m.py")]["old_source"], rows[(t1, "m.py")]["new_source"]) == ("x = 1\n", "x = 2\n")
    assert rows[(t0, "a.ipynb")]["old_source"] is None and rows[(t0, "a.ipynb")]["old_blob"] is None
