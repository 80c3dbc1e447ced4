"""Filters over the generated rows of all generators together, in OpenCodeEdit's order.

1. generation: rows whose answers did not parse (parsing.REASONS) are already dropped;
2. diff filter (filters.diff_reason, counted with editflow.difflines);
3. exact and near-duplicate removal, against the given mined data too (filters.DuplicateIndex);
4. topic filter: HDP topics and the per-topic quota to `size` (topics.py).

Deduplication is not a step of the paper; it runs before the quota so that the quota's target
is the size of the output. Each step sets `drop_reason` on the rows it removes, and the funnel
counts them, so every dropped row says why and the funnel adds up.
"""
from __future__ import annotations

from collections import Counter
from typing import Sequence

from editflow.difflines import count_changes
from editflow.synth import filters, topics
from editflow.synth.settings import SynthSettings

STEPS = ("generation", "diff_filter", "deduplication", "topic_filter")


def _live(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["drop_reason"] is None]


def _step(name: str, before: int, rows: list[dict], reasons: Counter) -> dict:
    return {"step": name, "in": before, "removed": sum(reasons.values()), "by_reason": dict(sorted(reasons.items())),
            "out": len(_live(rows))}


def topic_text(row: dict) -> str:
    return "\n".join((row["pre_edit"] or "", row["instruction_descriptive"] or "", row["instruction_lazy"] or ""))


def apply_filters(rows: list[dict], settings: SynthSettings,
                  mined: Sequence[filters.Pair] = ()) -> dict:
    """Run steps 2-4 on `rows` in place (drop_reason, kept, counts, topic); return the funnel."""
    funnel = [_step("generation", len(rows), rows, Counter(r["drop_reason"] for r in rows if r["drop_reason"]))]

    live = _live(rows)
    reasons: Counter = Counter()
    for r in live:
        count = count_changes(r["pre_edit"], r["post_edit"])
        r["modified_lines"], r["hunks"] = count.modified_lines, count.hunks
        r["drop_reason"] = filters.diff_reason(count, settings.max_modified_lines, settings.max_hunks)
        if r["drop_reason"]:
            reasons[r["drop_reason"]] += 1
    funnel.append(_step("diff_filter", len(live), rows, reasons))

    live = _live(rows)
    index = filters.DuplicateIndex(settings.near_duplicate_threshold)
    index.add_mined(mined)
    reasons = Counter()
    for r in live:
        r["drop_reason"] = index.check_and_add(filters.Pair(r["pre_edit"], r["post_edit"]))
        if r["drop_reason"]:
            reasons[r["drop_reason"]] += 1
    funnel.append(_step("deduplication", len(live), rows, reasons))

    live = _live(rows)
    reasons = Counter()
    topic_sizes: dict[int, int] = {}
    if live:
        assigned = topics.assign_topics([topic_text(r) for r in live], seed=settings.seed,
                                        max_topics=settings.max_topics, passes=settings.topic_passes,
                                        merge_distance=settings.topic_merge_distance)
        for r, t in zip(live, assigned):
            r["topic"] = t
        topic_sizes = dict(Counter(assigned))
        if settings.size is not None:
            for r, keep in zip(live, topics.select_by_quota(assigned, settings.size, seed=settings.seed)):
                if not keep:
                    r["drop_reason"] = "topic_quota"
                    reasons["topic_quota"] += 1
    funnel.append(_step("topic_filter", len(live), rows, reasons))

    for r in rows:
        r["kept"] = r["drop_reason"] is None
    kept = sum(r["kept"] for r in rows)
    removed = sum(s["removed"] for s in funnel)
    return {"candidates": len(rows), "steps": funnel, "kept": kept, "funnel_adds_up": len(rows) - removed == kept,
            "mined_pairs_indexed": len(mined),
            "topics": {"before_quota": {str(t): n for t, n in sorted(topic_sizes.items())},
                       "after_quota": {str(t): n for t, n in sorted(Counter(r["topic"] for r in rows if r["kept"]).items())}}}
