"""Checkpoints that make a killed training job continue where it was, not from step 0.

A checkpoint is a directory `checkpoints/step_NNNNNN/` holding the adapter weights, optimizer
and scheduler state, the RNG states (python, numpy, torch, CUDA) and `state.json` with the
step, the data position (epoch, its shuffled order, the index into it) and the fingerprint of
the settings + model + dataset it belongs to. It is written to a hidden temporary directory
and renamed into place, so a kill -9 during the write leaves the previous checkpoint intact.
Only the newest checkpoint is kept.
"""
from __future__ import annotations

import json
import logging
import os
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PREFIX = "step_"


def rng_state() -> dict[str, Any]:
    import torch

    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    import torch

    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def latest(ckpt_root: str | Path) -> Path | None:
    """The newest complete checkpoint directory, or None."""
    root = Path(ckpt_root)
    if not root.is_dir():
        return None
    done = sorted(p for p in root.glob(f"{PREFIX}*") if (p / "state.json").exists())
    return done[-1] if done else None


def save(ckpt_root: str | Path, step: int, model, optimizer, scheduler, state: dict[str, Any]) -> Path:
    """Write checkpoint `step` atomically and delete the older ones."""
    import torch
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    root = Path(ckpt_root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{PREFIX}{step:06d}"
    tmp = root / f".tmp-{PREFIX}{step:06d}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    weights = {k: v.detach().to("cpu").contiguous().clone() for k, v in get_peft_model_state_dict(model).items()}
    save_file(weights, str(tmp / "adapter.safetensors"))
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    torch.save(rng_state(), tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({**state, "step": step}, sort_keys=True), encoding="utf-8")
    _fsync_dir(tmp)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _fsync_dir(root)
    for old in root.glob(f"{PREFIX}*"):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def load(path: str | Path, model, optimizer, scheduler) -> dict[str, Any]:
    """Restore weights, optimizer, scheduler and RNG from `path`; return its state.json."""
    import torch
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    path = Path(path)
    set_peft_model_state_dict(model, load_file(str(path / "adapter.safetensors")))
    optimizer.load_state_dict(torch.load(path / "optimizer.pt", weights_only=False))
    scheduler.load_state_dict(torch.load(path / "scheduler.pt", weights_only=False))
    set_rng_state(torch.load(path / "rng.pt", weights_only=False))
    return json.loads((path / "state.json").read_text(encoding="utf-8"))


def read_state(path: str | Path) -> dict[str, Any]:
    return json.loads((Path(path) / "state.json").read_text(encoding="utf-8"))


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
