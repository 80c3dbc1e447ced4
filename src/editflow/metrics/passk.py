"""pass@k with the unbiased estimator of the Codex paper (Chen et al., 2021).

For an example with n generated samples of which c pass its tests,
    pass@k = 1 - C(n - c, k) / C(n, k)
computed as 1 - prod_{i = n-c+1}^{n} (1 - k / i) for numerical stability, x 100. It is only
defined for n >= k; below that the value is None (not silently a different estimator).
"""
from __future__ import annotations

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float | None:
    if k < 1 or n < k:
        return None
    if not 0 <= c <= n:
        raise ValueError(f"pass_at_k: need 0 <= c <= n, got n={n}, c={c}")
    if n - c < k:
        return 100.0
    return 100.0 * float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_by_group(groups: list[str], passed: list[bool | None], ks: list[int]) -> dict[int, list[float | None]]:
    """pass@k per row: the value of the row's group (example), over that group's tested rows.

    Rows whose `passed` is None (no tests) get None. Returns {k: column}.
    """
    counts: dict[str, list[int]] = {}
    for g, ok in zip(groups, passed):
        if ok is None:
            continue
        n_c = counts.setdefault(g, [0, 0])
        n_c[0] += 1
        n_c[1] += bool(ok)
    out: dict[int, list[float | None]] = {}
    for k in ks:
        per_group = {g: pass_at_k(n, c, k) for g, (n, c) in counts.items()}
        out[k] = [None if ok is None else per_group[g] for g, ok in zip(groups, passed)]
    return out
