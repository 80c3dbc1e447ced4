"""Test examples and k-shot exemplars, read from the dataset's split files.

Exemplars come only from the train split of the same task. Each test example gets its own
draw, seeded by (seed, example_id), so a prediction does not depend on which other examples
are in the file (max_test_examples, resumption, sharding) and reruns draw the same. When the
draw leaves the prompt too little room, the k shortest train examples are used instead
(`Shots.shortest`); the caller decides what "too little" is.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from editflow.prompts import Exemplar
from editflow.records import stable_id


class DatasetError(ValueError):
    """The dataset directory lacks a split file, the task, or enough examples."""


@dataclass(frozen=True)
class Example:
    example_id: str
    message: str
    old_code: str
    target: str
    source: str | None = None      # the pre-edit code (None: old_code, as in datasets before tasks)
    reference: str | None = None   # the post-edit code (None: the target)
    tests: str | None = None       # test code (execution-checked benchmarks), carried to predictions

    def exemplar(self) -> Exemplar:
        return Exemplar(message=self.message, old_code=self.old_code, target=self.target)


def load_split(dataset_dir: str | Path, split: str, task: str) -> list[Example]:
    """The rows of one task in `{dataset_dir}/{split}.parquet`, sorted by example_id."""
    import pyarrow.parquet as pq

    path = Path(dataset_dir) / f"{split}.parquet"
    if not path.exists():
        raise DatasetError(f"{path} not found; build the dataset first (`editflow dataset ... --out {dataset_dir}`)")
    names = pq.read_schema(path).names
    columns = ["example_id", "task", "prompt_fields", "target"] + [c for c in ("source", "reference", "tests") if c in names]
    table = pq.read_table(path, columns=columns)
    rows = [r for r in table.to_pylist() if r["task"] == task]
    rows.sort(key=lambda r: r["example_id"])
    out = [Example(r["example_id"], r["prompt_fields"]["message"] or "", r["prompt_fields"]["old_code"] or "",
                   r["target"] or "", r.get("source"), r.get("reference"), r.get("tests")) for r in rows]
    ids = [e.example_id for e in out]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{path}: duplicate example_id values for task {task!r}")
    return out


def test_examples(dataset_dir: str | Path, task: str, limit: int | None = None) -> list[Example]:
    """The test split of `task`, first `limit` by example_id (a stable, content-derived order)."""
    rows = load_split(dataset_dir, "test", task)
    return rows[:limit] if limit else rows


class Shots:
    """Draws k exemplars from a train pool for each test example."""

    def __init__(self, pool: list[Example], k: int, seed: int):
        if k and len(pool) < k:
            raise DatasetError(f"{k}-shot prompts need at least {k} train examples of the task; "
                               f"the train split has {len(pool)} (lower infer.shots or grow the dataset)")
        self.pool, self.k, self.seed = pool, k, seed

    def draw(self, example_id: str) -> list[Example]:
        if not self.k:
            return []
        rng = random.Random(int(stable_id(str(self.seed), example_id), 16))
        return rng.sample(self.pool, self.k)

    def shortest(self) -> list[Example]:
        """The k train examples with the fewest characters (ties: example_id); computed once."""
        if not hasattr(self, "_shortest"):
            by_len = sorted(self.pool, key=lambda e: (len(e.message) + len(e.old_code) + len(e.target), e.example_id))
            self._shortest = by_len[:self.k]
        return self._shortest
