"""Synthetic edits (records.EDIT_SCHEMA rows) for tests and the scale benchmark.

`edit_row` builds one row with sensible defaults so a test states only what it is about;
`random_edits` builds many varied rows fast (for the 1M-edit benchmark).
"""
from __future__ import annotations

import difflib
import random
from typing import Any, Iterator

import pyarrow as pa

from editflow import records


def cell_ops(old: list[str], new: list[str]) -> list[dict[str, Any]]:
    sm = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    return [{"tag": tag, "i1": i1, "i2": i2, "j1": j1, "j2": j2}
            for tag, i1, i2, j1, j2 in sm.get_opcodes() if tag != "equal"]


def edit_row(repo: str = "acme/proj", commit: str = "c1", path: str = "nb.ipynb", *,
             kind: str | None = None, message: str = "fix the model training loop",
             old_cells: list[str] | None = None, new_cells: list[str] | None = None,
             old_source: str | None = None, new_source: str | None = None,
             change_type: str = "modified", commit_time: int = 1_600_000_000,
             lines_added: int | None = None, lines_deleted: int | None = None,
             hunks: int = 1, license: str | None = "mit", ops: list | None = None) -> dict[str, Any]:
    kind = kind or ("notebook" if path.endswith(".ipynb") else "python")
    if kind == "notebook":
        old_cells = ["import numpy as np", "x = np.zeros(3)"] if old_cells is None else old_cells
        new_cells = ["import numpy as np", "x = np.ones(3)"] if new_cells is None else new_cells
        ops = cell_ops(old_cells, new_cells) if ops is None else ops
        old_source = old_source if old_source is not None else "{}"
        new_source = new_source if new_source is not None else "{}"
        old_lines = "\n".join(old_cells).split("\n")
        new_lines = "\n".join(new_cells).split("\n")
    else:
        old_source = "def f(x):\n    return x + 1\n" if old_source is None else old_source
        new_source = "def f(x):\n    return x + 2\n" if new_source is None else new_source
        old_cells = new_cells = ops = None
        old_lines, new_lines = old_source.split("\n"), new_source.split("\n")
    if lines_added is None or lines_deleted is None:
        diff = [l for l in difflib.ndiff(old_lines, new_lines) if l[:1] in "+-"]
        lines_added = sum(l.startswith("+") for l in diff) if lines_added is None else lines_added
        lines_deleted = sum(l.startswith("-") for l in diff) if lines_deleted is None else lines_deleted
    return {"edit_id": records.edit_id(repo, commit, path), "repo": repo, "commit": commit,
            "parent": "p" + commit, "commit_time": commit_time, "message": message, "path": path,
            "old_path": None if change_type == "added" else path, "change_type": change_type,
            "kind": kind, "old_source": None if change_type == "added" else old_source,
            "new_source": None if change_type == "deleted" else new_source,
            "old_cells": old_cells, "new_cells": new_cells, "cell_ops": ops,
            "lines_added": lines_added, "lines_deleted": lines_deleted, "hunks": hunks, "license": license}


def edits_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=records.EDIT_SCHEMA)


WORDS = ("model data train loss plot fix add update refactor tune learning rate epoch batch "
         "feature column clean split test accuracy metric scaler notebook cell import").split()


def _code_lines(rng: random.Random, n: int, salt: int) -> list[str]:
    w = WORDS
    return [f"{w[rng.randrange(len(w))]}_{salt}_{i} = {w[rng.randrange(len(w))]}({rng.randrange(100)})"
            for i in range(n)]


def random_edits(n: int, n_repos: int, seed: int = 0, start: int = 0) -> pa.Table:
    """n varied edits over n_repos repositories: ~70% notebooks, ~30% Python files.

    About half are filtered (short messages, no code change, big edits, added files), and
    every 50th notebook edit is an exact copy of an earlier one in another repository (a
    fork), so every stage of the build has work to do. Cell ops are known by construction.
    """
    rng = random.Random(seed * 1_000_003 + start)
    rows = []
    w = WORDS
    for k in range(start, start + n):
        rid = (k * 7919) % n_repos
        repo = f"owner{rid}/repo{rid}"
        commit = f"{k // 3:040x}"
        message = " ".join(w[rng.randrange(len(w))] for _ in range(rng.choice((1, 2, 4, 6, 8))))
        if rng.random() < 0.7:
            src = k - 1 if k % 50 == 0 and k > start else k   # fork copy of the previous edit's code
            crng = random.Random(src)
            cells = ["\n".join(_code_lines(crng, crng.randint(1, 4), src)) for _ in range(crng.randint(2, 6))]
            new = list(cells)
            j = crng.randrange(len(new))
            r = crng.random()
            if r < 0.1:
                ops = []  # outputs-only edit: no code change
            elif r < 0.2:
                new.insert(j, "\n".join(_code_lines(crng, 2, src + 1)))
                ops = [{"tag": "insert", "i1": j, "i2": j, "j1": j, "j2": j + 1}]
            else:
                new[j] = new[j] + "\n" + "\n".join(_code_lines(crng, crng.randint(1, 3), src + 2))
                ops = [{"tag": "replace", "i1": j, "i2": j + 1, "j1": j, "j2": j + 1}]
            path = f"nb{k % 5}.ipynb"
            rows.append({"edit_id": records.edit_id(repo, commit, path), "repo": repo,
                         "commit": commit, "parent": None, "commit_time": 1_500_000_000 + k,
                         "message": message, "path": path, "old_path": path,
                         "change_type": "modified", "kind": "notebook", "old_source": "{}", "new_source": "{}",
                         "old_cells": cells, "new_cells": new, "cell_ops": ops,
                         "lines_added": rng.randrange(100), "lines_deleted": rng.randrange(20),
                         "hunks": rng.randint(1, 9), "license": ("mit", "apache-2.0", None)[k % 3]})
        else:
            lines = _code_lines(rng, rng.randint(3, 12), k)
            new = list(lines)
            new[rng.randrange(len(new))] = _code_lines(rng, 1, k + 3)[0]
            path = f"m{k % 4}.py"
            rows.append({"edit_id": records.edit_id(repo, commit, path), "repo": repo,
                         "commit": commit, "parent": None, "commit_time": 1_500_000_000 + k,
                         "message": message, "path": path, "old_path": path,
                         "change_type": "added" if k % 10 == 0 else "modified", "kind": "python",
                         "old_source": "\n".join(lines) + "\n", "new_source": "\n".join(new) + "\n",
                         "old_cells": None, "new_cells": None, "cell_ops": None,
                         "lines_added": 1, "lines_deleted": 1, "hunks": 1, "license": "mit"})
    return edits_table(rows)


def random_edit_batches(n: int, n_repos: int, batch: int = 50_000, seed: int = 0) -> Iterator[pa.Table]:
    for start in range(0, n, batch):
        yield random_edits(min(batch, n - start), n_repos, seed=seed, start=start)
