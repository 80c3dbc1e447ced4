"""Train/val/test assignment of the kept examples: which method, and the assignment itself.

`dataset.split.method` names the method; the default is ipynb-edit's, the others are options
that run only when configured (never as a silent fallback):

- `ipynb-edit` (default): ipynb-edit's released split (its llm-learning/code/split.py).
  Repositories are put in sorted order, shuffled with `random.Random(seed).shuffle` (seed 42
  as there) and dealt out by position i: i % 10 < 7 -> train, < 9 -> test, else val, i.e.
  70% train, 20% test, 10% val. ipynb-edit shuffled its repositories in first-seen order;
  sorting first makes the shuffle a function of the set of repositories alone, so a rerun over
  the same data (whatever the order of the edits files) gives the same split. The cut points
  come from `train`/`test` in tenths (0.7/0.2 are the rule above), so other fractions must be
  multiples of 0.1.
- `hash`: u = sha1(salt NUL repo) read as a number in [0, 1); train if u < train, val if
  u < train + val, else test. Each repository's split depends only on its own name and the
  salt: adding a repository never moves another (useful for a growing corpus).
- `commit_time`: within each (repository, kind) the commits that still have examples are
  ordered oldest first and cut by the same fractions: commit i of n goes to train if
  (i + 0.5) / n < train, val if < train + val, else test. Near-duplicate clusters (all members
  in one repository after dedup) then take the split of their oldest member, so they never
  straddle splits. Repositories appear in several splits: this is a split for tiny inputs
  (the 4 demo repositories of the embedded config), not ipynb-edit's.

With fewer than `min_repos_for_repo_split` repositories a repository split (ipynb-edit or
hash) leaves some split empty or nearly so; it still runs as configured, and the log and the
dataset card say so loudly (stats.json `split_warning`).
"""
from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from editflow.config import ConfigError, schema_defaults

log = logging.getLogger(__name__)

SPLIT_NAMES = ("train", "val", "test")
TRAIN, VAL, TEST = 0, 1, 2
# stats.json `split_method`: what kind of split ran (the configured name is split_settings.method)
REPO_METHOD = "repository"
TIME_METHOD = "commit_time_within_repository"
METHODS = ("ipynb-edit", "hash", "commit_time")


@dataclass(frozen=True)
@schema_defaults("dataset.split")
class SplitConfig:
    """dataset.split (defaults: the config schema)."""
    method: str
    train: float
    val: float
    test: float
    seed: int
    min_repos_for_repo_split: int
    salt: str

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> "SplitConfig":
        cfg = cls(**{k: v for k, v in section.items() if k in cls.__dataclass_fields__})
        if cfg.method not in METHODS:
            raise ConfigError(f"dataset.split.method: {cfg.method!r} is not one of {list(METHODS)}")
        if cfg.method == "ipynb-edit":
            ipynb_edit_cuts(cfg)  # fractions it cannot deal out are an error now, not mid-build
        return cfg

    def record(self) -> dict[str, Any]:
        """The settings as stats.json `split_settings` records them."""
        return {"method": self.method, "train": self.train, "val": self.val, "test": self.test,
                "seed": self.seed, "salt": self.salt, "min_repos_for_repo_split": self.min_repos_for_repo_split}


def _bucket(u: np.ndarray, cfg: SplitConfig) -> np.ndarray:
    """0/1/2 (train/val/test) for positions u in [0, 1)."""
    return np.where(u < cfg.train, TRAIN, np.where(u < cfg.train + cfg.val, VAL, TEST)).astype(np.int8)


def ipynb_edit_cuts(cfg: SplitConfig) -> tuple[int, int]:
    """(a, b): position i goes to train if i % 10 < a, test if < b, else val (ipynb-edit: 7, 9)."""
    a, b = round(cfg.train * 10), round((cfg.train + cfg.test) * 10)
    if abs(a - cfg.train * 10) > 1e-9 or abs(b - (cfg.train + cfg.test) * 10) > 1e-9:
        raise ConfigError(f"dataset.split: method ipynb-edit deals repositories out in tenths (i % 10); "
                         f"train={cfg.train}, test={cfg.test} are not multiples of 0.1 (use method: hash)")
    return a, b


def split_ipynb_edit(repos: list[str], cfg: SplitConfig) -> dict[str, int]:
    """ipynb-edit's rule: sorted repositories, shuffled with random.Random(seed), dealt by i % 10."""
    order = sorted(repos)
    random.Random(cfg.seed).shuffle(order)
    a, b = ipynb_edit_cuts(cfg)
    return {r: TRAIN if i % 10 < a else TEST if i % 10 < b else VAL for i, r in enumerate(order)}


def repo_unit(repo: str, salt: str) -> float:
    h = hashlib.sha1(f"{salt}\x00{repo}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64


def split_by_repo(repos: list[str], cfg: SplitConfig) -> dict[str, int]:
    """The `hash` method: each repository by a stable hash of (salt, name)."""
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


@dataclass(frozen=True)
class Assignment:
    """Split code per kept row, what kind of split ran, and a warning when it is a poor fit."""
    split: np.ndarray
    method: str                 # REPO_METHOD or TIME_METHOD (stats.json split_method)
    warning: str | None = None  # stats.json split_warning; the card shows it


def few_repos_warning(n_repos: int, cfg: SplitConfig) -> str | None:
    if cfg.method == "commit_time" or n_repos >= cfg.min_repos_for_repo_split:
        return None
    return (f"only {n_repos} repositories (< min_repos_for_repo_split = {cfg.min_repos_for_repo_split}) for "
            f"the {cfg.method} repository split: some splits get few or no examples. The split ran as "
            f"configured; for tiny inputs set dataset.split.method: commit_time explicitly.")


def assign(kmeta: pa.Table, cluster: np.ndarray, age: np.ndarray, cfg: SplitConfig) -> Assignment:
    """Split per kept row (columns repo, kind, commit_time, commit) by the configured method."""
    if cfg.method == "commit_time":
        by_time = split_by_time(kmeta["repo"], kmeta["kind"], kmeta["commit_time"], kmeta["commit"], cfg)
        return Assignment(clusters_follow_oldest(by_time, cluster, age), TIME_METHOD)
    repos = sorted(set(kmeta["repo"].to_pylist()))
    table = split_ipynb_edit(repos, cfg) if cfg.method == "ipynb-edit" else split_by_repo(repos, cfg)
    codes = np.array([table[r] for r in repos], dtype=np.int8)
    split = codes[np.asarray(pc.index_in(kmeta["repo"], pa.array(repos, pa.string())))] if repos \
        else np.zeros(0, dtype=np.int8)
    warning = few_repos_warning(len(repos), cfg)
    if warning:
        log.warning("dataset.split: WARNING: %s", warning)
    return Assignment(split, REPO_METHOD, warning)


def card_text(stats: dict[str, Any]) -> list[str]:
    """The dataset card's paragraphs on how the split was made (from stats.json)."""
    ss = stats["split_settings"]
    method = ss.get("method", "hash" if stats["split_method"] == REPO_METHOD else "commit_time")
    out = []
    if stats.get("split_warning"):
        out += [f"> **Warning: {stats['split_warning']}**", ""]
    if method == "ipynb-edit":
        out += [f"Split method `ipynb-edit` (ipynb-edit's repository split): repositories in sorted order are "
                f"shuffled with Python's `random.Random({ss['seed']})` and dealt out by position i: "
                f"i % 10 < {round(ss['train'] * 10)} -> train, < {round((ss['train'] + ss['test']) * 10)} -> "
                f"test, else val ({ss['train']:g} train / {ss['test']:g} test / {ss['val']:g} val). A repository "
                "is in exactly one split.", ""]
    elif method == "hash":
        out += [f"Split method `hash`: by repository ({ss['train']:g} train / {ss['val']:g} val / "
                f"{ss['test']:g} test) on a stable hash of (salt `{ss['salt']}`, repository name): adding a "
                "repository never moves another.", ""]
    else:
        out += ["Split method `commit_time` (configured; not ipynb-edit's split): within each repository and "
                "file kind, commits ordered by time go oldest -> train, then val, newest -> test "
                f"({ss['train']:g}/{ss['val']:g}/{ss['test']:g}). Repositories therefore appear in several "
                "splits; near-duplicate clusters still stay in one split.", ""]
    return out
