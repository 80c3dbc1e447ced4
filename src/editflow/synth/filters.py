"""The diff filter and duplicate removal of synthesised triplets.

Diff filter (OpenCodeEdit's DT-filtering, steps 1-2): a triplet whose edit has more than
`max_modified_lines` modified lines or more than `max_hunks` hunks is too dispersed to learn
from; one with 0 hunks changed nothing. Counting: editflow.difflines.

Duplicates: two generators (or two samples of one) often write the same small program, and a
synthetic task may restate an edit mined from the same repositories, which would leak mined
test data into synthetic training data. A triplet is a duplicate when its whitespace-normalised
(pre-edit, post-edit) pair equals an earlier one (exact), or when its word set is at least
`near_duplicate_threshold` Jaccard-similar to one (near, MinHash LSH). Mined edits are indexed
first, so the mined copy always wins.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from editflow.difflines import DiffCount

NUM_PERM = 128
_TOKEN = re.compile(r"\w+|[^\w\s]")


def diff_reason(count: DiffCount, max_modified_lines: int, max_hunks: int) -> str | None:
    """The diff filter's verdict for one triplet: None, or why it is dropped."""
    if count.hunks == 0:
        return "diff_no_change"
    if count.modified_lines > max_modified_lines:
        return "diff_too_many_lines"
    if count.hunks > max_hunks:
        return "diff_too_many_hunks"
    return None


def normalize(code: str) -> str:
    """Code with each line's surrounding whitespace and blank lines removed."""
    return "\n".join(line.strip() for line in (code or "").splitlines() if line.strip())


def exact_key(pre: str, post: str) -> str:
    return hashlib.sha1(f"{normalize(pre)}\x00{normalize(post)}".encode("utf-8", "surrogatepass")).hexdigest()


def _minhash(pre: str, post: str):
    from datasketch import MinHash

    m = MinHash(num_perm=NUM_PERM, seed=1)
    for token in set(_TOKEN.findall(pre or "")) | {"\x00" + t for t in _TOKEN.findall(post or "")}:
        m.update(token.encode("utf-8", "surrogatepass"))
    return m


@dataclass(frozen=True)
class Pair:
    """One (pre-edit, post-edit) code pair to compare: a mined edit or a synthetic triplet."""
    pre: str
    post: str


class DuplicateIndex:
    """Exact keys and a MinHash LSH over every pair added so far, mined ones marked as such."""

    def __init__(self, threshold: float):
        from datasketch import MinHashLSH

        self.exact: dict[str, bool] = {}   # key -> is mined
        self.lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.mined: set[str] = set()
        self.size = 0

    def add_mined(self, pairs: Iterable[Pair]) -> int:
        n = 0
        for pair in pairs:
            self._insert(pair, mined=True)
            n += 1
        return n

    def _insert(self, pair: Pair, mined: bool, key: str | None = None, minhash=None) -> None:
        key = key or exact_key(pair.pre, pair.post)
        self.exact.setdefault(key, mined)
        name = f"{self.size}"
        self.size += 1
        self.lsh.insert(name, minhash or _minhash(pair.pre, pair.post))
        if mined:
            self.mined.add(name)

    def check_and_add(self, pair: Pair) -> str | None:
        """None for a new pair (it is then indexed), else the duplicate reason."""
        key = exact_key(pair.pre, pair.post)
        if key in self.exact:
            return "duplicate_of_mined_exact" if self.exact[key] else "duplicate_exact"
        minhash = _minhash(pair.pre, pair.post)
        hits = self.lsh.query(minhash)
        if hits:
            return "duplicate_of_mined_near" if any(h in self.mined for h in hits) else "duplicate_near"
        self._insert(pair, mined=False, key=key, minhash=minhash)
        return None


def read_mined_pairs(paths: Sequence[str | Path]) -> list[Pair]:
    """(old, new) code of mined data: edit files (records.EDIT_SCHEMA: sources, or notebook code
    cells joined as cells.render_cells does) or dataset split files (records.EXAMPLE_SCHEMA:
    prompt_fields.old_code and target)."""
    import pyarrow.parquet as pq

    from editflow.cells import render_cells

    pairs = []
    for path in paths:
        table = pq.read_table(path)
        names = set(table.column_names)
        if {"prompt_fields", "target"} <= names:
            for fields, target in zip(table.column("prompt_fields").to_pylist(), table.column("target").to_pylist()):
                pairs.append(Pair((fields or {}).get("old_code") or "", target or ""))
        elif {"old_source", "new_source", "kind"} <= names:
            cols = table.select(["kind", "old_source", "new_source", "old_cells", "new_cells"]).to_pylist()
            for row in cols:
                if row["kind"] == "notebook":
                    pairs.append(Pair(render_cells(row["old_cells"] or []), render_cells(row["new_cells"] or [])))
                else:
                    pairs.append(Pair(row["old_source"] or "", row["new_source"] or ""))
        else:
            raise ValueError(f"{path}: neither an edits file (old_source, new_source, kind) nor a dataset split "
                             f"(prompt_fields, target); columns: {sorted(names)}")
    return pairs
