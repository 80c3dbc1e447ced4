"""Train/val/test assignment: by repository, or by commit time for tiny inputs.

Repository split (the default, as in ipynb-edit): u = sha1(salt NUL repo) read as a number
in [0, 1); train if u < train, val if u < train + val, else test. Each repository's split
depends only on its own name and the salt, so adding a repository never moves another.

Fallback (fewer than `min_repos_for_repo_split` repositories, e.g. the 4 demo repositories):
within each (repository, kind) the commits that still have examples are ordered oldest
first and cut by the same fractions: commit i of n goes to train if (i + 0.5) / n < train,
val if < train + val, else test. Near-duplicate clusters (all members in one repository
after dedup) then take the split of their oldest member, so they never straddle splits.
stats.json records which method was used (`split_method`).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from editflow.config import schema_defaults

SPLIT_NAMES = ("train", "val", "test")
REPO_METHOD = "repository"
TIME_METHOD = "commit_time_within_repository"


@dataclass(frozen=True)
@schema_defaults("dataset.split")
class SplitConfig:
    """dataset.split (defaults: the config schema)."""
    train: float
    val: float
    test: float
    min_repos_for_repo_split: int
    salt: str

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> "SplitConfig":
        return cls(**{k: v for k, v in section.items() if k in cls.__dataclass_fields__})


def _bucket(u: np.ndarray, cfg: SplitConfig) -> np.ndarray:
    """0/1/2 (train/val/test) for positions u in [0, 1)."""
    return np.where(u < cfg.train, 0, np.where(u < cfg.train + cfg.val, 1, 2)).astype(np.int8)


def repo_unit(repo: str, salt: str) -> float:
    h = hashlib.sha1(f"{salt}\x00{repo}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def split_by_repo(repos: list[str], cfg: SplitConfig) -> dict[str, int]:
    u = np.array([repo_unit(r, cfg.salt) for r in repos], dtype=np.float64)
    return dict(zip(repos, _bucket(u, cfg).tolist()))


def split_by_time(repo: pa.Array, kind: pa.Array, commit_time: pa.Array, commit: pa.Array,
                  cfg: SplitConfig) -> np.ndarray:
    """Split code (0/1/2) per row: commits ranked by time within (repository, kind)."""
    n = len(repo)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    t = pa.table({"repo": repo, "kind": kind, "time": commit_time, "commit": commit})
    units = t.group_by(["repo", "kind", "time", "commit"]).aggregate([])
    units = units.sort_by([("repo", "ascending"), ("kind", "ascending"), ("time", "ascending"),
                           ("commit", "ascending")])
    group = [f"{r}\x00{k}" for r, k in zip(units["repo"].to_pylist(), units["kind"].to_pylist())]
    g = np.array(group, dtype=object)
    starts = np.concatenate([[True], g[1:] != g[:-1]]) if len(g) else np.zeros(0, bool)
    gid = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    pos = np.arange(len(g)) - first[gid]
    size = np.bincount(gid)[gid]
    unit_split = _bucket((pos + 0.5) / size, cfg)
    key_of = {(r, k, tm, c): s for r, k, tm, c, s in zip(
        units["repo"].to_pylist(), units["kind"].to_pylist(), units["time"].to_pylist(),
        units["commit"].to_pylist(), unit_split.tolist())}
    return np.fromiter((key_of[x] for x in zip(repo.to_pylist(), kind.to_pylist(),
                                                commit_time.to_pylist(), commit.to_pylist())),
                       dtype=np.int8, count=n)


def clusters_follow_oldest(split: np.ndarray, cluster: np.ndarray, age: np.ndarray) -> np.ndarray:
    """Give every member of a cluster (label >= 0) the split of its oldest member."""
    out = split.copy()
    members = np.flatnonzero(cluster >= 0)
    if len(members) == 0:
        return out
    order = members[np.lexsort((age[members], cluster[members]))]
    labels = cluster[order]
    starts = np.concatenate([[True], labels[1:] != labels[:-1]])
    head = order[np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))]
    out[order] = split[head]
    return out
