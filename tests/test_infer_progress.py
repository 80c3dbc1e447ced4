"""Progress lines (editflow.progress.RateLog) that infer and train print into job logs."""
from __future__ import annotations

from editflow.progress import RateLog, format_seconds


def test_format_seconds():
    assert [format_seconds(s) for s in (0, 12.4, 65, 3600 + 3 * 60 + 59)] == ["0s", "12s", "1m05s", "1h03m"]


def test_rate_log_prints_rate_tokens_and_eta_when_due():
    now = [100.0]
    lines: list[str] = []
    log = RateLog("infer batches", 10, "batches", initial=2, every_s=30, emit=lines.append, clock=lambda: now[0])
    now[0] = 110.0
    log.update(1, tokens=5000)      # 10 s in: not due yet
    assert lines == []
    now[0] = 140.0
    log.update(1, tokens=7000)      # 40 s in: 2 batches this session, 12,000 tokens
    assert lines == ["infer batches: 4/10 batches (40%), 0.05 batches/s, 300 tokens/s, elapsed 40s, ETA 2m00s"]
    now[0] = 150.0
    log.update(6)                   # the last one is always printed, without ETA
    assert lines[-1] == "infer batches: 10/10 batches (100%), 0.16 batches/s, 240 tokens/s, elapsed 50s"
    assert len(lines) == 2


def test_rate_log_disabled_prints_nothing():
    lines: list[str] = []
    log = RateLog("train steps", 2, "steps", every_s=0, emit=lines.append, enabled=False)
    log.update(2, tokens=10)
    log.close()
    assert lines == []
