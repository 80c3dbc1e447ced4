"""Execution check of edit problems: `before` must fail its tests and `after` must pass them.

A problem that does not behave so measures nothing (a model could "pass" by returning `before`
unchanged, or could never pass), so `editflow benchmark --verify` drops it and counts why.
"""
from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from editflow.editbench.schema import Problem, program
from editflow.metrics.sandbox import SandboxLimits, run_python


def verdict(problem: Problem, limits: SandboxLimits) -> str:
    """'ok', or why the problem does not discriminate ('after_fails', 'before_passes', ...)."""
    after = run_python(program(problem.after, problem.tests), limits)
    if not after.passed:
        return f"after_{after.status}"
    before = run_python(program(problem.before, problem.tests), limits)
    return "before_passes" if before.passed else "ok"


def keep_discriminating(problems: list[Problem], limits: SandboxLimits,
                        workers: int = 2) -> tuple[list[Problem], Counter]:
    """The problems whose verdict is 'ok' (input order), and the count of each verdict."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        verdicts = list(pool.map(lambda p: verdict(p, limits), problems))
    return [p for p, v in zip(problems, verdicts) if v == "ok"], Counter(verdicts)
