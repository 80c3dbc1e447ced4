"""What a synth run made: stats JSON, the seed paper's Fig. 4 panels and a card section.

Next to FILE.parquet: FILE.stats.json (the funnel, per-generator drop reasons and reject rate,
generation throughput, distributions), FILE.fig4.png (modified lines, hunks, topics) and
FILE.README.md, a dataset-card section that states the reject rate plainly (a 135M offline
model rejects most of what it writes; that is the figure, not a failure of the stage).
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

from editflow.atomic import atomic_path, write_json, write_text
from editflow.synth.parsing import REASONS

OTHER_REASONS = {
    "diff_no_change": "the program after the edit equals the one before (0 hunks)",
    "diff_too_many_lines": "more modified lines than max_modified_lines",
    "diff_too_many_hunks": "more hunks than max_hunks",
    "duplicate_exact": "same (pre-edit, post-edit) code as an earlier triplet, up to whitespace",
    "duplicate_near": "near-duplicate (MinHash Jaccard) of an earlier triplet",
    "duplicate_of_mined_exact": "same code as a mined edit",
    "duplicate_of_mined_near": "near-duplicate of a mined edit",
    "topic_quota": "over its topic's quota",
}


def side_paths(out: str | Path) -> dict[str, Path]:
    out = Path(out)
    stem = out.with_suffix("")
    return {"stats": Path(f"{stem}.stats.json"), "readme": Path(f"{stem}.README.md"),
            "figure": Path(f"{stem}.fig4.png")}


def by_generator(rows: list[dict]) -> dict:
    out = {}
    for gen in dict.fromkeys(r["generator"] for r in rows):
        mine = [r for r in rows if r["generator"] == gen]
        kept = sum(r["kept"] for r in mine)
        out[gen] = {"rows": len(mine), "kept": kept, "reject_rate": round(1 - kept / len(mine), 4) if mine else None,
                    "reasonable": sum(r["reasonable"] is True for r in mine),
                    "unreasonable": sum(r["reasonable"] is False for r in mine),
                    "by_reason": dict(sorted(Counter(r["drop_reason"] for r in mine if r["drop_reason"]).items()))}
    return out


def distributions(rows: list[dict]) -> dict:
    counted = [r for r in rows if r["hunks"] is not None]
    return {"modified_lines": dict(sorted(Counter(r["modified_lines"] for r in counted).items())),
            "hunks": dict(sorted(Counter(r["hunks"] for r in counted).items()))}


def _bars(ax, counts: dict, title: str, xlabel: str, limit: float | None = None) -> None:
    keys = list(counts)
    ax.bar([str(k) for k in keys], list(counts.values()), color="#4477aa")
    if limit is not None and keys:
        ax.axvline(sum(1 for k in keys if float(k) <= limit) - 0.5, color="#cc3311", linestyle="--",
                   label=f"> {limit:g} dropped")
        ax.legend(fontsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("triplets")
    if len(keys) > 20:
        ax.set_xticks(range(0, len(keys), max(1, len(keys) // 10)))


def write_figure(out: str | Path, stats: dict) -> None:
    """The seed paper's Fig. 4 as one figure of three panels: modified lines and hunks (of the
    triplets that reached the diff filter) and triplets per topic (before the quota)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dist, settings = stats["distributions"], stats["settings"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    _bars(axes[0], dist["modified_lines"], "(a) modified lines", "modified lines", settings["max_modified_lines"])
    _bars(axes[1], dist["hunks"], "(b) hunks", "hunks", settings["max_hunks"])
    topics = stats["funnel"]["topics"]["before_quota"]
    _bars(axes[2], dict(sorted(topics.items(), key=lambda kv: -kv[1])), "(c) triplets per HDP topic", "topic")
    fig.tight_layout()
    with atomic_path(side_paths(out)["figure"], suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)


def card_text(stats: dict, out: str | Path) -> str:
    funnel = stats["funnel"]
    gens = stats["by_generator"]
    lines = [f"## Synthetic instruction data ({Path(out).name})", "",
             "Triplets (pre-edit code, instruction, post-edit code) written by generator models from seed "
             "snippets of the mined repositories, with OpenCodeEdit's two-round dialogue (a one-shot synthesis "
             "prompt, then a self-check that may answer `<UNREASONABLE>`), its diff filter and topic quota, and "
             "duplicate removal against the mined data. Each kept row has a lazy and a descriptive instruction.",
             "", f"{funnel['candidates']} rows generated, {funnel['kept']} kept "
             f"({_pct(funnel['kept'], funnel['candidates'])}).", "",
             "| generator | rows | kept | reject rate | self-check: reasonable / unreasonable |", "|---|---|---|---|---|"]
    for name, g in gens.items():
        lines.append(f"| {name} | {g['rows']} | {g['kept']} | {_pct(g['rows'] - g['kept'], g['rows'])} | "
                     f"{g['reasonable']} / {g['unreasonable']} |")
    lines += ["", "Funnel:", "", "| step | in | removed | out | reasons |", "|---|---|---|---|---|"]
    for s in funnel["steps"]:
        reasons = ", ".join(f"{k} {v}" for k, v in s["by_reason"].items()) or "-"
        lines.append(f"| {s['step']} | {s['in']} | {s['removed']} | {s['out']} | {reasons} |")
    small = [n for n, g in gens.items() if g["rows"] and g["kept"] / g["rows"] < 0.1]
    if small:
        lines += ["", f"Most rows of {', '.join(small)} are rejected: small models seldom follow the three-section "
                  "format or write a program that differs from the one they were asked to edit. The rows are kept "
                  "in the file with their reason, so the rate above is measured, not estimated."]
    lines += ["", "Reason codes:", ""]
    everything = {**REASONS, **OTHER_REASONS}
    for reason in sorted({k for g in gens.values() for k in g["by_reason"]}):
        lines.append(f"- `{reason}`: {everything.get(reason, reason)}")
    lines += ["", f"![modified lines, hunks and topics]({side_paths(out)['figure'].name})", ""]
    return "\n".join(lines)


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}%" if b else "n/a"


def write_card(out: str | Path, stats: dict) -> None:
    paths = side_paths(out)
    write_json(stats, paths["stats"])
    write_figure(out, stats)
    write_text(card_text(stats, out), paths["readme"])
