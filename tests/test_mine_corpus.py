"""The hostile-input corpus: a repository built here with pygit2 (raw tree objects, so even
non-UTF-8 file names work) whose every commit has a known outcome; mining it must not crash
and must count every skip by reason, with exact cells and cell_ops for the known edits."""
from __future__ import annotations

import json
import os
import shutil
import zlib
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pygit2
import pytest
from pygit2.enums import ObjectType

from editflow.mine.extract import MineSettings
from editflow.mine.blob import read_blob
from editflow.mine.miner import mine
from editflow.mine.notebook import parse_notebook
from editflow.records import EDIT_SCHEMA, SKIP_SCHEMA, edit_id

REPO = "test/corpus"


class RepoBuilder:
    """Commits whole file maps (bytes path -> bytes content) with fixed times: stable ids."""

    def __init__(self, path: Path) -> None:
        self.repo = pygit2.init_repository(str(path), bare=True, initial_head="main")
        self.files: dict[bytes, bytes] = {}
        self.head = None
        self.tick = 0

    def _tree(self, files: dict[bytes, bytes]) -> pygit2.Oid:
        dirs: dict[bytes, dict[bytes, bytes]] = {}
        blobs: dict[bytes, bytes] = {}
        for path, content in files.items():
            head, _, rest = path.partition(b"/")
            if rest:
                dirs.setdefault(head, {})[rest] = content
            else:
                blobs[head] = content
        entries = [(name + b"/", b"40000 " + name, self._tree(sub)) for name, sub in dirs.items()]
        entries += [(name, b"100644 " + name, self.repo.create_blob(data)) for name, data in blobs.items()]
        body = b"".join(head + b"\x00" + oid.raw for _, head, oid in sorted(entries))
        return self.repo.odb.write(ObjectType.TREE, body)

    def commit(self, message: str, changes: dict, parents: list | None = None, ref: str | None = "refs/heads/main"):
        for path, content in changes.items():
            path = path.encode() if isinstance(path, str) else path
            if content is None:
                self.files.pop(path, None)
            else:
                self.files[path] = content.encode() if isinstance(content, str) else content
        self.tick += 1
        sig = pygit2.Signature("Ada Author", "ada@example.org", 1_700_000_000 + self.tick * 60, 0)
        parents = [self.head] if parents is None and self.head is not None else (parents or [])
        oid = self.repo.create_commit(ref, sig, sig, message, self._tree(self.files), parents)
        self.head = oid
        return oid


def nb(cells: list[tuple[str, str]], version: int = 4) -> str:
    if version == 3:
        ws = [{"cell_type": t, ("input" if t == "code" else "source"): s, "metadata": {},
               **({"outputs": [], "language": "python"} if t == "code" else {})} for t, s in cells]
        return json.dumps({"metadata": {}, "nbformat": 3, "nbformat_minor": 0,
                           "worksheets": [{"cells": ws, "metadata": {}}]}, indent=1)
    out = []
    for t, s in cells:
        lines = s.splitlines(keepends=True)
        cell = {"cell_type": t, "metadata": {}, "source": lines}
        if t == "code":
            cell.update(execution_count=None, outputs=[{"output_type": "display_data", "metadata": {},
                        "data": {"image/png": "iVBORw0KGgo" * 20}}])
        out.append(cell)
    return json.dumps({"cells": out, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


A0 = [("markdown", "# Title"), ("code", "import numpy as np\nx = 1"), ("code", "print(x)")]
A1 = [("markdown", "# Title"), ("code", "import numpy as np\nx = 2"), ("code", "y = x * 2"), ("code", "print(x)")]
A2 = [("markdown", "# Renamed"), ("code", "import numpy as np\nx = 2"), ("code", "y = x * 2"),
      ("code", "print(x)"), ("raw", "raw text")]
A3 = [("code", "import numpy as np\nx = 3"), ("code", "print(x)")]
V3 = [("heading", "Old"), ("code", "a = 1\nb = 2"), ("markdown", "text"), ("code", "a + b")]
LFS = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 123456\n"
MANY = 2000


def build_corpus(path: Path) -> dict:
    b = RepoBuilder(path)
    ids = {}
    ids["root"] = b.commit("Initial commit\n\nWith a body.\n", {
        "nb/a.ipynb": nb(A0), "src/m.py": "def f():\n    return 1\n", "README.md": "hello\n"})
    ids["hostile"] = b.commit("Add hostile files\n", {
        "nb/a.ipynb": nb(A1),
        "nb/v3.ipynb": nb(V3, version=3),
        "nb/bad.ipynb": '{"cells": [',
        "nb/empty.ipynb": "",
        "nb/lfs.ipynb": LFS,
        "nb/bin.ipynb": b"\x89PNG\r\n\x1a\n\x00\x00binary",
        "nb/nocells.ipynb": '{"nbformat": 4, "metadata": {}}',
        "src/latin.py": "s = 'caf\xe9'\n".encode("latin-1"),
        "src/cookie.py": "# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n".encode("latin-1"),
        "src/bom.py": b"\xef\xbb\xbfx = 1\n",
        b"src/caf\xe9.py": "x = 'odd name'\n",
        "src/big.py": "# " + "x" * 5000 + "\n",
    })
    ids["rename"] = b.commit("Rename notebook and drop module\n", {
        "nb/a.ipynb": None, "nb/renamed.ipynb": nb(A2), "src/m.py": None})
    ids["many"] = b.commit("Generate many modules\n", {f"gen/f{i:04d}.py": f"N = {i}\n" for i in range(MANY)})
    side = b.commit("Side branch change\n", {"src/cookie.py": "x = 'side'\n"}, ref=None)
    main_head = b.repo[ids["many"]].id
    b.head = main_head
    b.files[b"src/cookie.py"] = b"x = 'side'\n"
    ids["merge"] = b.commit("Merge side\n", {}, parents=[main_head, side])
    ids["side"] = side
    ids["last"] = b.commit("Edit renamed notebook\n", {"nb/renamed.ipynb": nb(A3)})
    return ids


SETTINGS = MineSettings(repo_name=REPO, license="mit", max_file_bytes=4000)


@pytest.fixture(scope="module")
def corpus_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    return root / "r.git", build_corpus(root / "r.git")


READERS = ["pygit2", "git-cat-file"] if shutil.which("git") else ["pygit2"]


@pytest.fixture(scope="module", params=READERS)
def corpus(corpus_repo, tmp_path_factory, request):
    """The corpus mined with each blob reader: the outputs must not depend on it."""
    repo, ids = corpus_repo
    root = tmp_path_factory.mktemp(request.param)
    os.symlink(repo, root / "r.git")
    report = mine(str(repo), root / "e.parquet", root / "s.parquet", SETTINGS, workers=1, reader=request.param)
    edits = pq.read_table(root / "e.parquet")
    skips = pq.read_table(root / "s.parquet")
    return ids, report, edits, skips, root


def test_schemas_exact(corpus):
    _, _, edits, skips, _ = corpus
    assert edits.schema.equals(EDIT_SCHEMA) and skips.schema.equals(SKIP_SCHEMA)


def test_every_skip_counted_by_reason(corpus):
    ids, report, edits, skips, _ = corpus
    got = Counter(skips["reason"].to_pylist())
    assert got == {"invalid_json": 2, "lfs_pointer": 1, "binary": 1, "no_cells": 1, "decode_error": 1,
                   "too_large": 1, "nbformat_v3_converted": 1, "path_not_utf8": 1, "merge_commit": 1}
    assert report.skips == dict(sorted(got.items()))
    rows = {(r["path"], r["reason"]): r for r in skips.to_pylist()}
    assert rows[("nb/empty.ipynb", "invalid_json")]["detail"].endswith("empty file")
    assert rows[("src/latin.py", "decode_error")]["commit"] == str(ids["hostile"])
    assert rows[(None, "merge_commit")]["commit"] == str(ids["merge"])


def test_records_per_commit_and_change_types(corpus):
    ids, report, edits, _, _ = corpus
    rows = edits.to_pylist()
    by_commit = Counter(r["commit"] for r in rows)
    assert by_commit[str(ids["root"])] == 2
    # a.ipynb, v3.ipynb, cookie.py, bom.py, caf\xe9.py (bad/empty/lfs/bin/nocells/latin/big skipped)
    assert by_commit[str(ids["hostile"])] == 5
    assert by_commit[str(ids["rename"])] == 2
    assert by_commit[str(ids["many"])] == MANY
    # the side branch's commit is mined (mine.history: all), diffed against its parent
    assert by_commit[str(ids["side"])] == 1 and str(ids["merge"]) not in by_commit
    assert by_commit[str(ids["last"])] == 1
    assert report.edits == len(rows) == 2 + 5 + 2 + MANY + 1 + 1
    side = next(r for r in rows if r["commit"] == str(ids["side"]))
    assert (side["path"], side["parent"], side["new_source"]) == ("src/cookie.py", str(ids["many"]), "x = 'side'\n")
    # deterministic order: commit order (side branches before their merge), then path
    order = [ids[k] for k in ("root", "hostile", "rename", "many", "side", "last")]
    assert [r["commit"] for r in rows] == sorted((r["commit"] for r in rows), key=lambda c: order.index(pygit2.Oid(hex=c)))
    hostile = [r["path"] for r in rows if r["commit"] == str(ids["hostile"])]
    assert hostile == sorted(hostile) == ["nb/a.ipynb", "nb/v3.ipynb", "src/bom.py", "src/caf\\xe9.py", "src/cookie.py"]


def test_root_commit_has_empty_old_side(corpus):
    ids, _, edits, _, _ = corpus
    root = [r for r in edits.to_pylist() if r["commit"] == str(ids["root"])]
    a = root[0]
    assert (a["path"], a["change_type"], a["parent"], a["old_path"], a["old_source"], a["old_cells"]) == \
        ("nb/a.ipynb", "added", None, None, None, None)
    assert a["new_cells"] == ["import numpy as np\nx = 1", "print(x)"]
    assert a["cell_ops"] == [{"tag": "insert", "i1": 0, "i2": 0, "j1": 0, "j2": 2}]
    assert a["message"] == "Initial commit\n\nWith a body.\n"
    assert a["edit_id"] == edit_id(REPO, str(ids["root"]), "nb/a.ipynb")
    assert a["license"] == "mit"
    m = root[1]
    assert (m["kind"], m["new_source"], m["old_cells"], m["cell_ops"]) == ("python", "def f():\n    return 1\n", None, None)
    assert (m["lines_added"], m["lines_deleted"], m["hunks"]) == (2, 0, 1)


def test_known_notebook_edit_cells_and_ops(corpus):
    ids, _, edits, _, _ = corpus
    r = next(r for r in edits.to_pylist() if r["commit"] == str(ids["hostile"]) and r["path"] == "nb/a.ipynb")
    assert r["change_type"] == "modified"
    assert r["old_cells"] == ["import numpy as np\nx = 1", "print(x)"]
    assert r["new_cells"] == ["import numpy as np\nx = 2", "y = x * 2", "print(x)"]
    assert r["cell_ops"] == [{"tag": "replace", "i1": 0, "i2": 1, "j1": 0, "j2": 2}]
    assert (r["lines_added"], r["lines_deleted"], r["hunks"]) == (4, 1, 1)
    # the stored text is the stripped notebook (mine.notebook_source default); the raw text is
    # one `editflow blob` away, by the row's blob ids
    assert r["old_source"].encode() == parse_notebook(nb(A0), strip=True).stripped
    assert r["new_source"].encode() == parse_notebook(nb(A1), strip=True).stripped
    assert "iVBORw0KGgo" in nb(A1) and "iVBORw0KGgo" not in r["new_source"]
    assert r["old_markdown"] == r["new_markdown"] == ["# Title"]
    repo = str(corpus[4] / "r.git")
    assert (read_blob(repo, r["old_blob"]), read_blob(repo, r["new_blob"])) == (nb(A0).encode(), nb(A1).encode())


def test_blob_ids_and_python_rows(corpus):
    """Every row names its sides' blobs (null where a side is absent); .py rows keep their
    source and have no markdown."""
    _, _, edits, _, root = corpus
    for r in edits.to_pylist():
        assert (r["old_blob"] is None) == (r["change_type"] == "added"), r["path"]
        assert (r["new_blob"] is None) == (r["change_type"] == "deleted"), r["path"]
        if r["kind"] == "python":
            assert r["old_markdown"] is None and r["new_markdown"] is None
            if r["new_blob"] is not None and r["path"] == "src/bom.py":
                assert read_blob(str(root / "r.git"), r["new_blob"]) == b"\xef\xbb\xbfx = 1\n"


def test_v3_cookie_bom_and_odd_name(corpus):
    ids, _, edits, _, _ = corpus
    rows = {r["path"]: r for r in edits.to_pylist() if r["commit"] == str(ids["hostile"])}
    assert rows["nb/v3.ipynb"]["new_cells"] == ["a = 1\nb = 2", "a + b"]
    assert rows["src/cookie.py"]["new_source"] == "# -*- coding: latin-1 -*-\ns = 'caf\xe9'\n"
    assert rows["src/bom.py"]["new_source"] == "x = 1\n"
    assert rows["src/caf\\xe9.py"]["new_source"] == "x = 'odd name'\n"


def test_rename_keeps_real_old_side(corpus):
    ids, _, edits, _, _ = corpus
    rows = {r["path"]: r for r in edits.to_pylist() if r["commit"] == str(ids["rename"])}
    r = rows["nb/renamed.ipynb"]
    assert (r["change_type"], r["old_path"]) == ("renamed", "nb/a.ipynb")
    assert r["old_cells"] == ["import numpy as np\nx = 2", "y = x * 2", "print(x)"]
    assert r["new_cells"] == r["old_cells"] and r["cell_ops"] == []
    assert (r["lines_added"], r["lines_deleted"], r["hunks"]) == (0, 0, 0)
    d = rows["src/m.py"]
    assert (d["change_type"], d["old_path"], d["new_source"], d["old_source"]) == \
        ("deleted", "src/m.py", None, "def f():\n    return 1\n")


def test_merge_skipped_and_next_commit_diffs_against_first_parent(corpus):
    ids, _, edits, _, _ = corpus
    last = [r for r in edits.to_pylist() if r["commit"] == str(ids["last"])]
    assert [(r["path"], r["parent"]) for r in last] == [("nb/renamed.ipynb", str(ids["merge"]))]
    assert last[0]["cell_ops"] == [{"tag": "replace", "i1": 0, "i2": 2, "j1": 0, "j2": 1}]


def test_no_author_identity_stored(corpus):
    _, _, edits, skips, root = corpus
    raw = (root / "e.parquet").read_bytes() + (root / "s.parquet").read_bytes()
    assert b"Ada Author" not in raw and b"ada@example.org" not in raw
    text = " ".join(str(v) for v in edits.slice(0, 20).to_pylist())
    assert "ada@example.org" not in text


def test_workers_and_readers_give_identical_bytes(corpus, tmp_path):
    _, _, _, _, root = corpus
    other = "pygit2" if root.name.startswith("git") else "auto"
    mine(str(root / "r.git"), tmp_path / "e.parquet", tmp_path / "s.parquet", SETTINGS, workers=2,
         chunk_commits=1, min_parallel=1, reader=other)
    assert (tmp_path / "e.parquet").read_bytes() == (root / "e.parquet").read_bytes()
    assert (tmp_path / "s.parquet").read_bytes() == (root / "s.parquet").read_bytes()


def test_empty_repository(tmp_path):
    pygit2.init_repository(str(tmp_path / "empty.git"), bare=True)
    report = mine(str(tmp_path / "empty.git"), tmp_path / "e.parquet", tmp_path / "s.parquet", SETTINGS)
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0
    assert pq.read_table(tmp_path / "s.parquet").to_pylist() == [
        {"repo": REPO, "commit": None, "path": None, "reason": "empty_repository",
         "detail": "the repository has no commits"}]
    assert report.skips == {"empty_repository": 1}


def _loose(repo: pygit2.Repository, oid) -> Path:
    h = str(oid)
    return Path(repo.path) / "objects" / h[:2] / h[2:]


@pytest.mark.parametrize("reader", READERS)
def test_missing_and_corrupt_objects_are_counted_not_fatal(tmp_path, reader):
    b = RepoBuilder(tmp_path / "r.git")
    b.commit("Add files\n", {"ok.py": "a = 1\n", "gone.py": "b = 1\n", "rot.ipynb": nb(A0),
                             "packed.py": "c = 1\n" * 40})
    last = b.commit("Touch files\n", {"ok.py": "a = 2\n", "gone.py": "b = 2\n", "rot.ipynb": nb(A1),
                                      "packed.py": "c = 2\n" * 40})
    repo = b.repo
    tree = repo[last].tree
    # a blob missing from the object store, as in a blob-filtered partial clone
    os.remove(_loose(repo, tree["gone.py"].id))
    # a loose object whose zlib stream is garbage
    rot = _loose(repo, tree["rot.ipynb"].id)
    os.chmod(rot, 0o644)
    rot.write_bytes(zlib.compress(b"blob 5\x00abc")[:-3] + b"\xff\xff\xff")
    # a pack whose object data is damaged
    packed = tree["packed.py"].id
    pb = pygit2.PackBuilder(repo)
    pb.add(packed)
    pb.write(str(Path(repo.path) / "objects" / "pack"))
    os.remove(_loose(repo, packed))
    pack = next((Path(repo.path) / "objects" / "pack").glob("*.pack"))
    data = bytearray(pack.read_bytes())
    for i in range(16, len(data) - 24):
        data[i] ^= 0x5A
    pack.write_bytes(bytes(data))
    report = mine(str(tmp_path / "r.git"), tmp_path / "e.parquet", tmp_path / "s.parquet", SETTINGS,
                  reader=reader)
    skips = pq.read_table(tmp_path / "s.parquet").to_pylist()
    assert Counter(s["reason"] for s in skips) == {"missing_object": 1, "corrupt_object": 2}
    assert {(s["path"], s["reason"]) for s in skips} == {
        ("gone.py", "missing_object"), ("rot.ipynb", "corrupt_object"), ("packed.py", "corrupt_object")}
    edits = pq.read_table(tmp_path / "e.parquet").to_pylist()
    assert [(e["path"], e["change_type"]) for e in edits] == [
        ("gone.py", "added"), ("ok.py", "added"), ("packed.py", "added"), ("rot.ipynb", "added"),
        ("ok.py", "modified")]
    assert report.edits == 5
