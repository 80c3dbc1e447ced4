"""Exact and near-duplicate detection.

Exact duplicates (per task): rows with the same example_id (the same repo/commit/path mined
twice) and rows with the same content (old code and target, e.g. a fork's copy of a
commit). One representative of each group is kept: the *oldest* row by
(commit_time, repo, commit, path) -- the original rather than the fork's copy.

Near duplicates (per edit, all tasks together): MinHash (datasketch) over word shingles of
the edit's changed code (views.changed_text), LSH banding with datasketch's optimal
(bands, rows) for the threshold, candidate pairs verified by their estimated Jaccard
similarity, then union-find into clusters. Policy (see docs/dataset.md): within a cluster,
edits from the repository of its oldest member are kept (and later forced into one split);
edits from any other repository -- forks and copies -- are dropped. So no near-duplicate
pair survives across repositories, and none straddles splits.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from editflow.config import schema_defaults


@dataclass(frozen=True)
@schema_defaults("dataset.dedup")
class DedupConfig:
    """dataset.dedup (defaults: the config schema)."""
    exact: bool
    near: bool
    near_threshold: float
    num_perm: int
    shingle_words: int

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> "DedupConfig":
        return cls(**{k: v for k, v in section.items() if k in cls.__dataclass_fields__})


def content_hashes(old_code: pa.Array, target: pa.Array) -> pa.Array:
    """16-byte blake2b of (old code, target) per row: the exact-content duplicate key."""
    out = [hashlib.blake2b(f"{o}\x00{t}".encode("utf-8", "surrogatepass"), digest_size=16).digest()
           for o, t in zip(old_code.to_pylist(), target.to_pylist())]
    return pa.array(out, pa.binary(16))


def keep_first(keys: Sequence[pa.Array], age: np.ndarray) -> np.ndarray:
    """Keep mask: for each distinct key tuple, only the row with the smallest age survives."""
    n = len(age)
    if n == 0:
        return np.zeros(0, dtype=bool)
    cols = {f"k{i}": k for i, k in enumerate(keys)}
    cols["age"] = pa.array(age, pa.int64())
    t = pa.table(cols)
    order = np.asarray(pc.sort_indices(t, sort_keys=[(f"k{i}", "ascending") for i in range(len(keys))] + [("age", "ascending")]))
    same = np.ones(n - 1, dtype=bool)
    for k in keys:
        vals = pc.take(k, pa.array(order))
        same &= np.asarray(pc.fill_null(pc.equal(vals[1:], vals[:-1]), False), dtype=bool)
    first_sorted = np.concatenate([[True], ~same])
    keep = np.zeros(n, dtype=bool)
    keep[order[first_sorted]] = True
    return keep


def shingles(text: str, n: int) -> list[bytes]:
    words = text.split()
    if not words:
        return []
    if len(words) <= n:
        return [" ".join(words).encode("utf-8", "surrogatepass")]
    return list({" ".join(words[i:i + n]).encode("utf-8", "surrogatepass") for i in range(len(words) - n + 1)})


def signatures(texts: Sequence[str], cfg: DedupConfig) -> tuple[np.ndarray, np.ndarray]:
    """MinHash signatures (uint32, one row per text) and whether each text had any shingle."""
    from datasketch import MinHash

    sets = [shingles(t, cfg.shingle_words) for t in texts]
    valid = np.fromiter((bool(s) for s in sets), dtype=bool, count=len(sets))
    sig = np.zeros((len(sets), cfg.num_perm), dtype=np.uint32)
    todo = [s for s in sets if s]
    if todo:
        mhs = MinHash.bulk(todo, num_perm=cfg.num_perm, seed=1)
        sig[valid] = np.stack([m.hashvalues for m in mhs]).astype(np.uint32)
    return sig, valid


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band) minimising false positives + negatives (datasketch's choice)."""
    from datasketch.lsh import _optimal_param
    return _optimal_param(threshold, num_perm, 0.5, 0.5)


def near_duplicate_pairs(sig: np.ndarray, valid: np.ndarray, cfg: DedupConfig) -> np.ndarray:
    """Verified candidate pairs (i, j), i < j, as an (m, 2) array.

    For each band the rows sharing a band key are linked to the first row of their bucket
    (a star is enough for union-find), then kept only if their estimated Jaccard
    similarity (fraction of equal MinHash values) reaches the threshold.
    """
    idx = np.flatnonzero(valid)
    if len(idx) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    bands, rows = lsh_params(cfg.near_threshold, cfg.num_perm)
    rng = np.random.default_rng(12345)
    mult = rng.integers(1, 2**63 - 1, size=rows, dtype=np.uint64) | np.uint64(1)
    pairs = []
    sub = sig[idx].astype(np.uint64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            key = (sub[:, b * rows:(b + 1) * rows] * mult).sum(axis=1, dtype=np.uint64)
            order = np.argsort(key, kind="stable")
            ks = key[order]
            new_run = np.concatenate([[True], ks[1:] != ks[:-1]])
            head = order[np.maximum.accumulate(np.where(new_run, np.arange(len(ks)), 0))]
            member = order
            m = ~new_run
            if m.any():
                pairs.append(np.stack([head[m], member[m]], axis=1))
    if not pairs:
        return np.zeros((0, 2), dtype=np.int64)
    p = np.unique(np.sort(np.concatenate(pairs), axis=1), axis=0)
    sim = (sig[idx[p[:, 0]]] == sig[idx[p[:, 1]]]).mean(axis=1)
    p = p[sim >= cfg.near_threshold]
    return idx[p]


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Union-find: a component label per node (the smallest node index in its component)."""
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                parent[rb] = ra
            else:
                parent[ra] = rb
    return np.fromiter((find(i) for i in range(n)), dtype=np.int64, count=n)
