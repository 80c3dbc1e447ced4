"""Dataset statistics (stats.json) and plots (plots/*.png), from the candidates' small columns.

In the spirit of the seeds: ipynb-edit's distributions of changed cells/lines, Coeditor's
Tables 1-2 (repositories, commits, edits and examples per split), plus the filter funnel,
which must add up: for every task, candidates = kept + sum(removed).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from editflow import tasks
from editflow.atomic import atomic_path, write_json
from editflow.dataset.filters import FUNNEL_STEPS
from editflow.dataset.split import SPLIT_NAMES

DEMO_PREFIX = "local/demo-"
METRICS = ("changed_cells", "changed_lines", "hunks", "prompt_tokens", "target_tokens")
TOP_REPOS = 20


def _summary(values: np.ndarray) -> dict[str, Any]:
    if len(values) == 0:
        return {"count": 0}
    q = np.percentile(values, [25, 50, 75, 90])
    return {"count": int(len(values)), "min": int(values.min()), "p25": round(float(q[0]), 2),
            "median": round(float(q[1]), 2), "mean": round(float(values.mean()), 2),
            "p75": round(float(q[2]), 2), "p90": round(float(q[3]), 2), "max": int(values.max())}


def _counts(rows: dict[str, np.ndarray]) -> dict[str, int]:
    return {"examples": int(len(rows["example_id"])),
            "repositories": int(len(set(rows["repo"].tolist()))),
            "commits": int(len(set(zip(rows["repo"].tolist(), rows["commit"].tolist())))),
            "edits": int(len(set(rows["edit_id"].tolist())))}


def kept_columns(meta: pa.Table, dec) -> dict[str, np.ndarray]:
    kept = np.flatnonzero(dec.keep)
    cols = {c: meta[c].to_numpy(zero_copy_only=False)[kept]
            for c in ("example_id", "edit_id", "task", "repo", "commit")}
    for c in METRICS:  # null (changed_cells of tasks without cells) -> -1, dropped from the distributions
        cols[c] = np.asarray(pc.fill_null(meta[c], -1), dtype=np.int64)[kept]
    cols["split"] = dec.split[kept]
    return cols


def compute_stats(meta: pa.Table, dec, p1, settings, section: dict[str, Any], skips: dict[str, int],
                  tokenizer: str, sizes: dict[str, int]) -> dict[str, Any]:
    k = kept_columns(meta, dec)
    funnel: dict[str, Any] = {}
    total = {"candidates": 0, "removed": {s: 0 for s in FUNNEL_STEPS}, "kept": 0}
    ok = True
    for task in settings.tasks:
        removed = {**p1.removed[task], **dec.removed[task]}
        removed = {s: int(removed.get(s, 0)) for s in FUNNEL_STEPS}
        kept = int((k["task"] == task).sum())
        cand = int(p1.candidates[task])
        funnel[task] = {"candidates": cand, "removed": removed, "kept": kept}
        ok &= cand == kept + sum(removed.values())
        total["candidates"] += cand
        total["kept"] += kept
        for s, v in removed.items():
            total["removed"][s] += v
    funnel["all_tasks"] = total

    splits: dict[str, Any] = {}
    for code, name in enumerate(SPLIT_NAMES):
        m = k["split"] == code
        rows = {c: v[m] for c, v in k.items()}
        entry = _counts(rows)
        entry["by_task"] = {t: _counts({c: v[rows["task"] == t] for c, v in rows.items()}) for t in settings.tasks}
        splits[name] = entry

    dist = {t: {m: _summary(k[m][(k["task"] == t) & (k[m] >= 0)])
                for m in METRICS if m != "changed_cells" or tasks.get(t).reads == "notebook"}
            for t in settings.tasks}

    repo_counts = Counter(k["repo"].tolist())
    repo_splits: dict[str, set] = {}
    for r, s in zip(k["repo"].tolist(), k["split"].tolist()):
        repo_splits.setdefault(r, set()).add(s)
    top = sorted(repo_counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_REPOS]
    all_repos = sorted(p1.repos)
    return {
        "schema_version": 1,
        "demo_data": bool(all_repos) and all(r.startswith(DEMO_PREFIX) for r in all_repos),
        "demo_repositories": sum(r.startswith(DEMO_PREFIX) for r in all_repos),
        "tokenizer": tokenizer,
        "token_count": "prompt rendered with the fine-tuned template + target + end marker",
        "config": section,
        "inputs": {"edits": p1.edits, "repositories": len(p1.repos), "commits": len(p1.commits),
                   "by_kind": dict(sorted(p1.by_kind.items())),
                   "by_change_type": dict(sorted(p1.by_change_type.items())),
                   "skips": {"total": int(sum(skips.values())), "by_reason": skips}},
        "funnel": funnel,
        "funnel_adds_up": bool(ok),
        "split_method": dec.split_method,
        "split_settings": settings.split.record(),
        "split_warning": dec.split_warning,
        "splits": splits,
        "split_files": sizes,
        "near_duplicates": {"clusters": dec.near_clusters, "largest_cluster_sizes": dec.near_cluster_sizes},
        "distributions": dist,
        "top_repositories": [{"repo": r, "examples": n, "splits": [SPLIT_NAMES[c] for c in sorted(repo_splits[r])]}
                             for r, n in top],
    }


def write_stats(stats: dict[str, Any], path: Path) -> None:
    write_json(stats, path)


def _save(fig, path: Path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=80, metadata={"Software": None})


def write_plots(meta: pa.Table, dec, stats: dict[str, Any], plots: Path) -> list[Path]:
    """funnel.png, splits.png, one histogram per metric, top_repositories.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plots.mkdir(parents=True, exist_ok=True)
    written = []
    k = kept_columns(meta, dec)
    tasks = [t for t in stats["funnel"] if t != "all_tasks"]

    fig, ax = plt.subplots(figsize=(9, 4.5))
    fig.subplots_adjust(left=0.33, right=0.97)
    steps = list(FUNNEL_STEPS)
    for i, t in enumerate(tasks):
        vals = [stats["funnel"][t]["removed"][s] for s in steps] + [stats["funnel"][t]["kept"]]
        ax.barh(np.arange(len(steps) + 1) + i * 0.8 / max(len(tasks), 1), vals, height=0.8 / max(len(tasks), 1), label=t)
    ax.set_yticks(np.arange(len(steps) + 1) + 0.3)
    ax.set_yticklabels([f"removed: {s}" for s in steps] + ["kept"])
    ax.invert_yaxis()
    ax.set_xlabel("examples")
    ax.set_title("Filter funnel (counted at the first removing step)")
    ax.legend()
    _save(fig, plots / "funnel.png")
    written.append(plots / "funnel.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for i, t in enumerate(tasks):
        vals = [stats["splits"][s]["by_task"][t]["examples"] for s in SPLIT_NAMES]
        ax.bar(np.arange(3) + i * 0.8 / max(len(tasks), 1), vals, width=0.8 / max(len(tasks), 1), label=t)
    ax.set_xticks(np.arange(3) + 0.3)
    ax.set_xticklabels(SPLIT_NAMES)
    ax.set_ylabel("examples")
    ax.set_title(f"Examples per split and task ({stats['split_method']} split)")
    ax.legend()
    _save(fig, plots / "splits.png")
    written.append(plots / "splits.png")
    plt.close(fig)

    for metric in ("changed_cells", "changed_lines", "hunks", "prompt_tokens", "target_tokens"):
        fig, ax = plt.subplots(figsize=(6, 4))
        any_data = False
        present = k[metric][k[metric] >= 0]
        bins = np.histogram_bin_edges(present, bins=30) if len(present) else 30  # shared by the tasks
        for t in tasks:
            vals = k[metric][(k["task"] == t) & (k[metric] >= 0)]
            if len(vals):
                ax.hist(vals, bins=bins, alpha=0.5, label=t)
                any_data = True
        ax.set_xlabel(metric.replace("_", " "))
        ax.set_ylabel("examples")
        ax.set_title(f"Distribution of {metric.replace('_', ' ')} (kept examples)")
        if any_data:
            ax.legend()
            _save(fig, plots / f"{metric}.png")
        written.append(plots / f"{metric}.png")
        plt.close(fig)

    top = stats["top_repositories"][:15]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.35 * len(top) + 1)))
    fig.subplots_adjust(left=0.4, right=0.97)
    ax.barh([r["repo"] for r in top][::-1], [r["examples"] for r in top][::-1])
    ax.set_xlabel("examples")
    ax.set_title("Top repositories by examples")
    _save(fig, plots / "top_repositories.png")
    written.append(plots / "top_repositories.png")
    plt.close(fig)
    return written
