"""Random-init models of a named shape, for throughput figures on machines without weights.

The shapes live in src/editflow/resources/model_shapes/NAME.json (Hugging Face config dicts):
DeepSeek-Coder-1.3B and 6.7B layer shapes with SmolLM2's vocabulary (so the default
dataset's prompts tokenize as in the default run), SmolLM2-135M, and `tiny` for CPU dry runs.
Throughput and memory depend on shapes, not on weight values; random weights never emit EOS,
so every row runs to its budget, and greedy identity checks still compare the same argmax.
The model is built directly on the target device in the target dtype (seconds for 1.3B on a
GPU), never saved.

MFU (model FLOPs utilisation) counts 6 * N_total FLOPs per trained token and 2 * N_total per
generated token (forward only), against a peak (989e12: H200/H100 dense bf16 tensor cores).
"""
from __future__ import annotations

import json
from pathlib import Path

SHAPES_DIR = Path(__file__).resolve().parents[1] / "src" / "editflow" / "resources" / "model_shapes"
PEAK_FLOPS = 989e12


def shapes_dir() -> Path:
    """The installed package's shapes (falls back to this checkout's src/)."""
    try:
        import editflow

        installed = Path(editflow.__file__).parent / "resources" / "model_shapes"
        if installed.is_dir():
            return installed
    except ImportError:
        pass
    return SHAPES_DIR


def shape_names() -> list[str]:
    return sorted(p.stem for p in shapes_dir().glob("*.json"))


def shape_config(name: str, dtype: str = "bfloat16"):
    from transformers import AutoConfig

    path = shapes_dir() / f"{name}.json"
    if not path.exists():
        raise SystemExit(f"unknown --model-shape {name!r}; known: {shape_names()}")
    d = {k: v for k, v in json.loads(path.read_text()).items() if not k.startswith("_")}
    d["dtype"] = dtype
    return AutoConfig.for_model(**d)


def build_model(name: str, device: str, dtype: str = "bfloat16", seed: int = 0, attn: str = "sdpa"):
    """A random-init causal LM of shape `name`, constructed on `device` in `dtype`."""
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig

    cfg = shape_config(name, dtype)
    torch.manual_seed(seed)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(cfg, dtype=getattr(torch, dtype), attn_implementation=attn)
    model.generation_config = GenerationConfig(bos_token_id=cfg.bos_token_id, eos_token_id=cfg.eos_token_id,
                                               pad_token_id=cfg.pad_token_id)
    return model


def param_count(model) -> int:
    """N_total: every parameter, embeddings and LM head included (as in the MFU formula)."""
    seen, n = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            n += p.numel()
    return n


def mfu(n_params: int, tokens_per_s: float, flops_per_param_token: int) -> float:
    """flops_per_param_token * N_total * tokens/s / PEAK_FLOPS (6 for training, 2 for generation)."""
    return flops_per_param_token * n_params * tokens_per_s / PEAK_FLOPS


def save_model_dir(name: str, out: str, tokenizer: str, device: str, dtype: str) -> None:
    """A loadable model directory (random weights + the tokenizer files) for CLI runs."""
    import shutil

    model = build_model(name, device, dtype)
    model.save_pretrained(out)
    for f in Path(tokenizer).iterdir():
        if f.is_file() and not f.name.startswith(("model", "config", "generation_config")):
            shutil.copy(f, Path(out) / f.name)


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description="write a random-init model directory of a shape (for CLI runs)")
    p.add_argument("shape")
    p.add_argument("out")
    p.add_argument("--tokenizer", required=True)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", default="float32")
    a = p.parse_args()
    save_model_dir(a.shape, a.out, a.tokenizer, a.device, a.dtype)
    print(json.dumps({"shape": a.shape, "dir": a.out, "device": a.device, "dtype": a.dtype}))
