"""Problems per second of test execution: the hardened sandbox against the previous one.

Both run the same humaneval-edit problems (each problem = its `after` program, which passes,
and its `before` program, which fails, each followed by HumanEval's tests), one program at a
time, in alternating rounds so that machine load hits both alike. The previous sandbox is
editflow.metrics.sandbox as of commit c62b1fb (network namespace + setuid with
CAP_DAC_READ_SEARCH, exit-status verdict, whole output buffered), loaded from git history so
that the baseline is the exact code that ran before; its verdicts are compared with ours.

    .venv/bin/python benchmarks/sandbox_speed.py --problems 40 --rounds 2

The last line is one JSON object (problems_per_s of each, slowdown = previous / hardened
problems per second, per_problem_ms).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_COMMIT = "c62b1fba6705c0c579ce6a7994aa6b62331313b2"


def load_baseline():
    """The previous sandbox module, from git history."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{BASELINE_COMMIT}:src/editflow/metrics/sandbox.py"],
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="editflow-bench-")) / "sandbox_previous.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("sandbox_previous", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def programs(n: int) -> list[tuple[str, bool]]:
    """(program, should pass) of the first n humaneval-edit problems: after, then before.

    The problems come from the benchmark's own build (so every `before` fails quickly and
    every `after` passes); building them is not timed.
    """
    from editflow.editbench.humaneval import build
    from editflow.editbench.schema import program

    problems, _ = build(seed=0, limit=n, workers=2)
    out = []
    for p in problems:
        out += [(program(p.after, p.tests), True), (program(p.before, p.tests), False)]
    return out


def time_runs(run, items, limits) -> tuple[float, list[bool]]:
    start = time.monotonic()
    verdicts = [run(code, limits).passed for code, _ in items]
    return time.monotonic() - start, verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--problems", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout-s", type=float, default=5.0)
    args = parser.parse_args()

    from editflow.metrics import sandbox

    previous = load_baseline()
    items = programs(args.problems)
    n_problems = len(items) // 2
    new_limits = sandbox.SandboxLimits(timeout_s=args.timeout_s)
    old_limits = previous.SandboxLimits(timeout_s=args.timeout_s)
    sandbox.run_python("pass", new_limits)  # warm-up: isolation probes, page cache
    previous.run_python("pass", old_limits)
    new_s = old_s = 0.0
    for _ in range(args.rounds):
        t, new_verdicts = time_runs(sandbox.run_python, items, new_limits)
        new_s += t
        t, old_verdicts = time_runs(previous.run_python, items, old_limits)
        old_s += t
    expected = [ok for _, ok in items]
    total = n_problems * args.rounds
    result = {
        "problems": n_problems, "programs_per_problem": 2, "rounds": args.rounds,
        "hardened_isolation": sandbox.isolation(), "previous_isolation": previous.isolation(),
        "hardened_problems_per_s": round(total / new_s, 2), "previous_problems_per_s": round(total / old_s, 2),
        "hardened_per_problem_ms": round(1000 * new_s / total, 1), "previous_per_problem_ms": round(1000 * old_s / total, 1),
        "slowdown": round(new_s / old_s, 3),
        "hardened_verdicts_correct": new_verdicts == expected, "previous_verdicts_correct": old_verdicts == expected,
    }
    print(f"hardened: {result['hardened_problems_per_s']} problems/s ({result['hardened_isolation']}); "
          f"previous: {result['previous_problems_per_s']} problems/s ({result['previous_isolation']}); "
          f"slowdown x{result['slowdown']}", file=sys.stderr)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
