"""Training data: dataset rows -> token ids with a loss mask -> packed or padded micro-batches.

Prompts are rendered by editflow.prompts with the `finetuned` template, the same code the
inference stage uses, so the model is trained on exactly the text it will be prompted with.
The prompt is tokenized on its own (as inference tokenizes it) and the target (code + end
marker) is appended with EOS; only target tokens carry a label.

A step takes the next `effective_batch` examples of the epoch's shuffled order and splits them
into micro-batches of at most `micro_batch_tokens` tokens. Packed micro-batches are one row of
concatenated examples whose position_ids restart at 0 for each example: transformers turns
that into a block-diagonal causal mask (sdpa/eager) or varlen flash attention, so examples
never attend to each other and no compute is spent on padding. Padded micro-batches (packing
off) are the plain baseline: examples in order, right-padded to the longest.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

log = logging.getLogger(__name__)

IGNORE_INDEX = -100


class TrainDataError(ValueError):
    """The training data cannot be used as is; the message names the file or example and the fix."""


class ExampleTooLongError(TrainDataError):
    """An example does not fit max_length; we refuse rather than truncate its target."""


@dataclass(frozen=True)
class Encoded:
    """One tokenized example: prompt tokens first, then target tokens (the only labels)."""
    example_id: str
    input_ids: tuple[int, ...]
    n_prompt: int

    @property
    def length(self) -> int:
        return len(self.input_ids)

    @property
    def n_target(self) -> int:
        return len(self.input_ids) - self.n_prompt


@dataclass
class EncodeReport:
    n_rows: int = 0
    n_skipped_long: int = 0
    skipped_ids: list[str] | None = None


def load_task_rows(dataset_dir: str | Path, split: str, task: str,
                   limit: int | None = None) -> list[dict[str, Any]]:
    """Rows of one task from `{dataset_dir}/{split}.parquet`, in file order (deterministic)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = Path(dataset_dir) / f"{split}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found; build the dataset first (editflow dataset / snakemake)")
    table = pq.read_table(path, columns=["example_id", "task", "prompt_fields", "target"])
    table = table.filter(pc.equal(table["task"], task))
    if limit is not None:
        table = table.slice(0, limit)
    return table.to_pylist()


def file_fingerprint(paths: Sequence[str | Path]) -> dict[str, str]:
    """sha256 (first 16 hex) of each input file, recorded in config.json and checkpoints."""
    out = {}
    for p in paths:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        out[str(p)] = h.hexdigest()[:16]
    return out


def render_pair(task: str, row: dict[str, Any]) -> tuple[str, str]:
    """(prompt, target text) for one dataset row, from the shared `finetuned` template."""
    from editflow.prompts import Exemplar, render_prompt, render_target, task_template

    template = task_template(task, finetuned=True)
    fields = row["prompt_fields"] or {}
    prompt = render_prompt(template, task, Exemplar(fields.get("message") or "", fields.get("old_code") or ""))
    return prompt, render_target(template, row["target"] or "")


def encode_rows(rows: Sequence[dict[str, Any]], task: str, tokenizer, max_length: int,
                on_long: str = "error", split: str = "train") -> tuple[list[Encoded], EncodeReport]:
    """Tokenize rows; an example over max_length raises (or is skipped and counted if on_long=skip)."""
    report = EncodeReport(n_rows=len(rows), skipped_ids=[])
    if not rows:
        return [], report
    pairs = [render_pair(task, r) for r in rows]
    eos = tokenizer.eos_token_id
    if eos is None:
        raise ValueError("the tokenizer has no EOS token; training needs one to end targets")
    # The prompt gets the tokenizer's special tokens (BOS where the model uses one), exactly as
    # inference tokenizes it; the target continues it without specials, then EOS.
    prompts = tokenizer([p for p, _ in pairs], add_special_tokens=True)["input_ids"]
    targets = tokenizer([t for _, t in pairs], add_special_tokens=False)["input_ids"]
    out: list[Encoded] = []
    for row, p_ids, t_ids in zip(rows, prompts, targets):
        ids = tuple(p_ids) + tuple(t_ids) + (eos,)
        if len(ids) > max_length:
            if on_long == "skip":
                report.n_skipped_long += 1
                report.skipped_ids.append(row["example_id"])
                continue
            raise ExampleTooLongError(
                f"{split} example {row['example_id']} ({task}) has {len(ids)} tokens "
                f"({len(p_ids)} prompt + {len(t_ids) + 1} target), more than train.max_length="
                f"{max_length}. Targets are never truncated: raise train.max_length, lower "
                f"dataset.filters.max_tokens so the dataset drops such examples, or set "
                f"train.on_long_example: skip to skip (and count) them.")
        out.append(Encoded(row["example_id"], ids, len(p_ids)))
    if report.n_skipped_long:
        log.warning("%s: skipped %d of %d examples longer than max_length=%d (train.on_long_example=skip)",
                    split, report.n_skipped_long, len(rows), max_length)
    return out, report


def epoch_order(n: int, seed: int, epoch: int) -> list[int]:
    """The shuffled order of epoch `epoch`: a pure function of (seed, epoch), so resumable."""
    return np.random.default_rng([seed, epoch]).permutation(n).tolist()


def steps_per_epoch(n_examples: int, effective_batch: int) -> int:
    return max(1, -(-n_examples // effective_batch))


def step_indices(order: Sequence[int], step_in_epoch: int, effective_batch: int) -> list[int]:
    return list(order[step_in_epoch * effective_batch:(step_in_epoch + 1) * effective_batch])


def plan_packed(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """First-fit decreasing: groups of positions whose lengths sum to <= budget.

    An example longer than the budget gets a micro-batch of its own. Returns positions into
    `lengths`, each group in a deterministic order.
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        for b, free in enumerate(room):
            if lengths[i] <= free:
                bins[b].append(i)
                room[b] -= lengths[i]
                break
        else:
            bins.append([i])
            room.append(budget - lengths[i])
    return bins


def plan_padded(lengths: Sequence[int], budget: int) -> list[list[int]]:
    """Plain batches in the given order, as many rows as fit rows x longest <= budget."""
    bins: list[list[int]] = []
    cur: list[int] = []
    longest = 0
    for i, n in enumerate(lengths):
        if cur and (len(cur) + 1) * max(longest, n) > budget:
            bins.append(cur)
            cur, longest = [], 0
        cur.append(i)
        longest = max(longest, n)
    if cur:
        bins.append(cur)
    return bins


def plan(examples: Sequence[Encoded], budget: int, packing: bool) -> list[list[Encoded]]:
    lengths = [e.length for e in examples]
    groups = plan_packed(lengths, budget) if packing else plan_padded(lengths, budget)
    return [[examples[i] for i in g] for g in groups]


def labels_for(example: Encoded) -> list[int]:
    return [IGNORE_INDEX] * example.n_prompt + list(example.input_ids[example.n_prompt:])


def collate_packed(examples: Sequence[Encoded]) -> dict[str, Any]:
    """One row: concatenated ids, position_ids restarting per example, labels on targets only.

    No attention_mask: transformers derives the per-example causal mask from position_ids.
    The first token of each example is never a label, so no example learns from its neighbour.
    """
    import torch

    ids: list[int] = []
    pos: list[int] = []
    labels: list[int] = []
    for e in examples:
        ids.extend(e.input_ids)
        pos.extend(range(e.length))
        lab = labels_for(e)
        lab[0] = IGNORE_INDEX
        labels.extend(lab)
    cu = [0]
    for e in examples:
        cu.append(cu[-1] + e.length)
    longest = max(e.length for e in examples)
    # cu_seq_lens/max_length: the example boundaries that varlen attention kernels read
    # (flash-attn, editflow.train.attention); other attention implementations ignore them.
    return {"input_ids": torch.tensor([ids]), "position_ids": torch.tensor([pos]),
            "labels": torch.tensor([labels]),
            "cu_seq_lens_q": torch.tensor(cu, dtype=torch.int32), "cu_seq_lens_k": torch.tensor(cu, dtype=torch.int32),
            "max_length_q": longest, "max_length_k": longest}


def collate_padded(examples: Sequence[Encoded], pad_id: int) -> dict[str, Any]:
    """Right-padded rows with an attention mask; pads are never labels."""
    import torch

    width = max(e.length for e in examples)
    ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    for r, e in enumerate(examples):
        ids[r, :e.length] = torch.tensor(e.input_ids)
        mask[r, :e.length] = 1
        labels[r, :e.length] = torch.tensor(labels_for(e))
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def collate(examples: Sequence[Encoded], packing: bool, pad_id: int) -> dict[str, Any]:
    return collate_packed(examples) if packing else collate_padded(examples, pad_id)


def batch_tokens(batch: dict[str, Any]) -> int:
    """Real (non-pad) tokens in a collated micro-batch."""
    if "attention_mask" in batch:
        return int(batch["attention_mask"].sum())
    return int(batch["input_ids"].numel())
