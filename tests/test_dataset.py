"""End-to-end dataset builds on synthetic edits with known contents (editflow.dataset)."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from editflow import records
from editflow.dataset import split as sp
from editflow.dataset.build import build_dataset as _build

from editflow.dataset.dedup import shingles
from editflow.dataset.filters import FUNNEL_STEPS
from editflow.dataset.synthetic import edit_row, edits_table
from editflow import tasks
from editflow.tasks.base import changed_lines_text

SPLITS = ("train", "val", "test")
T0 = 1_600_000_000


def build_dataset(*args, plots: bool = False, **kw):
    """Builds without plots unless a test looks at them (matplotlib is most of a small build)."""
    return _build(*args, plots=plots, **kw)


def nb_edit(i: int, repo: str = "acme/a", **kw) -> dict:
    """A good notebook edit whose code is unique to i (no accidental duplicates)."""
    old = [f"import lib{i}", "\n".join(f"v{i}_{k} = f{i}({k})" for k in range(12))]
    new = [old[0], old[1] + f"\nresult{i} = g{i}(v{i}_0)"]
    kw.setdefault("old_cells", old)
    kw.setdefault("new_cells", new)
    kw.setdefault("commit_time", T0 + i * 100)
    return edit_row(repo=repo, commit=f"c{i:04d}", path=f"nb{i}.ipynb", **kw)


def py_edit(i: int, repo: str = "acme/a", **kw) -> dict:
    old = "\n".join(f"w{i}_{k} = h{i}({k})" for k in range(10)) + "\n"
    kw.setdefault("old_source", old)
    kw.setdefault("new_source", old + f"out{i} = done{i}()\n")
    kw.setdefault("commit_time", T0 + i * 100)
    return edit_row(repo=repo, commit=f"c{i:04d}", path=f"m{i}.py", **kw)


def write_edits(path: Path, rows: list[dict]) -> Path:
    pq.write_table(edits_table(rows), path)
    return path


def section(**over) -> dict:
    base = {"tasks": ["nb-file", "nb-cell", "py-file"],
            "filters": {"min_message_words": 3, "require_code_change": True, "max_changed_lines": 70,
                        "max_hunks": 7, "dt_filter_nb_file": False, "max_tokens": 400,
                        "licenses": None, "change_types": ["modified", "renamed"], "drop_empty_target": True},
            "dedup": {"exact": True, "near": True, "near_threshold": 0.85, "num_perm": 128, "shingle_words": 3},
            "split": {"method": "ipynb-edit", "train": 0.7, "val": 0.1, "test": 0.2, "seed": 42,
                      "min_repos_for_repo_split": 10, "salt": "editflow-v1"}}
    for key, value in over.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) else value
    return base


def read_all(out: Path) -> pa.Table:
    return pa.concat_tables([pq.read_table(out / f"{s}.parquet") for s in SPLITS])


def filter_fixture() -> tuple[list[dict], dict]:
    """One edit per filter (and per dedup kind) plus good edits; returns rows and expectations."""
    rows = [nb_edit(i) for i in range(4)] + [py_edit(10 + i) for i in range(2)]
    big = "\n".join(f"tok{k}_{j} = {k}" for k in range(40) for j in range(3))
    rows += [
        nb_edit(20, change_type="added"),                                          # change_type
        nb_edit(21, message="fix it"),                                             # message_words
        nb_edit(22, new_cells=nb_edit(22)["old_cells"]),                           # no_code_change
        nb_edit(23, old_cells=["import q23", "a23 = 1"], new_cells=["import q23"]),  # empty_target (nb-cell only)
        nb_edit(24, lines_added=80, lines_deleted=0),                              # dt_filter (nb-cell only)
        py_edit(25, hunks=8),                                                      # dt_filter
        nb_edit(26, license="gpl-3.0"),                                            # license
        nb_edit(27, new_cells=["import lib27", big], lines_added=1, lines_deleted=0),                            # max_tokens
        dict(nb_edit(0)),                                                          # dedup_exact_id
        nb_edit(0, repo="fork/a", commit_time=T0 + 5000),                          # dedup_exact_content
    ]
    near = nb_edit(1, repo="copy/b", commit_time=T0 + 6000)
    near["new_cells"] = [near["new_cells"][0], near["new_cells"][1].replace("g1(v1_0)", "g1(v1_1)")]
    near["cell_ops"] = [{"tag": "replace", "i1": 1, "i2": 2, "j1": 1, "j2": 2}]
    rows.append(near)                                                              # dedup_near
    expect = {
        "nb-file": {"candidates": 14, "change_type": 1, "message_words": 1, "no_code_change": 1,
                    "license": 1, "max_tokens": 1, "dedup_exact_id": 1, "dedup_exact_content": 1, "dedup_near": 1},
        "nb-cell": {"candidates": 14, "change_type": 1, "message_words": 1, "no_code_change": 1,
                    "empty_target": 1, "dt_filter": 1, "license": 1, "max_tokens": 1,
                    "dedup_exact_id": 1, "dedup_exact_content": 1, "dedup_near": 1},
        "py-file": {"candidates": 3, "dt_filter": 1},
    }
    return rows, expect


def test_each_filter_removes_exactly_the_expected_edits(tmp_path):
    rows, expect = filter_fixture()
    edits = write_edits(tmp_path / "e.parquet", rows)
    stats = build_dataset([edits], tmp_path / "out", section(filters={"licenses": ["mit"]}))
    assert stats["funnel_adds_up"] is True
    for task, want in expect.items():
        f = stats["funnel"][task]
        assert f["candidates"] == want["candidates"], task
        assert f["removed"] == {s: want.get(s, 0) for s in FUNNEL_STEPS}, task
        assert f["kept"] == f["candidates"] - sum(f["removed"].values())
    kept = read_all(tmp_path / "out")
    by_task = {t: sorted(r["commit"] for r in kept.to_pylist() if r["task"] == t) for t in expect}
    assert by_task["nb-file"] == ["c0000", "c0001", "c0002", "c0003", "c0023", "c0024"]
    assert by_task["nb-cell"] == ["c0000", "c0001", "c0002", "c0003"]
    assert by_task["py-file"] == ["c0010", "c0011"]
    assert set(kept["repo"].to_pylist()) == {"acme/a"}        # fork copy and near copy dropped
    assert stats["funnel"]["all_tasks"]["kept"] == kept.num_rows == 12


def test_filters_can_be_switched_off(tmp_path):
    rows, _ = filter_fixture()
    edits = write_edits(tmp_path / "e.parquet", rows)
    off = section(filters={"min_message_words": None, "require_code_change": False, "max_changed_lines": None,
                           "max_hunks": None, "max_tokens": None, "drop_empty_target": False,
                           "change_types": ["added", "deleted", "modified", "renamed"]},
                  dedup={"exact": False, "near": False})
    stats = build_dataset([edits], tmp_path / "out", off)
    for task in ("nb-file", "nb-cell", "py-file"):
        assert sum(stats["funnel"][task]["removed"].values()) == 0
    assert read_all(tmp_path / "out").num_rows == 14 + 14 + 3


@pytest.mark.parametrize("fmt", ["ipynb-edit", "percent", None])
def test_example_rows_follow_the_schema_and_the_views(tmp_path, fmt):
    edits = write_edits(tmp_path / "e.parquet", [nb_edit(1), py_edit(2)])
    build_dataset([edits], tmp_path / "out", section(**({"cell_format": fmt} if fmt else {})))
    for s in SPLITS:
        assert pq.read_schema(tmp_path / "out" / f"{s}.parquet").remove_metadata() == records.EXAMPLE_SCHEMA
    rows = {r["task"]: r for r in read_all(tmp_path / "out").to_pylist()}
    e = nb_edit(1)
    assert rows["nb-cell"]["example_id"] == records.stable_id(e["edit_id"], "nb-cell")
    if fmt == "percent":
        assert rows["nb-cell"]["prompt_fields"] == {"message": e["message"], "old_code": "# %%\n" + e["old_cells"][1]}
        assert rows["nb-cell"]["target"] == "# %%\n" + e["new_cells"][1]
        assert rows["nb-file"]["target"] == "# %%\n" + e["new_cells"][0] + "\n\n# %%\n" + e["new_cells"][1]
    else:  # ipynb-edit, the default: cell only = each cell then "\n"; whole file = <Cell_i> ... <\Cell_i>
        assert rows["nb-cell"]["prompt_fields"] == {"message": e["message"], "old_code": e["old_cells"][1] + "\n"}
        assert rows["nb-cell"]["target"] == e["new_cells"][1] + "\n"
        assert rows["nb-file"]["target"] == ("<Cell_0>\n" + e["new_cells"][0] + "\n<\\Cell_0>\n"
                                             "<Cell_1>\n" + e["new_cells"][1] + "\n<\\Cell_1>\n")
    assert "cell_format: " + (fmt or "ipynb-edit") in (tmp_path / "out" / "README.md").read_text()
    assert rows["py-file"]["target"] == py_edit(2)["new_source"]
    assert rows["nb-file"]["commit_time"] == e["commit_time"] and rows["nb-file"]["license"] == "mit"


def many_repo_rows() -> tuple[list[dict], str, str]:
    """12 repositories of 4 edits each, a full fork of o/r0 (plus one own edit) and a
    near-copy repository of o/r5, named so that both land in other splits than their source
    under the `hash` split."""
    cfg = sp.SplitConfig(method="hash")
    rows = []
    for r in range(12):
        for k in range(4):
            i = r * 10 + k
            rows.append(nb_edit(i, repo=f"o/r{r}") if k < 3 else py_edit(i, repo=f"o/r{r}"))
    split_of = lambda name: sp.split_by_repo([name], cfg)[name]  # noqa: E731
    fork = next(f"fork{j}/r0" for j in range(100) if split_of(f"fork{j}/r0") != split_of("o/r0"))
    copy = next(f"copy{j}/r5" for j in range(100) if split_of(f"copy{j}/r5") != split_of("o/r5"))
    for row in [r for r in rows if r["repo"] == "o/r0"]:
        rows.append({**row, "repo": fork, "edit_id": records.edit_id(fork, row["commit"], row["path"]),
                     "commit_time": row["commit_time"] + 10_000})
    rows.append(nb_edit(999, repo=fork))
    for row in [r for r in rows if r["repo"] == "o/r5" and r["kind"] == "notebook"]:
        near = dict(row, repo=copy, edit_id=records.edit_id(copy, row["commit"], row["path"]),
                    commit_time=row["commit_time"] + 20_000)
        near["new_cells"] = [row["new_cells"][0], row["new_cells"][1].replace("_0)", "_1)")]
        near["cell_ops"] = [{"tag": "replace", "i1": 1, "i2": 2, "j1": 1, "j2": 2}]
        rows.append(near)
    return rows, fork, copy


def _jaccard(a: str, b: str) -> float:
    x, y = set(shingles(a, 3)), set(shingles(b, 3))
    return len(x & y) / max(len(x | y), 1)


def test_forks_and_near_copies_never_straddle_splits(tmp_path):
    rows, fork, copy = many_repo_rows()
    edits = write_edits(tmp_path / "e.parquet", rows)
    stats = build_dataset([edits], tmp_path / "out", section(split={"method": "hash"}))
    assert stats["split_method"] == "repository" and stats["split_settings"]["method"] == "hash"
    kept = read_all(tmp_path / "out").to_pylist()
    repo_splits: dict[str, set] = {}
    for r in kept:
        repo_splits.setdefault(r["repo"], set()).add(r["split"])
    assert all(len(s) == 1 for s in repo_splits.values())
    # the fork keeps only its own edit; the near copy keeps nothing
    assert sorted(r["commit"] for r in kept if r["repo"] == fork) == ["c0999"] * 2
    assert not [r for r in kept if r["repo"] == copy]
    assert stats["funnel"]["nb-cell"]["removed"]["dedup_exact_content"] == 3
    assert stats["funnel"]["nb-cell"]["removed"]["dedup_near"] == 3
    # no exact or near duplicate pair (on the changed code) across splits
    for task in ("nb-cell", "py-file"):
        rs = [r for r in kept if r["task"] == task]
        texts = [r["source"] + "\n" + r["reference"] if task == "nb-cell"
                 else changed_lines_text(r["source"], r["reference"]) for r in rs]
        for i in range(len(rs)):
            for j in range(i + 1, len(rs)):
                if rs[i]["split"] != rs[j]["split"]:
                    assert _jaccard(texts[i], texts[j]) < 0.5, (rs[i]["repo"], rs[j]["repo"])


def test_reruns_are_byte_identical_however_inputs_are_batched(tmp_path):
    rows, _, _ = many_repo_rows()
    one = write_edits(tmp_path / "all.parquet", rows)
    a = write_edits(tmp_path / "a.parquet", rows[40:])
    b = write_edits(tmp_path / "b.parquet", rows[:40])
    build_dataset([one], tmp_path / "r1", section())
    build_dataset([one], tmp_path / "r2", section())
    build_dataset([a, b], tmp_path / "r3", section(), batch_size=7, bucket_rows=5)
    for s in SPLITS:
        data = (tmp_path / "r1" / f"{s}.parquet").read_bytes()
        assert data == (tmp_path / "r2" / f"{s}.parquet").read_bytes()
        assert data == (tmp_path / "r3" / f"{s}.parquet").read_bytes()
    assert (tmp_path / "r1" / "stats.json").read_text() == (tmp_path / "r2" / "stats.json").read_text()
    t = pq.read_table(tmp_path / "r1" / "train.parquet")
    keys = list(zip(t["task"].to_pylist(), t["repo"].to_pylist(), t["commit_time"].to_pylist(),
                    t["commit"].to_pylist(), t["path"].to_pylist(), t["example_id"].to_pylist()))
    assert keys == sorted(keys)


def three_demo_repos() -> list[dict]:
    rows = []
    for r in range(3):
        for k in range(10):
            i = r * 100 + k
            rows += [nb_edit(i, repo=f"local/demo-{r:02d}"), py_edit(i + 50, repo=f"local/demo-{r:02d}")]
    return rows


def test_few_repositories_warn_loudly_and_never_switch_to_commit_time(tmp_path):
    edits = write_edits(tmp_path / "e.parquet", three_demo_repos())
    stats = build_dataset([edits], tmp_path / "out", section())
    assert stats["split_method"] == sp.REPO_METHOD and stats["split_settings"]["method"] == "ipynb-edit"
    assert "only 3 repositories" in stats["split_warning"]
    # 3 shuffled repositories take positions 0, 1, 2: all < 7, all train
    assert [stats["splits"][s]["examples"] for s in SPLITS] == [90, 0, 0]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "> **Warning: only 3 repositories" in card and "Split method `ipynb-edit`" in card


def test_commit_time_split_runs_when_configured(tmp_path):
    edits = write_edits(tmp_path / "e.parquet", three_demo_repos())
    stats = build_dataset([edits], tmp_path / "out",
                          section(split={"method": "commit_time", "val": 0.2, "test": 0.1}))
    assert stats["split_method"] == sp.TIME_METHOD and stats["split_warning"] is None
    for s in SPLITS:
        for task in ("nb-file", "nb-cell", "py-file"):
            assert stats["splits"][s]["by_task"][task]["examples"] > 0, (s, task)
    # 10 commits per (repository, kind): 7 train, 2 val, 1 test -- oldest first
    assert [stats["splits"][s]["by_task"]["py-file"]["examples"] for s in SPLITS] == [21, 6, 3]
    t = read_all(tmp_path / "out").to_pylist()
    newest = max(r["commit_time"] for r in t if r["repo"] == "local/demo-00" and r["task"] == "py-file")
    assert [r["split"] for r in t if r["commit_time"] == newest and r["task"] == "py-file"] == ["test"]
    card = (tmp_path / "out" / "README.md").read_text()
    assert "generated demo repositories" in card and stats["demo_data"] is True
    assert "Split method `commit_time` (configured" in card and "Warning" not in card


def _shuffle_by_hand(items: list, seed: int) -> list:
    """random.Random(seed).shuffle(items) spelled out from CPython's definition: Fisher-Yates
    from the end, j = _randbelow(i + 1), and _randbelow(n) draws getrandbits(n.bit_length())
    until the draw is < n."""
    rng = random.Random(seed)
    x = list(items)
    for i in reversed(range(1, len(x))):
        n = i + 1
        j = rng.getrandbits(n.bit_length())
        while j >= n:
            j = rng.getrandbits(n.bit_length())
        x[i], x[j] = x[j], x[i]
    return x


REPOS_12 = [f"org{k % 3}/repo{k:02d}" for k in range(12)]


def _ipynb_edit_by_hand(repos: list[str]) -> dict[str, str]:
    """ipynb-edit's split.py rule: i % 10 < 7 train, < 9 test, else val."""
    order = _shuffle_by_hand(sorted(repos), 42)
    return {r: "train" if i % 10 < 7 else "test" if i % 10 < 9 else "val" for i, r in enumerate(order)}


def test_ipynb_edit_split_is_ipynb_edits_rule():
    expected = _ipynb_edit_by_hand(REPOS_12)
    assert sorted(expected.values()).count("train") == 9  # positions 0-6 and 10-11
    assert [r for r, s in expected.items() if s == "test"] and [r for r, s in expected.items() if s == "val"]
    got = sp.split_ipynb_edit(list(reversed(REPOS_12)), sp.SplitConfig())
    assert {r: sp.SPLIT_NAMES[c] for r, c in got.items()} == expected
    assert sp.SplitConfig().method == "ipynb-edit" and (sp.SplitConfig().train, sp.SplitConfig().test,
                                                         sp.SplitConfig().val) == (0.7, 0.2, 0.1)


def test_ipynb_edit_split_in_a_build_keeps_each_repository_whole(tmp_path):
    rows = [nb_edit(k * 10 + j, repo=r) for k, r in enumerate(REPOS_12) for j in range(2)]
    edits = write_edits(tmp_path / "e.parquet", rows)
    stats = build_dataset([edits], tmp_path / "out", section())
    assert stats["split_method"] == sp.REPO_METHOD and stats["split_warning"] is None
    assert stats["split_settings"] == {"method": "ipynb-edit", "train": 0.7, "val": 0.1, "test": 0.2, "seed": 42,
                                       "salt": "editflow-v1", "min_repos_for_repo_split": 10}
    expected = _ipynb_edit_by_hand(REPOS_12)
    got = {(r["repo"], r["split"]) for r in read_all(tmp_path / "out").to_pylist()}
    assert got == set(expected.items())
    assert "Split method `ipynb-edit`" in (tmp_path / "out" / "README.md").read_text()


def test_split_settings_errors_are_config_errors():
    from editflow.config import ConfigError
    with pytest.raises(ConfigError, match="not multiples of 0.1"):
        sp.SplitConfig.from_section({"train": 0.75, "val": 0.05, "test": 0.2})
    with pytest.raises(ConfigError, match="not one of"):
        sp.SplitConfig.from_section({"method": "random"})
    assert sp.SplitConfig.from_section({"method": "hash", "train": 0.75, "val": 0.05, "test": 0.2}).train == 0.75


def test_stats_plots_card_and_skips(tmp_path):
    edits = write_edits(tmp_path / "e.parquet", [nb_edit(1), py_edit(2)])
    skips = tmp_path / "s.parquet"
    pq.write_table(pa.Table.from_pylist([
        {"repo": "acme/a", "commit": "x", "path": "a.ipynb", "reason": "invalid_json", "detail": "bad"},
        {"repo": "acme/a", "commit": "y", "path": "b.ipynb", "reason": "invalid_json", "detail": "bad"},
        {"repo": "acme/a", "commit": "z", "path": "c.ipynb", "reason": "too_large", "detail": "big"},
    ], schema=records.SKIP_SCHEMA), skips)
    stats = build_dataset([edits], tmp_path / "out", section(), skips=[skips], plots=True)
    out = tmp_path / "out"
    assert json.loads((out / "stats.json").read_text()) == json.loads(json.dumps(stats))
    assert stats["inputs"]["skips"] == {"total": 3, "by_reason": {"invalid_json": 2, "too_large": 1}}
    assert stats["inputs"]["edits"] == 2 and stats["inputs"]["repositories"] == 1
    assert stats["demo_data"] is False
    assert stats["distributions"]["nb-cell"]["changed_cells"]["max"] == 1
    assert stats["top_repositories"] == [{"repo": "acme/a", "examples": 3, "splits": ["train"]}]
    assert sorted(p.name for p in (out / "plots").iterdir()) == sorted(
        ["funnel.png", "splits.png", "changed_cells.png", "changed_lines.png", "hunks.png",
         "prompt_tokens.png", "target_tokens.png", "top_repositories.png"])
    card = (out / "README.md").read_text()
    assert "generated demo" not in card and "| invalid_json | 2 |" in card
    assert not (out / ".build-tmp").exists()


def test_empty_input_gives_empty_splits(tmp_path):
    edits = write_edits(tmp_path / "e.parquet", [])
    stats = build_dataset([edits], tmp_path / "out", section())
    assert stats["funnel_adds_up"] and read_all(tmp_path / "out").num_rows == 0


def test_splits_load_with_datasets_pandas_and_duckdb(tmp_path):
    rows, _, _ = many_repo_rows()
    edits = write_edits(tmp_path / "e.parquet", rows)
    stats = build_dataset([edits], tmp_path / "out", section())
    files = {s: str(tmp_path / "out" / f"{s}.parquet") for s in SPLITS}
    n = {s: stats["splits"][s]["examples"] for s in SPLITS}
    pd = pytest.importorskip("pandas")
    assert {s: len(pd.read_parquet(f)) for s, f in files.items()} == n
    duckdb = pytest.importorskip("duckdb")
    got = duckdb.connect().execute(f"SELECT split, count(*) FROM read_parquet({list(files.values())}) GROUP BY split").fetchall()
    assert dict(got) == {s: c for s, c in n.items() if c}
    row = duckdb.connect().execute(f"SELECT prompt_fields.message FROM read_parquet('{files['train']}') LIMIT 1").fetchall()[0]
    assert isinstance(row[0], str)
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset("parquet", data_files=files, cache_dir=str(tmp_path / "hf"))
    assert {s: ds[s].num_rows for s in SPLITS} == n
    assert set(ds["train"].column_names) == set(records.EXAMPLE_SCHEMA.names)


def test_cli_with_settings_and_bad_input(tmp_path, capsys):
    from editflow.cli import main
    edits = write_edits(tmp_path / "e.parquet", [nb_edit(1)])
    rc = main(["dataset", "--edits", str(edits), "--out", str(tmp_path / "out"), "--tokenizer", "whitespace",
               "--settings", json.dumps({"filters": {"max_tokens": 500}})])
    assert rc == 0
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["config"]["filters"]["max_tokens"] == 500 and stats["tokenizer"] == "whitespace"
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"repo": ["x"]}), bad)
    assert main(["dataset", "--edits", str(bad), "--out", str(tmp_path / "o2"), "--tokenizer", "whitespace",
                 "--settings", "{}"]) == 2
    assert main(["dataset", "--edits", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "o3"),
                 "--tokenizer", "whitespace", "--settings", "{}"]) == 2
    assert main(["dataset", "--edits", str(edits), "--out", str(tmp_path / "o4"), "--tokenizer", "whitespace",
                 "--settings", json.dumps({"filters": {"max_tokenz": 1}})]) == 2
    assert "max_tokenz" in capsys.readouterr().err


def test_views_of_fixture_are_what_the_test_assumes():
    rows, _ = filter_fixture()
    v = {t: tasks.get(t).build_view(edits_table(rows)) for t in ("nb-file", "nb-cell", "py-file")}
    assert v["nb-file"].num_rows == 14 and v["py-file"].num_rows == 3


def test_default_demo_repositories_fill_every_split_with_every_task(tmp_path):
    """The default config's input: 4 generated demo repositories x 40 commits, mined for real."""
    from editflow.cli import main
    demo = tmp_path / "demo"
    assert main(["demo-repos", "--out", str(demo), "--n-repos", "4", "--commits", "40", "--seed", "0"]) == 0
    edits, skips = [], []
    for i in range(4):
        e, s = tmp_path / f"e{i}.parquet", tmp_path / f"s{i}.parquet"
        assert main(["mine", "--repo", str(demo / f"demo-{i:02d}.git"), "--out", str(e), "--skips", str(s)]) == 0
        edits.append(e)
        skips.append(s)
    from editflow.config import REPO_ROOT, load_config
    default = load_config(REPO_ROOT / "config" / "config.yaml")["dataset"]
    stats = build_dataset(edits, tmp_path / "out", default, skips=skips)
    assert stats["demo_data"] is True and stats["split_method"] == sp.TIME_METHOD
    assert stats["split_settings"]["method"] == "commit_time" and stats["split_warning"] is None
    assert stats["funnel_adds_up"] is True
    for s in SPLITS:
        for task in ("nb-file", "nb-cell", "py-file"):
            assert stats["splits"][s]["by_task"][task]["examples"] > 0, (s, task)


def test_dt_filter_on_nb_file_and_case_insensitive_licenses(tmp_path):
    rows, _ = filter_fixture()
    for r in rows:
        if r["commit"] in ("c0000", "c0001"):
            r["license"] = "MIT"
    edits = write_edits(tmp_path / "e.parquet", rows)
    stats = build_dataset([edits], tmp_path / "out", section(filters={"dt_filter_nb_file": True, "licenses": ["mit"]}))
    assert stats["funnel"]["nb-file"]["removed"]["dt_filter"] == 1
    assert stats["funnel"]["nb-file"]["removed"]["license"] == 1
    kept = sorted(r["commit"] for r in read_all(tmp_path / "out").to_pylist() if r["task"] == "nb-file")
    assert kept == ["c0000", "c0001", "c0002", "c0003", "c0023"]


def test_clusters_follow_their_oldest_member():
    import numpy as np
    split = np.array([0, 2, 1, 2, 0], dtype=np.int8)
    cluster = np.array([7, 7, -1, 3, 3])
    age = np.array([5, 1, 0, 9, 2])
    assert sp.clusters_follow_oldest(split, cluster, age).tolist() == [2, 2, 1, 0, 0]


def test_a_failed_build_leaves_the_old_dataset_whole_and_stale_temps_go(tmp_path, monkeypatch):
    """The splits, stats.json and the card are one output (atomic_dir): a build that dies after
    writing new splits leaves the previous complete directory, and leftovers of a killed run
    (e.g. plots/.splits.png.*.tmp) do not survive the next build."""
    from editflow.dataset import card

    edits = write_edits(tmp_path / "e.parquet", [nb_edit(i) for i in range(6)] + [py_edit(i) for i in range(6, 9)])
    out = tmp_path / "ds"
    build_dataset([edits], out, section())
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    (out / "plots").mkdir(exist_ok=True)
    (out / "plots" / ".splits.png.123.tmp").write_bytes(b"half a plot")

    def killed(*_a, **_k):
        raise KeyboardInterrupt("killed while writing the card")
    monkeypatch.setattr(card, "write_card", killed)
    more = write_edits(tmp_path / "e2.parquet", [nb_edit(i) for i in range(20, 30)])
    with pytest.raises(KeyboardInterrupt):
        build_dataset([edits, more], out, section())
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".ds.")) == []

    monkeypatch.undo()
    build_dataset([edits], out, section())
    assert not (out / "plots" / ".splits.png.123.tmp").exists()
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
