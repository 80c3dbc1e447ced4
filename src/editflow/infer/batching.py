"""Length-sorted batches under a token budget.

Rows are sorted by prompt length, longest first (an out-of-memory batch fails at the start,
not after an hour), and cut into batches of at most batch_size rows whose padded cost,
rows x samples x (longest prompt + largest new-token budget), stays within max_batch_tokens.
A row that alone exceeds the budget gets a batch of its own. The plan depends only on the
prompts and settings, so a resumed job cuts the same batches and can skip finished ones.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """One prompt to generate for: its position in the job, token count and new-token budget."""
    index: int
    prompt_tokens: int
    budget: int


def batch_cost(batch: list[Request], n_samples: int = 1) -> int:
    longest = max(r.prompt_tokens for r in batch)
    return len(batch) * n_samples * (longest + max(r.budget for r in batch))


def plan_batches(requests: list[Request], batch_size: int, max_batch_tokens: int,
                 n_samples: int = 1) -> list[list[Request]]:
    order = sorted(requests, key=lambda r: (-r.prompt_tokens, r.index))
    batches: list[list[Request]] = []
    current: list[Request] = []
    for req in order:
        candidate = current + [req]
        if current and (len(candidate) > batch_size or batch_cost(candidate, n_samples) > max_batch_tokens):
            batches.append(current)
            candidate = [req]
        current = candidate
    if current:
        batches.append(current)
    return batches
