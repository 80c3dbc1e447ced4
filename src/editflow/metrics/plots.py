"""Figures of the tables: headline metrics with CI error bars, per-example distributions.

One panel per model x task, one bar or box per system. matplotlib runs with the Agg backend
and without timestamps in the PNG metadata, so reruns write the same bytes.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from editflow.atomic import atomic_path
from editflow.metrics.scorefiles import label
from editflow.metrics.tables import System

BAR_METRICS = ("em", "bleu", "codebleu", "edit_sim", "rouge_l_f")
DISTRIBUTION_METRICS = ("edit_sim", "bleu")
PLOT_FILES = ("main_metrics.png", "distributions.png")
_PNG_METADATA = {"Software": None}


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update({"svg.hashsalt": "editflow", "font.size": 9})
    return plt


def _system_name(row_or_system: Any) -> str:
    if isinstance(row_or_system, System):
        return f"{row_or_system.name} {row_or_system.shots}-shot"
    return f"{row_or_system['system']} {row_or_system['shots']}-shot"


def _panels(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for r in rows:
        if (r["model"], r["task"]) not in seen:
            seen.append((r["model"], r["task"]))
    return seen


def _save(fig, path: Path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, metadata=_PNG_METADATA)


def bar_chart(rows: Sequence[dict[str, Any]], path: str | Path) -> None:
    """Grouped bars: headline metric means per system, 95% bootstrap CI as error bars."""
    plt = _pyplot()
    panels = _panels(rows) or [("no scores", "")]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 3.2 * len(panels)), squeeze=False)
    for ax, (model, task) in zip(axes[:, 0], panels):
        members = [r for r in rows if (r["model"], r["task"]) == (model, task)]
        metrics = [m for m in BAR_METRICS if members and f"{m}_mean" in members[0]]
        width = 0.8 / max(1, len(members))
        x = np.arange(len(metrics))
        for i, r in enumerate(members):
            means = np.array([r[f"{m}_mean"] for m in metrics], dtype=float)
            low = np.array([r[f"{m}_ci_low"] for m in metrics], dtype=float)
            high = np.array([r[f"{m}_ci_high"] for m in metrics], dtype=float)
            err = np.nan_to_num(np.vstack([means - low, high - means]), nan=0.0).clip(min=0.0)
            ax.bar(x + (i - (len(members) - 1) / 2) * width, np.nan_to_num(means), width,
                   yerr=err, capsize=3, label=_system_name(r))
        ax.set_xticks(x, [label(m) for m in metrics])
        ax.set_ylim(0, 100)
        ax.set_ylabel("score (0–100)")
        ax.set_title(f"{model} · {task}" if task else model)
        if members:
            ax.legend(fontsize=8, loc="upper right")
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)


def distribution_plot(systems: Sequence[System], path: str | Path) -> None:
    """Box plots of per-example edit_sim and BLEU per system (runs averaged per example)."""
    plt = _pyplot()
    panels: list[tuple[str, str]] = []
    for s in systems:
        if (s.model, s.task) not in panels:
            panels.append((s.model, s.task))
    panels = panels or [("no scores", "")]
    fig, axes = plt.subplots(len(panels), len(DISTRIBUTION_METRICS),
                             figsize=(4.5 * len(DISTRIBUTION_METRICS), 3.2 * len(panels)), squeeze=False)
    for row_axes, (model, task) in zip(axes, panels):
        members = [s for s in systems if (s.model, s.task) == (model, task)]
        for ax, metric in zip(row_axes, DISTRIBUTION_METRICS):
            data = [np.fromiter(s.per_example(metric).values(), dtype=float) for s in members]
            data = [d if d.size else np.array([math.nan]) for d in data]
            if members:
                ax.boxplot(data, showmeans=True, widths=0.6)
                for i, d in enumerate(data, start=1):  # every example as a point, fixed jitter
                    jitter = np.linspace(-0.18, 0.18, d.size) if d.size > 1 else np.zeros(d.size)
                    ax.plot(i + jitter, d, ".", alpha=0.35, color="tab:blue", markersize=3)
                ax.set_xticks(range(1, len(members) + 1), [_system_name(s) for s in members],
                              rotation=15)
            ax.set_ylim(-2, 102)
            ax.set_ylabel(f"{label(metric)} per example")
            ax.set_title(f"{model} · {task}: {label(metric)}" if task else model)
            ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    _save(fig, Path(path))
    plt.close(fig)
