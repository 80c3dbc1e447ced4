"""The run directory: a running log next to the checkpoints, the loss plot, atomic publication.

While training, the JSONL log lives in `checkpoints/` (it is part of the resumable state and
is cut back to the checkpoint's step on resume). The final files are written to a hidden
staging directory and renamed into the run directory only when everything is written, so
Snakemake (whose declared outputs are adapter/adapter_config.json, train_log.jsonl and
loss.png) never sees a half-written run.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable

FINAL_NAMES = ("adapter", "config.json", "loss.png", "train_log.jsonl")


def append_log(path: str | Path, entry: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def read_log(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by kill -9: dropped, the step is redone
            break
    return entries


def truncate_log(path: str | Path, max_step: int) -> list[dict[str, Any]]:
    """Keep the entries up to `max_step` (the checkpoint being resumed); rewrite the file."""
    kept = [e for e in read_log(path) if e.get("step", 0) <= max_step]
    tmp = Path(str(path) + ".tmp")
    tmp.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in kept), encoding="utf-8")
    os.replace(tmp, path)
    return kept


def plot_loss(entries: Iterable[dict[str, Any]], path: str | Path, title: str = "") -> None:
    """Train loss per step, with the base model's and the adapter's validation loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = list(entries)
    train = [(e["step"], e["loss"]) for e in entries if e.get("kind") == "train"]
    base = [(e["step"], e["val_loss"]) for e in entries if e.get("kind") == "val" and e.get("model") == "base"]
    adapter = [(e["step"], e["val_loss"]) for e in entries if e.get("kind") == "val" and e.get("model") == "adapter"]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    if train:
        ax.plot(*zip(*train), label="train loss (target tokens)", color="tab:blue", lw=1.2)
    if base:
        ax.axhline(base[0][1], color="tab:gray", ls="--", lw=1, label=f"val loss, base model: {base[0][1]:.3f}")
    if adapter:
        ax.plot(*zip(*adapter), "o-", color="tab:red", ms=4,
                label=f"val loss, adapter (final {adapter[-1][1]:.3f})")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy per target token")
    ax.set_title(title or "training loss", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def remove_final(out: str | Path) -> None:
    """Remove published files of an earlier run so the directory never mixes two runs."""
    out = Path(out)
    for name in FINAL_NAMES:
        p = out / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()


def publish(staging: str | Path, out: str | Path) -> None:
    """Rename every staged entry into `out`; the declared-output files move last."""
    staging, out = Path(staging), Path(out)
    names = sorted(os.listdir(staging), key=lambda n: (n in FINAL_NAMES, FINAL_NAMES.index(n) if n in FINAL_NAMES else 0, n))
    for name in names:
        dest = out / name
        if dest.is_dir():
            trash = out / f".old-{name}"
            shutil.rmtree(trash, ignore_errors=True)
            os.replace(dest, trash)
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(staging / name, dest)
    staging.rmdir()
