"""Task views, vectorised prompt rendering and token counting (editflow.dataset)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from editflow import cells, prompts
from editflow.dataset import dedup as dd
from editflow.dataset import split as sp
from editflow.dataset.synthetic import edit_row, edits_table
from editflow.dataset.tokens import HFCounter, WhitespaceCounter, make_counter, render_prompts, render_targets
from editflow import tasks
from editflow.tasks._cells import render_cell_only_array, render_cells_array, render_whole_file_array, select_cells
from editflow.tasks.base import changed_lines_text


def build_views(edits, names):
    return {t: tasks.get(t).build_view(edits) for t in names}


def test_render_cells_array_matches_render_cells():
    lists = [["a = 1", "b = 2\nc = 3"], [], None, ["x"]]
    got = render_cells_array(pa.array(lists, pa.list_(pa.string()))).to_pylist()
    assert got == [cells.render_cells(x or []) for x in lists]
    sliced = pa.array(lists, pa.list_(pa.string())).slice(1)
    assert render_cells_array(sliced).to_pylist() == ["", "", "# %%\nx"]


def test_render_arrays_match_the_scalar_renderings_in_both_formats():
    lists = [["a = 1", "b = 2\nc = 3"], [], None, ["x"]]
    arr = pa.array(lists, pa.list_(pa.string()))
    for fmt in cells.FORMATS:
        assert render_whole_file_array(arr, fmt).to_pylist() == [cells.render_whole_file(x or [], fmt) for x in lists]
        assert render_cell_only_array(arr, fmt).to_pylist() == [cells.render_cell_only(x or [], fmt) for x in lists]
    # ipynb-edit's strings, written out from baseline.py's generate_code_prompt_* definitions
    assert render_whole_file_array(arr.slice(0, 1)).to_pylist() == [
        "<Cell_0>\na = 1\n<\\Cell_0>\n<Cell_1>\nb = 2\nc = 3\n<\\Cell_1>\n"]
    assert render_whole_file_array(arr.slice(1)).to_pylist() == ["", "", "<Cell_0>\nx\n<\\Cell_0>\n"]
    assert render_cell_only_array(arr).to_pylist() == ["a = 1\nb = 2\nc = 3\n", "", "", "x\n"]
    with cells.using_format("percent"):
        assert render_whole_file_array(arr).to_pylist() == render_cells_array(arr).to_pylist()
    with pytest.raises(ValueError, match="cell_format"):
        cells.render_whole_file(["a"], "markdown")


def test_nb_cell_view_concatenates_ops_in_order():
    old = ["import a", "x = 1", "y = 2", "z = 3"]
    new = ["import a", "x = 10", "y = 2", "w = 0", "z = 3"]
    row = edit_row(old_cells=old, new_cells=new)
    assert [o["tag"] for o in row["cell_ops"]] == ["replace", "insert"]
    views = build_views(edits_table([row]), ("nb-file", "nb-cell"))
    nb_cell = views["nb-cell"].to_pylist()[0]
    assert nb_cell["old_code"] == "x = 1\n"            # the insert adds no old cell
    assert nb_cell["target"] == "x = 10\nw = 0\n"
    assert nb_cell["changed_cells"] == 2
    nb_file = views["nb-file"].to_pylist()[0]
    assert nb_file["old_code"] == "".join(f"<Cell_{i}>\n{c}\n<\\Cell_{i}>\n" for i, c in enumerate(old))
    assert nb_file["target"] == ("<Cell_0>\nimport a\n<\\Cell_0>\n<Cell_1>\nx = 10\n<\\Cell_1>\n<Cell_2>\ny = 2\n"
                                 "<\\Cell_2>\n<Cell_3>\nw = 0\n<\\Cell_3>\n<Cell_4>\nz = 3\n<\\Cell_4>\n")
    # both notebook tasks share one near-duplicate text per edit
    assert nb_file["dedup_text"] == nb_cell["dedup_text"] == "x = 1\n\nx = 10\nw = 0\n"
    with cells.using_format("percent"):
        views = build_views(edits_table([row]), ("nb-file", "nb-cell"))
    nb_cell, nb_file = views["nb-cell"].to_pylist()[0], views["nb-file"].to_pylist()[0]
    assert nb_cell["old_code"] == cells.render_cells(["x = 1"]) == "# %%\nx = 1"
    assert nb_cell["target"] == cells.render_cells(["x = 10", "w = 0"])
    assert nb_file["old_code"] == cells.render_cells(old)
    assert nb_file["target"] == cells.render_cells(new)
    assert cells.current_format() == "ipynb-edit"   # the block's format ends with it


def test_insert_only_and_delete_only():
    ins = edit_row(commit="c1", old_cells=["a"], new_cells=["a", "b"])
    dele = edit_row(commit="c2", old_cells=["a", "b"], new_cells=["a"])
    v = build_views(edits_table([ins, dele]), ("nb-cell",))["nb-cell"].to_pylist()
    assert (v[0]["old_code"], v[0]["target"]) == ("", "b\n")
    assert (v[1]["old_code"], v[1]["target"]) == ("b\n", "")


def test_select_cells_clips_corrupt_ops():
    cells_arr = pa.array([["a", "b"]], pa.list_(pa.string()))
    ops = pa.array([[{"tag": "replace", "i1": 1, "i2": 9, "j1": 0, "j2": 0}]], pa.list_(
        pa.struct([("tag", pa.string()), ("i1", pa.int32()), ("i2", pa.int32()), ("j1", pa.int32()), ("j2", pa.int32())])))
    sel, n = select_cells(cells_arr, ops, "i1", "i2")
    assert sel.to_pylist() == [["b"]] and n.tolist() == [1]


def test_py_file_view_and_kinds():
    nb = edit_row(path="a.ipynb")
    py = edit_row(path="m.py", old_source="x = 1\n", new_source="x = 2\n")
    views = build_views(edits_table([nb, py]), ("nb-file", "nb-cell", "py-file"))
    assert [views[t].num_rows for t in ("nb-file", "nb-cell", "py-file")] == [1, 1, 1]
    assert views["py-file"].to_pylist()[0]["old_code"] == "x = 1\n"
    assert views["py-file"].to_pylist()[0]["changed_cells"] is None
    row = views["py-file"].to_pylist()[0]
    assert (row["source"], row["reference"]) == ("x = 1\n", "x = 2\n")
    assert row["dedup_text"] is None     # computed for kept rows only, from source -> reference
    assert changed_lines_text(row["source"], row["reference"]) == "x = 1\nx = 2"
    nb_rows = [views[t].to_pylist()[0] for t in ("nb-file", "nb-cell")]
    assert nb_rows[0]["dedup_text"] == nb_rows[1]["dedup_text"]   # one signature per notebook edit


@pytest.mark.parametrize("task", ["nb-file", "nb-cell", "py-file"])
def test_vectorised_prompts_equal_render_prompt(task):
    messages = ["fix {old_code} placeholder", "add a plot", ""]
    codes = ["x = {1}", "", "def f():\n    return '{message}'"]
    got = render_prompts(task, pa.array(messages), pa.array(codes)).to_pylist()
    template = prompts.load_template("finetuned")
    want = [prompts.render_prompt(template, task, prompts.Exemplar(message=m, old_code=c))
            for m, c in zip(messages, codes)]
    assert got == want
    assert render_targets(task, pa.array(["y = 2"])).to_pylist() == [prompts.render_target(template, "y = 2")]


def test_whitespace_counter():
    assert WhitespaceCounter().count(pa.array(["a b  c", "", "x\ny", None])).tolist() == [3, 0, 2, 0]
    assert isinstance(make_counter("whitespace"), WhitespaceCounter)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        make_counter("/nonexistent/tokenizer")


def test_hf_counter_with_a_tokenizer_built_here(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    tok = tokenizers.Tokenizer(WordLevel({"[UNK]": 0, "x": 1, "=": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    counter = make_counter(str(tmp_path))
    assert isinstance(counter, HFCounter)
    assert counter.count(pa.array(["x = 1", "x=1", ""])).tolist() == [3, 3, 0]


def test_keep_first_keeps_oldest_of_each_key():
    keys = pa.array(["a", "b", "a", "c", "b"])
    age = np.array([5, 1, 2, 0, 3])
    assert dd.keep_first([keys], age).tolist() == [False, True, True, True, False]


def test_near_duplicate_pairs_and_components():
    base = " ".join(f"tok{i}" for i in range(80))
    texts = [base, base + " extra", "completely different words here " * 5, base.replace("tok3 ", "")]
    cfg = dd.DedupConfig()
    sig, valid = dd.signatures(texts, cfg)
    pairs = dd.near_duplicate_pairs(sig, valid, cfg)
    labels = dd.components(len(texts), pairs)
    assert labels[0] == labels[1] == labels[3] == 0 and labels[2] == 2


def test_repo_split_is_stable_when_repositories_are_added():
    cfg = sp.SplitConfig()
    repos = [f"o/r{i}" for i in range(50)]
    before = sp.split_by_repo(repos, cfg)
    after = sp.split_by_repo(repos + [f"n/x{i}" for i in range(30)], cfg)
    assert all(after[r] == before[r] for r in repos)
    assert set(before.values()) == {0, 1, 2}
    other = sp.split_by_repo(repos, sp.SplitConfig(salt="other"))
    assert other != before


def test_batch_rows_shrinks_for_big_rows(tmp_path):
    import pyarrow.parquet as pq
    from editflow.dataset.build import batch_rows
    small = edits_table([edit_row(commit=f"c{i}") for i in range(100)])
    big = edits_table([edit_row(commit=f"c{i}", old_source=f"{i}:" + "x" * 100_000) for i in range(100)])
    pq.write_table(small, tmp_path / "s.parquet")
    pq.write_table(big, tmp_path / "b.parquet")
    assert batch_rows(pq.ParquetFile(tmp_path / "s.parquet"), 20_000) == 20_000
    rows = batch_rows(pq.ParquetFile(tmp_path / "b.parquet"), 20_000, target_bytes=1_000_000)
    assert rows == 64  # clamped to MIN_BATCH_ROWS: ~100 kB per row
    assert batch_rows(pq.ParquetFile(tmp_path / "b.parquet"), 20_000, target_bytes=50_000_000) in range(400, 500)


def test_hf_counter_counts_repeated_texts_once(tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import Whitespace
    tok = tokenizers.Tokenizer(WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = Whitespace()
    tok.save(str(tmp_path / "tokenizer.json"))
    counter = make_counter(str(tmp_path))
    seen = []
    inner = counter._count_values
    counter._count_values = lambda values: (seen.append(list(values)), inner(values))[1]
    assert counter.count(pa.chunked_array([["a a", "a", "a a", None, ""]])).tolist() == [2, 1, 2, 0, 0]
    assert sorted(seen[0]) == ["", "a", "a a"]


def test_notebook_decode_puts_back_the_final_newline_inference_strips():
    from editflow.infer.postprocess import clean_output

    row = edit_row(old_cells=["import a", "x = 1"], new_cells=["import a", "x = 2"])
    for task in ("nb-file", "nb-cell"):
        spec = tasks.get(task)
        view = spec.build_view(edits_table([row])).to_pylist()[0]
        raw = view["target"] + "\n### End\n"                      # what a model that stops writes
        prediction = clean_output(raw, ("### End", "### Instruction"))
        assert prediction == view["target"].rstrip("\n")            # inference strips the newline
        assert spec.decode(prediction, view["source"]).code == view["reference"]
        assert spec.decode(view["target"], view["source"]).code == view["reference"]
    decode = tasks.get("nb-cell").decode
    assert decode("# %%\nx = 2", "# %%\nx = 1").code == "# %%\nx = 2"   # percent: unchanged
    assert decode("x = 2", "").code == "x = 2" and decode("", "x = 1\n").code == ""


def test_py_file_decode_puts_back_the_final_newline_inference_strips():
    decode = tasks.get("py-file").decode
    assert decode("x = 2", "x = 1\n").code == "x = 2\n"        # == the reference new_source
    assert decode("x = 2\n", "x = 1\n").code == "x = 2\n"
    assert decode("x = 2", "x = 1").code == "x = 2"            # a file without a final newline
