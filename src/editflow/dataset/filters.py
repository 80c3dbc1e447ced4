"""The dataset filters: a fixed order, each a config switch with its threshold, each counted.

A candidate example is attributed to the *first* filter that removes it, so the funnel in
stats.json adds up: candidates = kept + sum(removed by each step). The order (cheap first,
token counting last because it is the expensive one):

1. change_type       the edit's change_type is not in `change_types` (default: modified, renamed)
2. message_words    commit message shorter than `min_message_words` words (ipynb-edit: 3)
3. no_code_change   old and new code are identical (notebooks: outputs- or markdown-only edits)
4. empty_target     nothing to generate (an nb-cell edit that only deletes cells)
5. dt_filter        changed lines > `max_changed_lines` or hunks > `max_hunks` (OpenCodeEdit's
                    DT-filtering; a task may make it conditional on a flag: nb-file's is
                    `dt_filter_nb_file`)
6. license          license not in the `licenses` allow-list (null list: keep all)
7. max_tokens       prompt + target tokens (rendered fine-tuned template) > `max_tokens`
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from editflow.config import schema_defaults

FILTER_STEPS = ("change_type", "message_words", "no_code_change", "empty_target",
                "dt_filter", "license", "max_tokens")
DEDUP_STEPS = ("dedup_exact_id", "dedup_exact_content", "dedup_near")
FUNNEL_STEPS = FILTER_STEPS + DEDUP_STEPS


@dataclass(frozen=True)
@schema_defaults("dataset.filters")
class FilterConfig:
    """dataset.filters (defaults: the config schema)."""
    min_message_words: int | None
    require_code_change: bool
    max_changed_lines: int | None
    max_hunks: int | None
    dt_filter_nb_file: bool
    max_tokens: int | None
    licenses: tuple[str, ...] | None
    change_types: tuple[str, ...]
    drop_empty_target: bool

    @classmethod
    def from_section(cls, section: dict[str, Any]) -> "FilterConfig":
        s = dict(section)
        if s.get("licenses") is not None:
            s["licenses"] = tuple(x.lower() for x in s["licenses"])
        if "change_types" in s:
            s["change_types"] = tuple(s["change_types"])
        return cls(**{k: v for k, v in s.items() if k in cls.__dataclass_fields__})


def _mask(arr) -> np.ndarray:
    return np.asarray(pc.fill_null(arr, False), dtype=bool)


def cheap_removals(view: pa.Table, cfg: FilterConfig, dt_switch: str | None = None) -> dict[str, np.ndarray]:
    """For filters 1-6: a boolean 'this filter would remove the row' mask per step.

    `dt_switch` (the task's TaskSpec.dt_filter_switch) names a FilterConfig flag that must be
    true for the DT filter to apply to this task; None applies it always."""
    n = view.num_rows
    none = np.zeros(n, dtype=bool)
    out: dict[str, np.ndarray] = {}
    out["change_type"] = ~_mask(pc.is_in(view["change_type"], pa.array(list(cfg.change_types), pa.string())))
    if cfg.min_message_words is not None:
        words = np.asarray(pc.count_substring_regex(view["message"], r"\S+"), dtype=np.int64)
        out["message_words"] = words < cfg.min_message_words
    else:
        out["message_words"] = none
    out["no_code_change"] = ~_mask(view["code_changed"]) if cfg.require_code_change else none
    out["empty_target"] = (np.asarray(pc.equal(pc.utf8_length(view["target"]), 0), dtype=bool)
                           if cfg.drop_empty_target else none)
    if dt_switch is None or getattr(cfg, dt_switch):
        dt = none.copy()
        if cfg.max_changed_lines is not None:
            dt |= np.asarray(view["changed_lines"], dtype=np.int64) > cfg.max_changed_lines
        if cfg.max_hunks is not None:
            dt |= np.asarray(view["hunks"], dtype=np.int64) > cfg.max_hunks
        out["dt_filter"] = dt
    else:
        out["dt_filter"] = none
    if cfg.licenses is not None:
        lic = pc.utf8_lower(view["license"])
        out["license"] = ~_mask(pc.is_in(lic, pa.array(list(cfg.licenses), pa.string())))
    else:
        out["license"] = none
    return out


def first_removal(masks: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, dict[str, int]]:
    """Attribute each removed row to the first step (in FILTER_STEPS order) that removes it.

    Returns the keep mask and how many rows each step removed.
    """
    alive = np.ones(n, dtype=bool)
    counts: dict[str, int] = {}
    for step in FILTER_STEPS:
        if step not in masks:
            continue
        hit = alive & masks[step]
        counts[step] = int(hit.sum())
        alive &= ~hit
    return alive, counts
