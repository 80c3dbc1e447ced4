"""Notebook cell extraction equals nbformat's view; blob classification reasons."""
from __future__ import annotations

import json

import nbformat
import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::UserWarning")

from editflow.mine.blobs import NOTEBOOK_SOURCES, BlobSkip, Version, classify
from editflow.mine.extract import cell_ops
from editflow.mine.notebook import NotebookError, ParsedNotebook, code_cells, parse_notebook
from test_mine_corpus import A0, A1, A2, V3, nb

V4_STRING_SOURCES = json.dumps({"cells": [
    {"cell_type": "code", "source": "a = 1\n\nb = 2", "metadata": {}, "outputs": [], "execution_count": 1},
    {"cell_type": "markdown", "source": "md", "metadata": {}},
    {"cell_type": "code", "source": "", "metadata": {}, "outputs": [], "execution_count": None},
    {"cell_type": "raw", "source": ["raw"], "metadata": {}},
    {"cell_type": "code", "source": ["x\n", "y"], "metadata": {}, "outputs": [], "execution_count": 2},
], "metadata": {}, "nbformat": 4, "nbformat_minor": 2})


@pytest.mark.parametrize("text", [nb(A0), nb(A1), nb(A2), nb(V3, version=3), V4_STRING_SOURCES])
def test_code_cells_equal_nbformat(text):
    ref = [c.source for c in nbformat.reads(text, as_version=4).cells if c.cell_type == "code"]
    assert code_cells(text).cells == ref


def test_what_orjson_refuses_is_read_as_json_reads_it():
    """NaN in outputs and integers past 64 bits are valid for json.loads (and nbformat)."""
    text = V4_STRING_SOURCES.replace('"execution_count": 1', '"execution_count": NaN').replace(
        '"nbformat_minor": 2', '"nbformat_minor": 2, "big": 123456789012345678901234567890')
    assert code_cells(text).cells == ["a = 1\n\nb = 2", "", "x\ny"]
    with pytest.raises(NotebookError, match="Expecting"):  # json's message, not orjson's
        code_cells('{"cells": [')


def test_v3_flag_and_errors():
    assert code_cells(nb(V3, version=3)).converted_from_v3
    assert not code_cells(nb(A0)).converted_from_v3
    cases = {"": "invalid_json", "[1, 2]": "invalid_json", '{"cells": [': "invalid_json",
             '{"nbformat": 4}': "no_cells", '{"cells": {}}': "no_cells",
             '{"cells": [{"cell_type": "code", "source": 3}]}': "invalid_notebook"}
    for text, reason in cases.items():
        with pytest.raises(NotebookError) as err:
            code_cells(text)
        assert err.value.reason == reason, text


def test_classify_reasons():
    assert classify(b"x" * 11, "python", 10) == BlobSkip("too_large", "11 bytes > max_file_bytes 10")
    assert classify(b"version https://git-lfs.github.com/spec/v1\noid sha256:ab\n", "notebook", 100).reason == "lfs_pointer"
    assert classify(b"ab\x00cd", "python", 100).reason == "binary"
    assert classify("é = 1\n".encode("latin-1"), "python", 100).reason == "decode_error"
    assert classify("# coding: latin-1\né = 1\n".encode("latin-1"), "python", 100) == \
        Version("# coding: latin-1\né = 1\n".encode(), decode_note="PEP 263 coding iso-8859-1")
    assert classify("# coding: latin-1\n{}".encode("latin-1") + b"\xe9", "notebook", 100).reason == "decode_error"
    assert classify(b"\xef\xbb\xbfx = 1\n", "python", 100).data == b"x = 1\n"


def test_cell_ops_non_equal_only():
    assert cell_ops(["a", "b", "c"], ["a", "B", "c", "d"]) == [
        {"tag": "replace", "i1": 1, "i2": 2, "j1": 1, "j2": 2},
        {"tag": "insert", "i1": 3, "i2": 3, "j1": 3, "j2": 4}]
    assert cell_ops(["a"], ["a"]) == [] and cell_ops(["a", "b"], ["b"]) == [
        {"tag": "delete", "i1": 0, "i2": 1, "j1": 0, "j2": 0}]


def test_every_reason_the_miner_emits_is_declared():
    import re
    from pathlib import Path

    from editflow.records import SKIP_REASONS

    src = "\n".join(p.read_text() for p in Path(__file__).resolve().parents[1].glob("src/editflow/mine/*.py"))
    emitted = set(re.findall(r'(?:BlobSkip|NotebookError)\("([a-z_0-9]+)"', src))
    emitted |= set(re.findall(r'"(merge_commit|empty_repository|missing_object|corrupt_object|not_a_file|'
                              r'path_not_utf8|nbformat_v3_converted)"', src))
    assert emitted and emitted <= set(SKIP_REASONS), emitted - set(SKIP_REASONS)


def test_cells_outlive_the_text_cache(tmp_path, monkeypatch):
    """A notebook evicted from the text cache is read again but not parsed again, with an
    identical result; skips are not kept as cells."""
    import pygit2

    from editflow.mine import blobs
    from editflow.mine.blobs import BlobCache

    repo = pygit2.init_repository(str(tmp_path / "r.git"), bare=True)
    good, bad = repo.create_blob(nb(A0).encode()), repo.create_blob(b"{not json")
    calls = []
    real = blobs.parse_notebook
    monkeypatch.setattr(blobs, "parse_notebook", lambda text, strip=False: calls.append(1) or real(text, strip))
    cache = BlobCache(repo, 10 << 20, budget_bytes=1)  # holds no text at all
    first = cache.get(good, "notebook")
    again = cache.get(good, "notebook")
    assert again == first and again.cells == ("import numpy as np\nx = 1", "print(x)")
    assert calls == [1] and cache.reads == 2 and list(cache.cells) == [(str(good), "notebook")]
    assert cache.get(bad, "notebook").reason == cache.get(bad, "notebook").reason == "invalid_json"
    assert len(calls) == 3 and len(cache.cells) == 1


def test_lone_surrogate_escape_in_a_code_cell_is_a_decode_error_not_a_crash():
    # json.loads accepts "\ud800" (orjson does not); Parquet could not store such a cell
    text = '{"cells": [{"cell_type": "code", "source": "x = \\"\\ud800\\""}], "nbformat": 4}'
    got = classify(text.encode(), "notebook", 10_000)
    assert got.reason == "decode_error" and "code cell 0" in got.detail
    # in an output it is harmless: the stored text is the raw (valid UTF-8) file
    text = '{"cells": [{"cell_type": "code", "source": "x", "outputs": [{"text": "\\ud800"}]}], "nbformat": 4}'
    assert classify(text.encode(), "notebook", 10_000) == Version(text.encode(), ("x",), markdown=())
    # ... and in the stripped text, json writes it back escaped (ASCII)
    stripped = classify(text.encode(), "notebook", 10_000, notebook_source="stripped").data
    assert stripped == b'{"cells":[{"cell_type":"code","source":"x","outputs":[]}],"nbformat":4}'
    # in a markdown cell it becomes "?" (the notebook stays an edit over its code cells)
    text = '{"cells": [{"cell_type": "markdown", "source": "a\\udc80"}], "nbformat": 4}'
    assert classify(text.encode(), "notebook", 10_000).markdown == ("a?",)


def test_notebook_text_is_kept_as_utf8_bytes_without_bom():
    raw = nb(A0).encode()
    got = classify(b"\xef\xbb\xbf" + raw, "notebook", 10_000_000)
    assert (got.data, got.decode_note) == (raw, "utf-8 with BOM")
    assert got.cells == ("import numpy as np\nx = 1", "print(x)")


@pytest.mark.parametrize("text", [nb(A0), nb(A2), nb(V3, version=3), V4_STRING_SOURCES])
def test_markdown_cells_equal_nbformat(text):
    """Markdown cells (v3 headings converted as nbformat does) in their own list; raw cells
    in neither."""
    ref = [c.source for c in nbformat.reads(text, as_version=4).cells if c.cell_type == "markdown"]
    assert code_cells(text).markdown == ref
    assert code_cells(nb(V3, version=3)).markdown == ["# Old", "text"]


def test_stripped_text_drops_outputs_and_attachments_only():
    text = json.dumps({"cells": [
        {"cell_type": "code", "source": ["x = 1\n", "é"], "metadata": {"tags": ["t"]}, "execution_count": 3,
         "outputs": [{"output_type": "display_data", "data": {"image/png": "iVBOR" * 1000}}]},
        {"cell_type": "markdown", "source": "![a](attachment:a.png)", "metadata": {},
         "attachments": {"a.png": {"image/png": "iVBOR"}}},
    ], "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    got = parse_notebook(text.encode(), strip=True)
    assert got.stripped == (
        '{"cells":[{"cell_type":"code","source":["x = 1\\n","é"],"metadata":{"tags":["t"]},'
        '"execution_count":3,"outputs":[]},{"cell_type":"markdown","source":"![a](attachment:a.png)",'
        '"metadata":{}}],"metadata":{"kernelspec":{"name":"python3"}},"nbformat":4,"nbformat_minor":5}').encode()
    assert parse_notebook(text.encode()).stripped is None  # only computed when asked for
    # the stripped text is a notebook with the same cells
    assert code_cells(got.stripped) == ParsedNotebook(got.cells, False, got.markdown)
    # v3 outputs live inside worksheets; NaN (json only) is written back as json wrote it
    v3 = nb(V3, version=3).replace('"outputs": []', '"outputs": [{"x": NaN}]')
    assert b"NaN" not in parse_notebook(v3.encode(), strip=True).stripped
    lenient = V4_STRING_SOURCES.replace('"execution_count": 1', '"execution_count": NaN')
    assert b'"execution_count":NaN' in parse_notebook(lenient.encode(), strip=True).stripped


def test_notebook_source_modes():
    raw = nb(A0).encode()
    versions = {mode: classify(raw, "notebook", 10_000_000, notebook_source=mode) for mode in NOTEBOOK_SOURCES}
    assert versions["raw"].data == raw and versions["none"].data is None
    assert versions["stripped"].data == parse_notebook(raw, strip=True).stripped
    assert b"iVBORw0KGgo" in raw and b"iVBORw0KGgo" not in versions["stripped"].data
    assert {v.cells for v in versions.values()} == {("import numpy as np\nx = 1", "print(x)")}
    assert {v.markdown for v in versions.values()} == {("# Title",)}
