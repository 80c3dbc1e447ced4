"""Progress lines with rate and ETA for long jobs whose output goes to a log file.

A tqdm bar redraws one terminal line; in a Snakemake or SLURM log it is either disabled (not
a tty) or a wall of carriage returns, so a job that runs for an hour looks dead. `RateLog`
prints a plain line every `every_s` seconds (and at the end): how far the job is, its rate in
work units and in tokens, and the time left at that rate. On a terminal it also drives a
tqdm bar. Counting starts at `initial` (a resumed job) but rates count only this session's
work, so a resume does not inflate them.
"""
from __future__ import annotations

import sys
import time
from typing import Callable


def format_seconds(seconds: float) -> str:
    """2h03m, 4m05s, 12s: short and unambiguous in a log line."""
    s = int(round(max(seconds, 0.0)))
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class RateLog:
    """Periodic `desc: 3/10 steps (30%), 0.52 steps/s, 1,234 tokens/s, elapsed 5s, ETA 13s` lines."""

    def __init__(self, desc: str, total: int, unit: str, *, initial: int = 0, every_s: float = 30.0,
                 emit: Callable[[str], None] = _stderr, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic):
        self.desc, self.total, self.unit = desc, total, unit
        self.done, self.initial = initial, initial
        self.tokens = 0
        self.every_s, self.emit, self.enabled, self.clock = every_s, emit, enabled, clock
        self.t0 = self.last = clock()
        self.bar = None
        if enabled and sys.stderr.isatty():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, initial=initial, desc=desc, unit=unit)

    def update(self, n: int = 1, tokens: int = 0) -> None:
        """Count n finished units holding `tokens` tokens; print a line when one is due."""
        self.done += n
        self.tokens += tokens
        if self.bar is not None:
            self.bar.update(n)
        now = self.clock()
        if self.enabled and (now - self.last >= self.every_s or self.done >= self.total):
            self.last = now
            self.emit(self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = (self.clock() if now is None else now) - self.t0
        session = self.done - self.initial
        parts = [f"{self.desc}: {self.done}/{self.total} {self.unit}"
                 + (f" ({100 * self.done / self.total:.0f}%)" if self.total else "")]
        if elapsed > 0 and session:
            parts.append(f"{session / elapsed:.3g} {self.unit}/s")
            if self.tokens:
                parts.append(f"{self.tokens / elapsed:,.0f} tokens/s")
        parts.append(f"elapsed {format_seconds(elapsed)}")
        if session and self.done < self.total:
            parts.append(f"ETA {format_seconds(elapsed / session * (self.total - self.done))}")
        return ", ".join(parts)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
