"""The training loop: LoRA/QLoRA with packing, gradient accumulation, checkpoints, val loss.

One optimizer step consumes `effective_batch` examples of the epoch's shuffled order; they
are cut into micro-batches of at most `micro_batch_tokens` tokens, each forward/backward
adds its summed target-token cross-entropy divided by the step's total target tokens, so
the step's gradient is the token-mean over the whole effective batch whatever the packing.

Multi-GPU: launched with torchrun (WORLD_SIZE > 1), each rank runs every world_size-th
micro-batch of a step and the (small) LoRA gradients are summed with all_reduce before the
optimizer step; rank 0 writes logs, checkpoints and outputs.
"""
from __future__ import annotations

import logging
import math
import os
import resource
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from editflow.progress import RateLog
from editflow.train import checkpoint as ckpt
from editflow.train import data, outputs
from editflow.model_entry import ModelEntry
from editflow.train.settings import Runtime, TrainSettings, fingerprint, resolve_runtime

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 30.0  # a progress line (rate, ETA) at most this often, and after the last step


@dataclass
class TrainJob:
    model: ModelEntry
    task: str
    run: int
    dataset: Path
    out: Path
    settings: TrainSettings = field(default_factory=TrainSettings)
    device: str | None = None
    checkpoint_dir: Path | None = None      # default: {out}/checkpoints
    keep_checkpoints: bool = False          # default: delete them once the outputs are published
    # Called with the step number after each step is logged and checkpointed: progress
    # hooks, and the tests' simulated crashes and slow-downs (tests/train_hooks.py).
    on_step: Callable[[int], None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ckpt_dir(self) -> Path:
        return Path(self.checkpoint_dir) if self.checkpoint_dir else Path(self.out) / "checkpoints"


@dataclass(frozen=True)
class Plan:
    """Derived numbers printed at start and stored in config.json."""
    n_train: int
    n_val: int
    train_tokens: int
    train_target_tokens: int
    val_tokens: int
    steps_per_epoch: int
    total_steps: int
    effective_batch: int
    micro_batches_per_step: float
    padding_fraction: float
    skipped_long_train: int
    skipped_long_val: int

    def describe(self, s: TrainSettings) -> str:
        return (f"train examples {self.n_train} ({self.train_tokens} tokens, {self.train_target_tokens} "
                f"target), val examples {self.n_val} ({self.val_tokens} tokens); effective batch "
                f"{self.effective_batch} examples, {self.steps_per_epoch} steps/epoch x {s.epochs:g} epochs "
                f"-> {self.total_steps} steps" + (f" (max_steps={s.max_steps})" if s.max_steps else "")
                + f"; {self.micro_batches_per_step:.1f} micro-batches/step of <= {s.micro_batch_tokens} "
                f"tokens ({'packed' if s.packing else 'padded'}, padding {100 * self.padding_fraction:.1f}%)"
                + (f"; skipped long: train {self.skipped_long_train}, val {self.skipped_long_val}"
                   if self.skipped_long_train or self.skipped_long_val else ""))


# ---------------------------------------------------------------- model

def build_model(spec: ModelEntry, settings: TrainSettings, rt: Runtime, seed: int, attn: str | None = None):
    """Base model (4-bit for QLoRA) wrapped with a fresh LoRA adapter (seeded init).

    Packed rows get varlen attention (flash-attn, else editflow.train.attention), so examples
    in one row cost what they would cost apart.
    """
    from editflow.modeling import load_model
    from editflow.train import attention

    attn = attn or attention.choose(rt.device, settings.packing)
    model = load_model(spec.path, dtype=rt.load_dtype, quantization=spec.quantization, device=rt.device,
                       attn_implementation=attn)
    return add_lora(model, settings, rt, seed, kbit=spec.quantization == "4bit")


def add_lora(model, settings: TrainSettings, rt: Runtime, seed: int, kbit: bool = False):
    """Wrap a loaded base model with a fresh LoRA adapter (seeded init), checkpointing as `rt` says."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    model.config.use_cache = False
    if kbit:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=rt.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False})
    elif rt.gradient_checkpointing:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()
    lora = settings.lora
    torch.manual_seed(seed)
    config = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                        target_modules=list(lora.target_modules), task_type="CAUSAL_LM", bias="none")
    return get_peft_model(model, config)


def autocast(rt: Runtime):
    import contextlib

    import torch

    if rt.precision == "bf16":
        return torch.autocast(device_type=rt.device.split(":")[0], dtype=torch.bfloat16)
    return contextlib.nullcontext()


def loss_sum(model, batch: dict[str, Any], rt: Runtime):
    """(sum of target-token cross-entropy, number of target tokens) of one micro-batch.

    Only positions that predict a target token go through the LM head: with a 50k vocabulary
    the head is a large share of a small model's compute and memory, and prompt positions need
    no logits. The head and the loss run in chunks (editflow.train.loss; Liger's fused kernel
    on a GPU where installed), so no [tokens, vocabulary] tensor is ever held whole.
    """
    from editflow.train import loss as ce

    labels = batch["labels"].to(rt.device, non_blocking=True)
    inputs = {k: v.to(rt.device, non_blocking=True) if hasattr(v, "to") else v
              for k, v in batch.items() if k != "labels"}
    parts = ce.decoder_and_head(model)
    if parts is None:
        return loss_sum_full_logits(model, inputs, labels, rt)
    decoder, head = parts
    with autocast(rt):
        hidden, targets = ce.target_hidden_states(decoder, inputs, labels)
        total = ce.ce_sum(hidden, head.weight, targets, rt.device)
    return total, int(targets.numel())


def loss_sum_full_logits(model, inputs: dict[str, Any], labels, rt: Runtime):
    """loss_sum through the model's own forward (logits of every target-predicting position)."""
    import torch.nn.functional as F

    shift_labels = labels[:, 1:]
    keep = (shift_labels != data.IGNORE_INDEX).any(dim=0).nonzero().squeeze(-1)
    with autocast(rt):
        try:
            logits = model(**inputs, use_cache=False, logits_to_keep=keep).logits
            kept_labels = shift_labels[:, keep]
        except TypeError:  # a model without logits_to_keep: all positions
            logits = model(**inputs, use_cache=False).logits[:, :-1]
            kept_labels = shift_labels
    flat_labels = kept_labels.reshape(-1)
    total = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), flat_labels,
                            ignore_index=data.IGNORE_INDEX, reduction="sum")
    return total, int((flat_labels != data.IGNORE_INDEX).sum())


def evaluate(model, examples: Sequence[data.Encoded], settings: TrainSettings, rt: Runtime,
             pad_id: int, base: bool = False) -> float:
    """Mean cross-entropy per target token over `examples` (the base model if base=True)."""
    import contextlib

    import torch

    if not examples:
        return float("nan")
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    groups = data.plan(examples, max(settings.micro_batch_tokens, settings.max_length), packing=True)
    ctx = model.disable_adapter() if base else contextlib.nullcontext()
    with torch.no_grad(), ctx:
        for g in groups[rt.rank::rt.world_size]:
            s, n = loss_sum(model, data.collate(g, True, pad_id), rt)
            total += float(s)
            count += n
    total, count = _all_reduce_pair(total, count, rt)
    if was_training:
        model.train()
    return total / max(count, 1)


# ---------------------------------------------------------------- distributed helpers

def _all_reduce_pair(a: float, b: int, rt: Runtime) -> tuple[float, int]:
    if rt.world_size == 1:
        return a, b
    import torch
    import torch.distributed as dist

    t = torch.tensor([a, float(b)], dtype=torch.float64, device=rt.device)
    dist.all_reduce(t)
    return float(t[0]), int(t[1])


def _all_reduce_grads(params, rt: Runtime) -> None:
    if rt.world_size == 1:
        return
    import torch.distributed as dist

    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)


def _barrier(rt: Runtime) -> None:
    if rt.world_size > 1:
        import torch.distributed as dist

        dist.barrier()


def init_distributed(device: str | None) -> tuple[str, int, int]:
    """(device, world_size, rank); starts the process group under torchrun."""
    from editflow.modeling import default_device

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return device or default_device(), 1, 0
    import torch
    import torch.distributed as dist

    local = int(os.environ.get("LOCAL_RANK", "0"))
    if (device or default_device()).startswith("cuda"):
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
        backend = "nccl"
    else:
        device, backend = "cpu", "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return device, world, dist.get_rank()


# ---------------------------------------------------------------- schedule

def lr_lambda(total_steps: int, warmup_ratio: float):
    """Linear warmup then linear decay to 0 (the Hugging Face Trainer default)."""
    warmup = int(math.ceil(total_steps * warmup_ratio))

    def f(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return f


def make_plan(train: Sequence[data.Encoded], val: Sequence[data.Encoded], s: TrainSettings, seed: int,
              skipped: tuple[int, int]) -> Plan:
    spe = data.steps_per_epoch(len(train), s.effective_batch)
    total = max(1, math.ceil(spe * s.epochs))
    if s.max_steps:
        total = min(total, s.max_steps)
    # Micro-batches per step and padding, measured on the first epoch's real order.
    order = data.epoch_order(len(train), seed, 0)
    n_micro, real, padded = 0, 0, 0
    for i in range(spe):
        chunk = [train[j] for j in data.step_indices(order, i, s.effective_batch)]
        groups = data.plan(chunk, s.micro_batch_tokens, s.packing)
        n_micro += len(groups)
        for g in groups:
            real += sum(e.length for e in g)
            padded += sum(e.length for e in g) if s.packing else len(g) * max(e.length for e in g)
    return Plan(n_train=len(train), n_val=len(val), train_tokens=sum(e.length for e in train),
                train_target_tokens=sum(e.n_target for e in train), val_tokens=sum(e.length for e in val),
                steps_per_epoch=spe, total_steps=total, effective_batch=s.effective_batch,
                micro_batches_per_step=n_micro / spe, padding_fraction=1 - real / max(padded, 1),
                skipped_long_train=skipped[0], skipped_long_val=skipped[1])


def peak_memory(rt: Runtime) -> dict[str, Any]:
    import torch

    out: dict[str, Any] = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if rt.device.startswith("cuda"):
        out["peak_gpu_allocated_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


# ---------------------------------------------------------------- the job

def train(job: TrainJob) -> dict[str, Any]:
    """Run (or resume) one training job and publish its outputs; returns the summary."""
    import torch

    from editflow.modeling import load_tokenizer

    s = job.settings
    out = Path(job.out)
    device, world, rank = init_distributed(job.device)
    if not device.startswith("cuda"):
        from editflow.train.memory import return_freed_memory_to_os

        return_freed_memory_to_os()
    seed = job.run
    log.info("train %s on %s, run %d (seed %d): device %s, world size %d", job.model.path, job.task,
             job.run, seed, device, world)

    # Validate inputs before the expensive part.
    train_path, val_path = Path(job.dataset) / "train.parquet", Path(job.dataset) / "val.parquet"
    tokenizer = load_tokenizer(job.model.path, padding_side="right")
    train_rows = data.load_task_rows(job.dataset, "train", job.task, s.max_train_examples)
    if not train_rows:
        raise data.TrainDataError(f"{train_path} has no rows of task {job.task!r}; check dataset.tasks in the config")
    val_rows = data.load_task_rows(job.dataset, "val", job.task, s.max_val_examples) if val_path.exists() else []
    train_ex, rep_t = data.encode_rows(train_rows, job.task, tokenizer, s.max_length, s.on_long_example, "train")
    val_ex, rep_v = data.encode_rows(val_rows, job.task, tokenizer, s.max_length, s.on_long_example, "val")
    if not train_ex:
        raise data.TrainDataError(f"every {job.task} training example is longer than max_length={s.max_length}")
    plan = make_plan(train_ex, val_ex, s, seed, (rep_t.n_skipped_long, rep_v.n_skipped_long))
    dataset_fp = data.file_fingerprint([p for p in (train_path, val_path) if p.exists()])
    job_fp = fingerprint({"settings": s.to_dict(), "model": job.model.to_dict(), "task": job.task,
                          "run": job.run, "dataset": dataset_fp, "world": world})
    _print(f"[editflow train] {plan.describe(s)}", rank)

    spec_rt = resolve_runtime(s, job.model, device, world, rank, model_config=_model_config(job.model.path))
    model = build_model(job.model, s, spec_rt, seed)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    n_trainable = sum(p.numel() for p in params)
    n_total = sum(p.numel() for p in model.parameters())
    _print(f"[editflow train] LoRA r={s.lora.r} alpha={s.lora.alpha} on {list(s.lora.target_modules)}: "
           f"{n_trainable:,} trainable of {n_total:,} parameters; precision {spec_rt.precision}, "
           f"weights {spec_rt.load_dtype}{', 4-bit nf4' if job.model.quantization == '4bit' else ''}, "
           f"gradient checkpointing {spec_rt.gradient_checkpointing}", rank)
    optimizer = torch.optim.AdamW(params, lr=s.learning_rate, weight_decay=s.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(plan.total_steps, s.warmup_ratio))

    ckpt_root = job.ckpt_dir
    log_path = ckpt_root / "train_log.jsonl"
    start_step, elapsed_before, tokens_before = 0, 0.0, 0
    found = ckpt.latest(ckpt_root)
    if found is not None and ckpt.read_state(found).get("fingerprint") != job_fp:
        log.warning("checkpoint %s belongs to other settings, model or data; starting from step 0", found)
        _barrier(spec_rt)
        if rank == 0:
            shutil.rmtree(ckpt_root, ignore_errors=True)
        found = None
    if found is not None:
        state = ckpt.load(found, model, optimizer, scheduler)
        start_step = state["step"]
        elapsed_before, tokens_before = state.get("elapsed", 0.0), state.get("tokens", 0)
        if rank == 0:
            outputs.truncate_log(log_path, start_step)
        _print(f"[editflow train] resuming from {found} (step {start_step} of {plan.total_steps})", rank)
    _barrier(spec_rt)
    if rank == 0:
        ckpt_root.mkdir(parents=True, exist_ok=True)
        outputs.remove_final(out)
        if found is None:
            log_path.unlink(missing_ok=True)
    if found is None:
        t = time.perf_counter()
        base_val = evaluate(model, val_ex, s, spec_rt, tokenizer.pad_token_id, base=True)
        if rank == 0:
            outputs.append_log(log_path, {"kind": "val", "model": "base", "step": 0, "val_loss": base_val,
                                          "n_examples": len(val_ex), "seconds": round(time.perf_counter() - t, 2)})
        _print(f"[editflow train] base model val loss {base_val:.4f} on {len(val_ex)} examples", rank)

    tokens_session = 0
    t_session = time.perf_counter()
    eval_seconds = 0.0
    order_cache: dict[int, list[int]] = {}
    if found is not None and "order" in state:
        order_cache = {state["epoch"]: state["order"]}  # the data position, as saved
    progress = RateLog("train steps", plan.total_steps, "steps", initial=start_step, enabled=rank == 0,
                       every_s=PROGRESS_EVERY_S)
    for step in range(start_step, plan.total_steps):
        epoch, in_epoch = divmod(step, plan.steps_per_epoch)
        if epoch not in order_cache:
            order_cache = {epoch: data.epoch_order(len(train_ex), seed, epoch)}
        chunk = [train_ex[j] for j in data.step_indices(order_cache[epoch], in_epoch, s.effective_batch)]
        groups = data.plan(chunk, s.micro_batch_tokens, s.packing)
        n_target = sum(e.n_target for e in chunk)
        step_loss, step_tokens = 0.0, 0
        for g in groups[rank::world]:
            batch = data.collate(g, s.packing, tokenizer.pad_token_id)
            total, _ = loss_sum(model, batch, spec_rt)
            (total / n_target).backward()
            step_loss += float(total.detach())
            step_tokens += sum(e.length for e in g)
        _all_reduce_grads(params, spec_rt)
        step_loss, step_tokens = _all_reduce_pair(step_loss, step_tokens, spec_rt)
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, s.max_grad_norm))
        lr = scheduler.get_last_lr()[0]
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        tokens_session += step_tokens
        done = step + 1
        elapsed = elapsed_before + time.perf_counter() - t_session - eval_seconds
        entry = {"kind": "train", "step": done, "epoch": round(done / plan.steps_per_epoch, 4),
                 "loss": step_loss / n_target, "lr": lr, "grad_norm": grad_norm,
                 "tokens": tokens_before + tokens_session, "target_tokens": n_target,
                 "micro_batches": len(groups), "elapsed": round(elapsed, 3)}
        if rank == 0:
            outputs.append_log(log_path, entry)
        progress.update(1, tokens=step_tokens)
        if s.eval_every_steps and done % s.eval_every_steps == 0 and done < plan.total_steps:
            t = time.perf_counter()
            v = evaluate(model, val_ex, s, spec_rt, tokenizer.pad_token_id)
            eval_seconds += time.perf_counter() - t
            if rank == 0:
                outputs.append_log(log_path, {"kind": "val", "model": "adapter", "step": done, "val_loss": v,
                                              "n_examples": len(val_ex)})
        # The last step is checkpointed too: a job killed during the final evaluation or
        # while publishing redoes only those.
        if done % s.checkpoint_every_steps == 0 or done == plan.total_steps:
            if rank == 0:
                ckpt.save(ckpt_root, done, model, optimizer, scheduler, {
                    "fingerprint": job_fp, "epoch": epoch, "index_in_epoch": in_epoch + 1,
                    "order": order_cache[epoch], "elapsed": elapsed, "tokens": tokens_before + tokens_session})
            _barrier(spec_rt)
        if job.on_step is not None:
            job.on_step(done)
    progress.close()
    train_seconds = time.perf_counter() - t_session - eval_seconds

    final_val = evaluate(model, val_ex, s, spec_rt, tokenizer.pad_token_id)
    tokens_per_s = tokens_session / train_seconds if train_seconds > 0 and tokens_session else None
    memory = peak_memory(spec_rt)
    summary = {"final_step": plan.total_steps, "final_val_loss": final_val,
               "base_val_loss": _base_val(log_path) if rank == 0 else None,
               "tokens_per_s": tokens_per_s, "train_seconds_this_session": round(train_seconds, 2),
               "resumed_from_step": start_step, **memory}
    if rank == 0:
        outputs.append_log(log_path, {"kind": "val", "model": "adapter", "step": plan.total_steps,
                                      "val_loss": final_val, "n_examples": len(val_ex)})
        _write_outputs(job, model, tokenizer, plan, spec_rt, dataset_fp, job_fp, summary, log_path,
                       n_trainable)
        if not job.keep_checkpoints:
            shutil.rmtree(ckpt_root, ignore_errors=True)
    _barrier(spec_rt)
    tps = f"{tokens_per_s:.0f}" if tokens_per_s else "n/a"
    mem = ", ".join(f"{k} {v}" for k, v in memory.items())
    _print(f"[editflow train] done: step {plan.total_steps}, val loss {summary['base_val_loss']} (base) -> "
           f"{final_val:.4f} (adapter); {tps} tokens/s; {mem}", rank)
    return summary


def _model_config(path: str):
    """The model's config (for memory decisions), or None when it cannot be read offline."""
    try:
        from transformers import AutoConfig

        return AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        log.warning("cannot read the config of %s (%s): gradient_checkpointing auto falls back to on-GPU", path, exc)
        return None


def _base_val(log_path: Path) -> float | None:
    for e in outputs.read_log(log_path):
        if e.get("kind") == "val" and e.get("model") == "base":
            return e["val_loss"]
    return None


def _write_outputs(job: TrainJob, model, tokenizer, plan: Plan, rt: Runtime, dataset_fp, job_fp,
                   summary, log_path: Path, n_trainable: int) -> None:
    import dataclasses

    import peft
    import torch
    import transformers

    from editflow.atomic import write_json

    out = Path(job.out)
    staging = out / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    model.save_pretrained(staging / "adapter")
    tokenizer.save_pretrained(staging / "adapter")
    entries = outputs.read_log(log_path)
    shutil.copyfile(log_path, staging / "train_log.jsonl")
    outputs.plot_loss(entries, staging / "loss.png",
                      title=f"{job.model.name or job.model.path} · {job.task} · run {job.run}")
    write_json({
        "model": job.model.to_dict(), "task": job.task, "run": job.run, "seed": job.run,
        "dataset": {"dir": str(job.dataset), "files": dataset_fp}, "settings": job.settings.to_dict(),
        "runtime": rt.to_dict(), "plan": dataclasses.asdict(plan), "fingerprint": job_fp,
        "template": "finetuned", "trainable_parameters": n_trainable, "summary": summary,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__,
                     "peft": peft.__version__, "python": sys.version.split()[0]},
        **job.extra,
    }, staging / "config.json")
    outputs.publish(staging, out)


def _print(msg: str, rank: int) -> None:
    if rank == 0:
        print(msg, flush=True)


