"""pass@k with the unbiased estimator of the Codex paper (Chen et al., 2021).

For an example with n generated samples of which c pass its tests,
    pass@k = 1 - C(n - c, k) / C(n, k)
computed as 1 - prod_{i = n-c+1}^{n} (1 - k / i) for numerical stability, x 100. It is only
defined for n >= k; below that the value is None (not silently a different estimator).

For execution-checked edit benchmarks (editflow.editbench, CanItEdit's protocol) the second
half computes pass@k per instruction style (lazy, descriptive) from n samples per problem and
the table OpenCodeEdit reports (rows: systems; columns: lazy, descriptive), with the sandbox
isolation level the tests ran under.
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


# ---------------------------------------------------------------- edit benchmarks (CanItEdit protocol)
# A benchmark problem is asked once per instruction style; its inference rows carry the example
# id "<problem_id>#<style>" (or an explicit `instruction_style` column) and `sample` 0..n-1.

STYLES = ("lazy", "descriptive")
STYLE_SEPARATOR = "#"
# The protocol of CanItEdit / OpenCodeEdit: n = 20 samples at temperature 0.2, top-p 0.95,
# up to 2,048 new tokens; pass@1 (and pass@10) per instruction style.
PROTOCOL = {"n_samples": 20, "temperature": 0.2, "top_p": 0.95, "max_new_tokens": 2048, "pass_k": [1, 10]}


def benchmark_example_id(problem_id: str, style: str) -> str:
    if style not in STYLES:
        raise ValueError(f"instruction style must be one of {STYLES}, got {style!r}")
    return f"{problem_id}{STYLE_SEPARATOR}{style}"


def split_example_id(example_id: str) -> tuple[str, str]:
    """(problem_id, style) of "<problem_id>#<style>"; ValueError when it is not one."""
    problem_id, sep, style = str(example_id).rpartition(STYLE_SEPARATOR)
    if not sep or style not in STYLES:
        raise ValueError(f"example id {example_id!r} is not '<problem_id>{STYLE_SEPARATOR}<lazy|descriptive>'")
    return problem_id, style


def pass_at_k_by_style(example_ids: list[str], passed: list[bool | None], ks=(1, 10),
                       styles: list[str] | None = None) -> dict[str, dict]:
    """{style: {"pass@k": mean over problems, ..., "n_problems", "n_samples_min"}}.

    Per problem and style, n = its tested samples and c = the passing ones; pass@k is the
    unbiased estimator, averaged over the style's problems (0-100). When any problem has
    fewer than k samples the value is None: averaging over a different set would not be pass@k.
    `styles` overrides the style encoded in the example ids. Rows whose `passed` is None
    (untested) are left out.
    """
    counts: dict[str, dict[str, list[int]]] = {}
    for i, (example_id, ok) in enumerate(zip(example_ids, passed)):
        if ok is None:
            continue
        if styles is None:
            problem, style = split_example_id(example_id)
        else:
            problem, style = str(example_id), styles[i]
        n_c = counts.setdefault(style, {}).setdefault(problem, [0, 0])
        n_c[0] += 1
        n_c[1] += bool(ok)
    out: dict[str, dict] = {}
    for style in sorted(counts, key=lambda s: STYLES.index(s) if s in STYLES else len(STYLES)):
        per_problem = counts[style]
        row: dict = {}
        for k in ks:
            values = [pass_at_k(n, c, k) for n, c in per_problem.values()]
            row[f"pass@{k}"] = None if any(v is None for v in values) else float(np.mean(values))
        row["n_problems"] = len(per_problem)
        row["n_samples_min"] = min(n for n, _ in per_problem.values())
        out[style] = row
    return out


def scores_passk(table, ks=(1, 10)) -> tuple[dict[str, dict], str | None]:
    """pass@k by style of one scores file (pyarrow Table), and the sandbox isolation it ran under."""
    import json

    names = table.column_names
    if "passed" not in names or "example_id" not in names:
        raise ValueError("a scores file of an edit benchmark needs `example_id` and `passed` columns")
    styles = table.column("instruction_style").to_pylist() if "instruction_style" in names else None
    ids = table.column("problem_id" if styles is not None and "problem_id" in names else "example_id").to_pylist()
    result = pass_at_k_by_style(ids, table.column("passed").to_pylist(), ks, styles)
    meta = (table.schema.metadata or {}).get(b"editflow.score")
    sandbox = (json.loads(meta).get("sandbox") or {}) if meta else {}
    return result, sandbox.get("isolation")


def edit_passk_table(systems: dict[str, tuple[dict[str, dict], str | None]], k: int = 1) -> list[dict]:
    """OpenCodeEdit's table shape: one row per system, columns lazy and descriptive (pass@k, 0-100).

    `systems` maps a system name (e.g. "base", "finetuned-mined") to scores_passk's result.
    Each row also carries n_problems (per style, the smaller) and the sandbox isolation.
    """
    rows = []
    for system, (by_style, isolation) in systems.items():
        row = {"system": system}
        for style in STYLES:
            row[style] = by_style.get(style, {}).get(f"pass@{k}")
        row["n_problems"] = min((v["n_problems"] for v in by_style.values()), default=0)
        row["isolation"] = isolation
        rows.append(row)
    return rows


def edit_passk_markdown(rows: list[dict], k: int = 1, title: str = "") -> str:
    """The table as Markdown, with the isolation level(s) the tests ran under stated below it."""
    def cell(v):
        return "–" if v is None else f"{v:.1f}"

    lines = [f"### {title}", ""] if title else []
    lines += [f"| system | lazy pass@{k} | descriptive pass@{k} | problems |", "|---|---|---|---|"]
    lines += [f"| {r['system']} | {cell(r['lazy'])} | {cell(r['descriptive'])} | {r['n_problems']} |" for r in rows]
    levels = sorted({str(r["isolation"]) for r in rows})
    lines += ["", f"Tests ran in the editflow sandbox, isolation: {', '.join(levels) or 'unknown'}."]
    return "\n".join(lines) + "\n"
