"""Bootstrap confidence intervals and paired bootstrap significance, seeded per comparison.

Each resampling draws its own generator from (seed, a stable name of what is being
resampled), so a table is byte-identical across reruns and adding a system to a run does
not change the intervals of the others. Every metric of a system is resampled with the same
example indices, as in the papers' paired tests (Koehn 2004; Efron & Tibshirani 1993, 16.4).
"""
from __future__ import annotations

import warnings
import zlib
from dataclasses import dataclass

import numpy as np

CONFIDENCE = 0.95
_CHUNK = 100  # resamples per block: bounds memory at a few _CHUNK x n arrays


def rng_for(seed: int, *key: object) -> np.random.Generator:
    """A generator that depends only on `seed` and the key (never on Python's hash salt)."""
    digest = zlib.crc32("\x1f".join(map(str, key)).encode("utf-8"))
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, digest])


def resampled_means(values: np.ndarray, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `n_samples` resamples (with replacement) of the rows of `values`: (B,) or (B, m).

    `values` is (n,) or (n, m): the same resampled rows serve every column, so the m metrics
    of one system (or the paired differences of m metrics) move together. NaN cells (a metric
    that does not apply to an example, e.g. pass@k without tests) are left out of their
    column's mean; a resample with no applicable example gives NaN.
    Each resample is held as counts per row, so a block of resamples is one count matrix
    times the values (einsum: a fixed summation order, unlike threaded BLAS).
    """
    values = np.asarray(values, dtype=np.float64)
    flat = values.ndim == 1
    matrix = values[:, None] if flat else values
    n = matrix.shape[0]
    present = ~np.isnan(matrix)
    filled = np.where(present, matrix, 0.0)
    weights = present.astype(np.float64)
    complete = bool(present.all())
    out = np.empty((n_samples, matrix.shape[1]), dtype=np.float64)
    for start in range(0, n_samples, _CHUNK):
        stop = min(start + _CHUNK, n_samples)
        rows = stop - start
        idx = rng.integers(0, n, size=(rows, n))
        counts = np.bincount((idx + (np.arange(rows) * n)[:, None]).ravel(),
                             minlength=rows * n).reshape(rows, n).astype(np.float64)
        sums = np.einsum("bn,nm->bm", counts, filled)
        if complete:  # every resample holds exactly n examples
            out[start:stop] = sums / n
        else:
            with np.errstate(invalid="ignore", divide="ignore"):
                out[start:stop] = sums / np.einsum("bn,nm->bm", counts, weights)
    return out[:, 0] if flat else out


def _percentiles(means: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - confidence) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as they should
        low, high = np.nanpercentile(means, [100 * alpha, 100 * (1 - alpha)], axis=0)
    return low, high


def percentile_ci(values: np.ndarray, n_samples: int, rng: np.random.Generator,
                  confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the mean of each column: (low, high).

    Empty input gives NaN; a single example or constant values give [mean, mean].
    """
    values = np.asarray(values, dtype=np.float64)
    width = values.shape[1:] if values.ndim > 1 else ()
    if values.shape[0] == 0:
        nan = np.full(width, np.nan)
        return nan, nan.copy()
    return _percentiles(resampled_means(values, n_samples, rng), confidence)


@dataclass(frozen=True)
class PairedResult:
    """System A minus system B on the same examples, for one metric."""
    n: int
    mean_a: float
    mean_b: float
    delta: float
    ci_low: float
    ci_high: float
    p_value: float


def paired_bootstrap(a: np.ndarray, b: np.ndarray, n_samples: int, rng: np.random.Generator,
                     confidence: float = CONFIDENCE) -> list[PairedResult]:
    """Two-sided paired bootstrap test of mean(a) == mean(b), one result per column.

    The differences d = a - b are resampled; under the null hypothesis their mean is 0, so
    the bootstrap distribution is shifted to 0 and the p-value is the share of resampled
    means at least as far from 0 as the observed one, with the +1 correction
    (Davison & Hinkley 1997, 4.4): p = (1 + #{|mean(d*) - mean(d)| >= |mean(d)|}) / (B + 1).
    Identical systems give p = 1; a system better on every example by the same amount gives
    p = 1 / (B + 1), the smallest value B resamples can show.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired bootstrap needs the same examples in both systems: {a.shape} vs {b.shape}")
    if a.ndim == 1:
        a, b = a[:, None], b[:, None]
    n, m = a.shape
    if n == 0:
        return [PairedResult(0, *([float("nan")] * 6)) for _ in range(m)]
    diff = a - b                      # NaN where either system has no value: not a pair
    paired = ~np.isnan(diff)
    counts = paired.sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        observed = np.nanmean(diff, axis=0)
        mean_a = np.nanmean(np.where(paired, a, np.nan), axis=0)
        mean_b = np.nanmean(np.where(paired, b, np.nan), axis=0)
    means = resampled_means(diff, n_samples, rng)
    # A tolerance keeps exact ties (identical systems, constant differences) from flipping
    # on the last bit of a floating-point mean.
    tol = 1e-9 * np.maximum(1.0, np.abs(observed))
    with np.errstate(invalid="ignore"):
        extreme = (np.abs(means - observed) >= np.abs(observed) - tol).sum(axis=0)
    p = np.minimum((1.0 + extreme) / (n_samples + 1.0), 1.0)
    low, high = _percentiles(means, confidence)
    out = []
    for j in range(m):
        if counts[j] == 0:
            out.append(PairedResult(0, *([float("nan")] * 6)))
        else:
            out.append(PairedResult(int(counts[j]), float(mean_a[j]), float(mean_b[j]), float(observed[j]),
                                    float(low[j]), float(high[j]), float(p[j])))
    return out
