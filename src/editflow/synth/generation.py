"""The two generation rounds for one generator model, through editflow's inference backends.

A generator is anything with `generate(prompts, budgets, seed) -> [[Generated]]`,
`count_tokens(text)`, `context_window()` and a `tokenizer` (None: plain transcripts) -- the
interface of editflow.infer.generate.HFBackend and infer.vllm_backend.VLLMBackend, whose
batched decode loop does the work. Prompts are planned into length-sorted batches under a
token budget (editflow.infer.batching), so a long prompt never pads a batch of short ones.

Each snippet pair ends as one `Outcome`: the parsed triplet, or the first reason it failed.
Sampling seeds depend on the round and the batch, so a rerun with the same settings and model
reproduces every row.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Protocol, Sequence

from editflow.infer.batching import Request, plan_batches
from editflow.synth import oneshot, parsing, prompting
from editflow.synth.settings import SynthSettings
from editflow.synth.snippets import SeedPair

log = logging.getLogger(__name__)

ROUND_SEED_STRIDE = 1_000_003   # round 2's batch seeds never collide with round 1's


class Generator(Protocol):
    tokenizer: object

    def generate(self, prompts: Sequence[str], budgets: Sequence[int], seed: int = 0) -> list[list]: ...

    def count_tokens(self, text: str) -> int: ...

    def context_window(self) -> int | None: ...


@dataclass
class Outcome:
    """What one generator made of one snippet pair."""
    pair: SeedPair
    oneshot_index: int
    round1: parsing.Round1 | None = None
    round2: parsing.Round2 | None = None
    raw_round1: str | None = None
    raw_round2: str | None = None
    finish_round1: str | None = None
    finish_round2: str | None = None
    tokens_round1: int = 0
    tokens_round2: int = 0
    drop_reason: str | None = None


@dataclass
class RoundStats:
    prompts: int = 0
    batches: int = 0
    new_tokens: int = 0
    seconds: float = 0.0
    finish: dict[str, int] = field(default_factory=dict)


def _generate_round(gen: Generator, prompts: dict[int, str], settings: SynthSettings, round_no: int,
                    context: int, stats: RoundStats) -> tuple[dict[int, tuple[str, int, str]], set[int]]:
    """{outcome index: (text, tokens, finish reason)} and the indices whose prompt did not fit."""
    requests, too_long = [], set()
    for i, prompt in prompts.items():
        room = context - gen.count_tokens(prompt)
        if room < settings.min_new_tokens_room:
            too_long.add(i)
        else:
            requests.append(Request(i, context - room, min(settings.max_new_tokens, room)))
    batches = plan_batches(requests, settings.batch_size, settings.max_batch_tokens)
    results: dict[int, tuple[str, int, str]] = {}
    t0 = time.perf_counter()
    for b, batch in enumerate(batches):
        outs = gen.generate([prompts[r.index] for r in batch], [r.budget for r in batch],
                            seed=settings.seed + round_no * ROUND_SEED_STRIDE + b)
        for r, samples in zip(batch, outs):
            g = samples[0]
            results[r.index] = (g.text, g.n_tokens, g.finish_reason)
            stats.new_tokens += g.n_tokens
            stats.finish[g.finish_reason] = stats.finish.get(g.finish_reason, 0) + 1
    stats.seconds += time.perf_counter() - t0
    stats.prompts += len(requests)
    stats.batches += len(batches)
    return results, too_long


def synthesize(gen: Generator, pairs: Sequence[SeedPair],
               settings: SynthSettings) -> tuple[list[Outcome], dict[str, RoundStats]]:
    """Both rounds for every pair; returns one Outcome per pair (in order) and per-round stats."""
    tokenizer = getattr(gen, "tokenizer", None)
    context = settings.max_context or gen.context_window() or 2048
    examples = frozenset(e.pre_edit.strip() for e in oneshot.load_pool())
    outcomes, conversations, prompts1 = [], {}, {}
    for i, pair in enumerate(pairs):
        index, example = oneshot.draw(pair.pair_id, settings.seed)
        outcome = Outcome(pair, index)
        outcomes.append(outcome)
        if any(parsing.has_injection(s.text) for s in pair.snippets):
            outcome.drop_reason = "seed_prompt_injection"
            continue
        conversations[i] = prompting.round1_messages(pair, example)
        prompts1[i] = prompting.render(tokenizer, conversations[i])
    stats = {"round1": RoundStats(), "round2": RoundStats()}

    prompts2 = {}
    for i in _run_round(gen, outcomes, prompts1, settings, 1, context, stats["round1"]):
        o = outcomes[i]
        o.round1 = parsing.parse_round1(o.raw_round1, o.finish_round1, examples)
        if o.round1.reason:
            o.drop_reason = o.round1.reason
            continue
        prompts2[i] = prompting.render(tokenizer, prompting.round2_messages(conversations[i], o.raw_round1))
    for i in _run_round(gen, outcomes, prompts2, settings, 2, context, stats["round2"]):
        o = outcomes[i]
        o.round2 = parsing.parse_round2(o.raw_round2, o.finish_round2)
        o.drop_reason = o.round2.reason
    return outcomes, stats


def _run_round(gen: Generator, outcomes: list[Outcome], prompts: dict[int, str], settings: SynthSettings,
               round_no: int, context: int, stats: RoundStats) -> list[int]:
    """Generate one round; store each answer on its Outcome; return the answered indices in order
    (the others are dropped as prompt_too_long)."""
    answers, too_long = _generate_round(gen, prompts, settings, round_no, context, stats)
    for i in too_long:
        outcomes[i].drop_reason = "prompt_too_long"
    for i, (text, tokens, finish) in answers.items():
        setattr(outcomes[i], f"raw_round{round_no}", text)
        setattr(outcomes[i], f"tokens_round{round_no}", tokens)
        setattr(outcomes[i], f"finish_round{round_no}", finish)
    return sorted(answers)
