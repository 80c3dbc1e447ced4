"""Test-side hooks for the training loop (TrainJob.on_step): simulated crashes and slow steps.

They live with the tests so the library carries no test switches. Run as a script, this
module is `editflow train` with each step slowed down, so a test can kill it mid-run:
    python tests/train_hooks.py SECONDS_PER_STEP train --model ... (the CLI's arguments)
"""
from __future__ import annotations

import sys
import time


class SimulatedCrash(RuntimeError):
    """Raised after a chosen step: the job dies as if killed there."""


def crash_after(step: int):
    """An on_step hook that raises SimulatedCrash once `step` steps are done."""
    def hook(done: int) -> None:
        if done >= step:
            raise SimulatedCrash(f"stopped after step {done}")
    return hook


def sleep_each_step(seconds: float):
    def hook(done: int) -> None:
        time.sleep(seconds)
    return hook


def main(argv: list[str]) -> int:
    """`editflow` CLI with every TrainJob given a sleep_each_step hook."""
    from editflow import cli
    from editflow.train import loop

    delay, rest = float(argv[0]), argv[1:]
    real_train = loop.train

    def slow_train(job):
        job.on_step = sleep_each_step(delay)
        return real_train(job)

    loop.train = slow_train  # train/cli.py imports it from the module at call time
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
