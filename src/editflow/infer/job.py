"""One inference job: model x task x shots x checkpoint -> one predictions file.

Steps: read the test examples (and the train pool for k-shot), render each prompt with the
shared template, count its tokens, mark the examples whose prompt leaves fewer than
min_new_tokens_room tokens of context as truncated (no generation, empty output, counted in
the log; the prompt is never cut), plan length-sorted batches for the rest, generate batch
by batch into resumable part files, and assemble the sorted predictions file atomically.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from editflow.atomic import write_parquet
from editflow.infer.batching import Request, plan_batches
from editflow.infer.exemplars import Example, Shots, load_split, test_examples
from editflow.infer.postprocess import clean_output
from editflow.infer.resume import PartStore, fingerprint, weights_signature
from editflow.infer.schema import to_table
from editflow.infer.settings import InferSettings, generation_json
from editflow.progress import RateLog
from editflow.prompts import Template, render_prompt, task_template

log = logging.getLogger(__name__)

PROGRESS_EVERY_S = 30.0  # a progress line (rate, tokens/s, ETA) at most this often, and after the last batch


@dataclass(frozen=True)
class JobSpec:
    model_path: str
    model_name: str
    task: str
    shots: int
    dataset: str
    out: str
    checkpoint: str = "base"
    adapter: str | None = None
    dtype: str = "auto"
    quantization: str = "none"
    max_context: int | None = None
    attn_implementation: str | None = None


@dataclass(frozen=True)
class PromptRow:
    example: Example
    prompt: str
    prompt_tokens: int
    room: int            # context tokens left after the prompt
    truncated: bool
    shortest_exemplars: bool


def build_prompts(examples: list[Example], shots: Shots, template: Template, task: str,
                  count_tokens: Callable[[str], int], context: int, settings: InferSettings) -> list[PromptRow]:
    """Render every prompt; fall back to the shortest exemplars when a draw does not fit."""
    rows = []
    for ex in examples:
        query = ex.exemplar()
        chosen = shots.draw(ex.example_id)
        prompt = render_prompt(template, task, query, [e.exemplar() for e in chosen])
        n = count_tokens(prompt)
        fallback = False
        if chosen and context - n < settings.max_new_tokens:
            alt = render_prompt(template, task, query, [e.exemplar() for e in shots.shortest()])
            alt_n = count_tokens(alt)
            if alt_n < n:
                prompt, n, fallback = alt, alt_n, True
        room = context - n
        rows.append(PromptRow(ex, prompt, n, room, room < settings.min_new_tokens_room, fallback))
    return rows


def _row(spec: JobSpec, pr: PromptRow, sample: int, gen: str, raw: str, n_out: int,
         finish: str, stop: tuple[str, ...]) -> dict:
    return {"example_id": pr.example.example_id, "task": spec.task, "model": spec.model_name,
            "checkpoint": spec.checkpoint, "shots": spec.shots, "prompt": pr.prompt,
            "raw_output": raw, "prediction": clean_output(raw, stop) if raw else "",
            "reference": pr.example.target if pr.example.reference is None else pr.example.reference,
            "source": pr.example.old_code if pr.example.source is None else pr.example.source,
            "target": pr.example.target, "prompt_tokens": pr.prompt_tokens, "output_tokens": n_out,
            "truncated": pr.truncated, "generation": gen, "sample": sample, "finish_reason": finish,
            **({"tests": pr.example.tests} if pr.example.tests is not None else {})}


def context_window(backend, spec: JobSpec) -> int:
    if spec.max_context:
        return spec.max_context
    ctx = backend.context_window()
    if not ctx:
        raise ValueError(f"cannot tell the context window of {spec.model_path}; set models[].max_context")
    return ctx


def run_job(spec: JobSpec, settings: InferSettings, backend,
            on_batch: Callable[[int], None] | None = None) -> dict:
    """Generate the predictions file of `spec`; return counts for the log.

    `on_batch(i)` is called after batch i is safely on disk (tests inject failures there).
    """
    template = task_template(spec.task, finetuned=bool(spec.adapter), shots=spec.shots, kshot=settings.kshot_template)
    examples = test_examples(spec.dataset, spec.task, settings.max_test_examples)
    if not examples:
        log.warning("%s/test.parquet has no %s examples: writing an empty predictions file", spec.dataset, spec.task)
    pool = load_split(spec.dataset, "train", spec.task) if spec.shots else []
    shots = Shots(pool, spec.shots, settings.seed)
    context = context_window(backend, spec)
    prompts = build_prompts(examples, shots, template, spec.task, backend.count_tokens, context, settings)
    gen = generation_json(settings, template=template.name, stop=template.stop, shots=spec.shots,
                          max_context=context, dtype=spec.dtype, adapter=bool(spec.adapter))
    requests = [Request(i, p.prompt_tokens, min(settings.max_new_tokens, p.room))
                for i, p in enumerate(prompts) if not p.truncated]
    limits = (settings.batch_size, settings.max_batch_tokens)
    if hasattr(backend, "batch_limits"):  # a GPU sizes batches from its free memory
        limits = backend.batch_limits(*limits)
    batches = plan_batches(requests, *limits, settings.n_samples)
    key = fingerprint(gen, spec.model_path, weights_signature(spec.model_path), spec.adapter,
                      weights_signature(spec.adapter), spec.model_name, spec.checkpoint, spec.task,
                      spec.quantization, [[prompts[r.index].prompt for r in b] for b in batches])
    store = PartStore(spec.out, key)
    resumed = len(store.finished())
    log.info("%s %s %d-shot %s: %d examples, %d truncated (prompt leaves < %d of %d context tokens), "
             "%d batches of <= %d rows / %d KV slots (%d already done), %d with shortest exemplars",
             spec.model_name, spec.task, spec.shots, spec.checkpoint, len(prompts),
             sum(p.truncated for p in prompts), settings.min_new_tokens_room, context, len(batches), *limits, resumed,
             sum(p.shortest_exemplars for p in prompts))
    t0, new_tokens = time.perf_counter(), 0
    progress = RateLog("infer batches", len(batches), "batches", initial=resumed, every_s=PROGRESS_EVERY_S)
    for b, batch in enumerate(batches):
        if store.done(b):
            continue
        outs = backend.generate([prompts[r.index].prompt for r in batch], [r.budget for r in batch],
                                seed=settings.seed + b)
        rows = [_row(spec, prompts[r.index], s, gen, g.text, g.n_tokens, g.finish_reason, template.stop)
                for r, samples in zip(batch, outs) for s, g in enumerate(samples)]
        new_tokens += sum(r["output_tokens"] for r in rows)
        store.write(b, to_table(rows))
        progress.update(1, tokens=sum(r["output_tokens"] for r in rows))
        if on_batch:
            on_batch(b)
    progress.close()
    seconds = time.perf_counter() - t0
    rows = [r for b in range(len(batches)) for r in store.read(b).to_pylist()]
    rows += [_row(spec, p, s, gen, "", 0, "no_room", template.stop)
             for p in prompts if p.truncated for s in range(settings.n_samples)]
    write_parquet(to_table(rows), spec.out)
    store.remove()
    stats = {"examples": len(prompts), "rows": len(rows), "truncated": sum(p.truncated for p in prompts),
             "batches": len(batches), "resumed_batches": resumed, "new_tokens": new_tokens,
             "seconds": round(seconds, 2), "tokens_per_s": round(new_tokens / seconds, 2) if seconds else None,
             "shortest_exemplars": sum(p.shortest_exemplars for p in prompts)}
    log.info("wrote %s: %s", spec.out, stats)
    return stats


def output_path(root: str | Path, model: str, task: str, shots: int, checkpoint: str) -> Path:
    """results/default/predictions/{model}/{task}/{shots}shot/{checkpoint}.parquet"""
    return Path(root) / model / task / f"{shots}shot" / f"{checkpoint}.parquet"
