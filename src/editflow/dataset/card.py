"""The dataset card (DIR/README.md), written from stats.json and the plots.

It states what the data is (and plainly when it is the generated demo data), how each task
view is defined, what every filter removed, how the split was made, and the numbers per
split -- so a reader never has to open the code to know what they train on.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from editflow import tasks as registry
from editflow.atomic import write_text
from editflow.cells import card_text as cell_format_text
from editflow.cells import default_format as default_cell_format
from editflow.dataset.filters import FUNNEL_STEPS
from editflow.dataset.split import SPLIT_NAMES
from editflow.dataset.split import card_text as split_card_text

STEP_TEXT = {
    "change_type": "change type not kept (`filters.change_types`)",
    "message_words": "commit message shorter than `filters.min_message_words` words",
    "no_code_change": "no change in code (outputs- or markdown-only notebook edits)",
    "empty_target": "empty target (e.g. a notebook edit that only deletes cells)",
    "dt_filter": "DT-filtering: changed lines > `max_changed_lines` or hunks > `max_hunks`",
    "license": "license not in `filters.licenses`",
    "max_tokens": "prompt + target tokens > `filters.max_tokens`",
    "dedup_exact_id": "exact duplicate: same repository, commit and path",
    "dedup_exact_content": "exact duplicate: same old code and target (e.g. forks)",
    "dedup_near": "near duplicate of an older edit in another repository (MinHash/LSH)",
}


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_card(stats: dict[str, Any]) -> str:
    cfg = stats["config"]
    tasks = [t for t in stats["funnel"] if t != "all_tasks"]
    out = ["# editflow dataset card", ""]
    if stats["demo_data"]:
        out += ["> **This dataset comes from the generated demo repositories** (`local/demo-*`, "
                "`editflow demo-repos`): scripted, synthetic notebook and Python edits for offline "
                "runs and tests. It is not real developer data; do not report results on it as such.", ""]
    elif stats.get("demo_repositories"):
        out += [f"> **{stats['demo_repositories']} of the {stats['inputs']['repositories']} repositories are "
                "generated demo repositories** (`local/demo-*`): their edits are synthetic.", ""]
    inp = stats["inputs"]
    out += ["## Contents", "",
            f"Mined from {inp['repositories']} repositories, {inp['commits']} commits and "
            f"{inp['edits']} file edits ({', '.join(f'{k}: {v}' for k, v in inp['by_kind'].items()) or 'none'}). "
            f"Files: `train.parquet`, `val.parquet`, `test.parquet` (columns of "
            "`editflow.records.EXAMPLE_SCHEMA`: example_id, edit_id, task, split, prompt_fields "
            "{message, old_code}, target, repo, commit, path, license, commit_time, source, "
            "reference, meta), `stats.json`, `plots/`. `target` is what a model outputs; `source` "
            "and `reference` are the plain code before and after the edit.", "",
            "Rows are sorted by (task, repo, commit_time, commit, path, example_id); every split "
            "file holds all tasks (filter on `task`).", "",
            "## Tasks", ""]
    out += [spec.card or f"- **{name}**: {spec.description}"
            for name, spec in registry.specs().items() if name in tasks]
    out += ["",
            cell_format_text(cfg.get("cell_format") or default_cell_format()) + " Prompts are not stored: train and infer render them from "
            "`prompt_fields` with the templates in `editflow/templates/`.", "",
            f"Token counts use `{stats['tokenizer']}` on the {stats['token_count']}.", ""]

    out += ["## Filter funnel", "",
            "Each candidate example is counted at the first step that removes it; for every task "
            f"candidates = kept + removed (checked: **{'adds up' if stats['funnel_adds_up'] else 'DOES NOT ADD UP'}**).", ""]
    header = ["step"] + tasks + ["all tasks"]
    rows = [["candidates"] + [stats["funnel"][t]["candidates"] for t in tasks] + [stats["funnel"]["all_tasks"]["candidates"]]]
    for s in FUNNEL_STEPS:
        rows.append([f"- {STEP_TEXT[s]}"] + [stats["funnel"][t]["removed"][s] for t in tasks]
                    + [stats["funnel"]["all_tasks"]["removed"][s]])
    rows.append(["**kept**"] + [stats["funnel"][t]["kept"] for t in tasks] + [stats["funnel"]["all_tasks"]["kept"]])
    out += [_table(header, rows), "", "![funnel](plots/funnel.png)", ""]
    f = cfg.get("filters", {})
    out += ["Thresholds: " + ", ".join(f"`{k}` = {v}" for k, v in sorted(f.items())) + ".", ""]
    d = cfg.get("dedup", {})
    out += ["## Deduplication", "",
            "Exact duplicates (same repository/commit/path, or same old code and target within a "
            "task, e.g. forks) keep only their oldest member by (commit_time, repo, commit, path). "
            "Near duplicates: MinHash over word shingles of each edit's changed code (nb: the changed "
            "cells old and new; py: removed and added lines), LSH candidates verified by estimated "
            f"Jaccard >= {d.get('near_threshold')}, clustered with union-find. In each cluster the "
            "edits of the oldest member's repository are kept (and kept in one split); members from "
            "other repositories are dropped. So neither a repository nor a near-duplicate pair "
            f"appears in two splits. Near-duplicate clusters kept: {stats['near_duplicates']['clusters']}.", ""]

    out += ["## Splits", ""] + split_card_text(stats)
    header = ["split", "repositories", "commits", "edits", "examples"] + tasks
    rows = []
    for s in SPLIT_NAMES:
        e = stats["splits"][s]
        rows.append([s, e["repositories"], e["commits"], e["edits"], e["examples"]]
                    + [e["by_task"][t]["examples"] for t in tasks])
    out += [_table(header, rows), "", "![splits](plots/splits.png)", ""]

    out += ["## Distributions (kept examples)", ""]
    header = ["task", "metric", "median", "mean", "p90", "max"]
    rows = []
    for t, metrics in stats["distributions"].items():
        for m, v in metrics.items():
            if v.get("count"):
                rows.append([t, m, v["median"], v["mean"], v["p90"], v["max"]])
    out += [_table(header, rows), ""]
    for m in ("changed_cells", "changed_lines", "hunks", "prompt_tokens", "target_tokens"):
        out.append(f"![{m}](plots/{m}.png)")
    out += ["", "## Top repositories", "",
            _table(["repository", "examples", "splits"],
                   [[r["repo"], r["examples"], ", ".join(r["splits"])] for r in stats["top_repositories"]]),
            "", "![top repositories](plots/top_repositories.png)", ""]
    sk = stats["inputs"]["skips"]
    out += ["## Skipped while mining", "",
            f"{sk['total']} skips recorded by the miner (files or commits not turned into edits; "
            "`nbformat_v3_converted` is informational: those edits were converted and kept):", ""]
    out += [_table(["reason", "count"], [[r, n] for r, n in sk["by_reason"].items()]) if sk["by_reason"] else "(none)", ""]
    out += ["## Provenance and licenses", "",
            "Every row keeps its repository, commit, path, commit time and license (SPDX id as "
            "mined; null when unknown). Commit authors are never stored.", ""]
    return "\n".join(out)


def write_card(stats: dict[str, Any], path: Path) -> None:
    write_text(render_card(stats), path)
