"""Seq2seq models (Coeditor's CodeT5) beside the causal-LM path: load, batch, train, generate.

An encoder-decoder reads the whole model input (EncInput + references) in its encoder and
writes the target (EncOutput) with its decoder, so a batch is (input_ids, attention_mask,
labels) with no prompt masking, and generation returns only new tokens. The train and infer
stages call `load_model` (which picks the model class from the config's `is_encoder_decoder`)
and, for seq2seq models, `encode_pairs` / `generate` instead of their causal-LM versions.
LoRA targets T5's attention projections `q` and `v` (`lora_targets`).
"""
from __future__ import annotations

from typing import Sequence

IGNORE = -100


def is_seq2seq(config) -> bool:
    return bool(getattr(config, "is_encoder_decoder", False))


def load_model(name_or_dir: str, **kwargs):
    """AutoModelForSeq2SeqLM for encoder-decoder configs, AutoModelForCausalLM otherwise."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSeq2SeqLM

    config = AutoConfig.from_pretrained(name_or_dir)
    cls = AutoModelForSeq2SeqLM if is_seq2seq(config) else AutoModelForCausalLM
    return cls.from_pretrained(name_or_dir, **kwargs)


def lora_targets(model) -> list[str]:
    """Attention projections LoRA adapts: T5's `q`/`v`, else the usual `q_proj`/`v_proj`."""
    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    return ["q", "v"] if {"q", "v"} <= names else ["q_proj", "v_proj"]


def encode_pairs(tokenizer, inputs: Sequence[str], targets: Sequence[str], max_source: int = 2048,
                 max_target: int = 512) -> dict:
    """A padded seq2seq batch: labels are the target ids with padding set to -100 (no loss)."""
    enc = tokenizer(list(inputs), max_length=max_source, truncation=True, padding=True, return_tensors="pt")
    lab = tokenizer(text_target=list(targets), max_length=max_target, truncation=True, padding=True,
                    return_tensors="pt")
    labels = lab["input_ids"].clone()
    labels[lab["attention_mask"] == 0] = IGNORE
    return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"], "labels": labels}


def train_steps(model, tokenizer, inputs: Sequence[str], targets: Sequence[str], steps: int,
                lr: float = 1e-3, batch_size: int = 4, seed: int = 0) -> list[float]:
    """A plain AdamW loop over (input, target) pairs; returns the loss of every step."""
    import torch

    torch.manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr)
    model.train()
    losses = []
    n = len(inputs)
    for step in range(steps):
        idx = [(step * batch_size + k) % n for k in range(min(batch_size, n))]
        batch = encode_pairs(tokenizer, [inputs[i] for i in idx], [targets[i] for i in idx])
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(float(loss.detach()))
    return losses


def generate(model, tokenizer, inputs: Sequence[str], max_new_tokens: int = 256, max_source: int = 2048,
             num_beams: int = 1) -> list[str]:
    """Greedy (or beam) decoding; markers are kept, padding and end-of-sequence dropped."""
    import torch

    model.eval()
    enc = tokenizer(list(inputs), max_length=max_source, truncation=True, padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, num_beams=num_beams, do_sample=False)
    drop = {tokenizer.pad_token, tokenizer.eos_token}
    texts = []
    for row in out:
        toks = [t for t in tokenizer.convert_ids_to_tokens(row.tolist()) if t not in drop]
        texts.append(tokenizer.convert_tokens_to_string(toks))
    return texts
