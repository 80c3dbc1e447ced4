"""The local source, the license heuristic, the frozen list and the CLI, on repositories
built with pygit2 in tmp_path (known contents, fixed commit times)."""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pygit2
import pytest

from editflow.atomic import write_parquet
from editflow.cli import main
from editflow.crawl.licenses import detect_license, normalize_spdx
from editflow.crawl.local import crawl_local, describe_local
from editflow.crawl.table import CrawlError, read_frozen_list, rows_to_table
from editflow.records import REPO_SCHEMA

MIT = """MIT License

Copyright (c) 2024 Example Authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction ...
"""
APACHE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/
"""
GPL3 = """                    GNU GENERAL PUBLIC LICENSE
                       Version 3, 29 June 2007
"""
GPL2 = """                    GNU GENERAL PUBLIC LICENSE
                       Version 2, June 1991
"""
BSD2 = """Copyright (c) 2020, X
Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:
1. Redistributions of source code must retain the above copyright notice.
2. Redistributions in binary form must reproduce the above copyright notice.
THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
"""
BSD3 = BSD2 + """3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from this software.
"""
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}\n'


def _tree(repo: pygit2.Repository, files: dict[str, bytes]) -> pygit2.Oid:
    """Write a nested tree from {"dir/file": bytes}."""
    subdirs: dict[str, dict[str, bytes]] = {}
    builder = repo.TreeBuilder()
    for path, data in sorted(files.items()):
        head, _, rest = path.partition("/")
        if rest:
            subdirs.setdefault(head, {})[rest] = data
        else:
            builder.insert(head, repo.create_blob(data), pygit2.enums.FileMode.BLOB)
    for name, sub in subdirs.items():
        builder.insert(name, _tree(repo, sub), pygit2.enums.FileMode.TREE)
    return builder.write()


def make_repo(path: Path, commits: list[dict[str, bytes]], bare: bool = True, branch: str = "main",
              start_time: int = 1700000000) -> list[str]:
    """A repository at `path` with one commit per file map (1 hour apart); returns the SHAs."""
    repo = pygit2.init_repository(str(path), bare=bare, initial_head=branch)
    shas: list[str] = []
    for i, files in enumerate(commits):
        sig = pygit2.Signature("Test", "test@example.com", start_time + 3600 * i, 0)
        oid = repo.create_commit(f"refs/heads/{branch}", sig, sig, f"commit {i}", _tree(repo, files),
                                 [pygit2.Oid(hex=shas[-1])] if shas else [])
        shas.append(str(oid))
    return shas


@pytest.fixture()
def repos(tmp_path: Path) -> dict[str, object]:
    alpha = tmp_path / "alpha.git"
    alpha_sha = make_repo(alpha, [{
        "LICENSE": MIT.encode(), "a.ipynb": NOTEBOOK, "sub/b.ipynb": NOTEBOOK,
        "sub/deep/C.IPYNB": NOTEBOOK, "script.py": b"print(1)\n", "notes.ipynb.txt": b"not one",
    }])[-1]
    beta = tmp_path / "work" / "beta"
    beta_shas = make_repo(beta, [{"COPYING": GPL3.encode(), "x.ipynb": NOTEBOOK},
                                 {"COPYING": GPL3.encode(), "x.ipynb": NOTEBOOK, "y.py": b"y = 2\n"}],
                          bare=False, branch="trunk")
    gamma = tmp_path / "gamma.git"
    pygit2.init_repository(str(gamma), bare=True, initial_head="main")
    return {"alpha": alpha, "alpha_sha": alpha_sha, "beta": beta, "beta_sha": beta_shas[-1],
            "gamma": gamma}


def test_local_rows_exact(repos, caplog):
    rows = crawl_local([repos["gamma"], repos["beta"], repos["alpha"]])
    table = rows_to_table(rows)
    assert table.schema == REPO_SCHEMA
    assert table.to_pylist() == [
        {"full_name": "local/alpha", "slug": "local__alpha", "clone_url": str(repos["alpha"]),
         "stars": 0, "license": "mit", "default_branch": "main", "head_sha": repos["alpha_sha"],
         "pushed_at": "2023-11-14T22:13:20Z", "n_notebooks": 3},
        {"full_name": "local/beta", "slug": "local__beta", "clone_url": str(repos["beta"]),
         "stars": 0, "license": "gpl-3.0", "default_branch": "trunk", "head_sha": repos["beta_sha"],
         "pushed_at": "2023-11-14T23:13:20Z", "n_notebooks": 1},
        {"full_name": "local/gamma", "slug": "local__gamma", "clone_url": str(repos["gamma"]),
         "stars": 0, "license": None, "default_branch": "main", "head_sha": None,
         "pushed_at": None, "n_notebooks": 0},
    ]
    assert "local/gamma" in caplog.text and "no commits" in caplog.text


def test_relative_path_gives_absolute_clone_url(repos, monkeypatch):
    monkeypatch.chdir(repos["alpha"].parent)
    row = describe_local("alpha.git")
    assert row.clone_url == str(repos["alpha"]) and row.full_name == "local/alpha"


def test_not_a_repository_names_the_path_and_the_fix(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(CrawlError) as info:
        describe_local(plain)
    assert str(plain) in str(info.value) and "is not a git repository" in str(info.value)
    assert "crawl.local.paths" in str(info.value)
    with pytest.raises(CrawlError, match="does not exist"):
        describe_local(tmp_path / "missing.git")


def test_subdirectory_of_a_repository_is_not_searched_upwards(repos):
    sub = repos["beta"] / "sub"
    sub.mkdir()
    with pytest.raises(CrawlError, match="is not a git repository"):
        describe_local(sub)


def test_duplicate_names_are_an_error(repos, tmp_path):
    make_repo(tmp_path / "other" / "alpha", [{"a.py": b"1\n"}], bare=False)
    rows = crawl_local([repos["alpha"], tmp_path / "other" / "alpha"])
    with pytest.raises(CrawlError, match="duplicate full_name values: local/alpha"):
        rows_to_table(rows)


@pytest.mark.parametrize("text,expected", [
    (MIT, "mit"), (APACHE, "apache-2.0"), (GPL3, "gpl-3.0"), (GPL2, "gpl-2.0"),
    (BSD2, "bsd-2-clause"), (BSD3, "bsd-3-clause"),
    ("SPDX-License-Identifier: BSD-3-Clause\n", "bsd-3-clause"),
    ("GNU LESSER GENERAL PUBLIC LICENSE Version 3", "lgpl-3.0"),
    ("All rights reserved. Do not copy.", None), ("", None),
])
def test_detect_license(text, expected):
    assert detect_license(text) == expected


def test_normalize_spdx():
    assert [normalize_spdx(x) for x in ("MIT", "Apache-2.0", "NOASSERTION", "", None)] == [
        "mit", "apache-2.0", None, None, None]


def test_cli_local_with_extra_local_and_frozen_list(repos, tmp_path):
    out = tmp_path / "results" / "repos.parquet"
    settings = {"source": "local", "local": {"paths": [str(repos["beta"])]}}
    rc = main(["crawl", "--out", str(out), "--settings", json.dumps(settings),
               "--extra-local", str(repos["alpha"]), str(repos["gamma"])])
    assert rc == 0
    first = pq.read_table(out)
    assert first.column("full_name").to_pylist() == ["local/alpha", "local/beta", "local/gamma"]
    assert [f.name for f in out.parent.iterdir()] == ["repos.parquet"]   # no temporary left over

    # a frozen list is re-emitted unchanged, whatever the local paths say now
    make_repo(tmp_path / "delta.git", [{"d.py": b"d\n"}])
    again = tmp_path / "again.parquet"
    frozen = {"frozen_list": str(out), "local": {"paths": [str(tmp_path / "delta.git")]}}
    assert main(["crawl", "--out", str(again), "--settings", json.dumps(frozen)]) == 0
    assert pq.read_table(again).equals(first)


def test_cli_not_a_repository_exits_1(tmp_path, capsys):
    settings = {"local": {"paths": [str(tmp_path)]}}
    rc = main(["crawl", "--out", str(tmp_path / "r.parquet"), "--settings", json.dumps(settings)])
    assert rc == 1
    assert f"{tmp_path} is not a git repository" in capsys.readouterr().err
    assert not (tmp_path / "r.parquet").exists()


def _frozen(tmp_path: Path, **changes) -> Path:
    row = {"full_name": "octo/nb", "slug": "octo__nb", "clone_url": "https://github.com/octo/nb.git",
           "stars": 5, "license": "mit", "default_branch": "main", "head_sha": "a" * 40,
           "pushed_at": "2024-01-01T00:00:00Z", "n_notebooks": None}
    row.update(changes)
    path = tmp_path / "frozen.parquet"
    write_parquet(pa.Table.from_pylist([row], schema=REPO_SCHEMA), path)
    return path


def test_frozen_list_validation(tmp_path):
    assert read_frozen_list(_frozen(tmp_path)).column("head_sha").to_pylist() == ["a" * 40]
    with pytest.raises(CrawlError, match="head_sha 'abc'"):
        read_frozen_list(_frozen(tmp_path, head_sha="abc"))
    with pytest.raises(CrawlError, match="slug 'wrong'"):
        read_frozen_list(_frozen(tmp_path, slug="wrong"))
    with pytest.raises(CrawlError, match="does not exist"):
        read_frozen_list(tmp_path / "nope.parquet")
    partial = tmp_path / "partial.parquet"
    pq.write_table(pa.table({"full_name": ["octo/nb"]}), partial)
    with pytest.raises(CrawlError, match="lacks column"):
        read_frozen_list(partial)


def test_missing_tree_object_is_a_clear_error(repos):
    repo = pygit2.Repository(str(repos["alpha"]))
    tree_id = str(repo.head.peel(pygit2.Commit).tree_id)
    (repos["alpha"] / "objects" / tree_id[:2] / tree_id[2:]).unlink()
    with pytest.raises(CrawlError, match=r"alpha.git: HEAD or its tree cannot be read .*git fsck"):
        describe_local(repos["alpha"])
